package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

func TestForwardMarginTmp(t *testing.T) {
	r := rand.New(rand.NewPCG(99, 1))
	for _, tr := range tiers[:2] {
		restore := useTier(tr)
		worstS, worstL := 0.0, 0.0
		for _, cols := range []int{7, 37, 128, 1000, 4097, 1 << 17} {
			for _, scale := range []float64{0.01, 1, 4, 30, 100} {
				n := cols * 2
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(scale * r.NormFloat64())
				}
				dst := make([]float32, n)
				Softmax(dst, src, cols)
				want := ref.Softmax(toF64(src), cols)
				for j := range dst {
					row := j / cols
					m := math.Inf(-1)
					for _, v := range src[row*cols : (row+1)*cols] {
						m = math.Max(m, float64(v))
					}
					gap := math.Abs(float64(src[j]) - m)
					b := 0x1p-21*(1+gap)*want[j] + 0x1p-126
					if e := math.Abs(float64(dst[j])-want[j]) / b; e > worstS {
						worstS = e
					}
				}
				LogSoftmax(dst, src, cols)
				want = ref.LogSoftmax(toF64(src), cols)
				for j := range dst {
					b := 0x1p-20 * (1 + math.Abs(want[j]))
					if e := math.Abs(float64(dst[j])-want[j]) / b; e > worstL {
						worstL = e
					}
				}
			}
		}
		restore()
		t.Logf("%s: worst softmax err/bound %.3f, logsoftmax %.3f", tr.name, worstS, worstL)
	}
}
