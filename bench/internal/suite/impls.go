package suite

import (
	"bytes"
	"unsafe"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/kernels"
)

// Set is one implementation's operations for one element type; a nil entry
// is an operation it does not have. Prepared entries build their own call
// (for state such as the literal loops' per-row temporaries) and take
// precedence.
type Set[F kernels.Float] struct {
	Exp                 func(dst, src []F)
	Softmax, LogSoftmax func(dst, src []F, cols int)
	SoftmaxBackward     func(ds, p, dp []F, cols int)
	SoftmaxBackwardAdd  func(ds, p, dp []F, cols int)
	LogSoftmaxBackward  func(ds, y, dy []F, cols int)

	// The fused operations; CrossEntropy is timed with ds (xent) and with
	// ds nil (xent_loss).
	CrossEntropy          func(loss, ds, logits []F, labels []int32, cols int, gradScale F)
	LogSumExp             func(dst, src []F, cols int)
	SoftmaxScaled         func(dst, src []F, cols int, scale F)
	SoftmaxCausal         func(dst, src []F, cols, q int, scale F)
	SoftmaxBackwardScaled func(ds, p, dp []F, cols int, scale F)
	SoftmaxCausalBackward func(ds, p, dp []F, cols, q int, scale F)

	Copy        func(dst, src []F)
	Read2Write1 func(c, a, b []F)
	Read        func(src []F) int
	Prepared    map[Op]func(d *Data[F]) Call
}

// Has reports whether s has op.
func (s *Set[F]) Has(op Op) bool {
	if s == nil {
		return false
	}
	if s.Prepared[op] != nil {
		return true
	}
	switch op {
	case Exp:
		return s.Exp != nil
	case SoftmaxFwd:
		return s.Softmax != nil
	case LogSoftmaxFwd:
		return s.LogSoftmax != nil
	case SoftmaxBwd:
		return s.SoftmaxBackward != nil
	case SoftmaxBwdAdd:
		return s.SoftmaxBackwardAdd != nil
	case LogSoftmaxBwd:
		return s.LogSoftmaxBackward != nil
	case Xent, XentLoss:
		return s.CrossEntropy != nil
	case LogSumExp:
		return s.LogSumExp != nil
	case SoftmaxScaled:
		return s.SoftmaxScaled != nil
	case SoftmaxCausal:
		return s.SoftmaxCausal != nil
	case SoftmaxBwdScaled:
		return s.SoftmaxBackwardScaled != nil
	case SoftmaxCausalBwd:
		return s.SoftmaxCausalBackward != nil
	case Copy:
		return s.Copy != nil
	case Read2Write1:
		return s.Read2Write1 != nil
	case Read:
		return s.Read != nil
	}
	return false
}

// Call is one prepared operation: Run computes Out ([]float32 or
// []float64) from the shape's inputs again. For xent Out is ds followed by
// the loss; for xent_loss and logsumexp one value a row; for read one
// value.
type Call struct {
	Run func()
	Out any
}

// Prepare returns a call of op on d's inputs into a fresh output, or a zero
// Call if s lacks op or op does not fit the shape. Run allocates nothing
// unless the implementation does.
func (s *Set[F]) Prepare(op Op, d *Data[F]) Call {
	if !s.Has(op) || !op.Fits(d.Shape) {
		return Call{}
	}
	if p := s.Prepared[op]; p != nil {
		return p(d)
	}
	n, rows, cols := d.Shape.N(), d.Shape.Rows, d.Shape.Cols
	var out []F
	switch op {
	case Xent:
		out = make([]F, n+rows)
	case XentLoss, LogSumExp:
		out = make([]F, rows)
	case Read:
		out = make([]F, 1)
	default:
		out = make([]F, n)
	}
	c := Call{Out: out}
	switch op {
	case Exp:
		c.Run = func() { s.Exp(out, d.X) }
	case SoftmaxFwd:
		c.Run = func() { s.Softmax(out, d.X, cols) }
	case LogSoftmaxFwd:
		c.Run = func() { s.LogSoftmax(out, d.X, cols) }
	case SoftmaxBwd:
		c.Run = func() { s.SoftmaxBackward(out, d.P, d.DY, cols) }
	case SoftmaxBwdAdd:
		c.Run = func() { s.SoftmaxBackwardAdd(out, d.P, d.DY, cols) }
	case LogSoftmaxBwd:
		c.Run = func() { s.LogSoftmaxBackward(out, d.Y, d.DY, cols) }
	case Xent:
		ds, loss, g := out[:n], out[n:], 1/F(rows)
		c.Run = func() { s.CrossEntropy(loss, ds, d.X, d.Labels, cols, g) }
	case XentLoss:
		g := 1 / F(rows)
		c.Run = func() { s.CrossEntropy(out, nil, d.X, d.Labels, cols, g) }
	case LogSumExp:
		c.Run = func() { s.LogSumExp(out, d.X, cols) }
	case SoftmaxScaled:
		c.Run = func() { s.SoftmaxScaled(out, d.X, cols, Scale) }
	case SoftmaxCausal:
		c.Run = func() { s.SoftmaxCausal(out, d.X, cols, cols, Scale) }
	case SoftmaxBwdScaled:
		c.Run = func() { s.SoftmaxBackwardScaled(out, d.P, d.DY, cols, Scale) }
	case SoftmaxCausalBwd:
		c.Run = func() { s.SoftmaxCausalBackward(out, d.PC, d.DY, cols, cols, Scale) }
	case Copy:
		c.Run = func() { s.Copy(out, d.X) }
	case Read2Write1:
		c.Run = func() { s.Read2Write1(out, d.X, d.DY) }
	case Read:
		c.Run = func() { out[0] = F(s.Read(d.X)) }
	}
	return c
}

