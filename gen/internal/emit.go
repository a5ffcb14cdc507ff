package internal

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Loop emits the loop skeleton over n elements (n is counted down): an
// unrolled body of unroll vectors, a one-vector loop, then tail(), run once
// when 0 < n < lanes. body(u) processes u vectors and advances its pointers.
func Loop(name string, n Register, lanes, unroll int, body func(u int), tail func()) {
	if unroll > 1 {
		Label(name + "_loop")
		CMPQ(n, U32(lanes*unroll))
		JL(LabelRef(name + "_one"))
		body(unroll)
		SUBQ(U32(lanes*unroll), n)
		JMP(LabelRef(name + "_loop"))
	}
	Label(name + "_one")
	CMPQ(n, U32(lanes))
	JL(LabelRef(name + "_tail"))
	body(1)
	SUBQ(U32(lanes), n)
	JMP(LabelRef(name + "_one"))
	Label(name + "_tail")
	if tail != nil {
		TESTQ(n, n)
		JE(LabelRef(name + "_done"))
		tail()
	}
	Label(name + "_done")
}

// TailMask loads into a new YMM the VMASKMOV mask that selects the first k
// elements of type d, 0 < k < lanes (k in a GP register, unchanged).
func TailMask(p *Pool, d DType, k Register) VecVirtual {
	off := GP64()
	MOVQ(k, off)
	SHLQ(U8(d.Shift), off)
	NEGQ(off)
	base := GP64()
	LEAQ(p.MaskTable(), base)
	m := YMM()
	VMOVDQU(Mem{Base: base, Index: off, Scale: 1, Disp: 32}, m)
	return m
}

// HMax reduces the vector v to its maximum, left in lane 0 of v.
func HMax(d DType, v VecVirtual) { hReduce(d, v, d.MAX) }

// HMin reduces the vector v to its minimum, left in lane 0 of v.
func HMin(d DType, v VecVirtual) { hReduce(d, v, d.MIN) }

// hReduce folds v onto lane 0 with op (d.MAX or d.MIN).
func hReduce(d DType, v VecVirtual, op func(...Op)) {
	v = half(v, op)
	t := XMM()
	VEXTRACTF128(U8(1), v, t)
	op(t, v.AsX(), v.AsX())
	if d.Size == 4 {
		VPERMILPS(U8(0x4e), v.AsX(), t)
		op(t, v.AsX(), v.AsX())
		VPERMILPS(U8(0xb1), v.AsX(), t)
		op(t, v.AsX(), v.AsX())
	} else {
		VPERMILPD(U8(1), v.AsX(), t)
		op(t, v.AsX(), v.AsX())
	}
}

// HSumPD reduces the float64 vector v to its sum, left in lane 0 of v.
func HSumPD(v VecVirtual) {
	v = half(v, VADDPD)
	t := XMM()
	VEXTRACTF128(U8(1), v, t)
	VADDPD(t, v.AsX(), v.AsX())
	VPERMILPD(U8(1), v.AsX(), t)
	VADDSD(t, v.AsX(), v.AsX())
}

// LogPD emits x = ln(x), lane by lane, for a vector (XMM, YMM or ZMM) of
// float64 x >= 1; a NaN lane gives NaN. x = 2^k * m, m in [sqrt(1/2),
// sqrt(2)); ln m = 2 atanh(f), f = (m-1)/(m+1), |f| < 0.1716, as an odd
// series in f up to f^(2*terms-1). terms = 10 gives relative error < 2^-55,
// terms = 5 < 2^-29. For a scalar, pass its XMM: the other lane is
// computed too and never faults.
func LogPD(p *Pool, x VecVirtual, terms int) { logPD(p, x, terms, terms, false) }

// LogPDF32 is LogPD for x below 2^32 whose log is rounded to float32
// afterwards: k*ln2 is the one product k*ln2hi (ln2lo left out: |k|*2^-32.3
// off), and a NaN lane gives a finite value: the caller adds x*0 where
// it is off the log's chain. The pool is asked for the constants of LogPD(x, layout) in LogPD's
// order, used or not, so that its layout, and the code of every kernel
// after this one, is what LogPD would have left.
func LogPDF32(p *Pool, x VecVirtual, terms, layout int) { logPD(p, x, terms, layout, true) }

