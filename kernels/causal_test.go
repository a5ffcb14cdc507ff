package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxCausalManyBlocks: a stack of many blocks in one call; each
// block must have the bits it gets alone, within the bound, and the masked
// entries must be +0, NaN there or not.
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
				fillMasked(F(math.NaN()), cols, q, s)
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

// TestSoftmaxCausalRowsAlone: a row's bits depend on its own visible
// values, cols, q, its place in its block and scale only. The kernels run
// rows in groups where consecutive rows allow and alone where a neighbour
// holds NaN, +Inf or only -Inf (or, AVX2, spans more than the fast path
// allows), so each row is computed again with every such neighbour, and
// must keep its bits; a NaN in every masked entry changes nothing.
func TestSoftmaxCausalRowsAlone(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalRowsAlone[float32], testCausalRowsAlone[float64])
	})
}

func testCausalRowsAlone[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	spoil := []func(row []F){
		func(row []F) { row[len(row)/2] = F(math.NaN()) },
		func(row []F) { row[0] = F(math.Inf(1)) },
		func(row []F) {
			for j := range row {
				row[j] = F(math.Inf(-1))
			}
		},
		func(row []F) { row[len(row)-1] = -1e30 },
	}
	for _, cols := range []int{1, 3, 9, 16, 17, 31, 40, 64, 70, 100, 130, 300, 511, 515, 530} {
		for _, q := range []int{2, 7, cols} {
			if q > cols {
				continue
			}
			const blocks = 2
			n := blocks * q * cols
			s := make([]F, n)
			fillRandom(s, r, valueRanges[3].gen)
			fillMasked(F(math.NaN()), cols, q, s)
			whole := make([]F, n)
			SoftmaxCausal(whole, s, cols, q, 0.3)
			expectCausal(t, whole, s, cols, q, 0.3)
			rows := []int{0, 1, 2, 3, 4, 5, 6, q / 2, q - 3, q - 2, q - 1, q + 1, 2*q - 1}
			if q <= 70 {
				rows = rows[:0]
				for i := range q + 2 {
					rows = append(rows, i)
				}
			}
			own, spoilt, got, withNaN := make([]F, n), make([]F, n), make([]F, n), make([]F, n)
			for _, row := range rows {
				if row < 0 || row >= n/cols {
					continue
				}
				// The row as it is, and with a NaN of its own (which the
				// max may or may not see: its bits must not change).
				for _, nan := range []bool{false, true} {
					base, want := s, whole
					if nan {
						copy(own, s)
						own[row*cols+r.IntN(cols-q+row%q+1)] = F(math.NaN())
						SoftmaxCausal(withNaN, own, cols, q, 0.3)
						base, want = own, withNaN
					}
					for k, f := range spoil {
						copy(spoilt, base)
						for _, nb := range []int{row - 3, row - 2, row - 1, row + 1, row + 2, row + 3} {
							if nb < 0 || nb >= n/cols {
								continue
							}
							f(spoilt[nb*cols : nb*cols+cols-q+nb%q+1])
						}
						SoftmaxCausal(got, spoilt, cols, q, 0.3)
						for j := row * cols; j < (row+1)*cols; j++ {
							if !isNaNBits(got[j], want[j]) {
								t.Fatalf("%d cols q %d row %d (NaN %v), neighbours spoilt (%d): [%d] = %v, alone %v", cols, q, row, nan, k, j-row*cols, got[j], want[j])
							}
						}
					}
				}
			}
		}
	}
}

// TestSoftmaxCausalLong holds blocks with rows longer than the group code
// takes, and rows holding NaN, +Inf or only -Inf, to the bound, and in
// place to the same bits.
func TestSoftmaxCausalLong(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalLong[float32], testCausalLong[float64])
	})
}

func testCausalLong[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	for _, cols := range []int{509, 512, 513, 520, 1000, 1030} {
		for _, q := range []int{3, 16, cols} {
			s := make([]F, q*cols)
			fillRandom(s, r, valueRanges[3].gen)
			for i := 0; i < q; i += 5 {
				see := cols - q + i + 1
				switch i % 3 {
				case 0:
					s[i*cols+r.IntN(see)] = F(math.Inf(1))
				case 1:
					for j := range see {
						s[i*cols+j] = F(math.Inf(-1))
					}
				case 2:
					s[i*cols+r.IntN(see)] = F(math.NaN())
				}
			}
			dst := make([]F, len(s))
			SoftmaxCausal(dst, s, cols, q, 0.25)
			expectCausal(t, dst, s, cols, q, 0.25)
			SoftmaxCausal(s, s, cols, q, 0.25) // in place
			for i := range s {
				if !isNaNBits(s[i], dst[i]) {
					t.Fatalf("%d cols q %d: in place [%d] = %v, not %v", cols, q, i, s[i], dst[i])
				}
			}
		}
	}
}
