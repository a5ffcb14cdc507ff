// Four-row reductions: four short rows reduced in one vector.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// splitRows4 narrows v, four float64 row values in Tree4's float64 layout, to
// float32 and broadcasts each row's value to a vector of its own.
func splitRows4(p *Pool, isa ISA, v VecVirtual) []VecVirtual {
	f := isa.Vec()
	if isa.AVX512 {
		VCVTPD2PS(v, f.AsY())
	} else {
		VCVTPD2PSY(v, f.AsX())
	}
	out := make([]VecVirtual, 4)
	for r := range out {
		out[r] = bcastRow4(p, isa, f, r, 2)
	}
	return out
}

// bcastRow4 broadcasts row r's float32 value to a whole vector. v comes
// from Tree4 in float32 (step 1) or is its float64 layout narrowed to float32
// (step 2: row r at element 2r on AVX-512, at [0 2 1 3][r] on AVX2).
func bcastRow4(p *Pool, isa ISA, v VecVirtual, r, step int) VecVirtual {
	out := isa.Vec()
	var at int
	if isa.AVX512 {
		if step == 1 {
			VSHUFF32X4(U8(0x55*r), v, v, out)
			return out
		}
		at = 2 * r
	} else if step == 1 {
		at = []int{0, 4, 2, 6}[r]
	} else {
		at = []int{0, 2, 1, 3}[r]
	}
	idx := isa.Vec()
	c := p.U32(fmt.Sprintf("permidx%d", at), uint32(at))
	if isa.AVX512 {
		VMOVDQU32(c, idx)
	} else {
		VMOVDQU(c, idx)
	}
	VPERMPS(v, idx, out)
	return out
}
