package kernels

import "fmt"

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