func logPD(p *Pool, x VecVirtual, terms, layout int, f32 bool) {
	Comment("log, lane by lane: split x = 2^k * m")
	mant, big, e, kf := like(x), like(x), like(x), like(x)
	VANDPD(p.U64("log_mant", 1<<52-1), x, mant)
	// m > sqrt2 (mantissa compare): use m/2 and k+1. big = -1 there.
	sq := p.U64("log_sqrt2mant", math.Float64bits(math.Sqrt2)&(1<<52-1))
	if x.Size() == 64 {
		k := K()
		VPCMPGTQ(sq, mant, k)
		VPMOVM2Q(k, big)
	} else {
		VPCMPGTQ(sq, mant, big)
	}
	VPADDQ(p.U64("log_bias", 1023), big, e)
	VPSLLQ(U8(52), e, e)
	VORPD(e, mant, mant) // m
	// k+1023 as a float64: its bits ORed into 2^52, less 2^52+1023.
	VPSRLQ(U8(52), x, kf)
	VPSUBQ(big, kf, kf)
	VORPD(p.F64("log_two52", 0x1p52), kf, kf)
	VSUBPD(p.F64("log_two52bias", 0x1p52+1023), kf, kf)
	Comment("log: f = (m-1)/(m+1)")
	one := p.F64("one64", 1)
	num := like(x)
	VSUBPD(one, mant, num)
	VADDPD(one, mant, mant)
	VDIVPD(mant, num, num) // f
	f2 := like(x)
	VMULPD(num, num, f2)
	for j := layout - 1; j >= terms; j-- {
		p.F64(cname("log_c", j), 2/float64(2*j+1))
	}
	s := like(x)
	VMOVUPD(p.F64(cname("log_c", terms-1), 2/float64(2*terms-1)), s)
	for j := terms - 2; j >= 0; j-- {
		VFMADD213PD(p.F64(cname("log_c", j), 2/float64(2*j+1)), f2, s)
	}
	VMULPD(num, s, s) // ln m
	if f32 {
		Comment("log: k*ln2hi + ln m (a NaN lane is the caller's)")
		p.F64("log_ln2lo", ln2Lo)
		VFMADD231PD(p.F64("log_ln2hi", ln2Hi), kf, s)
		VMOVAPD(s, x)
		return
	}
	Comment("log: k*ln2hi + (ln m + k*ln2lo); + x*0 keeps NaN")
	VFMADD231PD(p.F64("log_ln2lo", ln2Lo), kf, s)
	VFMADD231PD(p.F64("log_ln2hi", ln2Hi), kf, s)
	VXORPD(num, num, num)
	VFMADD231PD(num, x, s)
	VMOVAPD(s, x)
}

// tree4 reduces four row vectors together with op, in log2 shuffle and op
// steps instead of four horizontal reductions: float32 lanes (f32, op
// VMAXPS or VMINPS) or float64 lanes (op VADDPD). The first steps move
// whole 128-bit blocks and 64-bit pairs, the same for both widths.
// AVX-512: 128-bit quarter j of the result holds row j's value in every
// lane. AVX2: float32 half 0 holds rows 0 and 2 as [0 0 2 2], half 1 rows 1
// and 3; float64 the result is [0 2 1 3]. Every step combines the same
// lanes of each row in the same way, so a row's result does not depend on
// its place among the four nor on the other rows (rows stand alone).
func tree4(rows []VecVirtual, op func(...Op), f32 bool) VecVirtual {
	zmm := rows[0].Size() == 64
	a, b, c, e := rows[0], rows[1], rows[2], rows[3]
	Comment("Four rows at once: a transpose-style reduction.")
	ab, cd, t, u, m := like(a), like(a), like(a), like(a), like(a)
	// halves puts the low halves of x and y side by side in lo, the high
	// halves in hi.
	halves := func(x, y, lo, hi VecVirtual) {
		if zmm {
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
	if zmm {
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
