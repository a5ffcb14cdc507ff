// The float64 exp of CrossEntropy's rows: LogSumExp's degree-8 exp
// (lseExpF64) with a lower clamp that makes the lanes far below the max
// exact zeros.

package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xentF64Lo is the clamp of CrossEntropy's float64 exp: -1023*ln2, where
// lseExpF64's n = round(d*log2e) is -1023 and its 2^n, built as
// (n << 52) + the bits of 1, has all its bits 0: the lane's e is +0. So a
// d in [-1023.5*ln2, -1022.5*ln2), and every d below (clamped up to it,
// -Inf included), gives an exact 0; from -1022.5*ln2 up the exp is
// lseExpF64's (2^-49.5 relative, see lseExpF64Q), its result below
// 2^-1022 up to SoftmaxF64Lo (2^-1022 times p(r) < 1). An e is within
// 2^-49 of e^d, or below 2^-1022 where it is 0 or subnormal: Softmax's
// bound (u = 2^-46, tiny 2^-1022, Z >= 1) holds for every ds entry e*g/Z,
// and O, the loss and ds at the target are within v = 2^-46 as well. A
// clamp at SoftmaxF64Lo (LogSumExp's) would give e^lo ~ 2^-1022 for the
// masked lanes instead, which ds must not hold for -Inf logits. NaN stays
// NaN (the clamp keeps a NaN d).
var xentF64Lo = -1023 * math.Ln2

// xentExpF64 holds what xentExp needs besides lseExpF64's constants (held
// by the caller or read from memory): the clamp, in a register.
type xentExpF64 struct {
	p  *Pool
	lo VecVirtual
}

// newXentExpF64 loads the clamp into a register of isa.
func newXentExpF64(p *Pool, isa ISA) xentExpF64 {
	e := xentExpF64{p: p, lo: isa.Vec()}
	VMOVUPD(p.F64("xent64_lo", xentF64Lo), e.lo)
	return e
}

// exp replaces each float64 vector d in xs (d <= 0, -Inf or NaN) by e^d
// (xentF64Lo says how far).
func (e xentExpF64) exp(xs []VecVirtual) { lseExpF64(e.p, xs, e.lo) }
