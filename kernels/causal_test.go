package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxCausalManyBlocks: with more blocks than a group holds, the
// rows at one place of every block go through the kernels together (see
// causalOf); each row must still have the bits of SoftmaxScaled on the
// columns it sees, and the masked entries must be +0, NaN there or not.
func TestSoftmaxCausalManyBlocks(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalManyBlocks[float32], testCausalManyBlocks[float64])
	})
}

func testCausalManyBlocks[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, cols := range []int{1, 3, 16, 17, 40, 128, 130, 600} {
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
				for i := 0; i < n/cols; i++ {
					see := cols - q + i%q + 1
					want := make([]F, see)
					SoftmaxScaled(want, s[i*cols:i*cols+see], see, 0.3)
					row := got[i*cols : (i+1)*cols]
					for j, v := range row {
						if j < see && !isNaNBits(v, want[j]) || j >= see && (v != 0 || math.Signbit(float64(v))) {
							t.Fatalf("%d cols q %d %d blocks: row %d col %d (sees %d) = %v", cols, q, blocks, i, j, see, v)
						}
					}
				}
			}
		}
	}
}
