package kernels

import (
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/internal/ref"
)

// TestExpExhaustive32 runs every one of the 2^32 float32 inputs through Exp
// on each tier and demands at most 1 ulp from the correctly rounded result.
// It uses every core and takes tens of seconds a tier; -short skips it.
func TestExpExhaustive32(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive: skipped with -short")
	}
	forEachTier(t, func(t *testing.T) {
		worst, at := exhaustiveExp32()
		t.Logf("max error %d ulp, at exp(%v) (%#08x)", worst, at, math.Float32bits(at))
		if worst > 1 {
			t.Errorf("exp(%v) = %v, correctly rounded %v: %d ulp", at, expOne(at), ref.Exp32CR(at), worst)
		}
	})
}

func expOne(x float32) float32 {
	d := []float32{0}
	Exp(d, []float32{x})
	return d[0]
}

// exhaustiveExp32 returns the largest error over all inputs and where it is.
func exhaustiveExp32() (worst int64, at float32) {
	const chunk = 1 << 16
	workers := runtime.GOMAXPROCS(0)
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := uint64(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, dst := make([]float32, chunk), make([]float32, chunk)
			for {
				mu.Lock()
				start := next
				next += chunk
				mu.Unlock()
				if start >= 1<<32 {
					return
				}
				for i := range src {
					src[i] = math.Float32frombits(uint32(start) + uint32(i))
				}
				Exp(dst, src)
				w, a := int64(0), float32(0)
				for i, x := range src {
					if d := ref.ULPs32(dst[i], exp32CR(x)); d > w {
						w, a = d, x
					}
				}
				mu.Lock()
				if w > worst {
					worst, at = w, a
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return worst, at
}

// exp32CR returns e^x correctly rounded to float32: fallback.Exp64 (within
// 2^-52 relative) rounded, unless that lands within 2^-50 of a rounding
// boundary, where the slow double-double reference decides.
func exp32CR(x float32) float32 {
	switch { // most inputs: no exp needed
	case x != x:
		return x
	case x > 89:
		return float32(math.Inf(1))
	case x < -104: // e^x < 2^-150, half the smallest subnormal
		return 0
	case x < 0x1p-25 && x > -0x1p-25: // within half an ulp of 1
		return 1
	}
	v := fallback.Exp64(float64(x))
	switch {
	case math.IsNaN(v):
		return x
	case v >= 0x1p128: // past MaxFloat32 and half an ulp
		return float32(math.Inf(1))
	case v < 0x1p-151: // below half the smallest subnormal
		return 0
	case v < 0x1p-126 || v > math.MaxFloat32: // subnormal or overflowing: rare
		return ref.Exp32CR(x)
	}
	c := float32(v)
	// the boundary between c and its neighbour on v's side
	n := math.Nextafter32(c, float32(math.Inf(1)))
	if float64(c) > v {
		n = math.Nextafter32(c, 0)
	}
	mid := (float64(c) + float64(n)) / 2
	if math.Abs(v-mid) <= 0x1p-50*v || math.IsInf(float64(n), 0) {
		return ref.Exp32CR(x)
	}
	return c
}