// Kind groups implementations in tables and charts.
type Kind int

// The kinds of implementation.
const (
	Ours     Kind = iota // a tier of this package
	Literal              // the seed's literal loops (fallback.SoftmaxLoops...)
	Peer                 // another Go implementation
	Roofline             // copy, read-two-write-one and read
	External             // a row of an anchors CSV
	Composed             // this package's calls composed as a user writes them without a fused one
)

// Impl is one implementation, under its CSV name (Name, unique among the
// anchors' impl names too) and its benchmark key (Short, the impl= of
// BenchmarkSoftmax/impl=avx2/dtype=f32/shape=64x32000).
type Impl struct {
	Name  string
	Short string
	ISA   string
	// Tier is the SOFTMAX_ISA value the process must have been started with
	// for this implementation to be what it says; "" means any process.
	Tier string
	Kind Kind
	F32  *Set[float32]
	F64  *Set[float64]
}

// Has reports whether im has op for dt.
func (im *Impl) Has(op Op, dt DType) bool {
	if dt == F64 {
		return im.F64.Has(op)
	}
	return im.F32.Has(op)
}

// Inputs holds one shape's inputs, generated on first use per element type.
type Inputs struct {
	Shape Shape
	f32   *Data[float32]
	f64   *Data[float64]
}

// Prepare returns a call of im's op for dt on these inputs, or a zero Call
// if im lacks it.
func (in *Inputs) Prepare(im *Impl, op Op, dt DType) Call {
	if !im.Has(op, dt) {
		return Call{}
	}
	if dt == F64 {
		if in.f64 == nil {
			in.f64 = NewData[float64](in.Shape)
		}
		return im.F64.Prepare(op, in.f64)
	}
	if in.f32 == nil {
		in.f32 = NewData[float32](in.Shape)
	}
	return im.F32.Prepare(op, in.f32)
}

func kernelSet[F kernels.Float]() *Set[F] {
	return &Set[F]{
		Exp:                kernels.Exp[F],
		Softmax:            kernels.Softmax[F],
		LogSoftmax:         kernels.LogSoftmax[F],
		SoftmaxBackward:    kernels.SoftmaxBackward[F],
		SoftmaxBackwardAdd: kernels.SoftmaxBackwardAdd[F],
		LogSoftmaxBackward: kernels.LogSoftmaxBackward[F],

		CrossEntropy:          kernels.CrossEntropy[F],
		LogSumExp:             kernels.LogSumExp[F],
		SoftmaxScaled:         kernels.SoftmaxScaled[F],
		SoftmaxCausal:         kernels.SoftmaxCausal[F],
		SoftmaxBackwardScaled: kernels.SoftmaxBackwardScaled[F],
		SoftmaxCausalBackward: kernels.SoftmaxCausalBackward[F],
	}
}

func fallbackSet[F kernels.Float]() *Set[F] {
	return &Set[F]{
		Exp:                fallback.Exp[F],
		Softmax:            fallback.Softmax[F],
		LogSoftmax:         fallback.LogSoftmax[F],
		SoftmaxBackward:    fallback.SoftmaxBackward[F],
		SoftmaxBackwardAdd: fallback.SoftmaxBackwardAdd[F],
		LogSoftmaxBackward: fallback.LogSoftmaxBackward[F],

		CrossEntropy:          fallback.CrossEntropy[F],
		LogSumExp:             fallback.LogSumExp[F],
		SoftmaxScaled:         fallback.SoftmaxScaled[F],
		SoftmaxCausal:         fallback.SoftmaxCausal[F],
		SoftmaxBackwardScaled: fallback.SoftmaxBackwardScaled[F],
		SoftmaxCausalBackward: fallback.SoftmaxCausalBackward[F],
	}
}

