//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestBackwardRowsAloneTunings: with each vendor's tuning in force, the
// avx512 tier's SoftmaxBackward and SoftmaxBackwardAdd give a row the bits
// it gets in a call of its own when it comes in a call large enough for
// the tuning to pick another kernel by the size of ds (over the Intel L1
// threshold; over streamBytes, where SoftmaxBackward streams). The kernel
// a row runs, AVX2 or AVX-512, plain or streaming, may depend on cols but
// never on the size of the call, or a row's bits would.
func TestBackwardRowsAloneTunings(t *testing.T) {
	var avx512 *tier
	for _, tr := range tiers {
		if tr.name == "avx512" {
			avx512 = tr
		}
	}
	if avx512 == nil {
		t.Skip("CPU lacks the avx512 tier")
	}
	defer useTier(avx512)()
	forEachTuning(t, func(t *testing.T) {
		forEachType(t, testBackwardAloneTuned[float32], testBackwardAloneTuned[float64])
	})
}

func testBackwardAloneTuned[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	var z F
	size := int(unsafe.Sizeof(z))
	var cs []int
	for c := 1; c <= 48; c++ {
		cs = append(cs, c)
	}
	cs = append(cs, 64, 100, 128, 160, 200, streamCols, streamCols+7)
	for _, add := range []bool{false, true} {
		op, name := SoftmaxBackward[F], "SoftmaxBackward"
		if add {
			op, name = SoftmaxBackwardAdd[F], "SoftmaxBackwardAdd"
		}
		for _, cols := range cs {
			bytes := 64 << 10
			if cols >= streamCols && !add {
				bytes = backwardTuned.streamBytes
			}
			rows := bytes/(cols*size) + 1
			p, dp := backwardCase[F](r, rows, cols, false)
			ds0 := make([]F, rows*cols)
			fillRandom(ds0, r, valueRanges[0].gen)
			got := append([]F(nil), ds0...)
			op(got, p, dp, cols)
			for _, i := range []int{0, rows / 2, rows - 1} {
				lo, hi := i*cols, (i+1)*cols
				alone := append([]F(nil), ds0[lo:hi]...)
				op(alone, append([]F(nil), p[lo:hi]...), append([]F(nil), dp[lo:hi]...), cols)
				for j := range alone {
					if !isNaNBits(got[lo+j], alone[j]) {
						t.Errorf("%s cols=%d: row %d of %d, col %d = %g, alone %g", name, cols, i, rows, j, got[lo+j], alone[j])
						break
					}
				}
			}
		}
	}
}
