package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// Rows stand alone for the fused operations too: SoftmaxScaled and
// SoftmaxBackwardScaled go through the same walk as the others; CrossEntropy
// and LogSumExp (an output per row beside the row-shaped one) and
// SoftmaxCausal (a row's bits may depend on its place in its block, never
// on the blocks around it) are checked here.

func scaledRowOps[F Float]() []rowOp[F] {
	none := func([][]F, int) {}
	probs := func(in [][]F, cols int) { Softmax(in[0], in[0], cols) }
	return []rowOp[F]{
		{"SoftmaxScaled", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 0.3) }},
		// rows whose scaled span crosses fastSpan one way or the other
		{"SoftmaxScaled(scale=3)", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 3) }},
		{"SoftmaxScaled(scale=0.01)", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 0.01) }},
		// float32's fold range (2^-20..2^20) at its edges and beyond:
		// the multiply on both sides
		{"SoftmaxScaled(scale=2^-20)", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 0x1p-20) }},
		{"SoftmaxScaled(scale=0.9e-6)", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 0.9e-6) }},
		{"SoftmaxScaled(scale=2^20)", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 0x1p20) }},
		{"SoftmaxScaled(scale=1.1e6)", 1, none, func(o []F, in [][]F, c int) { SoftmaxScaled(o, in[0], c, 1.1e6) }},
		{"SoftmaxBackwardScaled", 2, probs, func(o []F, in [][]F, c int) { SoftmaxBackwardScaled(o, in[0], in[1], c, 0.3) }},
		// q = 1: every column seen, so a row stands alone entirely
		{"SoftmaxCausal(q=1)", 1, none, func(o []F, in [][]F, c int) { SoftmaxCausal(o, in[0], c, 1, 0.3) }},
		{"SoftmaxCausalBackward(q=1)", 2, probs, func(o []F, in [][]F, c int) { SoftmaxCausalBackward(o, in[0], in[1], c, 1, 0.3) }},
	}
}

func TestFusedRowsStandAlone(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testFusedRowsStandAlone[float32], testFusedRowsStandAlone[float64])
	})
}

func testFusedRowsStandAlone[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, op := range scaledRowOps[F]() {
		t.Run(op.name, func(t *testing.T) { testOpRowsStandAlone(t, r, op) })
	}
	t.Run("CrossEntropy", func(t *testing.T) { testPerRowOutputs[F](t, r, true, false) })
	t.Run("CrossEntropy(groups)", func(t *testing.T) { testPerRowOutputs[F](t, r, true, true) })
	t.Run("LogSumExp", func(t *testing.T) { testPerRowOutputs[F](t, r, false, false) })
	t.Run("SoftmaxCausal", func(t *testing.T) { testCausalBlocks[F](t, r) })
}

// testPerRowOutputs runs CrossEntropy (xent) or LogSumExp on a matrix of
// rows of every kind, then on each row alone, and in random splits, and
// compares bits. plain keeps out the rows that send a whole group of the
// kernels to the one-row code (ignored, +Inf, NaN, all -Inf), so that the
// groups (of four and of eight rows) run at every alignment.
func testPerRowOutputs[F Float](t *testing.T, r *rand.Rand, xent, plain bool) {
	cs := aloneCols(testing.Short())
	if xent {
		cs = append(cs, 383, 384, 385) // the four-row path's limit (AVX-512 float32)
	}
	for _, cols := range cs {
		const rows = 17
		s, labels := ref.LogitRows[F](r, rows, cols)
		if plain {
			for i := range labels {
				if k := i % 8; k == 2 || k == 4 || k == 5 || k == 6 {
					for j := i * cols; j < (i+1)*cols; j++ {
						s[j] = F(4 * r.NormFloat64())
					}
					labels[i] = int32(r.IntN(cols))
				}
			}
		}
		run := func(lo, hi, off int) ([]F, []F) {
			in := make([]F, off+(hi-lo)*cols)
			in = in[off:]
			copy(in, s[lo*cols:hi*cols])
			loss := make([]F, hi-lo)
			if !xent {
				LogSumExp(loss, in, cols)
				return loss, nil
			}
			ds := make([]F, off+len(in))[off:]
			CrossEntropy(loss, ds, in, labels[lo:hi], cols, 0.25)
			return loss, ds
		}
		wantLoss, wantDS := run(0, rows, 0)
		check := func(how string, lo int, loss, ds []F) {
			for i := range loss {
				if !isNaNBits(loss[i], wantLoss[lo+i]) {
					t.Fatalf("%d cols, row %d %s: %v, in the whole call %v", cols, lo+i, how, loss[i], wantLoss[lo+i])
				}
			}
			for j := range ds {
				if !isNaNBits(ds[j], wantDS[lo*cols+j]) {
					t.Fatalf("%d cols, ds row %d col %d %s: %v, in the whole call %v", cols, lo+j/cols, j%cols, how, ds[j], wantDS[lo*cols+j])
				}
			}
		}
		for i := 0; i < rows; i++ {
			loss, ds := run(i, i+1, i%16)
			check("alone", i, loss, ds)
		}
		for lo := 0; lo < rows; {
			hi := lo + 1 + r.IntN(rows-lo)
			loss, ds := run(lo, hi, r.IntN(16))
			check(fmt.Sprintf("in rows %d..%d", lo, hi-1), lo, loss, ds)
			lo = hi
		}
		// calls of every count up to 9 (groups of four, a pending group
		// and leftover rows), at starts 0, 3, 5 and 8
		for n := 1; n <= 9; n++ {
			for _, lo := range []int{0, 3, 5, 8} {
				loss, ds := run(lo, lo+n, (lo+n)%16)
				check(fmt.Sprintf("in rows %d..%d", lo, lo+n-1), lo, loss, ds)
			}
		}
	}
}

// testCausalBlocks: each block of SoftmaxCausal (and its backward) gives the
// same bits in one call, alone, and at any offset.
func testCausalBlocks[F Float](t *testing.T, r *rand.Rand) {
	for _, cols := range []int{1, 2, 5, 8, 16, 17, 33, 64, 129, 300} {
		for _, q := range []int{1, 2, 3, cols} {
			if q > cols {
				continue
			}
			const blocks = 3
			n := blocks * q * cols
			s, dp := make([]F, n), make([]F, n)
			fillRandom(s, r, valueRanges[3].gen)
			fillRandom(dp, r, valueRanges[0].gen)
			whole, back := make([]F, n), make([]F, n)
			SoftmaxCausal(whole, s, cols, q, 0.3)
			SoftmaxCausalBackward(back, whole, dp, cols, q, 0.3)
			for b := 0; b < blocks; b++ {
				lo, hi := b*q*cols, (b+1)*q*cols
				off := (b*5 + q) % 16
				out := make([]F, off+hi-lo)[off:]
				SoftmaxCausal(out, s[lo:hi], cols, q, 0.3)
				ds := make([]F, hi-lo)
				SoftmaxCausalBackward(ds, out, dp[lo:hi], cols, q, 0.3)
				for j := range out {
					if !isNaNBits(out[j], whole[lo+j]) || !isNaNBits(ds[j], back[lo+j]) {
						t.Fatalf("%d cols q %d block %d [%d]: alone %v/%v, in the call %v/%v", cols, q, b, j, out[j], ds[j], whole[lo+j], back[lo+j])
					}
				}
			}
		}
	}
}
