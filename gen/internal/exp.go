package internal

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The exp cores work on float64 lanes (YMM, 4 per vector). float32 kernels
// widen to float64 first: a degree-6 polynomial in double is accurate to
// 2^-28.5, so the single rounding back to float32 is within 0.51 ulp of
// e^x, and subnormal and overflowing float32 results come out of that one
// rounding (2^n stays a normal double for every n the float32 clamp allows).
//
// Reduction: n = round(x*log2e) via the 1.5*2^52 shifter, whose low mantissa
// bits then hold n as an integer; r = x - n*ln2; e^x = 2^n * p(r),
// |r| <= ln2/2.

const shifter = 0x1.8p52

// ln2Hi has 32 significant bits, so n*ln2Hi is exact for |n| < 2^21 and
// x - n*ln2Hi is exact (it fits in 53 bits near cancellation).
var (
	ln2Hi = math.Float64frombits(math.Float64bits(math.Ln2) &^ (1<<21 - 1))
	ln2Lo = (math.Ln2 - ln2Hi) + 2.3190468138462996e-17 // ln2 - math.Ln2 added back
)

// expF32Poly: Chebyshev fit of e^r on [-ln2/2, ln2/2], degree 6, highest
// first; max relative error 2^-28.5 with these double coefficients.
var expF32Poly = []float64{
	0.0013941118895837, 0.008375134774624326, 0.04166635277111221,
	0.16666415414041177, 0.5000000047146057, 1.0000000377388714, 1.0,
}

// expF64Q: Chebyshev fit of q(r) = (e^r - 1 - r)/r^2 on [-ln2/2, ln2/2],
// degree 10, highest first; |r^2 * error| < 2^-61.
var expF64Q = []float64{
	0x1.1f730349868cep-29, 0x1.af4de97ca4194p-26, 0x1.27e4db646b17ep-22,
	0x1.71de0231960ebp-19, 0x1.a01a01a6d889cp-16, 0x1.a01a01abe7fe1p-13,
	0x1.6c16c16c162d4p-10, 0x1.11111111100dcp-7, 0x1.5555555555556p-5,
	0x1.5555555555557p-3, 0x1.0000000000000p-1,
}

// F32 clamp bounds for Exp: e^-104 < 2^-150 rounds to +0 and e^89 overflows
// float32, so clamping changes no result and keeps 2^n a normal double.
const (
	ExpF32Lo = -104.0
	ExpF32Hi = 89.0
)

// ExpF32Core replaces each float64 vector in xs by e^x. Inputs must already
// be clamped to [ExpF32Lo, ExpF32Hi] (NaN allowed: it stays NaN, since a NaN
// widened from float32 has zero low mantissa bits).
func ExpF32Core(p *Pool, xs []VecVirtual) {
	n := len(xs)
	ts := make([]VecVirtual, n)
	ps := make([]VecVirtual, n)
	Comment("exp: n = round(x*log2e), r = x - n*ln2")
	for i, x := range xs {
		ts[i] = like(x)
		VMOVUPD(p.F64("exp_shift", shifter), ts[i])
		VFMADD231PD(p.F64("exp_log2e", math.Log2E), x, ts[i])
	}
	for i, x := range xs {
		ps[i] = like(xs[i])
		VSUBPD(p.F64("exp_shift", shifter), ts[i], ps[i])
		VFMADD231PD(p.F64("exp_negln2", -math.Ln2), ps[i], x)
	}
	Comment("exp: p(r), degree 6")
	for i := range xs {
		VMOVUPD(p.F64("exp32_c0", expF32Poly[0]), ps[i])
	}
	for k := 1; k < len(expF32Poly); k++ {
		c := p.F64(cname("exp32_c", k), expF32Poly[k])
		for i, x := range xs {
			VFMADD213PD(c, x, ps[i])
		}
	}
	Comment("exp: scale by 2^n: add n to the exponent field")
	for i, x := range xs {
		VPSLLQ(U8(52), ts[i], ts[i])
		VPADDQ(ts[i], ps[i], x)
	}
}

