package internal

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// ExpScale64 folds a float64 scale s into ExpSoftmaxF64Core, so that
// e^(s*d) costs what e^d does: no multiply a vector. The core's reduction
// and polynomial in r = s*d - n*ln2 are done in r' = r/s = d - n*ln2/s:
//
//	Lo      lo/s           the bound on d (SoftmaxF64Lo)
//	Log2e   s*log2e        n = round(d*s*log2e)
//	NegLn2  -ln2/s         r' = d - n*ln2/s, one FMA
//	S       s
//	H       a_k*s^(12-k)   H(r') = s^2*q(r), q's coefficients a_k
//
// and p = 1 + r'*(s + r'*H(r')) = 1 + r + r^2*q(r): the core's
// instructions (Horner, a multiply, an FMA, an add), the multiply and the
// FMA in the other order, and one FMA fewer in the reduction. Each field is
// computed in float64 and rounded once, but H's powers of s (up to 11
// roundings, in the terms of r^3 and up).
//
// Accuracy: NegLn2 is -ln2/s to 2^-53, which moves r by under
// |n|*ln2*2^-53 <= (|s*d| + 0.35)*2^-53: what rounding s*d before the
// core (the multiply this replaces) cost too, at any |s*d|; the FMA
// rounds once more, relative to r. Only ln2/s in full precision keeps
// that: the core's ln2hi (32 bits, so that n*ln2hi is exact) alone
// would be off by n*2^-33. Two parts (hi and lo of -ln2/s, the lo from
// the exact remainder of the division) made r as exact as the core's but
// cost one FMA a vector, which the loop is bound by (bench/TUNING.md);
// against CONTRACT.md's 2^-46*(1 + |scale*(s - max)|) the one part has a
// factor 2^7 to spare.
// n = round(d*Log2e) may differ by one from round(s*d*log2e) next to a
// tie, so |r| exceeds ln2/2 by a rounding at most: q's fit holds there.
// p's last steps round twice where the core rounds once. The bits are not
// those of the core on s*d, even for a power of two. Within
// FoldScaleMin..FoldScaleMax every field is normal and far from overflow
// (s^12 within 2^+-240), and so are H's partial sums.
//
// A field is an operand: a register (Held) or memory, AVX-512's a float64
// read broadcast, AVX2's a YMM vector. (NegLn2Lo is the core's second
// part of ln2, nil when folded.)
type ExpScale64 struct {
	Lo, Log2e, NegLn2, NegLn2Lo, S Op
	H                              [11]Op
	bcst                           bool // memory fields are float64s
	one                            Op   // the core's splat of 1
}

// ExpScale64Bytes is the stack ExpScale64From takes for ZMM (zmm) or YMM
// vectors: 15 float64s, or 15 YMM vectors and the 24 bytes that let them
// start 32-byte aligned (see ExpScale8Bytes).
func ExpScale64Bytes(zmm bool) int {
	if zmm {
		return expScale64Fields * 8
	}
	return expScale64Fields*32 + 24
}

// expScale64Fields is the number of ExpScale64's folded fields.
const expScale64Fields = 4 + 11

// ExpScale64From computes the fields of ExpScale64 from the float64 scale
// in the low lane of s into mem (ExpScale64Bytes, 8-byte aligned): for
// ZMM cores as float64s, for YMM as 32-byte aligned vectors addressed
// through a base register that stays live.
func ExpScale64From(s VecVirtual, mem Mem, zmm bool) *ExpScale64 {
	Comment("Folded scale (float64): lo/s, s*log2e, -ln2/s, s, a_k*s^(12-k) (each rounded once but the powers).")
	sc := &ExpScale64{bcst: zmm}
	size := 8
	if !zmm {
		size = 32
		base := GP64()
		LEAQ(mem.Offset(31), base)
		ANDQ(I8(-32), base)
		mem = Mem{Base: base}
	}
	fields := sc.fields()
	foldScale64(s, func(i int, t VecVirtual) {
		m := mem.Offset(size * i)
		*fields[i] = m
		if zmm {
			VMOVSD(t, m)
			return
		}
		y := YMM()
		VBROADCASTSD(t, y)
		VMOVUPD(y, m)
	})
	return sc
}

// fields lists sc's folded fields in the order of the stack: Lo, Log2e,
// NegLn2, S, then H.
func (sc *ExpScale64) fields() []*Op {
	fs := []*Op{&sc.Lo, &sc.Log2e, &sc.NegLn2, &sc.S}
	for k := range sc.H {
		fs = append(fs, &sc.H[k])
	}
	return fs
}

// foldScale64 computes the fields from the float64 scale in sd, in the
// order of fields, each left in t for out(i, t). The constants come as
// immediates through a general register (the pool stays as it is).
func foldScale64(sd VecVirtual, out func(i int, t VecVirtual)) {
	t, c, pw := XMM(), XMM(), XMM()
	constant := func(v float64) {
		g := GP64()
		MOVQ(U64(math.Float64bits(v)), g)
		VMOVQ(g, c)
	}
	constant(SoftmaxF64Lo)
	VDIVSD(sd, c, t)
	out(0, t)
	constant(math.Log2E)
	VMULSD(sd, c, t)
	out(1, t)
	constant(-math.Ln2)
	VDIVSD(sd, c, t)
	out(2, t)
	out(3, sd)
	VMULSD(sd, sd, pw)
	for k := len(expF64Q) - 1; k >= 0; k-- {
		if k < len(expF64Q)-1 {
			VMULSD(sd, pw, pw)
		}
		constant(expF64Q[k])
		VMULSD(pw, c, t)
		out(4+k, t)
	}
}

// op emits reg with its first operand o, or bc (the broadcast form) for a
// float64 in memory.
func (sc *ExpScale64) op(o Op, reg, bc func(...Op), rest ...Op) {
	if _, ok := o.(Mem); ok && sc.bcst {
		bc(append([]Op{o}, rest...)...)
		return
	}
	reg(append([]Op{o}, rest...)...)
}

// HoldExpF64Scaled keeps in ZMM registers, until p.Release, the splats the
// scaled core reads from the pool (the rounding shift and 1) and then the
// first of sc's fields, room in all: it returns sc with those fields held.
func HoldExpF64Scaled(p *Pool, sc *ExpScale64, room int) *ExpScale64 {
	p.Hold(AVX512, exp64Shift, exp64One)
	h := *sc
	fs := h.fields()
	// Log2e, NegLn2, S, Lo, then H from its highest term.
	order := append([]*Op{fs[1], fs[2], fs[3], fs[0]}, fs[4:]...)
	for _, f := range order[:min(room-2, len(order))] {
		z := ZMM()
		VBROADCASTSD(*f, z)
		*f = z
	}
	return &h
}

// ExpSoftmaxF64ScaledCore replaces each float64 vector d in xs (d <= 0,
// -Inf or NaN) by e^(s*d) with the scale folded in sc (see ExpScale64):
// lanes with s*d below SoftmaxF64Lo, within rounding, give +0, NaN stays
// NaN.
func ExpSoftmaxF64ScaledCore(p *Pool, xs []VecVirtual, sc *ExpScale64) {
	expSoftmaxF64(p, xs, sc)
}
