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

// TestLogSoftmaxBackwardNaNPayloads: a row whose dy holds NaNs of different
// payloads keeps its bits whether it goes alone or in a group (rows stand
// alone, SPEC.md). The sum keeps the payload the additions pick, so every
// path must add a row's lanes with the same operands first, not just in the
// same pairs.
func TestLogSoftmaxBackwardNaNPayloads(t *testing.T) {
	ks32 := []fwdFn[func(ds, y, dy []float32, cols int)]{{"LogSoftmaxBackwardF32AVX2", fwdAVX2, LogSoftmaxBackwardF32AVX2}, {"LogSoftmaxBackwardF32AVX512", fwdAVX512, LogSoftmaxBackwardF32AVX512}}
	ks64 := []fwdFn[func(ds, y, dy []float64, cols int)]{{"LogSoftmaxBackwardF64AVX2", fwdAVX2, LogSoftmaxBackwardF64AVX2}, {"LogSoftmaxBackwardF64AVX512", fwdAVX512, LogSoftmaxBackwardF64AVX512}}
	rng := rand.New(rand.NewSource(5))
	for _, k := range ks32 {
		if k.ok {
			testNaNPayloads(t, k.name, k.fn, rng, func(i int) float32 {
				return math.Float32frombits(0x7fc00000 | uint32(i+1) | uint32(i&1)<<31)
			})
		}
	}
	for _, k := range ks64 {
		if k.ok {
			testNaNPayloads(t, k.name, k.fn, rng, func(i int) float64 {
				return math.Float64frombits(0x7ff8000000000000 | uint64(i+1) | uint64(i&1)<<63)
			})
		}
	}
}

func testNaNPayloads[F float32 | float64](t *testing.T, name string, fn func(ds, y, dy []F, cols int), rng *rand.Rand, nan func(i int) F) {
	for cols := 2; cols <= 70; cols++ {
		for try := 0; try < 8; try++ {
			const rows = 5
			y, dy := make([]F, rows*cols), make([]F, rows*cols)
			for i := range y {
				y[i] = F(-5 * rng.Float64())
				dy[i] = F(2*rng.Float64() - 1)
			}
			for r := 0; r < rows; r++ {
				a := rng.Intn(cols)
				b := (a + 1 + rng.Intn(cols-1)) % cols
				dy[r*cols+a], dy[r*cols+b] = nan(2*try), nan(2*try+1)
			}
			ds := make([]F, len(y))
			fn(ds, y, dy, cols)
			for r := 0; r < rows; r++ {
				one := make([]F, cols)
				fn(one, y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], cols)
				for j, v := range one {
					got := ds[r*cols+j]
					if bitsF(got) != bitsF(v) {
						t.Fatalf("%s %dx%d row %d col %d: %#x in the call, %#x alone", name, rows, cols, r, j, bitsF(got), bitsF(v))
					}
				}
			}
		}
	}
}

func bitsF[F float32 | float64](v F) uint64 {
	if x, ok := any(v).(float32); ok {
		return uint64(math.Float32bits(x))
	}
	return math.Float64bits(float64(v))
}
