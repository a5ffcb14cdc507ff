package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/internal/ref"
)

func TestExp(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testExp[float32], testExp[float64])
	})
}

// expInput draws inputs over the whole interesting domain of F: overflow,
// normal and subnormal results, underflow to zero, tiny arguments.
func expInput[F Float](r *rand.Rand) F {
	lo, hi := -110.0, 95.0
	if _, ok := any(F(0)).(float64); ok {
		lo, hi = -760, 715
	}
	switch r.IntN(8) {
	case 0:
		return F(math.Ldexp(r.Float64()-0.5, -r.IntN(60))) // near 0
	case 1:
		return F(hi - 8*r.Float64()) // near overflow
	case 2:
		return F(lo + 25*r.Float64()) // subnormal results
	}
	return F(lo + (hi-lo)*r.Float64())
}

func testExp[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{1000, 4099}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		off := n % 16
		if n < 48 {
			off = 0 // the offsets of short vectors get their own loop below
		}
		src := make([]F, n)
		for i := range src {
			src[i] = expInput[F](r)
		}
		dst, check := guarded[F](n, off)
		Exp(dst, src)
		check(t)
		checkExp(t, dst, src)
		Exp(src, src) // in place
		for i := range src {
			if !isNaNBits(src[i], dst[i]) {
				t.Fatalf("n=%d: in place exp[%d] = %v, not %v", n, i, src[i], dst[i])
			}
		}
	}
	for n := 1; n < 48; n++ {
		for off := 1; off < 16; off++ {
			src, _ := guarded[F](n, (off*7)%16)
			for i := range src {
				src[i] = expInput[F](r)
			}
			dst, check := guarded[F](n, off)
			Exp(dst, src)
			check(t)
			checkExp(t, dst, src)
		}
	}
}

// TestExpSpecial puts each special value at every lane position of short
// vectors and demands CONTRACT.md's exact result there and no change elsewhere.
func TestExpSpecial(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testExpSpecial[float32], testExpSpecial[float64])
	})
}

func testExpSpecial[F Float](t *testing.T) {
	inf := math.Inf(1)
	big, tiny := 100.0, -200.0
	if _, ok := any(F(0)).(float64); ok {
		big, tiny = 800, -1000
	}
	cases := []struct{ in, want float64 }{
		{math.NaN(), math.NaN()}, {inf, inf}, {-inf, 0}, {0, 1}, {math.Copysign(0, -1), 1},
		{big, inf}, {tiny, 0},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 40; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range cases {
				src := make([]F, n)
				for i := range src {
					src[i] = F(4*r.Float64() - 2)
				}
				src[pos] = F(c.in)
				dst := make([]F, n)
				want := make([]F, n)
				Exp(dst, src)
				fallback.Exp(want, src)
				for i := range dst {
					if i == pos {
						if !isNaNBits(dst[i], F(c.want)) && !(isNaN(dst[i]) && math.IsNaN(c.want)) {
							t.Fatalf("n=%d: exp(%v) at %d = %v, want %v", n, c.in, pos, dst[i], c.want)
						}
						continue
					}
					if d := ulps(dst[i], want[i]); d > 2 {
						t.Fatalf("n=%d special at %d: exp(%v) at %d = %v, fallback %v", n, pos, src[i], i, dst[i], want[i])
					}
				}
			}
		}
	}
}

func ulps[F Float](a, b F) int64 {
	if x, ok := any(a).(float32); ok {
		return ref.ULPs32(x, any(b).(float32))
	}
	return ref.ULPs64(float64(a), float64(b))
}
