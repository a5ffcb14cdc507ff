// The float64 exp of LogSumExp's group path: what its sums need, no more.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// lseExpF64Q: interpolant of q(r) = (e^r - 1 - r)/r^2 at the 9 Chebyshev
// nodes of [-ln2/2, ln2/2] (solved in 200-bit arithmetic), degree 8,
// highest first: |r^2 * error| < 2^-49.5 relative to e^r. LogSumExp's
// bound (CONTRACT.md, v = 2^-46) is on the log of the sum, so an e needs
// a relative 2^-49 or so, not the last bit that Softmax's probabilities
// do (ExpSoftmaxF64Core, degree 10): two FMAs a vector fewer.
var lseExpF64Q = []float64{
	0x1.2881b6b62657p-22, 0x1.72c713cbb3c7fp-19, 0x1.a019c7c5de7f5p-16,
	0x1.a019adb3257e9p-13, 0x1.6c16c1743a95dp-10, 0x1.1111111c44d73p-07,
	0x1.5555555554b19p-05, 0x1.5555555553b87p-03, 0x1p-01,
}

// The reduction's constants, as gen/internal's float64 exps have them:
// n = round(d*log2e) by the 1.5*2^52 shifter, r = d - n*ln2hi - n*ln2lo
// with ln2hi of 32 significant bits (n*ln2hi exact).
var (
	lseLn2Hi = math.Float64frombits(math.Float64bits(math.Ln2) &^ (1<<21 - 1))
	lseLn2Lo = (math.Ln2 - lseLn2Hi) + 2.3190468138462996e-17
)

// lseExpF64Splats are lseExpF64's constants: the reduction's first, then
// the polynomial's from its highest coefficient (the order a hold keeps
// them in).
func lseExpF64Splats() []Splat {
	ss := []Splat{
		F64Splat("exp_shift", 0x1.8p52), F64Splat("exp_log2e", math.Log2E),
		F64Splat("exp64_negln2hi", -lseLn2Hi), F64Splat("exp64_negln2lo", -lseLn2Lo),
		F64Splat("one64", 1),
	}
	for k, c := range lseExpF64Q {
		ss = append(ss, F64Splat(fmt.Sprintf("lse64_q%c", 'a'+k), c))
	}
	return ss
}

// lseExpF64 replaces each float64 vector d in xs (d <= 0, -Inf or NaN) by
// e^d within 2^-49 relative, for sums of at least 1: d is first clamped to
// lo (which must hold SoftmaxF64Lo in every lane), so a lane below it
// gives e^lo, about 2^-1022, instead of a 0 (one operation instead of
// ExpSoftmaxF64Core's compare and select), and 2^n stays normal. NaN stays
// NaN (the clamp keeps a NaN d in its register form). The constants come
// from p.C: held or from memory.
func lseExpF64(p *Pool, xs []VecVirtual, lo VecVirtual) {
	ss := lseExpF64Splats()
	shift, log2e, negHi, negLo, one, q := p.C(ss[0]), p.C(ss[1]), p.C(ss[2]), p.C(ss[3]), p.C(ss[4]), ss[5:]
	n := len(xs)
	ts, rs, qs := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	Comment("lse exp: clamp, n = round(d*log2e), r = d - n*ln2hi - n*ln2lo")
	for i, x := range xs {
		VMAXPD(x, lo, x)
		ts[i] = like(x)
		VMOVUPD(shift, ts[i])
		VFMADD231PD(log2e, x, ts[i])
	}
	for i, x := range xs {
		qs[i], rs[i] = like(x), like(x)
		VSUBPD(shift, ts[i], qs[i])
		VMOVUPD(x, rs[i])
		VFMADD231PD(negHi, qs[i], rs[i])
		VFMADD231PD(negLo, qs[i], rs[i])
	}
	Comment("lse exp: q(r), degree 8; p = 1 + (r + r^2*q)")
	for i := range xs {
		VMOVUPD(p.C(q[0]), qs[i])
	}
	for _, c := range q[1:] {
		for i := range xs {
			VFMADD213PD(p.C(c), rs[i], qs[i])
		}
	}
	for i, x := range xs {
		r2 := like(x)
		VMULPD(rs[i], rs[i], r2)
		VFMADD213PD(rs[i], r2, qs[i]) // r + r^2 q
		VADDPD(one, qs[i], qs[i])
	}
	Comment("lse exp: times 2^n")
	for i, x := range xs {
		VPSLLQ(U8(52), ts[i], ts[i])
		VPADDQ(one, ts[i], ts[i])
		VMULPD(ts[i], qs[i], x)
	}
}

