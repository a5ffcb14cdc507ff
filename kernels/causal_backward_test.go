package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxCausalBackwardManyBlocks: with several blocks, the rows at one
// place of the blocks go through the kernels together, a few blocks at a
// time (see softmaxCausalBackward); each row must still have the bits
// SoftmaxBackwardScaled gives it over the columns it sees, each block the
// bits it gets alone, in place too, within the bound; the masked entries
// of ds must be 0 whatever ds held, and NaN in p and dp there changes
// nothing.
func TestSoftmaxCausalBackwardManyBlocks(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalBackwardManyBlocks[float32], testCausalBackwardManyBlocks[float64])
	})
}

func testCausalBackwardManyBlocks[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	const scale = 0.3
	for _, cols := range []int{1, 3, 7, 8, 16, 17, 40, 128, 130} {
		for _, q := range []int{2, 7, cols} {
			if q > cols {
				continue
			}
			for _, blocks := range []int{2, 4, 5, 9} {
				n := blocks * q * cols
				s, dp := make([]F, n), make([]F, n)
				fillRandom(s, r, valueRanges[3].gen)
				fillRandom(dp, r, valueRanges[0].gen)
				p := make([]F, n)
				SoftmaxCausal(p, s, cols, q, scale)
				for i := 0; i < n/cols; i++ {
					for j := cols - q + i%q + 1; j < cols; j++ {
						p[i*cols+j], dp[i*cols+j] = F(math.NaN()), F(math.NaN())
					}
				}
				got := make([]F, n)
				for i := range got {
					got[i] = 5
				}
				SoftmaxCausalBackward(got, p, dp, cols, q, scale)
				expectScaledBackward(t, got, p, dp, cols, q, scale)
				for i := 0; i < n/cols; i++ {
					lo, see := i*cols, cols-q+i%q+1
					row := make([]F, see)
					SoftmaxBackwardScaled(row, p[lo:lo+see], dp[lo:lo+see], see, scale)
					for j, v := range row {
						if !isNaNBits(v, got[lo+j]) {
							t.Fatalf("%d cols q %d %d blocks: row %d col %d = %v, SoftmaxBackwardScaled %v", cols, q, blocks, i, j, got[lo+j], v)
						}
					}
				}
				for b := 0; b < blocks; b++ {
					lo, hi := b*q*cols, (b+1)*q*cols
					alone := make([]F, hi-lo)
					SoftmaxCausalBackward(alone, p[lo:hi], dp[lo:hi], cols, q, scale)
					for j, v := range alone {
						if !isNaNBits(v, got[lo+j]) {
							t.Fatalf("%d cols q %d %d blocks: block %d [%d] = %v, alone %v", cols, q, blocks, b, j, got[lo+j], v)
						}
					}
				}
				in := append([]F(nil), dp...)
				SoftmaxCausalBackward(in, p, in, cols, q, scale)
				for j := range in {
					if !isNaNBits(in[j], got[j]) {
						t.Fatalf("%d cols q %d %d blocks: ds = dp [%d] = %v, apart %v", cols, q, blocks, j, in[j], got[j])
					}
				}
			}
		}
	}
}
