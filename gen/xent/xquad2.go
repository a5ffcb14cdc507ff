// CrossEntropy's rows of up to xquadBytes, float32 AVX2: four at a time.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// The AVX2 four-row path is xquad.go's on YMM registers, with what AVX2
// lacks done otherwise: no mask registers (a compare's result is a vector:
// the target's lane leaves the max by VBLENDVPS to -Inf and the sum by
// VANDNPS), no merge-masking, 16 registers. Rows of up to xquadSpanVecs
// vectors get the other entries' max from the max pass directly; longer
// ones (spans) the max of all and the min, the other entries' max only when
// the margin test needs it, and the fast exp pass when every row of the
// group is within fastSpan, as on AVX-512. Each row's label and max go to
// the stack broadcast
// (xquadLocals.bc), read as memory operands by the exp pass, whose
// registers go to the sums and the exp. The rows' tails use the row's
// tail mask (Mask, VMASKMOVPS) as the one-row path does. Solo rows run the
// same code as slot 0 (rows stand alone), as on AVX-512.

// xquadYMaxBudget is the YMM budget of the AVX2 max pass for the other
// entries' max after the margin test (the labels read from the stack): 4
// maxima, 2 columns, -Inf, a loaded vector with its compare, and what the
// margin test keeps (s_t, the index of lanes, max, span).
const xquadYMaxBudget = 4 + 2 + 1 + 2 + 4

// xquadYExpBudget is the YMM budget of the AVX2 exp pass: 4 sums, 2
// columns, lo, a row's 2 vectors of a step, 3 exp temporaries (the exp
// goes one vector after another, its constants read from memory) and 2
// for widening (the compare reuses a freed one).
const xquadYExpBudget = 4 + 2 + 1 + 2 + 3 + 2

func init() {
	for _, b := range []int{xquadYMaxBudget, xquadYExpBudget} {
		if b > 16 {
			panic(fmt.Sprintf("xquad AVX2: a pass needs %d YMM registers, more than 16", b))
		}
	}
}

// xquadBcBytes is the size of xquadLocals.bc: 4 labels and 4 maxima, a
// vector each.
const xquadBcBytes = 8 * 32

// bcLabel and bcMax address slot i's broadcast label and max in loc.bc.
func (loc xquadLocals) bcLabel(i int) Mem { m := loc.bc; m.Disp += 32 * i; return m }
func (loc xquadLocals) bcMax(i int) Mem   { m := loc.bc; m.Disp += 32 * (4 + i); return m }

// quarterIndexY is the VPERMPS index that puts Tree4's AVX2 float32 result
// ([0 0 2 2] [1 1 3 3]) in slot order: lane i (and i+4) slot i.
func quarterIndexY() []Constant {
	return []Constant{U32(0), U32(4), U32(2), U32(6), U32(0), U32(4), U32(2), U32(6)}
}

// tree4PDOrder is the VPERMPD immediate that puts Tree4's AVX2 float64
// result ([0 2 1 3]) in slot order.
const tree4PDOrder = 0xd8

// quadMaxY emits the AVX2 max pass of k slots' rows at srcp, a vector of
// each per step: with spans the max of every entry and the min, else the
// other entries' max (each target's lane, found by the labels at loc.bc,
// set to -Inf first). It returns
// them reduced by Tree4 (solo: slot 0 in every slot).
func (x *xentRows) quadMaxY(pre string, k int, solo, spans bool, loc xquadLocals) (mq, minq VecVirtual) {
	r, d, isa, p := x.row, x.d, x.isa, x.p
	Comment("Max pass, a vector of each row per step.")
	if !spans {
		Comment(fmt.Sprintf("At most %d of 16 YMM registers (xquadYMaxBudget).", xquadYMaxBudget))
	}
	n, a, b := GP64(), GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(x.srcp, a)
	LEAQ(Mem{Base: x.srcp, Index: r.cols, Scale: uint8(2 * d.Size)}, b)
	acc, mins := make([]VecVirtual, 4), make([]VecVirtual, 4)
	for i := 0; i < k; i++ {
		acc[i] = isa.Vec()
		d.MOVU(r.negInf, acc[i])
		if spans {
			mins[i] = isa.Vec()
			d.MOVU(p.F32("posinf", float32(math.Inf(1))), mins[i])
		}
	}
	var ninf VecVirtual
	var cols columns
	if !spans {
		ninf = isa.Vec()
		d.MOVU(r.negInf, ninf)
		cols = x.newColumns(2)
	}
	// load fills v (the tail: fill lanes -Inf); loadMin, with spans, the
	// vector for the min (the tail: fill lanes +Inf), nil: v.
	step := func(u int, load func(i, j int, v VecVirtual), loadMin func(i int, v VecVirtual)) {
		for j := 0; j < u; j++ {
			for i := 0; i < k; i++ {
				v := isa.Vec()
				load(i, j, v)
				if spans {
					vm := v
					if loadMin != nil {
						vm = isa.Vec()
						loadMin(i, vm)
					}
					d.MIN(vm, mins[i], mins[i])
				} else {
					eq := isa.Vec()
					VPCMPEQD(loc.bcLabel(i), cols[j], eq)
					VBLENDVPS(eq, ninf, v, v) // the target's lane: -Inf
				}
				VMAXPS(v, acc[i], acc[i])
			}
		}
	}
	Loop(pre, n, r.lanes, 2, func(u int) {
		step(u, func(i, j int, v VecVirtual) {
			m := r.quadAt(a, b, i)
			m.Disp = r.vb * j
			d.MOVU(m, v)
		}, nil)
		if !spans {
			x.stepColumns(cols, u)
		}
		ADDQ(U32(r.vb*u), a)
		if !solo {
			ADDQ(U32(r.vb*u), b)
		}
	}, func() {
		// The tail loaded twice: filled with -Inf for the max, +Inf for
		// the min, so that a row with a tail can take the shortcuts.
		step(1, func(i, _ int, v VecVirtual) { r.mask.LoadFill(r.quadAt(a, b, i), v, r.negInf) },
			func(i int, v VecVirtual) {
				r.mask.LoadFill(r.quadAt(a, b, i), v, p.F32("posinf", float32(math.Inf(1))))
			})
	})
	for i := k; i < 4; i++ {
		acc[i] = acc[0] // solo: slot 0 stands for every slot
		mins[i] = mins[0]
	}
	mq = Tree4Of(Float32, acc, VMAXPS)
	if spans {
		minq = Tree4Of(Float32, mins, VMINPS)
	}
	return mq, minq
}
