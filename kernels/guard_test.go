//go:build linux

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/internal/guard"
)

// TestGuardPages runs every operation with its slices flush against
// inaccessible pages, lengths 0..300 and a few long ones, several cols per
// length, and compares with the fallback.
func TestGuardPages(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testGuardPages[float32], testGuardPages[float64])
	})
}

func testGuardPages[F Float](t *testing.T) {
	regions := [3]*guard.Region{guard.New(t, 4), guard.New(t, 4), guard.New(t, 4)}
	tol := 1e-4
	if _, ok := any(F(0)).(float64); ok {
		tol = 1e-12
	}
	r := rand.New(rand.NewPCG(15, 16))
	lengths := []int{1000, 2048}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, cols := range []int{1, 2, 3, 5, 8, 10, 16, 37, 64, n} {
			if cols == 0 || n%cols != 0 {
				continue
			}
			for layout := range 2 {
				// layout 0: inputs at tails, output at a head; 1: the reverse
				at := func(i int) []F {
					if (i == 2) == (layout == 0) {
						return guard.Head[F](regions[i], n)
					}
					return guard.Tail[F](regions[i], n)
				}
				a, b, out := at(0), at(1), at(2)
				for i := range a {
					a[i] = F(r.Float64())
					b[i] = F(2*r.Float64() - 1)
				}
				want := make([]F, n)
				name := fmt.Sprintf("n=%d cols=%d layout=%d", n, cols, layout)
				compare := func(op string) {
					for i := range want {
						w, g := float64(want[i]), float64(out[i])
						if math.Abs(g-w) > tol*(1+math.Abs(w))*(1+float64(cols)/100) {
							t.Fatalf("%s %s: [%d] = %v, fallback %v", op, name, i, g, w)
						}
					}
				}
				Exp(out, b)
				fallback.Exp(want, b)
				compare("Exp")
				Softmax(out, b, cols)
				fallback.Softmax(want, b, cols)
				compare("Softmax")
				LogSoftmax(out, b, cols)
				fallback.LogSoftmax(want, b, cols)
				compare("LogSoftmax")
				SoftmaxBackward(out, a, b, cols)
				fallback.SoftmaxBackward(want, a, b, cols)
				compare("SoftmaxBackward")
				copy(want, out)
				SoftmaxBackwardAdd(out, a, b, cols)
				fallback.SoftmaxBackwardAdd(want, a, b, cols)
				compare("SoftmaxBackwardAdd")
				LogSoftmaxBackward(out, b, a, cols)
				fallback.LogSoftmaxBackward(want, b, a, cols)
				compare("LogSoftmaxBackward")
			}
		}
	}
}
