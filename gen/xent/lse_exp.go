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

// lseLongUnroll is the number of vectors an iteration of the exp pass of
// long float64 rows takes, added pairwise, then one compensated add: on
// AVX-512 four exps in flight; AVX2 has the registers for two exps'
// temporaries beside the four values, so it runs them two by two
// (expUnroll) and pays the compensated add once for four.
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
// their exps expUnroll at a time), added pairwise, then summed
// Kahan-compensated, the next
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
	// AVX2: lseLongUnroll vectors an iteration too, their exps two at a
	// time (expUnroll: the registers of two exps' temporaries).
	un, chunk := lseLongUnroll, lseLongUnroll
	if !isa.AVX512 {
		chunk = expUnroll(isa, r.d)
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
		for c0 := 0; c0 < len(xs); c0 += chunk {
			lseExpF64(p, xs[c0:min(c0+chunk, len(xs))], lo)
		}
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
// 2^-126; with lo nil the caller knows every d is at least -fastSpan.
// NaN stays NaN (the clamp keeps a NaN d in its register form; 2^n is
// applied by VSCALEFPS).
func (e lseExpF32) core(p *Pool, xs []VecVirtual, lo VecVirtual) {
	n := len(xs)
	ts, ks, qs := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	Comment("lse exp32: clamp, k = round(32*d*log2e)/32, r = d - k*ln2")
	for i, x := range xs {
		if lo != nil {
			VMAXPS(x, lo, x)
		}
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

// holdGroupExp loads lo and, for float32 on AVX-512, the held table; for
// float32 on AVX2 it holds the first held of ExpSumF32Core's constants
// (until p.Release).
func (r *row) holdGroupExp(held int) groupExpCore {
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
	if d.Size == 4 && !isa.AVX512 && held > 0 {
		ss := []Splat{F32Splat("exp32t8_shift", 0x1.8p20), F32Splat("exp32t_log2e", math.Log2E),
			F32Splat("exp32l_negln2hi", -float32(math.Ln2))}
		p.Hold(isa, ss[:min(held, len(ss))]...)
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

// The float32 exp of LogSumExp on AVX2: expSoftmaxF32Table8's reduction
// and 8-entry table with its cubic factored, so that two of the cubic's
// FMAs become additions (fewer operations on the FMA units, which the
// AVX2 exp pass keeps busiest; faster in the long rows, bench/TUNING.md):
//
//	k = round(8*d*log2e)/8, r = d - k*ln2 (one FMA), |r| <= ln2/16
//	e^d = (c0*T_j*2^floor(k)) * (r + a) * ((r + b)^2 + g)
//
// where c0*(r + a)*((r + b)^2 + g) is expSoftmaxCubic's cubic (c0 its
// leading coefficient, -a its real root, -b +- i*sqrt(g) the others), and
// c0*T_j*2^floor(k) comes from a pre-biased table (as expTable8's, its
// entries c0*2^(j/8)) with one integer add. All three factors are
// positive on |r| <= ln2/16, so their roundings do not cancel: the cubic's
// 2^-23.4 and four roundings of 2^-24 (two additions, the FMA, the
// product) come to 2^-22.6 for the factored cubic (swept over r), with
// the entry's rounding and the last product 2^-21.8 relative to e^d, for
// sums of at least 1.
var (
	lseY32A  = 1.5964580075953978
	lseY32B  = 0.7021795101388545
	lseY32G  = 3.2657994786867057
	lseY32C0 = float64(float32(0.16664292)) // expSoftmaxCubic's c0
)

// lseY32Lo is the clamp of lseExpF32Y: c0*T_j is at least 2^-2.6, so
// c0*T_j*2^floor(k) stays normal for k >= -123; from -80 up (e^-80 <
// 2^-115) it does by a margin, and a lane below gives e^lo instead of e^d,
// under 2^-115 each beside a sum of at least 1.
const lseY32Lo = -80

// ySplat returns a 32-byte table holding float32 v in every lane, a symbol
// of its own (not the pool's splats, whose slots the other kernels' text
// names by offset).
func ySplat(p *Pool, name string, v float64) Mem {
	e := make([]Constant, 8)
	for i := range e {
		e[i] = U32(math.Float32bits(float32(v)))
	}
	return p.Table(name, e)
}

// lseY32Table is the pre-biased table of lseExpF32Y: entry j holds the bits
// of c*2^(j/8) rounded to float32, less j<<20 (see expTable8): c = c0 for
// the factored cubic, 1 (expTable8's entries) for Horner's.
func lseY32Table(p *Pool, name string, c float64) Mem {
	e := make([]Constant, 8)
	for j := range e {
		e[j] = U32(math.Float32bits(float32(c*math.Exp2(float64(j)/8))) - uint32(j)<<20)
	}
	return p.Table(name, e)
}

// lseExpF32Y holds the operands of its exp: registers (held) or memory.
// cubic is the factored cubic's b, a, g, or with horner the Horner
// cubic's coefficients, highest first (expSoftmaxCubic: its c0 is
// lseY32C0). neg: the exp takes d' = max - s = -d instead of d (see
// holdLSEExpF32YNeg), log2e and negLn2 holding -log2e and +ln2.
type lseExpF32Y struct {
	shift, log2e, negLn2, tab Op
	cubic                     []Op
	horner, neg               bool
}

// holdLSEExpF32Y returns lseExpF32Y's operands with the factored cubic,
// the first n of them (shift, log2e, -ln2, b, a, g, the table) loaded
// into YMM registers.
func holdLSEExpF32Y(p *Pool, n int) lseExpF32Y {
	ops := holdOps(n, p.C(F32Splat("exp32t8_shift", 0x1.8p20)), p.C(F32Splat("exp32t_log2e", math.Log2E)),
		p.C(F32Splat("exp32l_negln2hi", -float32(math.Ln2))),
		ySplat(p, "lse32y_b", lseY32B), ySplat(p, "lse32y_a", lseY32A), ySplat(p, "lse32y_g", lseY32G),
		lseY32Table(p, "lse32y_tab", lseY32C0))
	return lseExpF32Y{shift: ops[0], log2e: ops[1], negLn2: ops[2], cubic: ops[3:6], tab: ops[6]}
}

// holdLSEExpF32YNeg is the exp of d' = max - s with the Horner cubic (the
// groups' exp, expSoftmaxF32Table8, bit for bit: its t = shift + d*log2e
// and r = d - k*ln2 are here shift - d'*log2e and -(k*ln2) - d', the same
// FMAs on negated operands, and rounding is symmetric), the first n of
// its operands (shift, -log2e, ln2, c1, c2, c0, 1, the table) loaded into
// YMM registers. With s from memory, max - s is one VSUBPS (s - max two
// instructions); Horner's cubic is three FMAs where the factored one
// takes four operations, and a load (c0) that is no operation.
func holdLSEExpF32YNeg(p *Pool, n int) lseExpF32Y {
	c := []float64{lseY32C0, 0.5000649, 1.0000001, 1} // expSoftmaxCubic
	ops := holdOps(n, p.C(F32Splat("exp32t8_shift", 0x1.8p20)),
		ySplat(p, "lse32y_neglog2e", -float64(float32(math.Log2E))), ySplat(p, "lse32y_ln2", float64(float32(math.Ln2))),
		ySplat(p, "lse32y_h1", c[1]), ySplat(p, "lse32y_h2", c[2]), ySplat(p, "lse32y_h0", c[0]), ySplat(p, "lse32y_h3", c[3]),
		lseY32Table(p, "lse32y_htab", 1))
	return lseExpF32Y{shift: ops[0], log2e: ops[1], negLn2: ops[2], cubic: []Op{ops[5], ops[3], ops[4], ops[6]},
		tab: ops[7], horner: true, neg: true}
}

// holdOps returns ops, the first n loaded into YMM registers.
func holdOps(n int, ops ...Op) []Op {
	for i := 0; i < n; i++ {
		y := YMM()
		VMOVUPS(ops[i], y)
		ops[i] = y
	}
	return ops
}

// exp replaces each float32 YMM d in xs (d <= 0, -Inf or NaN) by e^d
// within 2^-21.8 relative (the factored cubic; Horner's 2^-22.4), for sums
// of at least 1 (see lseY32A): d is first clamped to lo (lseY32Lo in every
// lane), or with lo nil the caller knows every d is at least -fastSpan.
// NaN stays NaN (the clamp keeps a NaN d in its register form, and
// 2^floor(k) is applied by a product). neg: each x holds d' = -d (>= 0,
// +Inf or NaN) and lo is the bound -lseY32Lo.
// The vectors go one after another: AVX2 has the registers for no more.
func (c lseExpF32Y) exp(xs []VecVirtual, lo VecVirtual) {
	for _, x := range xs {
		Comment("lse exp32y: clamp, k = round(8*d*log2e)/8, r = d - k*ln2")
		switch {
		case lo != nil && c.neg:
			VMINPS(x, lo, x)
		case lo != nil:
			VMAXPS(x, lo, x)
		}
		t, k, w := YMM(), YMM(), YMM()
		VMOVUPS(c.shift, t)
		VFMADD231PS(c.log2e, x, t)
		VSUBPS(c.shift, t, k)
		if c.neg {
			VFNMSUB231PS(c.negLn2, k, x) // -(k*ln2) - d'
		} else {
			VFMADD231PS(c.negLn2, k, x)
		}
		q := x
		if c.horner {
			Comment("lse exp32y: Horner's cubic times T_j*2^floor(k)")
			q = w
			VMOVUPS(c.cubic[0], q)
			for _, cf := range c.cubic[1:] {
				VFMADD213PS(cf, x, q)
			}
		} else {
			Comment("lse exp32y: (r + a)*((r + b)^2 + g) times c0*T_j*2^floor(k)")
			b, a, g := c.cubic[0], c.cubic[1], c.cubic[2]
			VADDPS(b, x, w)
			VFMADD213PS(g, w, w)
			VADDPS(a, x, x)
			VMULPS(w, x, x)
		}
		VPERMPS(c.tab, t, k)
		VPSLLD(U8(20), t, t)
		VPADDD(t, k, k)
		VMULPS(k, q, x)
	}
}

// lseLongUnrollF32 is the number of vectors an iteration of the float32
// exp pass of long rows takes: their e are added pairwise in float32 as
// they come (pairTree: four roundings of 2^-24 a term beside the exp's
// 2^-21.8 on AVX2, 2^-22.5 on AVX-512), then widened once and summed in
// float64; the widening and the loop's own instructions are paid once for
// 16 vectors (bench/TUNING.md).
const lseLongUnrollF32 = 16

// lseLongChunkZ is the number of vectors whose exps the AVX-512 float32
// long rows compute together (lseExpF32's core, ILP across its latency
// chains) before pairTree takes them.
const lseLongChunkZ = 4

// lseLongHeldY is the number of lseExpF32Y's operands that pass holds in
// registers (the rounding shift, log2e, -ln2): with the max, the sum, the
// clamp bound, pairTree's four partials and a vector's exp (the value and
// three temporaries), 14 of the 16 YMM registers.
const lseLongHeldY = 3

// lseLongExpF32 emits the exp pass of a float32 row over groupBytes at src
// with max m (broadcast), lseExpF32Y's exp on AVX2 and lseExpF32's on
// AVX-512, and returns its sum in lane 0 (float64):
// the fast version (no clamp) when span, the row's max - min, is within
// fastSpan, else the clamped one; the next row's lines prefetched (next,
// see nextOffset).
func (r *row) lseLongExpF32(pre string, src Register, m, span VecVirtual, next Register) VecVirtual {
	sum := XMM()
	r.ifFast(span, pre+"lfast")
	VMOVAPD(r.lseLongPassF32(pre+"l", src, m, next, false).AsX(), sum)
	JMP(LabelRef(pre + "lexpsdone"))
	Label(pre + "lfast")
	VMOVAPD(r.lseLongPassF32(pre+"lf", src, m, next, true).AsX(), sum)
	Label(pre + "lexpsdone")
	return sum
}

// lseLongPassF32 emits one version of lseLongExpF32's pass: fast, whole
// vectors without the clamp (the tail keeps it, for its -Inf fill).
func (r *row) lseLongPassF32(pre string, src Register, m VecVirtual, next Register, fast bool) VecVirtual {
	p, isa := r.p, r.isa
	Comment("Exp pass: e = exp(s - max), added pairwise in float32, summed in float64.")
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(src, ptr)
	sum, lo := isa.Vec(), isa.Vec()
	VXORPD(sum, sum, sum)
	if isa.AVX512 {
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	} else {
		VMOVUPS(ySplat(p, "lse32y_lo", lseY32Lo), lo)
	}
	vl := lo
	if fast {
		vl = nil
	}
	add := func(x VecVirtual) {
		l, h := Widen(x)
		VADDPD(h, l, l)
		VADDPD(l, sum, sum)
	}
	var exp func(xs []VecVirtual, lo VecVirtual)
	chunk := 1
	if isa.AVX512 {
		e := holdLSEExpF32(p)
		exp = func(xs []VecVirtual, lo VecVirtual) { e.core(p, xs, lo) }
		chunk = lseLongChunkZ
	} else {
		e := holdLSEExpF32Y(p, lseLongHeldY)
		exp = e.exp
	}
	Loop(pre+"exp", n, r.lanes, lseLongUnrollF32, func(u int) {
		var t pairTree
		for c0 := 0; c0 < u; c0 += chunk {
			xs := make([]VecVirtual, min(chunk, u-c0))
			for q := range xs {
				i := c0 + q
				xs[q] = isa.Vec()
				VMOVUPS(Mem{Base: ptr, Disp: r.vb * i}, xs[q])
				VSUBPS(m, xs[q], xs[q])
				if (r.vb*i)%64 == 0 {
					PREFETCHT0(Mem{Base: ptr, Index: next, Scale: 1, Disp: r.vb * i})
				}
			}
			exp(xs, vl)
			for _, x := range xs {
				t.push(x)
			}
		}
		add(t.sum())
		ADDQ(U32(r.vb*u), ptr)
	}, func() {
		x := isa.Vec()
		r.mask.LoadFill(Mem{Base: ptr}, x, r.negInf)
		VSUBPS(m, x, x)
		exp([]VecVirtual{x}, lo)
		add(x)
	})
	HSumPD(sum)
	return sum
}

// pairTree adds the e of a row's vectors pairwise in float32 as they come
// (a binary counter: vector i joins the partial of its level), so that
// each term of u vectors passes through log2(u) roundings with at most
// log2(u) partials live.
type pairTree struct {
	parts  []VecVirtual
	levels []int
}

// push adds x to the tree.
func (t *pairTree) push(x VecVirtual) {
	lv := 0
	for len(t.parts) > 0 && t.levels[len(t.levels)-1] == lv {
		top := t.parts[len(t.parts)-1]
		VADDPS(x, top, top)
		x = top
		t.parts, t.levels = t.parts[:len(t.parts)-1], t.levels[:len(t.levels)-1]
		lv++
	}
	t.parts, t.levels = append(t.parts, x), append(t.levels, lv)
}

// sum returns the tree's total (its partials added, the last first).
func (t *pairTree) sum() VecVirtual {
	x := t.parts[len(t.parts)-1]
	for i := len(t.parts) - 2; i >= 0; i-- {
		VADDPS(x, t.parts[i], t.parts[i])
		x = t.parts[i]
	}
	return x
}