// ExpF64Core replaces each float64 vector in xs by e^x over the whole domain:
// specials exact, overflow to +Inf, subnormal results computed. The result is
// within 0.52 ulp of e^x: r is split exactly (r = rhi - c), 1 + rhi is
// summed with Fast2Sum, and 2^n is applied as 2^n1 * 2^n2 so that both
// factors are normal.
func ExpF64Core(p *Pool, xs []VecVirtual) {
	shift := p.C(exp64Shift)
	one := p.C(exp64One)
	for _, x := range xs {
		Comment("exp64: clamp to [-746, 710], NaN kept")
		t := like(x)
		VMOVUPD(p.C(exp64Hi), t)
		VMINPD(x, t, x)
		VMOVUPD(p.C(exp64Lo), t)
		VMAXPD(x, t, x)
		Comment("exp64: n, rhi = x - n*ln2hi (exact), c = n*ln2lo, r = rhi - c")
		VMOVUPD(shift, t)
		VFMADD231PD(p.C(exp64Log2e), x, t)
		nn := like(x)
		VSUBPD(shift, t, nn)
		VFMADD231PD(p.C(exp64NegLn2Hi), nn, x) // x is rhi now
		c := like(x)
		VMULPD(p.C(exp64Ln2Lo), nn, c)
		r := nn
		VSUBPD(c, x, r)
		Comment("exp64: q(r), degree 10")
		q := like(x)
		VMOVUPD(p.C(exp64Q[0]), q)
		for k := 1; k < len(expF64Q); k++ {
			VFMADD213PD(p.C(exp64Q[k]), r, q)
		}
		Comment("exp64: u = r^2*q - c; p = (1 + rhi) + u with Fast2Sum")
		VMULPD(r, r, r)
		VFMSUB231PD(q, r, c) // c = r2*q - c
		s := r
		VADDPD(one, x, s)
		VSUBPD(one, s, q) // q = s - 1
		VSUBPD(q, x, x)   // x = rhi - (s - 1): the error of s
		VADDPD(x, c, c)   // u + err
		VADDPD(c, s, s)   // p
		Comment("exp64: 2^n1 * 2^n2 with n1 = n>>1, n2 = n - n1 (both normal)")
		VPSRAD(U8(1), t, q) // low dword of each lane is n
		VPSUBD(q, t, t)
		VPSLLQ(U8(52), q, q)
		VPSLLQ(U8(52), t, t)
		VPADDQ(one, q, q)
		VPADDQ(one, t, t)
		VMULPD(q, s, s)
		VMULPD(t, s, x)
	}
}

// SoftmaxF64Lo is the smallest d for which ExpSoftmaxF64Core computes e^d:
// ln(2^-1022) rounded to float64, which lies above the exact value by
// under 2^-45 (relative to e^d: e^lo is 2^-1022 by that margin). Below it
// the lane is set to 0: e^d, and so the probability (the sum is at least
// 1), is then below 2^-1022 or within that margin of it, inside CONTRACT.md's
// absolute 2^-1022. A bound any higher would zero probabilities that must
// be computed; from it up, n = round(d*log2e) >= -1022 and 2^n is normal.
const SoftmaxF64Lo = -1022 * math.Ln2

// ExpSoftmaxF64Core replaces each float64 vector d in xs (d <= 0, -Inf or
// NaN) by e^d, within 1 ulp; lanes below SoftmaxF64Lo give +0, NaN stays NaN.
func ExpSoftmaxF64Core(p *Pool, xs []VecVirtual) {
	expSoftmaxF64(p, xs, nil)
}

// expSoftmaxF64 is ExpSoftmaxF64Core, or with sc ExpSoftmaxF64ScaledCore:
// the same instructions, sc's operands in place of log2e, ln2 (one part
// where the core has two), the polynomial's coefficients and the bound,
// and the polynomial's last two steps in the other order (see ExpScale64).
func expSoftmaxF64(p *Pool, xs []VecVirtual, sc *ExpScale64) {
	shift := p.C(exp64Shift)
	var c *ExpScale64
	if sc == nil {
		c = softmaxF64Operands(p)
	} else {
		f := *sc
		f.one = p.C(exp64One)
		c = &f
	}
	n := len(xs)
	ts := make([]VecVirtual, n)
	rs := make([]VecVirtual, n)
	qs := make([]VecVirtual, n)
	if sc == nil {
		Comment("exp: n = round(d*log2e), r = d - n*ln2hi - n*ln2lo")
	} else {
		Comment("exp (scale folded): n = round(d*s*log2e), r' = d - n*ln2/s")
	}
	for i, x := range xs {
		ts[i] = like(x)
		VMOVUPD(shift, ts[i])
		c.op(c.Log2e, VFMADD231PD, VFMADD231PD_BCST, x, ts[i])
	}
	for i, x := range xs {
		qs[i] = like(x)
		rs[i] = like(x)
		VSUBPD(shift, ts[i], qs[i])
		VMOVUPD(x, rs[i])
		c.op(c.NegLn2, VFMADD231PD, VFMADD231PD_BCST, qs[i], rs[i])
		if c.NegLn2Lo != nil {
			c.op(c.NegLn2Lo, VFMADD231PD, VFMADD231PD_BCST, qs[i], rs[i])
		}
	}
	if sc == nil {
		Comment("exp: q(r), degree 10; p = 1 + (r + r^2*q)")
	} else {
		Comment("exp: H = s^2*q(s*r'), degree 10; p = 1 + r'*(s + r'*H)")
	}
	for i := range xs {
		c.op(c.H[0], VMOVUPD, VBROADCASTSD, qs[i])
	}
	for k := 1; k < len(c.H); k++ {
		for i := range xs {
			c.op(c.H[k], VFMADD213PD, VFMADD213PD_BCST, rs[i], qs[i])
		}
	}
	for i, x := range xs {
		if sc == nil {
			r2 := like(x)
			VMULPD(rs[i], rs[i], r2)
			VFMADD213PD(rs[i], r2, qs[i]) // r + r^2 q
		} else {
			c.op(c.S, VFMADD213PD, VFMADD213PD_BCST, rs[i], qs[i]) // s + r'*H
			VMULPD(rs[i], qs[i], qs[i])                            // r + r^2 q
		}
		VADDPD(c.one, qs[i], qs[i])
	}
	Comment("times 2^n; keep lanes with d >= lo or NaN")
	for i, x := range xs {
		VPSLLQ(U8(52), ts[i], ts[i])
		VPADDQ(c.one, ts[i], ts[i])
		VMULPD(ts[i], qs[i], qs[i])
		if m, ok := c.Lo.(Mem); ok && c.bcst {
			k := K()
			VCMPPD_BCST(U8(CmpNLTUQ), m, x, k)
			VMOVAPD_Z(qs[i], k, x)
			continue
		}
		Select(Float64, CmpNLTUQ, c.Lo, x, qs[i], x)
	}
}

