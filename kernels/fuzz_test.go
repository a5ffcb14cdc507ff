package kernels

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/internal/ref"
)

// The fuzz targets decode bytes into a shape and values (special values
// included), run every tier and hold each to CONTRACT.md's bounds against
// internal/ref, which also checks the value rules (NaN rows, masks, +Inf,
// no subnormal probabilities). .ci/run runs each one briefly; go test runs
// the seed corpus.

// decode turns data into cols and a matrix of values: each value takes a tag
// byte (mostly a finite value from the next two bytes, sometimes -Inf, +Inf,
// NaN, 0, a huge value or raw float bits).
func decode(data []byte, finite bool) (cols int, vals []float64) {
	if len(data) == 0 {
		return 1, nil
	}
	cols = 1 + int(data[0])%70
	data = data[1:]
	for len(data) >= 3 {
		tag, u := data[0], binary.LittleEndian.Uint16(data[1:3])
		data = data[3:]
		v := (float64(u) - 32768) / 256 // [-128, 128)
		switch tag % 16 {
		case 10:
			v = math.Inf(-1)
		case 11:
			v = math.Inf(1)
		case 12:
			v = math.NaN()
		case 13:
			v = 0
		case 14:
			v *= 1e30
		case 15:
			if len(data) >= 8 {
				v = math.Float64frombits(binary.LittleEndian.Uint64(data))
				data = data[8:]
			}
		}
		if finite && (math.IsInf(v, 0) || math.IsNaN(v)) {
			v = float64(tag) - 128
		}
		vals = append(vals, v)
	}
	vals = vals[:len(vals)/cols*cols]
	return cols, vals
}

func conv[F Float](v []float64) []F {
	out := make([]F, len(v))
	for i, x := range v {
		out[i] = F(x)
	}
	return out
}

var fuzzSeeds = [][]byte{
	{},
	{5, 0, 0, 128, 1, 0, 129, 2, 0, 127, 10, 0, 0, 11, 0, 0},
	{0, 12, 0, 0, 3, 50, 130},
	{36, 11, 0, 0, 11, 0, 0, 14, 1, 200, 14, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
	{9, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0},
	{2, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 1, 1, 1},
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
}

func fuzzForward[F Float](f *testing.F, run func(dst, src []F, cols int), check func(*testing.T, []F, []F, int)) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, vals := decode(data, false)
		src := conv[F](vals)
		for _, tr := range tiers {
			restore := useTier(tr)
			dst := make([]F, len(src))
			run(dst, src, cols)
			restore()
			check(t, dst, src, cols)
		}
	})
}

func fuzzExp[F Float](f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, vals := decode(data, false)
		src := conv[F](vals)
		for _, tr := range tiers {
			restore := useTier(tr)
			dst := make([]F, len(src))
			Exp(dst, src)
			restore()
			checkExp(t, dst, src)
		}
	})
}

// fuzzBackward feeds the backward passes a real forward output of decoded
// logits and a decoded finite gradient.
func fuzzBackward[F Float](f *testing.F, log bool) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, vals := decode(data, false)
		_, grads := decode(append([]byte{0}, data...), true)
		for len(grads) < len(vals) {
			grads = append(grads, 0.5)
		}
		x, g := make([]F, len(vals)), conv[F](grads[:len(vals)])
		for i, v := range g {
			// CONTRACT.md is silent on infinite gradients, and near MaxFloat32
			// the float32 kernels may overflow where the reference does not.
			if !(math.Abs(float64(v)) <= 1e30) {
				g[i] = 0.5
			}
		}
		if log {
			fallback.LogSoftmax(x, conv[F](vals), cols)
		} else {
			fallback.Softmax(x, conv[F](vals), cols)
		}
		for _, tr := range tiers {
			restore := useTier(tr)
			ds := make([]F, len(x))
			if log {
				LogSoftmaxBackward(ds, x, g, cols)
				restore()
				want, scale := ref.LogSoftmaxBackward(ref.Float64s(x), ref.Float64s(g), cols)
				checkGrad(t, tr.name+" LogSoftmaxBackward", ds, want, scale, false)
				continue
			}
			SoftmaxBackward(ds, x, g, cols)
			want, scale := ref.SoftmaxBackward(nil, ref.Float64s(x), ref.Float64s(g), cols)
			checkGrad(t, tr.name+" SoftmaxBackward", ds, want, scale, false)
			ds0 := append([]F(nil), g...)
			SoftmaxBackwardAdd(ds0, x, g, cols) // ds aliases dp
			restore()
			want, scale = ref.SoftmaxBackward(ref.Float64s(g), ref.Float64s(x), ref.Float64s(g), cols)
			checkGrad(t, tr.name+" SoftmaxBackwardAdd", ds0, want, scale, true)
		}
	})
}

