// Command exp generates asm/exp_amd64.s: dst[i] = e^src[i] for float32 and
// float64, AVX2 and AVX-512.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

func main() {
	ConstraintExpr("amd64")
	ConstraintExpr("!purego")
	p := NewPool()
	for _, isa := range []ISA{AVX2, AVX512} {
		for _, d := range []DType{Float32, Float64} {
			exp(p, isa, d)
		}
	}
	p.Flush()
	Generate()
}

func exp(p *Pool, isa ISA, d DType) {
	name := "Exp" + d.Name + isa.Name
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src []%s)", d.Go))
	Pragma("noescape")
	p.BeginWith(BaseFor(isa))
	Doc(name + " sets dst[i] = e^src[i] within 1 ulp; len(dst) == len(src).")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	n := Load(Param("src").Len(), GP64())
	lanes := d.Lanes(isa.VB)
	vb := isa.VB

	var lo, hi VecVirtual
	if d.Size == 4 {
		// Kept in registers: as the first VMINPS/VMAXPS source they let a
		// NaN in x through.
		lo, hi = isa.Vec(), isa.Vec()
		VMOVUPS(p.F32("exp32_lo", ExpF32Lo), lo)
		VMOVUPS(p.F32("exp32_hi", ExpF32Hi), hi)
	}
	// The table and the exp's splats stay in registers (Pool.Hold).
	var tab VecVirtual
	if d.Size == 4 {
		HoldExpF32For(p, isa, Ln2HiLo)
		tab = ExpTableFor(p, isa)
	} else if isa.AVX512 {
		HoldExpF64Of(p, ExpF64CoreSplats, HoldAll)
	}
	// vec computes e^x in place.
	vec := func(xs []VecVirtual) {
		if d.Size == 8 {
			ExpF64Core(p, xs)
			return
		}
		// One vector at a time: the rare slow path leaves the registers
		// to the constants the fast path holds.
		for _, x := range xs {
			VMINPS(x, hi, x)
			VMAXPS(x, lo, x)
			l, h := Widen(x)
			ExpF32Core(p, []VecVirtual{l, h})
			Narrow(l, h)
		}
	}
	// AVX-512 float32: clamped, then float32 lanes for every input. AVX2
	// float32: float32 lanes when every |x| <= ExpF32FastMax (no NaN), else
	// the float64-lane path that handles everything.
	block := func(xs []VecVirtual, tag string) {
		if d.Size == 8 {
			vec(xs)
			return
		}
		if isa.AVX512 {
			for _, x := range xs {
				VMINPS(x, hi, x)
				VMAXPS(x, lo, x)
			}
			ExpF32TableCore(p, xs, tab)
			return
		}
		var bad []Pred
		for _, x := range xs {
			a := isa.Vec()
			VANDPS(p.U32("abs32", 0x7fffffff), x, a)
			bad = append(bad, Compare(d, CmpNLEUQ, p.F32("exp32f_max", ExpF32FastMax), a))
		}
		AnyTrue(bad)
		JZ(LabelRef("fast" + tag))
		vec(xs)
		JMP(LabelRef("store" + tag))
		Label("fast" + tag)
		ExpF32TableCore(p, xs, tab)
		Label("store" + tag)
	}
	Loop("exp", n, lanes, expUnroll(isa), func(u int) {
		xs := make([]VecVirtual, u)
		for i := range xs {
			xs[i] = isa.Vec()
			d.MOVU(Mem{Base: src, Disp: vb * i}, xs[i])
		}
		block(xs, fmt.Sprint(u))
		for i := range xs {
			d.MOVU(xs[i], Mem{Base: dst, Disp: vb * i})
		}
		ADDQ(U32(vb*u), src)
		ADDQ(U32(vb*u), dst)
	}, func() {
		m := NewMask(p, isa, d, n)
		x := isa.Vec()
		m.Load(Mem{Base: src}, x)
		block([]VecVirtual{x}, "t")
		m.Store(x, Mem{Base: dst})
	})
	p.Release()
	VZEROUPPER()
	RET()
}

// expUnroll: three ZMM vectors an iteration keep more exp chains in flight
// than two (in-cache Exp 8-15% faster, measured); AVX2 has the registers
// for two.
func expUnroll(isa ISA) int {
	if isa.AVX512 {
		return 3
	}
	return 2
}