// softmaxF64Operands returns ExpSoftmaxF64Core's splats as an unscaled
// ExpScale64 (no S; NegLn2 holds -ln2hi, NegLn2Lo -ln2lo), taken from the
// pool in the order the core first used them (which sets the pool's
// layout).
func softmaxF64Operands(p *Pool) *ExpScale64 {
	c := &ExpScale64{Log2e: p.C(exp64Log2e), NegLn2: p.C(exp64NegLn2Hi), NegLn2Lo: p.C(exp64NegLn2Lo)}
	for k := range c.H {
		c.H[k] = p.C(exp64Q[k])
	}
	c.one = p.C(exp64One)
	c.Lo = p.C(exp64SoftmaxLo)
	return c
}

// The splats of the float64 exps.
var (
	exp64Shift     = F64Splat("exp_shift", shifter)
	exp64One       = F64Splat("one64", 1)
	exp64Hi        = F64Splat("exp64_hi", 710)
	exp64Lo        = F64Splat("exp64_lo", -746)
	exp64Log2e     = F64Splat("exp_log2e", math.Log2E)
	exp64NegLn2Hi  = F64Splat("exp64_negln2hi", -ln2Hi)
	exp64Ln2Lo     = F64Splat("exp64_ln2lo", ln2Lo)
	exp64NegLn2Lo  = F64Splat("exp64_negln2lo", -ln2Lo)
	exp64SoftmaxLo = F64Splat("sm64_lo", SoftmaxF64Lo)
	exp64Q         = expF64QSplats()
)

func expF64QSplats() []Splat {
	ss := make([]Splat, len(expF64Q))
	for k, c := range expF64Q {
		ss[k] = F64Splat(cname("exp64_q", k), c)
	}
	return ss
}

// holdExpF64 keeps the splats of ExpF64Core (with full) and of
// ExpSoftmaxF64Core (with softmax) in ZMM registers until p.Release (see
// Pool.Hold), at most room of them (room < 0: all; 18 for ExpF64Core, 17
// for ExpSoftmaxF64Core, 20 for both): the reduction's first, then the
// polynomial's from its highest coefficient.
func holdExpF64(p *Pool, full, softmax bool, room int) {
	ss := []Splat{exp64Shift, exp64One, exp64Log2e, exp64NegLn2Hi}
	if full {
		ss = append(ss, exp64Hi, exp64Lo, exp64Ln2Lo)
	}
	if softmax {
		ss = append(ss, exp64NegLn2Lo, exp64SoftmaxLo)
	}
	ss = append(ss, exp64Q...)
	if room >= 0 {
		ss = ss[:min(room, len(ss))]
	}
	p.Hold(AVX512, ss...)
}

func cname(prefix string, k int) string {
	return prefix + string(rune('a'+k))
}

// SoftmaxF32Lo is ln(2^-126) rounded to float32 toward zero (so e^lo is a
// normal float32 by a margin of 2^-17.7, far above the exp error; zeroing the
// lanes below it errs by at most 2^-126*(1+2^-17.7), inside CONTRACT.md's
// bound): ExpSoftmaxF32Core clamps d
// to it and sets lanes below it to +0 (e^d < 2^-126: a probability that
// Softmax flushes anyway). So no lane is ever computed as a subnormal, which
// would cost a microcode assist per vector (the -Inf lanes that fill a row's
// tail would otherwise hit it on every row).
var SoftmaxF32Lo = math.Nextafter32(float32(math.Log(0x1p-126)), 0)

