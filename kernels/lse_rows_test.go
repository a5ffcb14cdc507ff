package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// TestLogSumExpRowCounts: LogSumExp's assembly takes rows in groups (8
// AVX-512, 4 AVX2), rows left over and the rows of a group beside a row
// left to the wrapper (NaN, +Inf, all -Inf) solo; a row's bits must not
// tell. Every call of 1 to 17 rows at every start in a matrix of 21, its
// slices at an offset that moves with the call, gives each row the bits
// it gets alone, across the lengths where the paths change (whole vectors,
// the resident rows under two vectors, float32 sums up to 40 columns on
// AVX2 and 128 on AVX-512, the group path's end at 2048 bytes).
func TestLogSumExpRowCounts(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testLSERowCounts[float32], testLSERowCounts[float64])
	})
}

func testLSERowCounts[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, cols := range []int{1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 40, 41, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513} {
		const rows = 21
		s, _ := ref.LogitRows[F](r, rows, cols)
		s[2*cols+cols/2] = F(math.NaN())
		s[9*cols+cols-1] = F(math.Inf(1))
		for j := 14 * cols; j < 15*cols; j++ {
			s[j] = F(math.Inf(-1))
		}
		alone := make([]F, rows)
		for i := range alone {
			LogSumExp(alone[i:i+1], s[i*cols:(i+1)*cols], cols)
		}
		expectLogSumExp(t, alone, s, cols)
		for lo := 0; lo < rows; lo++ {
			for n := 1; n <= 17 && lo+n <= rows; n++ {
				off := (lo + n) % 16
				in := make([]F, off+n*cols)[off:]
				copy(in, s[lo*cols:(lo+n)*cols])
				dst := make([]F, off+n)[off:]
				LogSumExp(dst, in, cols)
				for i, v := range dst {
					if !isNaNBits(v, alone[lo+i]) {
						t.Fatalf("%d cols, row %d in rows %d..%d: %v, alone %v", cols, lo+i, lo, lo+n-1, v, alone[lo+i])
					}
				}
			}
		}
	}
}
