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

// lseExpF64 replaces each float64 vector d in xs (d <= 0, -Inf or NaN) by
// e^d within 2^-49 relative, for sums of at least 1: d is first clamped to
// lo (which must hold SoftmaxF64Lo in every lane), so a lane below it
// gives e^lo, about 2^-1022, instead of a 0 (one operation instead of
// ExpSoftmaxF64Core's compare and select), and 2^n stays normal. NaN stays
// NaN (the clamp keeps a NaN d in its register form).
func lseExpF64(p *Pool, xs []VecVirtual, lo VecVirtual) {
	shift := p.F64("exp_shift", 0x1.8p52)
	n := len(xs)
	ts, rs, qs := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	Comment("lse exp: clamp, n = round(d*log2e), r = d - n*ln2hi - n*ln2lo")
	for i, x := range xs {
		VMAXPD(x, lo, x)
		ts[i] = like(x)
		VMOVUPD(shift, ts[i])
		VFMADD231PD(p.F64("exp_log2e", math.Log2E), x, ts[i])
	}
	for i, x := range xs {
		qs[i], rs[i] = like(x), like(x)
		VSUBPD(shift, ts[i], qs[i])
		VMOVUPD(x, rs[i])
		VFMADD231PD(p.F64("exp64_negln2hi", -lseLn2Hi), qs[i], rs[i])
		VFMADD231PD(p.F64("exp64_negln2lo", -lseLn2Lo), qs[i], rs[i])
	}
	Comment("lse exp: q(r), degree 8; p = 1 + (r + r^2*q)")
	for i := range xs {
		VMOVUPD(p.F64("lse64_qa", lseExpF64Q[0]), qs[i])
	}
	for k := 1; k < len(lseExpF64Q); k++ {
		c := p.F64(fmt.Sprintf("lse64_q%c", 'a'+k), lseExpF64Q[k])
		for i := range xs {
			VFMADD213PD(c, rs[i], qs[i])
		}
	}
	one := p.F64("one64", 1)
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