// ExpSoftmaxF32Core replaces each float32 vector d in xs (d <= 0, -Inf or
// NaN) by e^d computed in float32 lanes: AVX-512 within 1 ulp (the 2^(j/16)
// table), AVX2 within 2^-22.4 relative (expSoftmaxF32Table8). lo must hold
// float32(SoftmaxF32Lo) in every lane: lanes below it give +0, the others
// are normal (or, within rounding of the bound, just below 2^-126, which
// Softmax's flush zeroes). With lo nil the caller knows every d is at least
// -fastSpan (or NaN): no clamp, no zeroing. NaN stays NaN (2^n is applied
// by a multiply or VSCALEFPS, never by adding to NaN bits).
func ExpSoftmaxF32Core(p *Pool, xs []VecVirtual, lo VecVirtual) {
	expSoftmaxF32(p, xs, lo, true)
}

// ExpSumF32Core is ExpSoftmaxF32Core for values that are only summed (the
// sum is >= 1): lanes below lo give e^lo, about 2^-126, instead of +0, which
// moves the sum by a relative 2^-126 per lane and saves the zeroing.
func ExpSumF32Core(p *Pool, xs []VecVirtual, lo VecVirtual) {
	expSoftmaxF32(p, xs, lo, false)
}

// The reduction r = d - n*ln2 is one FMA with ln2 rounded to float32: n*ln2f
// is exact inside the FMA, so r is off by n*(ln2f - ln2), under
// |d| * 2^-28.4, a relative error of e^d that CONTRACT.md's 2^-21*|s - max|
// allowance for the rounding of d itself covers 2^7 times over.
func expSoftmaxF32(p *Pool, xs []VecVirtual, lo VecVirtual, zero bool) {
	if lo == nil {
		zero = false
	}
	if xs[0].Size() == 64 {
		var keep []Pred
		if lo != nil {
			Comment("exp32: keep d >= lo (or NaN), clamp")
		}
		for _, x := range xs {
			if zero {
				keep = append(keep, Compare(Float32, CmpNLTUQ, lo, x))
			}
			if lo != nil {
				VMAXPS(x, lo, x)
			}
		}
		expF32Table(p, xs, expTable(p, true), keep, true)
		return
	}
	expSoftmaxF32Table8(p, xs, lo, zero, nil)
}

// ExpF32FastMax bounds the fast float32-lane exp: for |x| <= 87.3 the result
// is a normal float32 and 2^n can be added to the exponent field.
const ExpF32FastMax = 87.3

// float32 ln2 split: ln2Hi32f is ln2 rounded to float32 (24 bits); for the
// |n| <= 150 of x in [ExpF32Lo, ExpF32Hi], x - n*ln2Hi32f is exact in one
// FMA (its lowest bit is 2^-24 and it is below 0.35).
var (
	ln2Hi32f = float32(math.Ln2)
	ln2Lo32f = float32((math.Ln2 - float64(float32(math.Ln2))) + 2.3190468138462996e-17)
)

// expTable loads the table of ExpF32TableCore into one vector: 2^(j/16),
// j = 0..15, rounded to float32, for zmm; else the 8 pre-biased entries of
// expTable8. One load per call, outside the loops.
func expTable(p *Pool, zmm bool) VecVirtual {
	name := exp2tab8
	if zmm {
		name = exp2tab16
	}
	if t, ok := p.held[name]; ok {
		return t
	}
	if !zmm {
		t := YMM()
		VMOVUPS(expTable8(p), t)
		return t
	}
	e := make([]Constant, 16)
	for j := range e {
		e[j] = U32(math.Float32bits(float32(math.Exp2(float64(j) / 16))))
	}
	t := ZMM()
	VMOVUPS(p.ref(exp2tab16, e), t)
	return t
}

// Names of the exp tables.
const (
	exp2tab16 = "exp2tab16"
	exp2tab8  = "exp2tab8"
)

// expTable8 is the 8-entry table of the YMM exps, pre-biased: entry j holds
// the bits of 2^(j/8) rounded to float32, less j<<20. With t holding 8k
// (k = floor(k) + j/8) in its low bits, as the rounding shift 1.5*2^20
// leaves it, entry j plus t<<20 (floor(k)<<23 plus j<<20) are the bits of
// 2^(j/8) * 2^floor(k): one VPERMPS and one integer add, no mask.
func expTable8(p *Pool) Mem {
	e := make([]Constant, 8)
	for j := range e {
		e[j] = U32(math.Float32bits(float32(math.Exp2(float64(j)/8))) - uint32(j)<<20)
	}
	return p.ref(exp2tab8, e)
}

