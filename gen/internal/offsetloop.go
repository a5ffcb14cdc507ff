package internal

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// OffsetLoop is the skeleton of the loops that walk a row by a byte offset
// I against limits computed once per call (Loop counts elements down
// instead): a loop of unrolled blocks, then a loop of one vector, each
// leaving when I reaches its limit, the caller's tail after them. The
// backward kernels' two passes share one offset this way.
type OffsetLoop struct {
	I  Register // the byte offset into the row
	VB int      // bytes per vector
	// Exit emits the jump to out once I has reached lim; nil is the
	// unsigned CMPQ I, lim; JAE out.
	Exit func(lim Register, out string)
}

// Blocks emits the loop labelled label: while I is below lim, body(u)
// handles the u vectors at I and I steps on by u vectors; then on to out.
func (l OffsetLoop) Blocks(label string, u int, lim Register, out string, body func(u int)) {
	Label(label)
	if l.Exit != nil {
		l.Exit(lim, out)
	} else {
		CMPQ(l.I, lim)
		JAE(LabelRef(out))
	}
	body(u)
	ADDQ(U32(u*l.VB), l.I)
	JMP(LabelRef(label))
}
