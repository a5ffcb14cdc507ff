package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	names := ""
	for _, t := range tiers {
		names += " " + t.name
	}
	fmt.Printf("kernels: using %s; tiers on this CPU:%s\n", Implementation(), names)
	os.Exit(m.Run())
}

// forEachTier runs f with each tier this CPU has made the active one, so the
// public API is what is tested.
func forEachTier(t *testing.T, f func(t *testing.T)) {
	for _, tr := range tiers {
		t.Run(tr.name, func(t *testing.T) {
			defer useTier(tr)()
			f(t)
		})
	}
}

// useTier makes tr the active tier and returns the function that restores
// the previous one.
func useTier(tr *tier) (restore func()) {
	old := active
	active = tr
	return func() { active = old }
}

func forEachType(t *testing.T, f32 func(t *testing.T), f64 func(t *testing.T)) {
	t.Run("f32", f32)
	t.Run("f64", f64)
}

// bounds holds CONTRACT.md's accuracy constants for one element type.
type bounds struct {
	softmax, other, tiny, ulp float64
}

func boundsOf[F Float]() bounds {
	var z F
	if _, ok := any(z).(float32); ok {
		return bounds{0x1p-21, 0x1p-20, 0x1p-126, 0x1p-23}
	}
	return bounds{0x1p-46, 0x1p-46, 0x1p-1022, 0x1p-52}
}

// valueRange is a way to fill test rows.
type valueRange struct {
	name string
	gen  func(r *rand.Rand) float64
}

var valueRanges = []valueRange{
	{"unit", func(r *rand.Rand) float64 { return 2*r.Float64() - 1 }},
	{"ten", func(r *rand.Rand) float64 { return 20*r.Float64() - 10 }},
	{"hundred", func(r *rand.Rand) float64 { return 200*r.Float64() - 100 }},
	{"logits", func(r *rand.Rand) float64 { return 8 * r.NormFloat64() }},
	{"huge", func(r *rand.Rand) float64 {
		// mixtures of +-1e30 and moderate values: only a few entries count
		switch r.IntN(4) {
		case 0:
			return 1e30 * (1 + r.Float64())
		case 1:
			return -1e30 * (1 + r.Float64())
		}
		return 1e30 - 50*r.Float64()
	}},
}

func fillRandom[F Float](s []F, r *rand.Rand, gen func(*rand.Rand) float64) {
	for i := range s {
		s[i] = F(gen(r))
	}
}

// guarded returns a slice of n elements at offset off inside a larger buffer
// whose other cells hold a canary, and a check that the canaries survived.
func guarded[F Float](n, off int) ([]F, func(t *testing.T)) {
	const pad = 24
	buf := make([]F, off+n+pad)
	canary := F(math.NaN())
	for i := range buf {
		buf[i] = canary
	}
	s := buf[off : off+n : off+n]
	return s, func(t *testing.T) {
		t.Helper()
		for i, v := range buf {
			if (i < off || i >= off+n) && !isNaNBits(v, canary) {
				t.Fatalf("wrote outside the slice: buf[%d] = %v (slice is [%d:%d])", i, v, off, off+n)
			}
		}
	}
}

func isNaNBits[F Float](a, b F) bool {
	switch x := any(a).(type) {
	case float32:
		return math.Float32bits(x) == math.Float32bits(any(b).(float32))
	default:
		return math.Float64bits(any(a).(float64)) == math.Float64bits(any(b).(float64))
	}
}

func isNaN[F Float](v F) bool { return v != v }

func minNormalOf[F Float]() F {
	var z F
	if _, ok := any(z).(float32); ok {
		return F(0x1p-126)
	}
	return F(0x1p-1022)
}