// ExpF32TableCore replaces each float32 vector x in xs by e^x within 1 ulp
// with few FMAs: with n table entries (16 in a ZMM, 8 in a YMM),
// k = round(n*x*log2e)/n and e^x = 2^floor(k) * T * e^r, T = 2^frac(k)
// read from tab by VPERMPS on the low bits of n*k, r = x - k*ln2 (two FMAs,
// the first exact), |r| <= ln2/(2n), e^r - 1 = r*q(r) with Taylor q
// (truncation 2^-26.7 for 16 entries, cubic; 2^-29.5 for 8, quartic),
// result T + T*u. Error: T's rounding (0.5 ulp), the last FMA (0.5 ulp),
// the rest under 0.25 ulp: under 1.5 ulp from e^x, so at most one from the
// correctly rounded result (checked on all 2^32 inputs).
//
// ZMM: x clamped to [ExpF32Lo, ExpF32Hi] or NaN; VSCALEFPS applies
// 2^floor(k) with one rounding, overflow and subnormal results included.
// YMM: |x| <= ExpF32FastMax only (no NaN): 2^floor(k) is added to the
// exponent field.
func ExpF32TableCore(p *Pool, xs []VecVirtual, tab VecVirtual) {
	expF32Table(p, xs, tab, nil, false)
}

// expF32Table is ExpF32TableCore; lanes where keep[i] fails give +0 (ZMM
// only).
// expF32Table is ExpF32TableCore; with oneLn2 set, r = x - k*ln2 takes one
// FMA with ln2 rounded to float32 (see expSoftmaxF32).
func expF32Table(p *Pool, xs []VecVirtual, tab VecVirtual, keep []Pred, oneLn2 bool) {
	zmm := xs[0].Size() == 64
	shift, q := expShift8, expQ8
	if zmm {
		shift, q = expShift16, expQ16
	}
	n := len(xs)
	ts, ks, qs := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	Comment("exp32: k = round(n*x*log2e)/n, r = x - k*ln2hi - k*ln2lo, T = 2^frac(k)")
	for i, x := range xs {
		ts[i], ks[i], qs[i] = like(x), like(x), like(x)
		VMOVUPS(p.C(shift), ts[i])
		VFMADD231PS(p.C(expLog2e), x, ts[i])
		VSUBPS(p.C(shift), ts[i], ks[i])
	}
	for i, x := range xs {
		VFMADD231PS(p.C(expNegLn2Hi), ks[i], x)
		if !oneLn2 {
			VFMADD231PS(p.C(expNegLn2Lo), ks[i], x)
		}
	}
	Comment("exp32: u = r*q(r); T + T*u, times 2^floor(k)")
	for i, x := range xs {
		VMOVUPS(p.C(q[0]), qs[i])
		for _, c := range q[1:] {
			VFMADD213PS(p.C(c), x, qs[i])
		}
		VMULPS(x, qs[i], qs[i])
	}
	for i, x := range xs {
		if !zmm {
			// S = T*2^floor(k) from the pre-biased table (see
			// expTable8), then S + S*u: the same bits as scaling
			// T + T*u, every value here being normal.
			VPERMPS(tab, ts[i], x)
			VPSLLD(U8(20), ts[i], ts[i])
			VPADDD(ts[i], x, x)
			VFMADD231PS(qs[i], x, x)
			continue
		}
		T := ts[i]
		VPERMPS(tab, ts[i], T)
		VFMADD231PS(qs[i], T, T)
		switch {
		case keep != nil:
			VSCALEFPS_Z(ks[i], T, keep[i].K(), x)
		default:
			VSCALEFPS(ks[i], T, x)
		}
	}
}

// The splats of expF32Table: the rounding shifts leave k in units of 1/8
// or 1/16 in the low bits; q(r) is Taylor, quartic for 8 entries, cubic
// for 16.
var (
	expShift8   = F32Splat("exp32t8_shift", 0x1.8p20)
	expShift16  = F32Splat("exp32t_shift", 0x1.8p19)
	expLog2e    = F32Splat("exp32t_log2e", math.Log2E)
	expNegLn2Hi = F32Splat("exp32l_negln2hi", -ln2Hi32f)
	expNegLn2Lo = F32Splat("exp32l_negln2lo", -ln2Lo32f)
	expQ8       = []Splat{F32Splat("exp32t_q4", 1.0/24), F32Splat("exp32t_q4_1", 1.0/6), F32Splat("exp32t_q4_2", 0.5), F32Splat("exp32t_q4_3", 1)}
	expQ16      = []Splat{F32Splat("exp32t_q3", 1.0/6), F32Splat("exp32t_q3_1", 0.5), F32Splat("exp32t_q3_2", 1)}
)

// ExpF32HeldYMM is HoldExpF32For's register budget on AVX2: the table, the
// reduction's four splats and the first two q coefficients, 7 of the 16
// YMM registers, what leaves ExpF32AVX2's slow path room in Y0-Y15 (faster
// than all in memory, bench/TUNING.md). HoldExpF32For panics past it.
const ExpF32HeldYMM = 7

