//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/rowwise/softmax/asm"
	"github.com/rowwise/softmax/fallback"
)

// TestCausalBackwardKernels calls each causal kernel this CPU runs
// directly, on slices at every offset from a vector boundary (each of ds,
// p and dp its own), with canaries around ds, against the fallback; every
// masked entry of p and dp is NaN.
func TestCausalBackwardKernels(t *testing.T) {
	for _, tr := range asm.Tiers {
		if !cpuid.CPU.Supports(tr.Features...) {
			continue
		}
		t.Run(tr.Name, func(t *testing.T) {
			if k := tr.F32.SoftmaxCausalBackward; k != nil {
				t.Run("f32", func(t *testing.T) { testCausalBackwardKernel(t, k) })
			}
			if k := tr.F64.SoftmaxCausalBackward; k != nil {
				t.Run("f64", func(t *testing.T) { testCausalBackwardKernel(t, k) })
			}
		})
	}
}

func testCausalBackwardKernel[F Float](t *testing.T, kernel func(ds, p, dp []F, cols, q int, scale F)) {
	r := rand.New(rand.NewPCG(49, 50))
	var z F
	lanes := 64 / int(unsafe.Sizeof(z))
	tol := 1e-4
	if _, ok := any(z).(float64); ok {
		tol = 1e-12
	}
	for _, cols := range []int{1, 2, 3, 5, 8, 15, 16, 17, 31, 33, 64, 100, 129, 200} {
		for _, q := range []int{cols, min(cols, 4)} {
			n := 2 * q * cols
			p, dp := causalInputs[F](r, n, cols, q)
			want := make([]F, n)
			fallback.SoftmaxCausalBackward(want, p, dp, cols, q, 0.7)
			for off := 0; off < lanes; off++ {
				ds, check := guarded[F](n, off)
				op := append(make([]F, (off*3)%lanes), p...)[(off*3)%lanes:]
				odp := append(make([]F, (off*5+1)%lanes), dp...)[(off*5+1)%lanes:]
				kernel(ds, op, odp, cols, q, 0.7)
				check(t)
				expectCausalZeros(t, fmt.Sprintf("%d cols q %d offset %d", cols, q, off), ds, cols, q)
				for j := range want {
					w, g := float64(want[j]), float64(ds[j])
					if math.Abs(g-w) > tol*(1+math.Abs(w)) || math.IsNaN(g) {
						t.Fatalf("%d cols q %d offset %d: [%d] = %v, fallback %v", cols, q, off, j, g, w)
					}
				}
			}
		}
	}
}
