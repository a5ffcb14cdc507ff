package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxBackwardScaledScales: SoftmaxBackwardScaled, whose shorter
// rows scale p and whose long rows scale e, on every tier at the lengths
// of each of its paths (short rows and groups, rows of half a vector up
// to one, medium rows with and without a partial vector, four at a time
// or not, long rows) with scales across the type's range whose results
// stay normal, none a power of two, each held to the backward bound
// times scale plus one rounding.
func TestSoftmaxBackwardScaledScales(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testBackwardScaledScales[float32], testBackwardScaledScales[float64])
	})
}

func testBackwardScaledScales[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	scales := []float64{1e-30, 3e-7, 0.1020620726, 3, 1.1e6, 1e30}
	if _, ok := any(F(0)).(float64); ok {
		scales = append(scales, 1e-250, 1e250)
	}
	var lengths []int
	for c := 1; c <= 40; c++ {
		lengths = append(lengths, c)
	}
	lengths = append(lengths, 63, 64, 65, 100, 129, 200, 300, 1000)
	for _, cols := range lengths {
		rows := 9
		p, dp := make([]F, rows*cols), make([]F, rows*cols)
		for i := range p {
			p[i], dp[i] = F(2*r.NormFloat64()), F(r.NormFloat64())
		}
		Softmax(p, p, cols)
		for _, s := range scales {
			scale := F(s)
			ds := make([]F, len(p))
			SoftmaxBackwardScaled(ds, p, dp, cols, scale)
			t.Run(fmt.Sprintf("cols=%d/scale=%g", cols, s), func(t *testing.T) {
				expectScaledBackward(t, ds, p, dp, cols, 0, scale)
			})
			if math.IsInf(float64(scale), 0) {
				t.Fatalf("scale %g overflows", s)
			}
		}
	}
}