// holdExpF32 keeps the table and the splats of expF32Table for isa in
// registers until p.Release (see Pool.Hold); oneLn2 as in expF32Table.
// AVX2 holds ExpF32HeldYMM registers' worth.
func holdExpF32(p *Pool, isa ISA, oneLn2 bool) {
	if !isa.AVX512 {
		ss := []Splat{expShift8, expLog2e, expNegLn2Hi, expNegLn2Lo, expQ8[0], expQ8[1]}
		if n := 1 + len(ss); n > ExpF32HeldYMM {
			panic(fmt.Sprintf("HoldExpF32: %d YMM registers exceed ExpF32HeldYMM = %d", n, ExpF32HeldYMM))
		}
		p.held[exp2tab8] = expTable(p, false)
		p.Hold(isa, ss...)
		return
	}
	p.held[exp2tab16] = expTable(p, true)
	p.Hold(isa, expShift16, expLog2e, expNegLn2Hi)
	if !oneLn2 {
		p.Hold(isa, expNegLn2Lo)
	}
	p.Hold(isa, expQ16...)
}

// HoldExpF32Table keeps the ZMM table of expF32Table and its rounding
// shift in registers until p.Release: what ExpSoftmaxF32ScaledCore reads
// beside the folded constants (ExpScale.Held).
func HoldExpF32Table(p *Pool) {
	p.held[exp2tab16] = expTable(p, true)
	p.Hold(AVX512, expShift16)
}

// expSoftmaxCubic: e^r = 1 + r*(c1 + r*(c2 + r*c3)) on [-ln2/16, ln2/16],
// highest first, fitted for relative error with float32 coefficients:
// 2^-23.4 in float32 arithmetic.
var expSoftmaxCubic = []Splat{
	F32Splat("exp32s3_c0", 0.16664292), F32Splat("exp32s3_c1", 0.5000649), F32Splat("exp32s3_c2", 1.0000001), F32Splat("one32", 1),
}

// expSoftmaxF32Table8 is the YMM softmax exp with 8 table entries:
// k = round(8*d*log2e)/8, r = d - k*ln2 (one FMA, see expSoftmaxF32),
// e^d = (T_j * 2^floor(k)) * p(r), p cubic, T_j*2^floor(k) from the
// pre-biased table (expTable8) with one integer add. d >= -87.3 (clamped or known),
// so that product is normal; a NaN d gives a NaN p and a NaN product.
// Error: p 2^-23.4, T's rounding and the product 2^-24 each: 2^-22.4.
// With sc (see ExpScale8From) it computes e^(s*d) with the scale folded
// into the constants: the same instructions, sc's operands in place of
// log2e, -ln2 and the cubic's first three coefficients.
func expSoftmaxF32Table8(p *Pool, xs []VecVirtual, lo VecVirtual, zero bool, sc *ExpScale) {
	tab := expTable8(p)     // read from memory: AVX2 is short of registers
	shift := p.C(expShift8) // ulp 1/8
	// c is the unscaled core's constant s, or with sc its folded field f
	// (the pool's constants named where they were: the other kernels'
	// text stays as it is).
	var fold ExpScale
	if sc != nil {
		fold = *sc
	}
	c := func(s Splat, f Op) Op {
		if f != nil {
			return f
		}
		return p.C(s)
	}
	// One vector after another (the core overlaps them): AVX2 has the
	// registers for no more.
	for _, x := range xs {
		Comment("exp32: keep d >= lo (or NaN), clamp, k = round(8*d*log2e)/8, r = d - k*ln2")
		var keep Pred
		if zero {
			keep = Compare(Float32, CmpNLTUQ, lo, x)
		}
		if lo != nil {
			VMAXPS(x, lo, x)
		}
		t, k, q := YMM(), YMM(), YMM()
		VMOVUPS(shift, t)
		VFMADD231PS(c(expLog2e, fold.Log2e), x, t)
		VSUBPS(shift, t, k)
		VFMADD231PS(c(expNegLn2Hi, fold.NegLn2), k, x)
		Comment("exp32: p(r), cubic; T*2^floor(k) from the table and t; e = that*p")
		if sc != nil {
			VBROADCASTSS(sc.Q[0], q)
		} else {
			VMOVUPS(p.C(expSoftmaxCubic[0]), q)
		}
		for i, s := range expSoftmaxCubic[1:] {
			var f Op // the last, 1, is not scaled
			if i+1 < len(fold.Q) {
				f = fold.Q[i+1]
			}
			VFMADD213PS(c(s, f), x, q)
		}
		VPERMPS(tab, t, k)
		VPSLLD(U8(20), t, t)
		VPADDD(t, k, k)
		VMULPS(k, q, x)
		if zero {
			keep.Apply(x, x)
		}
	}
}

