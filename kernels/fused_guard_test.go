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

// TestFusedGuardPages runs the fused operations with their slices flush
// against inaccessible pages (lengths 0..300 and two long ones, several
// cols each) and compares with the fallback.
func TestFusedGuardPages(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testFusedGuardPages[float32], testFusedGuardPages[float64])
	})
}

func testFusedGuardPages[F Float](t *testing.T) {
	regions := [4]*guard.Region{guard.New(t, 4), guard.New(t, 4), guard.New(t, 4), guard.New(t, 4)}
	tol := 1e-4
	if _, ok := any(F(0)).(float64); ok {
		tol = 1e-12
	}
	r := rand.New(rand.NewPCG(21, 22))
	lengths := []int{1000, 2048}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, cols := range []int{1, 2, 3, 5, 8, 10, 16, 37, 64, n} {
			if cols == 0 || n%cols != 0 {
				continue
			}
			rows := n / cols
			for layout := range 2 {
				at := func(i, n int) []F {
					if (i == 2) == (layout == 0) {
						return guard.Head[F](regions[i], n)
					}
					return guard.Tail[F](regions[i], n)
				}
				a, b, out, loss := at(0, n), at(1, n), at(2, n), at(3, rows)
				for i := range a {
					a[i] = F(r.Float64())
					b[i] = F(2*r.Float64() - 1)
				}
				labels := make([]int32, rows)
				for i := range labels {
					labels[i] = int32(r.IntN(cols+1)) - 1
				}
				want, wantLoss := make([]F, n), make([]F, rows)
				name := fmt.Sprintf("n=%d cols=%d layout=%d", n, cols, layout)
				compare := func(op string, got, want []F) {
					for i := range want {
						w, g := float64(want[i]), float64(got[i])
						if math.Abs(g-w) > tol*(1+math.Abs(w))*(1+float64(cols)/100) {
							t.Fatalf("%s %s: [%d] = %v, fallback %v", op, name, i, g, w)
						}
					}
				}
				LogSumExp(loss, b, cols)
				fallback.LogSumExp(wantLoss, b, cols)
				compare("LogSumExp", loss, wantLoss)
				CrossEntropy(loss, out, b, labels, cols, 0.5)
				fallback.CrossEntropy(wantLoss, want, b, labels, cols, 0.5)
				compare("CrossEntropy loss", loss, wantLoss)
				compare("CrossEntropy ds", out, want)
				SoftmaxScaled(out, b, cols, 0.7)
				fallback.SoftmaxScaled(want, b, cols, 0.7)
				compare("SoftmaxScaled", out, want)
				SoftmaxBackwardScaled(out, a, b, cols, 0.7)
				fallback.SoftmaxBackwardScaled(want, a, b, cols, 0.7)
				compare("SoftmaxBackwardScaled", out, want)
				for _, q := range []int{1, 2, 3, cols} {
					if q > cols || rows%q != 0 {
						continue
					}
					SoftmaxCausal(out, b, cols, q, 0.7)
					fallback.SoftmaxCausal(want, b, cols, q, 0.7)
					compare(fmt.Sprintf("SoftmaxCausal q=%d", q), out, want)
					SoftmaxCausalBackward(out, a, b, cols, q, 0.7)
					fallback.SoftmaxCausalBackward(want, a, b, cols, q, 0.7)
					compare(fmt.Sprintf("SoftmaxCausalBackward q=%d", q), out, want)
				}
			}
		}
	}
}
