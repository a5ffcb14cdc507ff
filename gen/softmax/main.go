// Command softmax generates asm/softmax_amd64.s: Softmax, LogSoftmax and
// LogSoftmaxBackward over a whole row-major matrix in one call, float32 and
// float64.
//
// Per row: a max pass, an exp pass that sums (float32: in float64 lanes;
// float64: Kahan-compensated) and, for Softmax, stores e^(s-max) in dst, then
// a scale pass. The row tail is a masked load (the mask depends only on cols,
// so it is built once). Rows whose max is not finite, or whose sum is NaN,
// take a scalar slow path.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

func main() {
	ConstraintExpr("!purego")
	p := NewPool()
	for _, log := range []bool{false, true} {
		for _, d := range []DType{Float32, Float64} {
			softmaxAVX2(p, d, log)
		}
	}
	for _, d := range []DType{Float32, Float64} {
		logBackwardAVX2(p, d)
	}
	p.Flush()
	Generate()
}

// kahanAdd adds v into the compensated sum (s, c): true sum = s - c.
func kahanAdd(s, c, v VecVirtual) {
	VSUBPD(c, v, v) // y = v - c
	t := YMM()
	VADDPD(v, s, t) // t = s + y
	VSUBPD(s, t, c) // c = (t - s)
	VSUBPD(v, c, c) // c = (t - s) - y
	VMOVAPD(t, s)
}

// widen splits the float32 YMM x into two float64 YMMs (x becomes the low).
func widen(x VecVirtual) (lo, hi VecVirtual) {
	hi = YMM()
	VEXTRACTF128(U8(1), x, hi.AsX())
	VCVTPS2PD(hi.AsX(), hi)
	VCVTPS2PD(x.AsX(), x)
	return x, hi
}

// widen32 returns x as two float64 YMMs, leaving x as it is.
func widen32(x VecVirtual) (lo, hi VecVirtual) {
	lo, hi = YMM(), YMM()
	VEXTRACTF128(U8(1), x, hi.AsX())
	VCVTPS2PD(hi.AsX(), hi)
	VCVTPS2PD(x.AsX(), lo)
	return lo, hi
}

// narrow packs two float64 YMMs back into lo as eight float32.
func narrow(lo, hi VecVirtual) {
	VCVTPD2PSY(lo, lo.AsX())
	VCVTPD2PSY(hi, hi.AsX())
	VINSERTF128(U8(1), hi.AsX(), lo, lo)
}

