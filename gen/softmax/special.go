// The scalar slow path of rows holding NaN, +Inf or only -Inf.

package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

func minNormal(d DType) float64 {
	if d.Size == 4 {
		return 0x1p-126
	}
	return 0x1p-1022
}

// special emits the scalar slow path for a row holding a NaN or +Inf, or
// only -Inf: count NaN and +Inf entries, then fill dst per CONTRACT.md. It reads
// src, which after pass 2 may be e (dst == src): NaN entries are still NaN.
func special(p *Pool, d DType, log bool, srcp, dstp, cols Register) {
	Label("special")
	Comment("Slow path: count NaN and +Inf entries.")
	nan, inf, i := GP64(), GP64(), GP64()
	XORQ(nan, nan)
	XORQ(inf, inf)
	XORQ(i, i)
	posInf := p.Of(d, "posinf", math.Inf(1))
	Label("count")
	x := XMM()
	d.MOVS(Mem{Base: srcp, Index: i, Scale: uint8(d.Size)}, x)
	f := GP64()
	XORQ(f, f)
	d.UCOMIS(x, x)
	SETPS(f.As8())
	ADDQ(f, nan)
	d.UCOMIS(posInf, x)
	SETEQ(f.As8())
	ADDQ(f, inf)
	INCQ(i)
	CMPQ(i, cols)
	JL(LabelRef("count"))

	v := XMM()
	TESTQ(nan, nan)
	JE(LabelRef("nonan"))
	d.MOVS(p.Of(d, "nan", math.NaN()), v)
	JMP(LabelRef("fill"))

	Label("nonan")
	TESTQ(inf, inf)
	JE(LabelRef("masked"))
	Comment("k = number of +Inf: 1/k (log: -log k) there, 0 (log: -Inf) elsewhere.")
	VXORPD(v, v, v)
	VCVTSI2SDQ(inf, v, v)
	if log {
		LogPD(p, v, logTermsF64)
		VXORPD(p.F64("signbit64", math.Copysign(0, -1)), v, v)
	} else {
		one := XMM()
		VMOVSD(p.F64("one64", 1), one)
		VDIVSD(v, one, v)
	}
	if d.Size == 4 {
		VCVTSD2SS(v, v, v)
	}
	other := XMM()
	if log {
		d.MOVS(p.Of(d, "neginf", math.Inf(-1)), other)
	} else {
		VXORPS(other, other, other)
	}
	XORQ(i, i)
	Label("share")
	y := XMM()
	d.MOVS(Mem{Base: srcp, Index: i, Scale: uint8(d.Size)}, x)
	m := XMM()
	d.CMP(U8(CmpEQOQ), posInf, x, m)
	d.BLENDV(m, v, other, y)
	d.MOVS(y, Mem{Base: dstp, Index: i, Scale: uint8(d.Size)})
	INCQ(i)
	CMPQ(i, cols)
	JL(LabelRef("share"))
	JMP(LabelRef("next1"))

	Label("masked")
	if log {
		d.MOVS(p.Of(d, "neginf", math.Inf(-1)), v)
	} else {
		VXORPS(v, v, v)
	}
	Label("fill")
	XORQ(i, i)
	Label("fillloop")
	d.MOVS(v, Mem{Base: dstp, Index: i, Scale: uint8(d.Size)})
	INCQ(i)
	CMPQ(i, cols)
	JL(LabelRef("fillloop"))
	JMP(LabelRef("next1"))
}