// literalSet runs the seed's literal loops: softmax forward as two passes
// with an exp each, and the backward pass a framework gets by
// differentiating them (three passes, an exp in each), which adds to the
// gradient: softmax_bwd clears it first, softmax_bwd_add does not.
func literalSet[F kernels.Float]() *Set[F] {
	return &Set[F]{Prepared: map[Op]func(d *Data[F]) Call{
		SoftmaxFwd: func(d *Data[F]) Call {
			p, Z := make([]F, d.Shape.N()), make([]F, d.Shape.Rows)
			return Call{Out: p, Run: func() { fallback.SoftmaxLoops(p, Z, d.X, d.Shape.Cols) }}
		},
		SoftmaxBwd: func(d *Data[F]) Call {
			n, rows, cols := d.Shape.N(), d.Shape.Rows, d.Shape.Cols
			p, Z, Zgrad, sgrad := make([]F, n), make([]F, rows), make([]F, rows), make([]F, n)
			fallback.SoftmaxLoops(p, Z, d.X, cols)
			// sgrad is the gradient a framework starts from zero; the
			// loops add to it.
			return Call{Out: sgrad, Run: func() {
				clear(sgrad)
				fallback.SoftmaxBackwardLoops(sgrad, d.X, d.DY, Z, Zgrad, cols)
			}}
		},
		SoftmaxBwdAdd: func(d *Data[F]) Call {
			n, rows, cols := d.Shape.N(), d.Shape.Rows, d.Shape.Cols
			p, Z, Zgrad, sgrad := make([]F, n), make([]F, rows), make([]F, rows), make([]F, n)
			fallback.SoftmaxLoops(p, Z, d.X, cols)
			return Call{Out: sgrad, Run: func() {
				fallback.SoftmaxBackwardLoops(sgrad, d.X, d.DY, Z, Zgrad, cols)
			}}
		},
	}}
}

// copyOf is the copy roofline: Go's copy (runtime memmove).
func copyOf[F kernels.Float](dst, src []F) { copy(dst, src) }

// mul is the read-two-write-one roofline: c = a*b, a plain Go loop.
func mul[F kernels.Float](c, a, b []F) {
	b, c = b[:len(a)], c[:len(a)]
	for i, x := range a {
		c[i] = x * b[i]
	}
}

// readCount is the read roofline: bytes.Count of one byte value over the
// slice's bytes, the runtime's vectorized count, Go's fastest pass that
// only reads (as copy is its fastest copy).
func readCount[F kernels.Float](src []F) int {
	if len(src) == 0 {
		return 0
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), len(src)*int(unsafe.Sizeof(src[0])))
	return bytes.Count(b, []byte{1})
}

// Tiers are the SOFTMAX_ISA values, best first.
var Tiers = []string{"avx512", "avx2", "generic"}

func goCopy() *Impl {
	return &Impl{Name: "go_copy", Short: "copy", ISA: "go", Kind: Roofline,
		F32: &Set[float32]{Copy: copyOf[float32]}, F64: &Set[float64]{Copy: copyOf[float64]}}
}

func goLoop() *Impl {
	return &Impl{Name: "go_loop", Short: "loop", ISA: "go", Kind: Roofline,
		F32: &Set[float32]{Read2Write1: mul[float32]}, F64: &Set[float64]{Read2Write1: mul[float64]}}
}

func goRead() *Impl {
	return &Impl{Name: "go_read", Short: "read", ISA: "go", Kind: Roofline,
		F32: &Set[float32]{Read: readCount[float32]}, F64: &Set[float64]{Read: readCount[float64]}}
}

func composed() *Impl {
	return &Impl{Name: "rowwise_composed", Short: "composed", ISA: kernels.Implementation(), Kind: Composed,
		F32: composedSet[float32](), F64: composedSet[float64]()}
}

func literal() *Impl {
	return &Impl{Name: "rowwise_literal", Short: "literal", ISA: "go", Kind: Literal,
		F32: literalSet[float32](), F64: literalSet[float64]()}
}

func plainGo() *Impl {
	return &Impl{Name: "go_plain", Short: "plaingo", ISA: "go", Kind: Peer,
		F32: plainSet[float32](), F64: plainSet[float64]()}
}

// ReportImpls lists what the report times. The rowwise_* tiers call the
// public kernels API, so each needs a process started with SOFTMAX_ISA set
// to its Tier; the rest run in any process (rowwise_composed on the tier
// that process dispatches).
func ReportImpls() []*Impl {
	ims := []*Impl{goCopy(), goLoop(), goRead()}
	for _, t := range Tiers {
		ims = append(ims, &Impl{Name: "rowwise_" + t, Short: t, ISA: t, Tier: t, Kind: Ours,
			F32: kernelSet[float32](), F64: kernelSet[float64]()})
	}
	return append(ims, composed(), literal(), plainGo(), vekImpl())
}

// BenchImpls lists what the go test benchmarks time: the literal loops, the
// fused fallback, each assembly tier this CPU runs (called directly), the
// dispatched kernels (the tier SOFTMAX_ISA and cpuid picked), the fused
// operations' composed forms on that tier, the peers and the rooflines.
func BenchImpls() []*Impl {
	ims := []*Impl{literal(), {Name: "rowwise_fallback", Short: "fallback", ISA: "go", Kind: Ours,
		F32: fallbackSet[float32](), F64: fallbackSet[float64]()}}
	ims = append(ims, asmImpls()...)
	return append(ims,
		&Impl{Name: "rowwise", Short: "dispatched", ISA: kernels.Implementation(), Kind: Ours,
			F32: kernelSet[float32](), F64: kernelSet[float64]()},
		composed(), plainGo(), vekImpl(), goCopy(), goLoop(), goRead())
}