func softmaxAVX2(p *Pool, d DType, log bool) {
	kind := "Softmax"
	if log {
		kind = "LogSoftmax"
	}
	name := kind + d.Name + "AVX2"
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src []%s, cols int)", d.Go))
	Doc(name+" computes "+kind+" of every row of src into dst.",
		"len(dst) == len(src), cols >= 1 and len(src) % cols == 0.")
	dstp := Load(Param("dst").Base(), GP64())
	srcp := Load(Param("src").Base(), GP64())
	total := Load(Param("src").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	lanes := d.Lanes(32)
	vb := 32

	Comment("The row-tail mask depends only on cols.")
	tc := GP64()
	MOVQ(cols, tc)
	ANDQ(U32(lanes-1), tc)
	mask := TailMask(p, d, tc)
	negInf := p.Of(d, "neginf", math.Inf(-1))

	Label("row")
	TESTQ(total, total)
	JE(LabelRef("done"))

	Comment("Pass 1: row maximum.")
	n, ptr := GP64(), GP64()
	MOVQ(cols, n)
	MOVQ(srcp, ptr)
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		d.MOVU(negInf, acc[i])
	}
	Loop("max", n, lanes, 4, func(u int) {
		for i := 0; i < u; i++ {
			d.MAX(Mem{Base: ptr, Disp: vb * i}, acc[i], acc[i])
		}
		ADDQ(U32(vb*u), ptr)
	}, func() {
		x, ni := YMM(), YMM()
		d.MASKMOV(Mem{Base: ptr}, mask, x)
		d.MOVU(negInf, ni)
		d.BLENDV(mask, x, ni, x)
		d.MAX(x, acc[0], acc[0])
	})
	d.MAX(acc[1], acc[0], acc[0])
	d.MAX(acc[3], acc[2], acc[2])
	d.MAX(acc[2], acc[0], acc[0])
	HMax(d, acc[0])
	Comment("A NaN, +Inf or all -Inf row: slow path.")
	bits := GP64()
	if d.Size == 4 {
		VMOVD(acc[0].AsX(), bits.As32())
		ANDL(U32(0x7f800000), bits.As32())
		CMPL(bits.As32(), U32(0x7f800000))
	} else {
		VMOVQ(acc[0].AsX(), bits)
		SHRQ(U8(52), bits)
		ANDL(U32(0x7ff), bits.As32())
		CMPL(bits.As32(), U32(0x7ff))
	}
	JE(LabelRef("special"))
	mv := YMM()
	d.BCAST(acc[0].AsX(), mv)

	Comment("Pass 2: e = exp(s - max), summed in float64.")
	MOVQ(cols, n)
	MOVQ(srcp, ptr)
	out := GP64()
	MOVQ(dstp, out)
	var sum VecVirtual
	if d.Size == 4 {
		lo := YMM()
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
		s0, s1 := YMM(), YMM()
		VXORPD(s0, s0, s0)
		VXORPD(s1, s1, s1)
		vec := func(x VecVirtual, tail bool) {
			VSUBPS(mv, x, x)
			if tail {
				ni := YMM()
				VMOVUPS(negInf, ni)
				VBLENDVPS(mask, x, ni, x)
			}
			ExpSoftmaxF32Core(p, []VecVirtual{x}, lo)
			xl, xh := widen32(x)
			VADDPD(xl, s0, s0)
			VADDPD(xh, s1, s1)
		}
		Loop("exp", n, lanes, 1, func(u int) {
			x := YMM()
			VMOVUPS(Mem{Base: ptr}, x)
			vec(x, false)
			if !log {
				VMOVUPS(x, Mem{Base: out})
			}
			ADDQ(U32(vb), ptr)
			ADDQ(U32(vb), out)
		}, func() {
			x := YMM()
			VMASKMOVPS(Mem{Base: ptr}, mask, x)
			vec(x, true)
			if !log {
				VMASKMOVPS(x, mask, Mem{Base: out})
			}
		})
		VADDPD(s1, s0, s0)
		sum = s0
	} else {
		s, c := YMM(), YMM()
		VXORPD(s, s, s)
		VXORPD(c, c, c)
		Loop("exp", n, lanes, 2, func(u int) {
			xs := make([]VecVirtual, u)
			for i := range xs {
				xs[i] = YMM()
				VMOVUPD(Mem{Base: ptr, Disp: vb * i}, xs[i])
				VSUBPD(mv, xs[i], xs[i])
			}
			ExpSoftmaxF64Core(p, xs)
			for i := range xs {
				if !log {
					VMOVUPD(xs[i], Mem{Base: out, Disp: vb * i})
				}
			}
			if u == 2 {
				VADDPD(xs[1], xs[0], xs[0])
			}
			kahanAdd(s, c, xs[0])
			ADDQ(U32(vb*u), ptr)
			ADDQ(U32(vb*u), out)
		}, func() {
			x, ni := YMM(), YMM()
			VMASKMOVPD(Mem{Base: ptr}, mask, x)
			VSUBPD(mv, x, x)
			VMOVUPD(negInf, ni)
			VBLENDVPD(mask, x, ni, x)
			ExpSoftmaxF64Core(p, []VecVirtual{x})
			if !log {
				VMASKMOVPD(x, mask, Mem{Base: out})
			}
			kahanAdd(s, c, x)
		})
		VSUBPD(c, s, s)
		sum = s
	}
	HSumPD(sum)
	Comment("A NaN in the row makes the sum NaN: slow path.")
	VUCOMISD(sum.AsX(), sum.AsX())
	JP(LabelRef("special"))

	Comment("Pass 3.")
	MOVQ(cols, n)
	MOVQ(dstp, out)
	k := YMM()
	if !log {
		// k = 1/sum; p = e*k, flushed to +0 below the smallest normal.
		inv := XMM()
		VMOVSD(p.F64("one64", 1), inv)
		VDIVSD(sum.AsX(), inv, inv)
		if d.Size == 4 {
			VCVTSD2SS(inv, inv, inv)
		}
		d.BCAST(inv, k)
		tiny := p.Of(d, "tiny", minNormal(d))
		scale := func(x VecVirtual) {
			d.MUL(k, x, x)
			m := YMM()
			d.CMP(U8(CmpGEOQ), tiny, x, m)
			d.AND(m, x, x)
		}
		Loop("scale", n, lanes, 4, func(u int) {
			xs := make([]VecVirtual, u)
			for i := range xs {
				xs[i] = YMM()
				d.MOVU(Mem{Base: out, Disp: vb * i}, xs[i])
				scale(xs[i])
				d.MOVU(xs[i], Mem{Base: out, Disp: vb * i})
			}
			ADDQ(U32(vb*u), out)
		}, func() {
			x := YMM()
			d.MASKMOV(Mem{Base: out}, mask, x)
			scale(x)
			d.MASKMOV(x, mask, Mem{Base: out})
		})
	} else {
		// y = (s - max) - log(sum): s - max first keeps the rounding
		// relative to |y|.
		Log(p, sum.AsX(), map[int]int{4: 5, 8: 10}[d.Size])
		if d.Size == 4 {
			VCVTSD2SS(sum.AsX(), sum.AsX(), sum.AsX())
		}
		d.BCAST(sum.AsX(), k)
		MOVQ(srcp, ptr)
		y := func(x VecVirtual) {
			d.SUB(mv, x, x)
			d.SUB(k, x, x)
		}
		Loop("log", n, lanes, 4, func(u int) {
			xs := make([]VecVirtual, u)
			for i := range xs {
				xs[i] = YMM()
				d.MOVU(Mem{Base: ptr, Disp: vb * i}, xs[i])
				y(xs[i])
				d.MOVU(xs[i], Mem{Base: out, Disp: vb * i})
			}
			ADDQ(U32(vb*u), ptr)
			ADDQ(U32(vb*u), out)
		}, func() {
			x := YMM()
			d.MASKMOV(Mem{Base: ptr}, mask, x)
			y(x)
			d.MASKMOV(x, mask, Mem{Base: out})
		})
	}

	Label("next")
	MOVQ(cols, bits)
	SHLQ(U8(d.Shift), bits)
	ADDQ(bits, srcp)
	ADDQ(bits, dstp)
	SUBQ(cols, total)
	JMP(LabelRef("row"))

	special(p, d, log, srcp, dstp, cols)

	Label("done")
	VZEROUPPER()
	RET()
}