// ExpScale folds a scale s into ExpSoftmaxF32ScaledCore, so that e^(s*d)
// costs what e^d does: no multiply a vector. Each field is a float32: a
// ZMM register holding it in every lane or a 4-byte memory operand read
// broadcast, but Lo, always memory, which the caller loads into the
// register it passes as lo (VMAXPS keeps a NaN d only in its register
// form):
//
//	Lo     lo/s                     the clamp and keep bound on d
//	Log2e  s*log2e                  k = round(16*d*s*log2e)/16
//	NegLn2 -ln2/s                   r' = d - k*ln2/s = r/s
//	Q      s^3/6, s^2/2, s          u = r'*(s + r'*(s^2/2 + r'*s^3/6)) = q(r)
//
// each computed in float64 and rounded once. The rounding of NegLn2 moves
// r by under (|s*d| + 1) * 2^-24, a relative error of e^(s*d) inside
// CONTRACT.md's 2^-21*(1 + |scale*(s - max)|); the others are smaller.
// FoldScaleMin..FoldScaleMax is where every field is a normal float32
// that keeps those bounds.
type ExpScale struct {
	Lo            Mem
	Log2e, NegLn2 Op
	Q             [3]Op
}

// ExpScale8Bytes is the stack ExpScale8From takes: four YMM vectors, two
// float32s and the 24 bytes that let the vectors start 32-byte aligned (a
// vector operand split across cache lines, read every exp, cost more than
// the multiply the fold saves: bench/TUNING.md).
const ExpScale8Bytes = 4*32 + 2*4 + 24

// ExpScale8From is ExpScaleFrom for the AVX2 core (expSoftmaxF32Table8):
// the fields from the float32 scale in the low lane of s, at mem
// (ExpScale8Bytes, 8-byte aligned), addressed through a base register
// that stays live: the FMAs' operands as 32-byte aligned YMM vectors (AVX2
// has no broadcast operands), Lo and Q[0], which are only loaded
// (broadcast), as float32s after them:
//
//	Lo     lo/s                     the clamp and keep bound on d
//	Log2e  s*log2e                  k = round(8*d*s*log2e)/8
//	NegLn2 -ln2/s                   r' = d - k*ln2/s = r/s
//	Q      c0*s^3, c1*s^2, c2*s     p = 1 + r'*(c2*s + r'*(c1*s^2 + r'*c0*s^3))
//
// with c0..c2 the cubic's coefficients (expSoftmaxCubic), each computed in
// float64 and rounded once: the bounds of ExpScale, within the same
// FoldScaleMin..FoldScaleMax. A power-of-two scale scales every field
// exactly, and so gives the bits of the unscaled core on s*d.
func ExpScale8From(s VecVirtual, mem Mem) *ExpScale {
	Comment("Folded scale (AVX2): lo/s, s*log2e, -ln2/s, c0*s^3, c1*s^2, c2*s (float64, rounded once), broadcast.")
	sd, t, c := XMM(), XMM(), XMM()
	VCVTSS2SD(s, sd, sd)
	// The vectors 32-byte aligned, from a base register.
	base := GP64()
	LEAQ(mem.Offset(31), base)
	ANDQ(I8(-32), base)
	m := Mem{Base: base}
	// Lo and Q[0] at 128 and 132, the vectors from 0.
	at := [6]int{128, 0, 32, 132, 64, 96}
	out := func(i int) {
		VCVTSD2SS(t, t, t)
		if at[i] >= 128 {
			VMOVSS(t, m.Offset(at[i]))
			return
		}
		y := YMM()
		VBROADCASTSS(t, y)
		VMOVUPS(y, m.Offset(at[i]))
	}
	coef := func(i int) float64 { return float64(math.Float32frombits(uint32(expSoftmaxCubic[i].C.(U32)))) }
	foldScale(sd, t, c, [3]float64{coef(0), coef(1), coef(2)}, out)
	return &ExpScale{Lo: m.Offset(at[0]), Log2e: m.Offset(at[1]), NegLn2: m.Offset(at[2]),
		Q: [3]Op{m.Offset(at[3]), m.Offset(at[4]), m.Offset(at[5])}}
}

// FoldScaleMin and FoldScaleMax bound the scales ExpScale folds.
const (
	FoldScaleMin = 0x1p-20
	FoldScaleMax = 0x1p20
)

// ExpScaleFrom computes the fields of ExpScale from the float32 scale in
// the low lane of s into the 24 bytes at mem, and returns them as memory
// operands.
func ExpScaleFrom(s VecVirtual, mem Mem) *ExpScale {
	Comment("Folded scale: lo/s, s*log2e, -ln2/s, s^3/6, s^2/2, s (float64, rounded once).")
	sd, t, c := XMM(), XMM(), XMM()
	VCVTSS2SD(s, sd, sd)
	out := func(i int) {
		VCVTSD2SS(t, t, t)
		VMOVSS(t, mem.Offset(4*i))
	}
	foldScale(sd, t, c, [3]float64{1.0 / 6, 0.5, 1}, out)
	return &ExpScale{Lo: mem, Log2e: mem.Offset(4), NegLn2: mem.Offset(8),
		Q: [3]Op{mem.Offset(12), mem.Offset(16), mem.Offset(20)}}
}