func FuzzExpF32(f *testing.F)        { fuzzExp[float32](f) }
func FuzzExpF64(f *testing.F)        { fuzzExp[float64](f) }
func FuzzSoftmaxF32(f *testing.F)    { fuzzForward(f, Softmax[float32], checkSoftmax[float32]) }
func FuzzSoftmaxF64(f *testing.F)    { fuzzForward(f, Softmax[float64], checkSoftmax[float64]) }
func FuzzLogSoftmaxF32(f *testing.F) { fuzzForward(f, LogSoftmax[float32], checkLogSoftmax[float32]) }
func FuzzLogSoftmaxF64(f *testing.F) { fuzzForward(f, LogSoftmax[float64], checkLogSoftmax[float64]) }

func FuzzSoftmaxBackwardF32(f *testing.F)    { fuzzBackward[float32](f, false) }
func FuzzSoftmaxBackwardF64(f *testing.F)    { fuzzBackward[float64](f, false) }
func FuzzLogSoftmaxBackwardF32(f *testing.F) { fuzzBackward[float32](f, true) }
func FuzzLogSoftmaxBackwardF64(f *testing.F) { fuzzBackward[float64](f, true) }

// fuzzCrossEntropy decodes logits and derives the labels from the same bytes
// (some negative: ignored rows); every tier, with and without ds.
func fuzzCrossEntropy[F Float](f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, vals := decode(data, false)
		s := conv[F](vals)
		labels := make([]int32, len(s)/cols)
		for i := range labels {
			labels[i] = int32(int(data[(i*7)%len(data)])%(cols+1)) - 1
		}
		for _, tr := range tiers {
			restore := useTier(tr)
			loss, ds, loss2 := make([]F, len(labels)), make([]F, len(s)), make([]F, len(labels))
			CrossEntropy(loss, ds, s, labels, cols, 0.5)
			CrossEntropy(loss2, nil, s, labels, cols, 0.5)
			restore()
			expectCrossEntropy(t, loss, ds, s, labels, cols, 0.5)
			for i := range loss {
				if !isNaNBits(loss[i], loss2[i]) {
					t.Fatalf("%s row %d: loss %v with ds, %v without", tr.name, i, loss[i], loss2[i])
				}
			}
		}
	})
}

func fuzzLogSumExp[F Float](f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, vals := decode(data, false)
		s := conv[F](vals)
		for _, tr := range tiers {
			restore := useTier(tr)
			got := make([]F, len(s)/cols)
			LogSumExp(got, s, cols)
			restore()
			expectLogSumExp(t, got, s, cols)
		}
	})
}

// fuzzCausal takes q from the data (q = cols when it does not divide the
// rows) and a scale of 1/8, forward and backward.
func fuzzCausal[F Float](f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, vals := decode(data, false)
		s := conv[F](vals)
		rows := len(s) / cols
		q := 1
		if len(data) > 1 {
			q = 1 + int(data[1])%cols
		}
		if rows%q != 0 {
			q = 1
		}
		const scale = 0.125
		g := make([]F, len(s))
		for i := range g {
			g[i] = F(float64(i%7)/7 - 0.5)
		}
		for _, tr := range tiers {
			restore := useTier(tr)
			p, ds := make([]F, len(s)), make([]F, len(s))
			SoftmaxCausal(p, s, cols, q, scale)
			SoftmaxCausalBackward(ds, p, g, cols, q, scale)
			restore()
			expectCausal(t, p, s, cols, q, scale)
			expectScaledBackward(t, ds, p, g, cols, q, scale)
		}
	})
}

func FuzzCrossEntropyF32(f *testing.F)  { fuzzCrossEntropy[float32](f) }
func FuzzLogSumExpF32(f *testing.F)     { fuzzLogSumExp[float32](f) }
func FuzzSoftmaxCausalF32(f *testing.F) { fuzzCausal[float32](f) }