// lseLongUnroll is the number of vectors an iteration of the AVX-512 exp
// pass of long float64 rows takes: four exps in flight, added pairwise,
// then one compensated add (AVX2 has not the registers: expUnroll's two).
const lseLongUnroll = 4

// lseLongHeld is the number of lseExpF64's constants that pass holds in
// registers: with the sum, its compensation, the max, the clamp bound and
// four vectors' exps (a value and three temporaries each) that is 31 of
// the 32, and the sum stays in Z0-Z15, whose reduction after the loop
// needs no AVX512VL (TestAVX512NeedsNoVL).
const lseLongHeld = 11

// lseLongExpF64 emits the exp pass of a float64 row over groupBytes at src
// with max m (broadcast) and returns its sum in lane 0: the one-row path's
// pass (emit) with lseExpF64: lseLongUnroll vectors an iteration (AVX2:
// expUnroll), added pairwise, then summed Kahan-compensated, the next
// row's lines prefetched (next: the offset to it, see nextOffset).
func (r *row) lseLongExpF64(pre string, src Register, m VecVirtual, next Register) VecVirtual {
	isa, p := r.isa, r.p
	Comment("Exp pass: e = exp(s - max), Kahan-compensated (lseExpF64).")
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(src, ptr)
	sum, comp, lo := isa.Vec(), isa.Vec(), isa.Vec()
	VXORPD(sum, sum, sum)
	VXORPD(comp, comp, comp)
	VMOVUPD(p.F64("sm64_lo", SoftmaxF64Lo), lo)
	if isa.AVX512 {
		p.Hold(isa, lseExpF64Splats()[:lseLongHeld]...)
		defer p.Release()
	}
	un := expUnroll(isa, r.d)
	if isa.AVX512 {
		un = lseLongUnroll
	}
	Loop(pre+"lexp", n, r.lanes, un, func(u int) {
		xs := make([]VecVirtual, u)
		for i := range xs {
			xs[i] = isa.Vec()
			VMOVUPD(Mem{Base: ptr, Disp: r.vb * i}, xs[i])
			VSUBPD(m, xs[i], xs[i])
			if (r.vb*i)%64 == 0 {
				PREFETCHT0(Mem{Base: ptr, Index: next, Scale: 1, Disp: r.vb * i})
			}
		}
		lseExpF64(p, xs, lo)
		for len(xs) > 1 {
			for h := 0; h < len(xs)/2; h++ {
				VADDPD(xs[2*h+1], xs[2*h], xs[2*h])
				xs[h] = xs[2*h]
			}
			xs = xs[:len(xs)/2]
		}
		kahanAdd(sum, comp, xs[0])
		ADDQ(U32(r.vb*u), ptr)
	}, func() {
		x := isa.Vec()
		r.mask.LoadFill(Mem{Base: ptr}, x, r.negInf)
		VSUBPD(m, x, x)
		lseExpF64(p, []VecVirtual{x}, lo)
		kahanAdd(sum, comp, x)
	})
	VSUBPD(comp, sum, sum)
	HSumPD(sum)
	return sum
}

// The float32 exp of LogSumExp's AVX-512 group path: a 32-entry table
// (two ZMM registers, one VPERMI2PS) and a quadratic instead of
// expF32Table's 16 entries and cubic: one FMA a vector fewer.
//
//	k = round(32*d*log2e)/32 (the 1.5*2^18 shifter: t's low 5 bits hold
//	    j = 32k mod 32), r = d - k*ln2 (one FMA, ln2 rounded to float32,
//	    as the softmax cores), |r| <= ln2/64
//	e^d = 2^floor(k) * T_j * (1 + r*(c1 + c2*r)), T_j = 2^(j/32)
//
// c1 = 1 + a^2/8 (a = ln2/64) folds the best linear part of r^3/6 into
// the linear term: the quadratic is within 2^-24.2 of e^r on |r| <= a
// (Taylor's 1 + r + r^2/2: 2^-22.2); with T_j's rounding and the final
// FMA's, 2^-22.5 relative, as AVX2's table exp (2^-22.4), inside what
// f32SumBytes allows.
var (
	lseExp32C1 = float32(1.0000146)
	lseExp32C2 = float32(0.5)
)

