package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxCausalBackwardManyBlocks: the causal kernels run a whole stack
// of blocks in one call. Each row must be within the bound, +0 on the
// entries it does not see whatever ds held (NaN in p and dp there changes
// nothing), each block must have the bits it gets alone, and each row the
// bits it gets among other neighbours, at another place in its block's
// stack and at another alignment (rows stand alone); in place too.
func TestSoftmaxCausalBackwardManyBlocks(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalBackwardManyBlocks[float32], testCausalBackwardManyBlocks[float64])
	})
}

// causalInputs fills p (a causal softmax of random logits) and dp for n
// elements, NaN where a row does not see.
func causalInputs[F Float](r *rand.Rand, n, cols, q int) (p, dp []F) {
	s := make([]F, n)
	p, dp = make([]F, n), make([]F, n)
	fillRandom(s, r, valueRanges[3].gen)
	fillRandom(dp, r, valueRanges[0].gen)
	SoftmaxCausal(p, s, cols, q, 0.3)
	fillMasked(F(math.NaN()), cols, q, p, dp)
	return p, dp
}

// fillMasked sets the entries that the rows of blocks of q rows do not
// see (row i of a block sees the columns j <= cols - q + i) to v, in each
// of xs.
func fillMasked[F Float](v F, cols, q int, xs ...[]F) {
	for _, x := range xs {
		for i := 0; i < len(x)/cols; i++ {
			for j := cols - q + i%q + 1; j < cols; j++ {
				x[i*cols+j] = v
			}
		}
	}
}

// expectCausalZeros requires +0 (not -0) on the entries a row does not see.
func expectCausalZeros[F Float](t *testing.T, what string, ds []F, cols, q int) {
	t.Helper()
	for i := 0; i < len(ds)/cols; i++ {
		for j := cols - q + i%q + 1; j < cols; j++ {
			if v := ds[i*cols+j]; !isNaNBits(v, 0) {
				t.Fatalf("%s: row %d col %d (masked) = %v, want +0", what, i, j, v)
			}
		}
	}
}

func testCausalBackwardManyBlocks[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	const scale = 0.3
	for _, cols := range []int{1, 3, 7, 8, 16, 17, 40, 128, 130, 200} {
		for _, q := range []int{2, 7, cols} {
			if q > cols {
				continue
			}
			for _, blocks := range []int{2, 4, 5, 9} {
				name := fmt.Sprintf("%d cols q %d %d blocks", cols, q, blocks)
				n := blocks * q * cols
				p, dp := causalInputs[F](r, n, cols, q)
				got := make([]F, n)
				for i := range got {
					got[i] = 5
				}
				SoftmaxCausalBackward(got, p, dp, cols, q, scale)
				expectScaledBackward(t, got, p, dp, cols, q, scale)
				expectCausalZeros(t, name, got, cols, q)
				for b := 0; b < blocks; b++ {
					lo, hi := b*q*cols, (b+1)*q*cols
					alone := make([]F, hi-lo)
					SoftmaxCausalBackward(alone, p[lo:hi], dp[lo:hi], cols, q, scale)
					for j, v := range alone {
						if !isNaNBits(v, got[lo+j]) {
							t.Fatalf("%s: block %d [%d] = %v, alone %v", name, b, j, got[lo+j], v)
						}
					}
				}
				// Each row among other rows: in the second of three blocks of
				// other inputs, the slices at an offset of their own.
				op, odp := causalInputs[F](r, 3*q*cols, cols, q)
				ods := make([]F, len(op))
				step := max(1, n/cols/40)
				for i := 0; i < n/cols; i += step + i%3 {
					off := (i*5 + cols) % 17
					at := q*cols + i%q*cols
					copy(op[at:at+cols], p[i*cols:(i+1)*cols])
					copy(odp[at:at+cols], dp[i*cols:(i+1)*cols])
					shift := func(s []F) []F { return append(make([]F, off), s...)[off:] }
					sds := shift(ods)
					SoftmaxCausalBackward(sds, shift(op), shift(odp), cols, q, scale)
					for j := 0; j < cols; j++ {
						if !isNaNBits(sds[at+j], got[i*cols+j]) {
							t.Fatalf("%s: row %d col %d = %v amid other rows at offset %d, %v in the call", name, i, j, sds[at+j], off, got[i*cols+j])
						}
					}
				}
				for _, alias := range []string{"dp", "p"} {
					in, pp, dd := append([]F(nil), dp...), p, dp
					if alias == "dp" {
						dd = in
					} else {
						copy(in, p)
						pp = in
					}
					SoftmaxCausalBackward(in, pp, dd, cols, q, scale)
					for j := range in {
						if !isNaNBits(in[j], got[j]) {
							t.Fatalf("%s: ds = %s [%d] = %v, apart %v", name, alias, j, in[j], got[j])
						}
					}
				}
			}
		}
	}
}

// TestSoftmaxCausalBackwardLengths: every visible length from 1 to 300
// columns, in blocks of every cols up to 300 (so the zeros after each
// length are written for many row lengths), and a few long rows, against
// the float64 reference; NaN in every masked entry.
func TestSoftmaxCausalBackwardLengths(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCausalBackwardLengths[float32], testCausalBackwardLengths[float64])
	})
}

func testCausalBackwardLengths[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	type shape struct{ cols, q int }
	var shapes []shape
	for cols := 1; cols <= 300; cols++ {
		shapes = append(shapes, shape{cols, cols})
		if cols%7 == 3 {
			shapes = append(shapes, shape{cols, min(cols, 5)})
		}
	}
	shapes = append(shapes, shape{1031, 1031}, shape{4099, 3}, shape{1 << 15, 2})
	for _, sh := range shapes {
		name := fmt.Sprintf("%d cols q %d", sh.cols, sh.q)
		n := 2 * sh.q * sh.cols
		p, dp := causalInputs[F](r, n, sh.cols, sh.q)
		ds := make([]F, n)
		for i := range ds {
			ds[i] = F(math.NaN())
		}
		SoftmaxCausalBackward(ds, p, dp, sh.cols, sh.q, 0.7)
		expectScaledBackward(t, ds, p, dp, sh.cols, sh.q, 0.7)
		expectCausalZeros(t, name, ds, sh.cols, sh.q)
	}
}
