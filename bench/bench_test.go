package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/rowwise/softmax/bench/internal/suite"
	"github.com/rowwise/softmax/fallback"
)

var (
	impls  = suite.BenchImpls()
	dtypes = []suite.DType{suite.F32, suite.F64}
)

// benchOp runs op for every implementation that has it, both types and the
// anchors' shapes (for the causal ops, those whose cols divide rows).
// Inputs are generated once per shape, and only when a sub-benchmark the
// -bench pattern selects needs them.
func benchOp(b *testing.B, op suite.Op) {
	for _, sh := range suite.AnchorShapes {
		if !op.Fits(sh) {
			continue
		}
		in := &suite.Inputs{Shape: sh}
		for _, dt := range dtypes {
			for _, im := range impls {
				if !im.Has(op, dt) {
					continue
				}
				b.Run(fmt.Sprintf("impl=%s/dtype=%s/shape=%s", im.Short, dt, sh), func(b *testing.B) {
					run := in.Prepare(im, op, dt).Run
					b.SetBytes(int64(op.Bytes(dt) * sh.N()))
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						run()
					}
				})
			}
		}
	}
}

func BenchmarkExp(b *testing.B)                { benchOp(b, suite.Exp) }
func BenchmarkSoftmax(b *testing.B)            { benchOp(b, suite.SoftmaxFwd) }
func BenchmarkLogSoftmax(b *testing.B)         { benchOp(b, suite.LogSoftmaxFwd) }
func BenchmarkSoftmaxBackward(b *testing.B)    { benchOp(b, suite.SoftmaxBwd) }
func BenchmarkSoftmaxBackwardAdd(b *testing.B) { benchOp(b, suite.SoftmaxBwdAdd) }
func BenchmarkLogSoftmaxBackward(b *testing.B) { benchOp(b, suite.LogSoftmaxBwd) }

// The fused operations, as the anchors time them (suite.FusedOps); impl
// composed is the form a user writes without the fused call.
func BenchmarkCrossEntropy(b *testing.B)          { benchOp(b, suite.Xent) }
func BenchmarkCrossEntropyLoss(b *testing.B)      { benchOp(b, suite.XentLoss) }
func BenchmarkLogSumExp(b *testing.B)             { benchOp(b, suite.LogSumExp) }
func BenchmarkSoftmaxScaled(b *testing.B)         { benchOp(b, suite.SoftmaxScaled) }
func BenchmarkSoftmaxCausal(b *testing.B)         { benchOp(b, suite.SoftmaxCausal) }
func BenchmarkSoftmaxBackwardScaled(b *testing.B) { benchOp(b, suite.SoftmaxBwdScaled) }
func BenchmarkSoftmaxCausalBackward(b *testing.B) { benchOp(b, suite.SoftmaxCausalBwd) }

// BenchmarkCopy, BenchmarkRead2Write1 and BenchmarkRead are the memory
// rooflines: a forward operation moves what a copy moves, a backward one
// what c = a*b moves, one that only reads what a read moves.
func BenchmarkCopy(b *testing.B)        { benchOp(b, suite.Copy) }
func BenchmarkRead2Write1(b *testing.B) { benchOp(b, suite.Read2Write1) }
func BenchmarkRead(b *testing.B)        { benchOp(b, suite.Read) }

// TestImplsAgree checks that every timed implementation computes what it
// claims, against the fallback, so that no benchmark times a wrong answer
// (vek's composition, the plain Go loops, the literal loops included).
func TestImplsAgree(t *testing.T) {
	all := append(suite.BenchImpls(), suite.ReportImpls()...)
	for _, sh := range []suite.Shape{{Rows: 3, Cols: 5}, {Rows: 7, Cols: 33}, {Rows: 2, Cols: 1000}, {Rows: 5, Cols: 128},
		{Rows: 66, Cols: 33}, {Rows: 256, Cols: 128}} {
		in := &suite.Inputs{Shape: sh}
		d32, d64 := suite.NewData[float32](sh), suite.NewData[float64](sh)
		for _, op := range suite.AllOps {
			if !op.Fits(sh) {
				continue
			}
			want32, want64 := reference(op, d32), reference(op, d64)
			for _, im := range all {
				for _, dt := range dtypes {
					c := in.Prepare(im, op, dt)
					if c.Run == nil {
						continue
					}
					c.Run()
					c.Run() // twice: only the Add form may accumulate
					name := fmt.Sprintf("%s/%s/%s/%s", im.Name, op, dt, sh)
					if dt == suite.F32 {
						compare(t, name, c.Out.([]float32), want32, 2e-5)
					} else {
						compare(t, name, c.Out.([]float64), want64, 1e-12)
					}
				}
			}
		}
	}
}

func reference[F suite.Float](op suite.Op, d *suite.Data[F]) []F {
	n, rows, cols := d.Shape.N(), d.Shape.Rows, d.Shape.Cols
	out := make([]F, n)
	switch op {
	case suite.Exp:
		fallback.Exp(out, d.X)
	case suite.SoftmaxFwd:
		copy(out, d.P)
	case suite.LogSoftmaxFwd:
		copy(out, d.Y)
	case suite.SoftmaxBwd:
		fallback.SoftmaxBackward(out, d.P, d.DY, cols)
	case suite.SoftmaxBwdAdd: // run twice into the same ds
		fallback.SoftmaxBackwardAdd(out, d.P, d.DY, cols)
		fallback.SoftmaxBackwardAdd(out, d.P, d.DY, cols)
	case suite.LogSoftmaxBwd:
		fallback.LogSoftmaxBackward(out, d.Y, d.DY, cols)
	case suite.Xent: // ds, then the loss
		out = make([]F, n+rows)
		fallback.CrossEntropy(out[n:], out[:n], d.X, d.Labels, cols, 1/F(rows))
	case suite.XentLoss:
		out = out[:rows]
		fallback.CrossEntropy(out, nil, d.X, d.Labels, cols, 1/F(rows))
	case suite.LogSumExp:
		out = out[:rows]
		fallback.LogSumExp(out, d.X, cols)
	case suite.SoftmaxScaled:
		fallback.SoftmaxScaled(out, d.X, cols, suite.Scale)
	case suite.SoftmaxCausal:
		copy(out, d.PC)
	case suite.SoftmaxBwdScaled:
		fallback.SoftmaxBackwardScaled(out, d.P, d.DY, cols, suite.Scale)
	case suite.SoftmaxCausalBwd:
		fallback.SoftmaxCausalBackward(out, d.PC, d.DY, cols, cols, suite.Scale)
	case suite.Copy:
		copy(out, d.X)
	case suite.Read2Write1:
		for i := range out {
			out[i] = d.X[i] * d.DY[i]
		}
	case suite.Read: // how many bytes of X's elements are 1
		out = out[:1]
		for _, v := range d.X {
			bits, size := math.Float64bits(float64(v)), 8
			if _, ok := any(v).(float32); ok {
				bits, size = uint64(math.Float32bits(float32(v))), 4
			}
			for range size {
				if bits&0xff == 1 {
					out[0]++
				}
				bits >>= 8
			}
		}
	}
	return out
}

func compare[F suite.Float](t *testing.T, name string, got, want []F, tol float64) {
	t.Helper()
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.Abs(g-w) > tol*(1+math.Abs(w)) || math.IsNaN(g) {
			t.Errorf("%s: [%d] = %g, want %g", name, i, g, w)
			return
		}
	}
}