// Held returns sc with every field in a ZMM register (broadcast once).
func (sc *ExpScale) Held() *ExpScale {
	h := func(o Op) Op {
		if _, ok := o.(Mem); !ok {
			return o
		}
		z := ZMM()
		VBROADCASTSS(o, z)
		return z
	}
	return &ExpScale{Lo: sc.Lo, Log2e: h(sc.Log2e), NegLn2: h(sc.NegLn2),
		Q: [3]Op{h(sc.Q[0]), h(sc.Q[1]), h(sc.Q[2])}}
}

// bcst emits op with its first operand o: the broadcast form for memory.
func bcst(o Op, reg, bc func(...Op), rest ...Op) {
	if _, ok := o.(Mem); ok {
		bc(append([]Op{o}, rest...)...)
		return
	}
	reg(append([]Op{o}, rest...)...)
}

// ExpSoftmaxF32ScaledCore replaces each ZMM d in xs (d <= 0, -Inf or NaN)
// by e^(s*d) with the scale folded in sc (see ExpScale), lo holding sc.Lo
// in every lane: ExpSoftmaxF32Core's arithmetic with its constants scaled,
// the same clamp (lanes with s*d below SoftmaxF32Lo, within rounding, give
// +0), the same table, NaN kept.
//
// YMM (AVX2): sc from ExpScale8From, the 8-entry core's arithmetic
// (expSoftmaxF32Table8) with its constants scaled; lo nil as in
// ExpSoftmaxF32Core (every s*d at least -fastSpan, or NaN).
func ExpSoftmaxF32ScaledCore(p *Pool, xs []VecVirtual, lo VecVirtual, sc *ExpScale) {
	if xs[0].Size() != 64 {
		expSoftmaxF32Table8(p, xs, lo, lo != nil, sc)
		return
	}
	Comment("exp32 (scale folded): keep d >= lo/s (or NaN), clamp")
	keep := make([]Pred, len(xs))
	for i, x := range xs {
		keep[i] = Compare(Float32, CmpNLTUQ, lo, x)
		VMAXPS(x, lo, x)
	}
	tab := expTable(p, true)
	n := len(xs)
	ts, ks, qs := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	Comment("exp32: k = round(16*d*s*log2e)/16, r' = d - k*ln2/s, T = 2^frac(k)")
	for i, x := range xs {
		ts[i], ks[i], qs[i] = like(x), like(x), like(x)
		VMOVUPS(p.C(expShift16), ts[i])
		bcst(sc.Log2e, VFMADD231PS, VFMADD231PS_BCST, x, ts[i])
		VSUBPS(p.C(expShift16), ts[i], ks[i])
	}
	for i, x := range xs {
		bcst(sc.NegLn2, VFMADD231PS, VFMADD231PS_BCST, ks[i], x)
	}
	Comment("exp32: u = r'*(s + r'*(s^2/2 + r'*s^3/6)); T + T*u, times 2^floor(k)")
	for i, x := range xs {
		if m, ok := sc.Q[0].(Mem); ok {
			VBROADCASTSS(m, qs[i])
		} else {
			VMOVAPS(sc.Q[0], qs[i])
		}
		bcst(sc.Q[1], VFMADD213PS, VFMADD213PS_BCST, x, qs[i])
		bcst(sc.Q[2], VFMADD213PS, VFMADD213PS_BCST, x, qs[i])
		VMULPS(x, qs[i], qs[i])
	}
	for i, x := range xs {
		T := ts[i]
		VPERMPS(tab, ts[i], T)
		VFMADD231PS(qs[i], T, T)
		VSCALEFPS_Z(ks[i], T, keep[i].K(), x)
	}
}

// foldScale computes the six fields of a folded scale from the float64
// scale in sd, in ExpScale's order: lo/s, s*log2e, -ln2/s, then the
// polynomial's coefficients times s^3, s^2 and s (q), each in float64 and
// rounded once by out(i), which stores field i from t. c is scratch. The
// float64 constants come as immediates through a general register, so the
// pool, and with it the other kernels' text, stays as it is.
func foldScale(sd, t, c VecVirtual, q [3]float64, out func(i int)) {
	constant := func(v float64) {
		g := GP64()
		MOVQ(U64(math.Float64bits(v)), g)
		VMOVQ(g, c)
	}
	constant(float64(SoftmaxF32Lo))
	VDIVSD(sd, c, t)
	out(0)
	constant(math.Log2E)
	VMULSD(sd, c, t)
	out(1)
	constant(-math.Ln2)
	VDIVSD(sd, c, t)
	out(2)
	s2 := XMM()
	VMULSD(sd, sd, s2)
	VMULSD(sd, s2, t)
	constant(q[0])
	VMULSD(c, t, t)
	out(3)
	constant(q[1])
	VMULSD(c, s2, t)
	out(4)
	if q[2] == 1 {
		VMOVAPD(sd, t) // s itself: no rounding
	} else {
		constant(q[2])
		VMULSD(c, sd, t)
	}
	out(5)
}
