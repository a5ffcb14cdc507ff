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

// The operations. Copy and Read2Write1 are the memory rooflines: a forward
// operation moves what a copy moves, a backward one what c = a*b moves.
const (
	SoftmaxFwd    Op = "softmax_fwd"
	LogSoftmaxFwd Op = "logsoftmax_fwd"
	SoftmaxBwd    Op = "softmax_bwd"
	SoftmaxBwdAdd Op = "softmax_bwd_add"
	LogSoftmaxBwd Op = "logsoftmax_bwd"
	Exp           Op = "exp"
	Copy          Op = "copy"
	Read2Write1   Op = "read2write1"
)

// AllOps lists every operation in table order.
var AllOps = []Op{SoftmaxFwd, LogSoftmaxFwd, SoftmaxBwd, SoftmaxBwdAdd, LogSoftmaxBwd, Exp, Copy, Read2Write1}

// DefaultOps are the operations a report times unless told otherwise: the
// anchors' five and the two rooflines.
var DefaultOps = []Op{SoftmaxFwd, LogSoftmaxFwd, SoftmaxBwd, LogSoftmaxBwd, Exp, Copy, Read2Write1}

// Backward reports whether op reads two matrices and writes one (12 bytes
// per float32 element) rather than reading one and writing one (8 bytes).
func (op Op) Backward() bool {
	switch op {
	case SoftmaxBwd, SoftmaxBwdAdd, LogSoftmaxBwd, Read2Write1:
		return true
	}
	return false
}

// Roofline reports whether op is a memory roofline rather than a kernel.
func (op Op) Roofline() bool { return op == Copy || op == Read2Write1 }

// RooflineOp is the roofline op is measured against.
func (op Op) RooflineOp() Op {
	if op.Backward() {
		return Read2Write1
	}
	return Copy
}

// Bytes is the number of bytes op must move per element of type dt.
// softmax_bwd_add also reads ds, but is counted as the others are.
func (op Op) Bytes(dt DType) int {
	n := 2
	if op.Backward() {
		n = 3
	}
	return n * dt.Size()
}

// ParseOps parses a comma-separated list of op names; "all" means AllOps.
func ParseOps(s string) ([]Op, error) {
	if strings.TrimSpace(s) == "all" {
		return AllOps, nil
	}
	var ops []Op
	for _, f := range splitList(s) {
		ok := false
		for _, op := range AllOps {
			if string(op) == f {
				ops, ok = append(ops, op), true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown op %q (want one of %v or all)", f, AllOps)
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
