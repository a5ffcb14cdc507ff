// Package internal holds the emitters shared by the generator programs: the
// per-dtype instruction table, a constant pool, the loop skeleton, horizontal
// reductions, and the exp and log cores.
//
// The exported API is used read-only by other generators; keep it stable.
package internal

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// DType is the per-element-type instruction table, so that one generator
// writes both the float32 and the float64 kernels.
type DType struct {
	Name  string // "F32" or "F64", as in kernel names
	Go    string // "float32" or "float64"
	Size  int    // bytes per element
	Shift int    // log2(Size)

	MOVU, ADD, SUB, MUL, DIV, MAX, MIN func(ops ...Op)
	AND, ANDN, OR, XOR                 func(ops ...Op)
	FMA213, FMA231, FNMA231, FMS231    func(ops ...Op)
	CMP                                func(ops ...Op)
	BLENDV                             func(m, a, b, d Op)
	MASKMOV                            func(a, m, b Op)
	BCAST                              func(ops ...Op) // VBROADCASTSS / VBROADCASTSD
	MOVS                               func(ops ...Op) // scalar move
	ADDS, SUBS, MULS, DIVS             func(ops ...Op) // scalar arithmetic
	UCOMIS                             func(a, b Op)
}

// Lanes is the number of elements in a vector of vecBytes bytes.
func (d DType) Lanes(vecBytes int) int { return vecBytes / d.Size }

// Bits returns the bit pattern of v in this type, as a data constant.
func (d DType) Bits(v float64) Constant {
	if d.Size == 4 {
		return U32(math.Float32bits(float32(v)))
	}
	return U64(math.Float64bits(v))
}

// Float32 and Float64 are the two element types.
var (
	Float32 = DType{
		Name: "F32", Go: "float32", Size: 4, Shift: 2,
		MOVU: VMOVUPS, ADD: VADDPS, SUB: VSUBPS, MUL: VMULPS, DIV: VDIVPS, MAX: VMAXPS, MIN: VMINPS,
		AND: VANDPS, ANDN: VANDNPS, OR: VORPS, XOR: VXORPS,
		FMA213: VFMADD213PS, FMA231: VFMADD231PS, FNMA231: VFNMADD231PS, FMS231: VFMSUB231PS,
		CMP: VCMPPS, BLENDV: VBLENDVPS, MASKMOV: VMASKMOVPS, BCAST: VBROADCASTSS,
		MOVS: VMOVSS, ADDS: VADDSS, SUBS: VSUBSS, MULS: VMULSS, DIVS: VDIVSS, UCOMIS: VUCOMISS,
	}
	Float64 = DType{
		Name: "F64", Go: "float64", Size: 8, Shift: 3,
		MOVU: VMOVUPD, ADD: VADDPD, SUB: VSUBPD, MUL: VMULPD, DIV: VDIVPD, MAX: VMAXPD, MIN: VMINPD,
		AND: VANDPD, ANDN: VANDNPD, OR: VORPD, XOR: VXORPD,
		FMA213: VFMADD213PD, FMA231: VFMADD231PD, FNMA231: VFNMADD231PD, FMS231: VFMSUB231PD,
		CMP: VCMPPD, BLENDV: VBLENDVPD, MASKMOV: VMASKMOVPD, BCAST: VBROADCASTSD,
		MOVS: VMOVSD, ADDS: VADDSD, SUBS: VSUBSD, MULS: VMULSD, DIVS: VDIVSD, UCOMIS: VUCOMISD,
	}
)

// Comparison predicates for VCMPPS/VCMPPD (AVX encoding).
const (
	CmpEQOQ  = 0x00
	CmpLTOQ  = 0x11
	CmpUnord = 0x03
	CmpNEQUQ = 0x04
	CmpNLTUQ = 0x15
	CmpNLEUQ = 0x16
	CmpGEOQ  = 0x1d
)