// lseExpF32 holds the table and the rounding shifter of lseExpF32Core in
// registers.
type lseExpF32 struct{ lo, hi, shift VecVirtual }

// lseExpF32Held is the number of ZMM registers holdLSEExpF32 takes.
const lseExpF32Held = 3

// holdLSEExpF32 loads the 2^(j/32) table and the shifter into registers.
func holdLSEExpF32(p *Pool) lseExpF32 {
	tab := make([]Constant, 32)
	for j := range tab {
		tab[j] = U32(math.Float32bits(float32(math.Exp2(float64(j) / 32))))
	}
	m := p.Table("lse_exp2tab32", tab)
	e := lseExpF32{lo: ZMM(), hi: ZMM(), shift: ZMM()}
	VMOVUPS(m, e.lo)
	VMOVUPS(m.Offset(64), e.hi)
	VMOVUPS(p.F32("lse32_shift", 0x1.8p18), e.shift)
	return e
}

// core replaces each float32 ZMM d in xs (d <= 0, -Inf or NaN) by e^d
// within 2^-22.5 relative, for sums of at least 1: d is clamped to lo
// (SoftmaxF32Lo in every lane), so a lane below it gives e^lo, about
// 2^-126. NaN stays NaN (the clamp keeps a NaN d in its register form;
// 2^n is applied by VSCALEFPS).
func (e lseExpF32) core(p *Pool, xs []VecVirtual, lo VecVirtual) {
	n := len(xs)
	ts, ks, qs := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	Comment("lse exp32: clamp, k = round(32*d*log2e)/32, r = d - k*ln2")
	for i, x := range xs {
		VMAXPS(x, lo, x)
		ts[i], ks[i], qs[i] = ZMM(), ZMM(), ZMM()
		VMOVUPS(e.shift, ts[i])
		VFMADD231PS(p.F32("exp32t_log2e", math.Log2E), x, ts[i])
		VSUBPS(e.shift, ts[i], ks[i])
	}
	for i, x := range xs {
		VFMADD231PS(p.F32("exp32l_negln2hi", -float32(math.Ln2)), ks[i], x)
	}
	Comment("lse exp32: u = r*(c1 + c2*r); T + T*u, times 2^floor(k)")
	for i, x := range xs {
		VMOVUPS(p.F32("lse32_c2", lseExp32C2), qs[i])
		VFMADD213PS(p.F32("lse32_c1", lseExp32C1), x, qs[i])
		VMULPS(x, qs[i], qs[i])
	}
	for i, x := range xs {
		VPERMI2PS(e.hi, e.lo, ts[i]) // T_j, j the low 5 bits of t
		VFMADD231PS(qs[i], ts[i], ts[i])
		VSCALEFPS(ks[i], ts[i], x)
	}
}

// groupExpCore is the exp of LogSumExp's group passes (groupExp, the resident
// path): lseExpF64, or for float32 the held lseExpF32 on AVX-512 and
// ExpSumF32Core on AVX2; lo is the softmax's lower clamp.
type groupExpCore struct {
	r   *row
	lo  VecVirtual
	e32 lseExpF32
}

// holdGroupExp loads lo and, for float32 on AVX-512, the held table.
func (r *row) holdGroupExp() groupExpCore {
	d, isa, p := r.d, r.isa, r.p
	g := groupExpCore{r: r, lo: isa.Vec()}
	if d.Size == 8 {
		VMOVUPD(p.F64("sm64_lo", SoftmaxF64Lo), g.lo)
	} else {
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), g.lo)
	}
	if d.Size == 4 && isa.AVX512 {
		g.e32 = holdLSEExpF32(p)
	}
	return g
}

// exp sets each of xs to its exp.
func (g groupExpCore) exp(xs []VecVirtual) {
	r := g.r
	switch {
	case r.d.Size == 8:
		lseExpF64(r.p, xs, g.lo)
	case r.isa.AVX512:
		g.e32.core(r.p, xs, g.lo)
	default:
		ExpSumF32Core(r.p, xs, g.lo)
	}
}
