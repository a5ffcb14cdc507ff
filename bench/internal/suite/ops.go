// Package suite is what the benchmarks and the report command share: the
// operations, the shapes and inputs of ../shared/anchors, every
// implementation that is timed (this package's tiers, the seed's literal
// loops, Go peers, the copy rooflines) and the anchors' timing protocol.
package suite

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rowwise/softmax/kernels"
)

// Op names an operation as the anchors' CSV does.
type Op string

// The operations. Copy, Read2Write1 and Read are the memory rooflines: a
// forward operation moves what a copy moves, a backward one what c = a*b
// moves, and one that only reads (a value a row out) what a read moves.
const (
	SoftmaxFwd    Op = "softmax_fwd"
	LogSoftmaxFwd Op = "logsoftmax_fwd"
	SoftmaxBwd    Op = "softmax_bwd"
	SoftmaxBwdAdd Op = "softmax_bwd_add"
	LogSoftmaxBwd Op = "logsoftmax_bwd"
	Exp           Op = "exp"

	// The fused operations (kernels/fused.go), with the anchors' conventions
	// (torch_softmax.py --fused): labels (r*7919) % cols, scale 1/sqrt(64),
	// causal blocks of q = cols rows (shapes whose cols divide rows).
	Xent             Op = "xent"               // CrossEntropy, loss and ds (gradScale 1/rows)
	XentLoss         Op = "xent_loss"          // CrossEntropy, loss only (ds nil)
	LogSumExp        Op = "logsumexp"          // LogSumExp
	SoftmaxScaled    Op = "softmax_scaled"     // SoftmaxScaled
	SoftmaxCausal    Op = "softmax_causal"     // SoftmaxCausal, q = cols
	SoftmaxBwdScaled Op = "softmax_bwd_scaled" // SoftmaxBackwardScaled
	SoftmaxCausalBwd Op = "softmax_causal_bwd" // SoftmaxCausalBackward, q = cols

	Copy        Op = "copy"
	Read2Write1 Op = "read2write1"
	Read        Op = "read"
)

// Scale is the fused operations' scale, the anchors' 1/sqrt(64).
const Scale = 0.125

// AllOps lists every operation in table order.
var AllOps = []Op{SoftmaxFwd, LogSoftmaxFwd, SoftmaxBwd, SoftmaxBwdAdd, LogSoftmaxBwd, Exp,
	Xent, XentLoss, LogSumExp, SoftmaxScaled, SoftmaxCausal, SoftmaxBwdScaled, SoftmaxCausalBwd,
	Copy, Read2Write1, Read}

// DefaultOps are the operations a report times unless told otherwise: the
// anchors' five and the two rooflines.
var DefaultOps = []Op{SoftmaxFwd, LogSoftmaxFwd, SoftmaxBwd, LogSoftmaxBwd, Exp, Copy, Read2Write1}

// FusedOps are the fused operations, the ops group "fused".
var FusedOps = []Op{Xent, XentLoss, LogSumExp, SoftmaxScaled, SoftmaxCausal, SoftmaxBwdScaled, SoftmaxCausalBwd}

// words is the number of matrices op moves: 1 when it only reads (one value
// a row out), 2 when it reads one and writes one, 3 when it reads two and
// writes one. The causal ops count the whole matrix, as the anchors do.
func (op Op) words() int {
	switch op {
	case XentLoss, LogSumExp, Read:
		return 1
	case SoftmaxBwd, SoftmaxBwdAdd, LogSoftmaxBwd, SoftmaxBwdScaled, SoftmaxCausalBwd, Read2Write1:
		return 3
	}
	return 2
}

// Roofline reports whether op is a memory roofline rather than a kernel.
func (op Op) Roofline() bool { return op == Copy || op == Read2Write1 || op == Read }

// RooflineOp is the roofline op is measured against.
func (op Op) RooflineOp() Op {
	switch op.words() {
	case 1:
		return Read
	case 3:
		return Read2Write1
	}
	return Copy
}

