package internal

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
)

// LaneIndex returns a table of the lane indices 0, 1, ..., lanes-1 of a
// vector of vb bytes of type d, as integers as wide as d's elements (int32
// lanes for float32, int64 for float64): what a kernel compares against to
// find one column's lane in a vector.
func (p *Pool) LaneIndex(d DType, vb int) Mem {
	lanes := d.Lanes(vb)
	e := make([]Constant, lanes)
	for i := range e {
		if d.Size == 4 {
			e[i] = U32(uint32(i))
		} else {
			e[i] = U64(uint64(i))
		}
	}
	return p.ref(fmt.Sprintf("laneidx%d_%d", d.Size*8, lanes), e)
}
