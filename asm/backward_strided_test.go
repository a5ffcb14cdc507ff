//go:build amd64 && !purego

package asm

import (
	"math"
	"math/rand"
	"testing"
	"unsafe"

	"github.com/rowwise/softmax/internal/guard"
)

// TestSoftmaxBackwardScaledStrided: the strided kernels give each row the
// bits SoftmaxBackwardScaled gives it in a packed matrix, at every row
// length up to 300 and a few long ones, with 0 to 33 elements between the
// rows, in place (ds = p, ds = dp) too, with the slices against guard
// pages; what lies between the rows (NaN in p and dp) is left as it was
// and changes nothing.
func TestSoftmaxBackwardScaledStrided(t *testing.T) {
	if hasAVX2 {
		t.Run("F32AVX2", func(t *testing.T) {
			testBwdStrided(t, SoftmaxBackwardScaledStridedF32AVX2, SoftmaxBackwardScaledF32AVX2)
		})
		t.Run("F64AVX2", func(t *testing.T) {
			testBwdStrided(t, SoftmaxBackwardScaledStridedF64AVX2, SoftmaxBackwardScaledF64AVX2)
		})
	}
	if hasAVX512 {
		t.Run("F32AVX512", func(t *testing.T) {
			testBwdStrided(t, SoftmaxBackwardScaledStridedF32AVX512, SoftmaxBackwardScaledF32AVX512)
		})
		t.Run("F64AVX512", func(t *testing.T) {
			testBwdStrided(t, SoftmaxBackwardScaledStridedF64AVX512, SoftmaxBackwardScaledF64AVX512)
		})
	}
}

// stridedCols are the row lengths of TestSoftmaxBackwardScaledStrided:
// every path of the scaled kernel (short, grouped, medium, long) and its
// edges, on either ISA and type.
func stridedCols() []int {
	var cs []int
	for c := 1; c <= 300; c++ {
		cs = append(cs, c)
	}
	return append(cs, 511, 512, 513, 1000, 1024, 1031, 4099)
}

// stridedRows are the row counts the test takes in turn: one row, the
// groups of four with none to three left, two groups and more.
var stridedRows = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 17}

func testBwdStrided[F float32 | float64](t *testing.T, strided func(ds, p, dp []F, cols, stride int, scale F), scaled func(ds, p, dp []F, cols int, scale F)) {
	rng := rand.New(rand.NewSource(19))
	const maxGap = 33
	var zero F
	size := int(unsafe.Sizeof(zero))
	maxN := 0
	for _, cols := range stridedCols() {
		rows := 17
		if cols > 300 {
			rows = 3
		}
		maxN = max(maxN, (rows-1)*(cols+maxGap)+cols)
	}
	pages := (maxN*size + 4095) / 4096
	regions := [3]*guard.Region{guard.New(t, pages), guard.New(t, pages), guard.New(t, pages)}
	bits := func(x F) uint64 { return math.Float64bits(float64(x)) }
	nan := F(math.NaN())
	scale := F(testScale)
	const between = -7
	for ci, cols := range stridedCols() {
		for gap := 0; gap <= maxGap; gap++ {
			rows := stridedRows[(ci*7+gap)%len(stridedRows)]
			if cols > 300 {
				rows = 1 + gap%3
			}
			stride := cols + gap
			pk, dpk, want := make([]F, rows*cols), make([]F, rows*cols), make([]F, rows*cols)
			for r := 0; r < rows; r++ {
				fillRow(rng, pk[r*cols:(r+1)*cols], dpk[r*cols:(r+1)*cols], (cols+gap+r)%3)
			}
			scaled(want, pk, dpk, cols, scale)
			n := (rows-1)*stride + cols
			for alias := aliasNone; alias <= aliasDP; alias++ {
				atEnd := (cols+gap+alias)%2 == 0
				var sl [3][]F
				for k, rg := range regions {
					if atEnd {
						sl[k] = guard.Tail[F](rg, n)
					} else {
						sl[k] = guard.Head[F](rg, n)
					}
				}
				p, dp, ds := sl[0], sl[1], sl[2]
				for i := range ds {
					p[i], dp[i], ds[i] = nan, nan, between
				}
				for r := 0; r < rows; r++ {
					copy(p[r*stride:r*stride+cols], pk[r*cols:])
					copy(dp[r*stride:r*stride+cols], dpk[r*cols:])
				}
				switch alias {
				case aliasP:
					ds = p
				case aliasDP:
					ds = dp
				}
				strided(ds, p, dp, cols, stride, scale)
				for i := range ds {
					r, j := i/stride, i%stride
					if j >= cols {
						if alias == aliasNone && bits(ds[i]) != bits(between) || alias != aliasNone && ds[i] == ds[i] {
							t.Fatalf("%d cols stride %d rows %d alias %d: [%d] between rows = %v, written", cols, stride, rows, alias, i, ds[i])
						}
						continue
					}
					if w := want[r*cols+j]; bits(ds[i]) != bits(w) {
						t.Fatalf("%d cols stride %d rows %d alias %d: row %d col %d = %v, SoftmaxBackwardScaled %v", cols, stride, rows, alias, r, j, ds[i], w)
					}
				}
			}
		}
	}
}
