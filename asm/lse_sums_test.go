//go:build amd64 && !purego

package asm

import (
	"math"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// TestLogSumExpSharedTerms holds LogSumExp to its bound on rows whose sum
// is made of one value many times over: a max of 0 and cols-1 entries
// equal to d, for d across [-14, 0]. There the exp's error at one point
// (d reduced to one r) is the sum's, with nothing to average it out, so
// the sweep of d over the reduction's range finds the exp's worst error
// (the AVX2 float32 long rows' factored cubic, the float64 exps of degree
// 8), and the lengths take each path: the resident rows, the group path
// with float32 and float64 sums (AVX2 float32 from 64 columns: row by row,
// steps of 16, 8, 4 and 1 vectors and a tail), the long rows' iterations of 16 vectors
// (128 float32 columns on AVX2, 256 on AVX-512), single vectors and tail.
func TestLogSumExpSharedTerms(t *testing.T) {
	testLSEShared(t, lseKernelsF32())
	testLSEShared(t, lseKernelsF64())
}

func testLSEShared[F float32 | float64](t *testing.T, ks []lseKernel[F]) {
	_, v, _ := xentBounds[F]()
	for _, k := range ks {
		if !k.ok {
			continue
		}
		for _, cols := range []int{10, 37, 64, 100, 128, 200, 511, 513, 767, 768, 769, 2000, 5003} {
			const rows = 501
			s := make([]F, rows*cols)
			for r := 0; r < rows; r++ {
				d := F(-14 * float64(r) / (rows - 1))
				row := s[r*cols : (r+1)*cols]
				for j := range row {
					row[j] = d
				}
				row[(r*7)%cols] = 0
			}
			dst := make([]F, rows)
			k.fn(dst, s, cols)
			want := ref.LogSumExp(ref.Float64s(s), cols)
			for r := range dst {
				got := float64(dst[r])
				if !(math.Abs(got-want[r]) <= v*(1+math.Abs(want[r]))) {
					t.Fatalf("%s cols=%d: row %d (d = %g): %g, want %g (error %.3g of the bound)", k.name, cols, r,
						float64(s[r*cols+(r*7+1)%cols]), got, want[r], math.Abs(got-want[r])/(v*(1+math.Abs(want[r]))))
				}
			}
		}
	}
}
