package kernels

import (
	"fmt"
	"math"
)

// The checks format their message only on the failing path, so a valid call
// allocates nothing.

func checkLen(fn, a, b string, na, nb int) {
	if na != nb {
		panic(fmt.Sprintf("kernels: %s: len(%s) = %d, len(%s) = %d; they must be equal", fn, a, na, b, nb))
	}
}

func checkMatrix(fn, a, b string, na, nb, cols int) {
	checkLen(fn, a, b, na, nb)
	checkCols(fn, b, nb, cols)
}

func checkBackward(fn, a, b string, nds, na, nb, cols int) {
	checkLen(fn, "ds", a, nds, na)
	checkLen(fn, "ds", b, nds, nb)
	checkCols(fn, "ds", nds, cols)
}

func checkCols(fn, name string, n, cols int) {
	if cols < 1 {
		panic(fmt.Sprintf("kernels: %s: cols = %d; it must be at least 1", fn, cols))
	}
	if n%cols != 0 {
		panic(fmt.Sprintf("kernels: %s: len(%s) = %d is not a multiple of cols = %d", fn, name, n, cols))
	}
}

func checkCrossEntropy(nloss, nds, nlogits int, labels []int32, cols int, dsNil bool) {
	const fn = "CrossEntropy"
	checkCols(fn, "logits", nlogits, cols)
	rows := nlogits / cols
	checkLen(fn, "loss", "labels", nloss, len(labels))
	if nloss != rows {
		panic(fmt.Sprintf("kernels: %s: len(loss) = %d, but logits holds %d rows of %d", fn, nloss, rows, cols))
	}
	if !dsNil {
		checkLen(fn, "ds", "logits", nds, nlogits)
	}
	for r, t := range labels {
		if int(t) >= cols {
			panic(fmt.Sprintf("kernels: %s: labels[%d] = %d; it must be below cols = %d (negative: ignored)", fn, r, t, cols))
		}
	}
}

func checkScale[F Float](fn string, scale F) {
	if x := float64(scale); !(x > 0) || math.IsInf(x, 1) {
		panic(fmt.Sprintf("kernels: %s: scale = %v; it must be finite and > 0", fn, scale))
	}
}

func checkCausal(fn string, n, cols, q int) {
	if q < 1 || q > cols {
		panic(fmt.Sprintf("kernels: %s: q = %d; it must satisfy 1 <= q <= cols = %d", fn, q, cols))
	}
	if n%(q*cols) != 0 {
		panic(fmt.Sprintf("kernels: %s: length %d is not a multiple of q*cols = %d*%d", fn, n, q, cols))
	}
}

func panicRows(fn, name string, n, nsrc, cols int) {
	panic(fmt.Sprintf("kernels: %s: len(%s) = %d, but src holds %d rows of %d", fn, name, n, nsrc/cols, cols))
}