func minNormal(d DType) float64 {
	if d.Size == 4 {
		return 0x1p-126
	}
	return 0x1p-1022
}

// special emits the scalar slow path for a row holding a NaN or +Inf, or
// only -Inf: count NaN and +Inf entries, then fill dst per SPEC.md. It reads
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
		Log(p, v, 10)
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
	JMP(LabelRef("next"))

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
	JMP(LabelRef("next"))
}

// logBackwardAVX2: ds = dy - exp(y) * sum_j dy over unmasked j; masked
// entries (y = -Inf) get 0.
func logBackwardAVX2(p *Pool, d DType) {
	name := "LogSoftmaxBackward" + d.Name + "AVX2"
	TEXT(name, NOSPLIT, fmt.Sprintf("func(ds, y, dy []%s, cols int)", d.Go))
	Doc(name+" sets ds = dy - exp(y)*sum(dy) per row, leaving masked (y = -Inf)",
		"entries out of the sum and setting their ds to 0.",
		"Equal lengths, cols >= 1 and len % cols == 0.")
	dsp := Load(Param("ds").Base(), GP64())
	yp := Load(Param("y").Base(), GP64())
	dyp := Load(Param("dy").Base(), GP64())
	total := Load(Param("y").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	lanes := d.Lanes(32)
	vb := 32
	tc := GP64()
	MOVQ(cols, tc)
	ANDQ(U32(lanes-1), tc)
	mask := TailMask(p, d, tc)
	negInf := p.Of(d, "neginf", math.Inf(-1))

	Label("row")
	TESTQ(total, total)
	JE(LabelRef("done"))

	Comment("Pass 1: S = sum of dy over entries with y != -Inf.")
	n, py, pdy, pds := GP64(), GP64(), GP64(), GP64()
	MOVQ(cols, n)
	MOVQ(yp, py)
	MOVQ(dyp, pdy)
	// keep returns dy with masked lanes zeroed.
	keep := func(y, dy VecVirtual) {
		m := YMM()
		d.CMP(U8(CmpNEQUQ), negInf, y, m)
		d.AND(m, dy, dy)
	}
	var sum VecVirtual
	if d.Size == 4 {
		s0, s1 := YMM(), YMM()
		VXORPD(s0, s0, s0)
		VXORPD(s1, s1, s1)
		add := func(dy VecVirtual) {
			lo, hi := widen(dy)
			VADDPD(lo, s0, s0)
			VADDPD(hi, s1, s1)
		}
		Loop("sum", n, lanes, 2, func(u int) {
			for i := 0; i < u; i++ {
				y, dy := YMM(), YMM()
				VMOVUPS(Mem{Base: py, Disp: vb * i}, y)
				VMOVUPS(Mem{Base: pdy, Disp: vb * i}, dy)
				keep(y, dy)
				add(dy)
			}
			ADDQ(U32(vb*u), py)
			ADDQ(U32(vb*u), pdy)
		}, func() {
			y, dy := YMM(), YMM()
			VMASKMOVPS(Mem{Base: py}, mask, y)
			VMASKMOVPS(Mem{Base: pdy}, mask, dy)
			keep(y, dy)
			add(dy)
		})
		VADDPD(s1, s0, s0)
		sum = s0
	} else {
		s, c := YMM(), YMM()
		VXORPD(s, s, s)
		VXORPD(c, c, c)
		Loop("sum", n, lanes, 2, func(u int) {
			var a VecVirtual
			for i := 0; i < u; i++ {
				y, dy := YMM(), YMM()
				VMOVUPD(Mem{Base: py, Disp: vb * i}, y)
				VMOVUPD(Mem{Base: pdy, Disp: vb * i}, dy)
				keep(y, dy)
				if i == 0 {
					a = dy
				} else {
					VADDPD(dy, a, a)
				}
			}
			kahanAdd(s, c, a)
			ADDQ(U32(vb*u), py)
			ADDQ(U32(vb*u), pdy)
		}, func() {
			y, dy := YMM(), YMM()
			VMASKMOVPD(Mem{Base: py}, mask, y)
			VMASKMOVPD(Mem{Base: pdy}, mask, dy)
			keep(y, dy)
			kahanAdd(s, c, dy)
		})
		VSUBPD(c, s, s)
		sum = s
	}
	HSumPD(sum)
	if d.Size == 4 {
		VCVTSD2SS(sum.AsX(), sum.AsX(), sum.AsX())
	}
	sv := YMM()
	d.BCAST(sum.AsX(), sv)

	Comment("Pass 2: ds = dy - exp(y)*S, 0 where y = -Inf.")
	MOVQ(cols, n)
	MOVQ(yp, py)
	MOVQ(dyp, pdy)
	MOVQ(dsp, pds)
	var lo, hi VecVirtual
	if d.Size == 4 {
		lo, hi = YMM(), YMM()
		VMOVUPS(p.F32("exp32_lo", ExpF32Lo), lo)
		VMOVUPS(p.F32("exp32_hi", ExpF32Hi), hi)
	}
	// vec turns y into ds, given dy.
	vec := func(y, dy VecVirtual) {
		m := YMM()
		d.CMP(U8(CmpNEQUQ), negInf, y, m)
		if d.Size == 4 {
			VMINPS(y, hi, y)
			VMAXPS(y, lo, y)
			yl, yh := widen(y)
			ExpF32Core(p, []VecVirtual{yl, yh})
			narrow(yl, yh)
		} else {
			ExpF64Core(p, []VecVirtual{y})
		}
		d.FNMA231(sv, y, dy)
		d.AND(m, dy, y)
	}
	Loop("grad", n, lanes, 1, func(u int) {
		y, dy := YMM(), YMM()
		d.MOVU(Mem{Base: py}, y)
		d.MOVU(Mem{Base: pdy}, dy)
		vec(y, dy)
		d.MOVU(y, Mem{Base: pds})
		ADDQ(U32(vb), py)
		ADDQ(U32(vb), pdy)
		ADDQ(U32(vb), pds)
	}, func() {
		y, dy := YMM(), YMM()
		d.MASKMOV(Mem{Base: py}, mask, y)
		d.MASKMOV(Mem{Base: pdy}, mask, dy)
		vec(y, dy)
		d.MASKMOV(y, mask, Mem{Base: pds})
	})

	step := GP64()
	MOVQ(cols, step)
	SHLQ(U8(d.Shift), step)
	ADDQ(step, yp)
	ADDQ(step, dyp)
	ADDQ(step, dsp)
	SUBQ(cols, total)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}
