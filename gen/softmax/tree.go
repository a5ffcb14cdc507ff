// Four-row reductions: four short rows reduced in one vector.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// tree4 reduces four row vectors together with op, in log2 shuffle and op
// steps instead of four horizontal reductions: float32 lanes (f32, op
// VMAXPS or VMINPS) or float64 lanes (op VADDPD). The first steps move
// whole 128-bit blocks and 64-bit pairs, the same for both widths.
// AVX-512: 128-bit quarter j of the result holds row j's value in every
// lane. AVX2: float32 half 0 holds rows 0 and 2 as [0 0 2 2], half 1 rows 1
// and 3; float64 the result is [0 2 1 3].
func tree4(isa ISA, rows []VecVirtual, op func(...Op), f32 bool) VecVirtual {
	a, b, c, e := rows[0], rows[1], rows[2], rows[3]
	Comment("Four rows at once: a transpose-style reduction.")
	ab, cd, t, u, m := isa.Vec(), isa.Vec(), isa.Vec(), isa.Vec(), isa.Vec()
	// halves puts the low halves of x and y side by side in lo, the high
	// halves in hi.
	halves := func(x, y, lo, hi VecVirtual) {
		if isa.AVX512 {
			VSHUFF32X4(U8(0x44), x, y, lo)
			VSHUFF32X4(U8(0xee), x, y, hi)
		} else {
			VPERM2F128(U8(0x20), x, y, lo)
			VPERM2F128(U8(0x31), x, y, hi)
		}
	}
	halves(b, a, t, ab)
	halves(e, c, u, cd)
	op(t, ab, ab)
	op(u, cd, cd)
	if isa.AVX512 {
		VSHUFF32X4(U8(0x88), cd, ab, t)
		VSHUFF32X4(U8(0xdd), cd, ab, m)
		op(t, m, m)
		VPERMILPS(U8(0x4e), m, t)
		op(t, m, m)
	} else {
		VSHUFPS(U8(0x44), cd, ab, t)
		VSHUFPS(U8(0xee), cd, ab, m)
		op(t, m, m)
	}
	if f32 {
		VPERMILPS(U8(0xb1), m, t)
		op(t, m, m)
	}
	return m
}

// splitRows4 narrows v, four float64 row values in tree4's float64 layout, to
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
// from tree4 in float32 (step 1) or is its float64 layout narrowed to float32
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
