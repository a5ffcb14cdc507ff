package suite

import (
	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/kernels"
)

// Seeds and range of the anchors' inputs (bench_common.h).
const (
	seedX  = 1
	seedDY = 2
	genLo  = -5.0
	genHi  = 5.0
)

func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85EBCA6B
	h ^= h >> 13
	h *= 0xC2B2AE35
	h ^= h >> 16
	return h
}

// Uniform fills dst with the anchors' deterministic inputs: element i
// depends only on seed and i, and float32 values are bit for bit those the
// C and Python anchors time. (hi-lo)*u is exact, so contraction to FMA
// changes nothing.
func Uniform[F Float](dst []F, seed uint32, lo, hi float64) {
	off := seed * 0x85EBCA6B
	for i := range dst {
		h := fmix32(uint32(i)*0x9E3779B9 + off)
		u := float64(h>>8) * (1.0 / 16777216.0)
		v := float64(u*(hi-lo)) + lo
		if _, ok := any(dst).([]float32); ok {
			v = float64(float32(v))
		}
		dst[i] = F(v)
	}
}

// Data holds one shape's inputs: the logits X, the arriving gradient DY
// (used as dp and dy), and what the forward passes make of X (P = softmax,
// Y = log-softmax, PC = SoftmaxCausal with q = cols and Scale where the
// shape fits), computed by the fallback; and the anchors' labels,
// (r*7919) % cols.
type Data[F kernels.Float] struct {
	Shape    Shape
	X, DY    []F
	P, Y, PC []F
	Labels   []int32
}

// NewData generates the inputs of shape s.
func NewData[F kernels.Float](s Shape) *Data[F] {
	n := s.N()
	d := &Data[F]{Shape: s, X: make([]F, n), DY: make([]F, n), P: make([]F, n), Y: make([]F, n),
		Labels: make([]int32, s.Rows)}
	Uniform(d.X, seedX, genLo, genHi)
	Uniform(d.DY, seedDY, genLo, genHi)
	fallback.Softmax(d.P, d.X, s.Cols)
	fallback.LogSoftmax(d.Y, d.X, s.Cols)
	if SoftmaxCausal.Fits(s) {
		d.PC = make([]F, n)
		fallback.SoftmaxCausal(d.PC, d.X, s.Cols, s.Cols, Scale)
	}
	for r := range d.Labels {
		d.Labels[r] = int32(r * 7919 % s.Cols)
	}
	return d
}