// Base is the op of our own that a fused op's speed is stated against
// (issues 18 and 19: Softmax forward or backward on the same shape), or ""
// for the others.
func (op Op) Base() Op {
	switch op {
	case Xent, XentLoss, LogSumExp, SoftmaxScaled, SoftmaxCausal:
		return SoftmaxFwd
	case SoftmaxBwdScaled, SoftmaxCausalBwd:
		return SoftmaxBwd
	}
	return ""
}

// Fits reports whether op runs on shape s: the causal ops need blocks of
// q = cols rows.
func (op Op) Fits(s Shape) bool {
	if op == SoftmaxCausal || op == SoftmaxCausalBwd {
		return s.Rows%s.Cols == 0
	}
	return true
}

// Bytes is the number of bytes op must move per element of type dt.
// softmax_bwd_add also reads ds, but is counted as the others are.
func (op Op) Bytes(dt DType) int { return op.words() * dt.Size() }

// ParseOps parses a comma-separated list of op names; "all" means AllOps
// and "fused" FusedOps.
func ParseOps(s string) ([]Op, error) {
	var ops []Op
	for _, f := range splitList(s) {
		switch f {
		case "all":
			ops = append(ops, AllOps...)
			continue
		case "fused":
			ops = append(ops, FusedOps...)
			continue
		}
		ok := false
		for _, op := range AllOps {
			if string(op) == f {
				ops, ok = append(ops, op), true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown op %q (want some of %v, fused or all)", f, AllOps)
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("no ops in %q", s)
	}
	return ops, nil
}

// DType is the element type: "f32" or "f64".
type DType string

// The element types.
const (
	F32 DType = "f32"
	F64 DType = "f64"
)

// Size is the size of one element in bytes.
func (dt DType) Size() int {
	if dt == F64 {
		return 8
	}
	return 4
}

// ParseDTypes parses "f32", "f64" or a comma-separated list of both.
func ParseDTypes(s string) ([]DType, error) {
	var dts []DType
	for _, f := range splitList(s) {
		switch DType(f) {
		case F32, F64:
			dts = append(dts, DType(f))
		default:
			return nil, fmt.Errorf("unknown dtype %q (want f32, f64 or f32,f64)", f)
		}
	}
	if len(dts) == 0 {
		return nil, fmt.Errorf("no dtype in %q", s)
	}
	return dts, nil
}

// Shape is a row-major matrix shape.
type Shape struct{ Rows, Cols int }

// N is the number of elements.
func (s Shape) N() int { return s.Rows * s.Cols }

func (s Shape) String() string { return fmt.Sprintf("%dx%d", s.Rows, s.Cols) }

// AnchorShapes are the default shapes of ../shared/anchors: all of them fit
// in a 32 MiB L3 cache.
var AnchorShapes = []Shape{{4096, 128}, {1024, 1024}, {256, 4096}, {64, 32000}, {8, 128256}, {1000, 37}, {2048, 10}}

// ParseShape parses "ROWSxCOLS".
func ParseShape(s string) (Shape, error) {
	r, c, ok := strings.Cut(strings.TrimSpace(s), "x")
	rows, err1 := strconv.Atoi(r)
	cols, err2 := strconv.Atoi(c)
	if !ok || err1 != nil || err2 != nil || rows < 1 || cols < 1 {
		return Shape{}, fmt.Errorf("bad shape %q (want ROWSxCOLS, e.g. 64x32000)", s)
	}
	return Shape{rows, cols}, nil
}

// ParseShapes parses a comma-separated list of shapes.
func ParseShapes(s string) ([]Shape, error) {
	var shapes []Shape
	for _, f := range splitList(s) {
		sh, err := ParseShape(f)
		if err != nil {
			return nil, err
		}
		shapes = append(shapes, sh)
	}
	if len(shapes) == 0 {
		return nil, fmt.Errorf("no shapes in %q", s)
	}
	return shapes, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Float is the element type of every operation.
type Float = kernels.Float
