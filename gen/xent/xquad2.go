// CrossEntropy's rows of up to xquadBytes, float32 AVX2: four at a time.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
)

// The AVX2 four-row path is xquad.go's code on YMM registers, with what AVX2
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
