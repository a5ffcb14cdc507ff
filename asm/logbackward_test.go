//go:build amd64 && !purego

package asm

import (
	"math"
	"math/rand"
	"testing"

	"github.com/rowwise/softmax/internal/guard"
	"github.com/rowwise/softmax/internal/ref"
)

// TestLogSoftmaxBackwardRanges feeds y from every range the exp paths split
// on: masked, below the float32 fast range, moderate, positive, and checks
// CONTRACT.md's bound against the double-double reference, rows 1..70 wide, with
// guard pages on both sides.
func TestLogSoftmaxBackwardRanges(t *testing.T) {
	type k32 = fwdFn[func(ds, y, dy []float32, cols int)]
	type k64 = fwdFn[func(ds, y, dy []float64, cols int)]
	ks32 := []k32{{"LogSoftmaxBackwardF32AVX2", fwdAVX2, LogSoftmaxBackwardF32AVX2}, {"LogSoftmaxBackwardF32AVX512", fwdAVX512, LogSoftmaxBackwardF32AVX512}}
	ks64 := []k64{{"LogSoftmaxBackwardF64AVX2", fwdAVX2, LogSoftmaxBackwardF64AVX2}, {"LogSoftmaxBackwardF64AVX512", fwdAVX512, LogSoftmaxBackwardF64AVX512}}
	rng := rand.New(rand.NewSource(3))
	gen := func() float64 {
		switch rng.Intn(9) {
		case 0:
			return math.Inf(-1)
		case 1:
			return -88 - 30*rng.Float64()
		case 8:
			return -700 - 100*rng.Float64() // float64's slow path
		case 2:
			return 3 * rng.Float64()
		default:
			return -10 * rng.Float64()
		}
	}
	for cols := 1; cols <= 70; cols++ {
		rows := 1 + cols%5
		n := rows * cols
		y64, dy64 := make([]float64, n), make([]float64, n)
		for i := range y64 {
			y64[i] = gen()
			dy64[i] = 2*rng.Float64() - 1
		}
		y32, dy32 := make([]float32, n), make([]float32, n)
		for i := range y64 {
			y32[i], dy32[i] = float32(y64[i]), float32(dy64[i])
		}
		want32, scale32 := ref.LogSoftmaxBackward(toF64s(y32), toF64s(dy32), cols)
		want64, scale64 := ref.LogSoftmaxBackward(y64, dy64, cols)
		for _, k := range ks32 {
			if !k.ok {
				continue
			}
			ds := guard.Slice[float32](t, n, cols%2 == 0)
			k.fn(ds, y32, dy32, cols)
			for i := range ds {
				if e := math.Abs(float64(ds[i]) - want32[i]); !(e <= 0x1p-20*scale32[i]+0x1p-126) {
					t.Fatalf("%s cols=%d [%d]: y=%g dy=%g: got %g, want %g", k.name, cols, i, y32[i], dy32[i], ds[i], want32[i])
				}
			}
		}
		for _, k := range ks64 {
			if !k.ok {
				continue
			}
			ds := guard.Slice[float64](t, n, cols%2 == 1)
			k.fn(ds, y64, dy64, cols)
			for i := range ds {
				if e := math.Abs(ds[i] - want64[i]); !(e <= 0x1p-46*scale64[i]+0x1p-1022) {
					t.Fatalf("%s cols=%d [%d]: y=%g dy=%g: got %g, want %g", k.name, cols, i, y64[i], dy64[i], ds[i], want64[i])
				}
			}
		}
	}
}

func toF64s(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
