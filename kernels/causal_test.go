package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxCausalManyBlocks: with more blocks than a group holds, the
// rows at one place of every block go through the kernels together (see
// causalOf); each block must still have the bits it gets alone, within the
// bound, and the masked entries must be +0, NaN there or not.
func TestSoftmaxCausalManyBlocks(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalManyBlocks[float32], testCausalManyBlocks[float64])
	})
}

func testCausalManyBlocks[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, cols := range []int{1, 3, 16, 17, 40, 128, 130} {
		for _, q := range []int{2, 7, cols} {
			if q > cols {
				continue
			}
			for _, blocks := range []int{4, 9} {
				n := blocks * q * cols
				s := make([]F, n)
				fillRandom(s, r, valueRanges[3].gen)
				for i := 0; i < n/cols; i++ {
					for j := cols - q + i%q + 1; j < cols; j++ {
						s[i*cols+j] = F(math.NaN())
					}
				}
				got := make([]F, n)
				SoftmaxCausal(got, s, cols, q, 0.3)
				expectCausal(t, got, s, cols, q, 0.3)
				for b := 0; b < blocks; b++ {
					lo, hi := b*q*cols, (b+1)*q*cols
					alone := make([]F, hi-lo)
					SoftmaxCausal(alone, s[lo:hi], cols, q, 0.3)
					for j, v := range alone {
						if !isNaNBits(v, got[lo+j]) {
							t.Fatalf("%d cols q %d %d blocks: block %d [%d] = %v, alone %v", cols, q, blocks, b, j, got[lo+j], v)
						}
					}
				}
			}
		}
	}
}
