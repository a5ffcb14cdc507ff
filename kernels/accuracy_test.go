package kernels

import (
	"math"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// The checks compare a result with internal/ref's exact answer under
// CONTRACT.md's bounds, element by element, and report the first failure with
// its row, column and input.

func checkExp[F Float](t *testing.T, got, src []F) {
	t.Helper()
	for i, x := range src {
		var d int64
		var want float64
		switch g := any(got[i]).(type) {
		case float32:
			w := ref.Exp32CR(float32(x))
			d, want = ref.ULPs32(g, w), float64(w)
		case float64:
			w := ref.Exp64CR(float64(x))
			d, want = ref.ULPs64(g, w), w
		}
		if d > 1 {
			t.Fatalf("exp(%v) [%d of %d] = %v, want %v (%d ulp)", x, i, len(src), got[i], want, d)
		}
	}
}

func checkSoftmax[F Float](t *testing.T, got, src []F, cols int) {
	t.Helper()
	b := boundsOf[F]()
	want := ref.Softmax(ref.Float64s(src), cols)
	tiny := minNormalOf[F]()
	for r := 0; r < len(src); r += cols {
		max := math.Inf(-1)
		for _, v := range src[r : r+cols] {
			max = math.Max(max, float64(v))
		}
		for j := r; j < r+cols; j++ {
			g, w := float64(got[j]), want[j]
			if math.IsNaN(w) || math.IsNaN(g) {
				if !(math.IsNaN(w) && math.IsNaN(g)) {
					t.Fatalf("row %d col %d: softmax = %v, want %v (s = %v)", r/cols, j-r, g, w, src[j])
				}
				continue
			}
			gap := math.Abs(float64(src[j]) - max)
			if math.IsInf(max, 0) || math.IsInf(gap, 0) {
				gap = 0
			}
			if math.Abs(g-w) > b.softmax*(1+gap)*w+b.tiny {
				t.Fatalf("row %d col %d of %d: softmax = %v, want %v (s = %v, max = %v, rel err %.3g)",
					r/cols, j-r, cols, g, w, src[j], max, (g-w)/w)
			}
			if got[j] < 0 || (got[j] != 0 && got[j] < tiny) || math.Signbit(g) {
				t.Fatalf("row %d col %d: softmax = %v: negative or subnormal", r/cols, j-r, g)
			}
		}
	}
}

func checkLogSoftmax[F Float](t *testing.T, got, src []F, cols int) {
	t.Helper()
	b := boundsOf[F]()
	want := ref.LogSoftmax(ref.Float64s(src), cols)
	for j := range src {
		g, w := float64(got[j]), want[j]
		if math.IsNaN(w) || math.IsInf(w, 0) || math.IsNaN(g) || math.IsInf(g, 0) {
			if g != w && !(math.IsNaN(w) && math.IsNaN(g)) {
				t.Fatalf("row %d col %d: logsoftmax = %v, want %v (s = %v)", j/cols, j%cols, g, w, src[j])
			}
			continue
		}
		if math.Abs(g-w) > b.other*(1+math.Abs(w)) {
			t.Fatalf("row %d col %d of %d: logsoftmax = %v, want %v (s = %v)", j/cols, j%cols, cols, g, w, src[j])
		}
	}
}

// checkGrad compares with want under the backward bound; add says ds0
// was added in, which costs one more rounding of the result.
func checkGrad[F Float](t *testing.T, op string, got []F, want, scale []float64, add bool) {
	t.Helper()
	b := boundsOf[F]()
	for j := range got {
		g, w := float64(got[j]), want[j]
		if math.IsNaN(w) || math.IsNaN(g) {
			if !(math.IsNaN(w) && math.IsNaN(g)) {
				t.Fatalf("%s [%d]: %v, want %v", op, j, g, w)
			}
			continue
		}
		tol := b.other*scale[j] + b.tiny
		if add {
			tol += b.ulp * math.Abs(w)
		}
		if math.Abs(g-w) > tol {
			t.Fatalf("%s [%d]: %v, want %v (err %.3g, allowed %.3g)", op, j, g, w, math.Abs(g-w), tol)
		}
	}
}
