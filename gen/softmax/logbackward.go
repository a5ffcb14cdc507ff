// LogSoftmaxBackward: ds = dy - exp(y) * sum_j dy.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// logBackward: ds = dy - exp(y) * sum_j dy over unmasked j; masked entries
// (y = -Inf) get 0. Rows up to groupMaxCols go four (float32) or two at a
// time so that short rows overlap, the rows left over alone; every path
// computes a row with the same arithmetic (the same sum order, see
// sumUnroll and hsumTree4, and the same exp), so its bits do not depend on
// which path it took (rows stand alone, CONTRACT.md).
func logBackward(p *Pool, isa ISA, d DType) {
	name := "LogSoftmaxBackward" + d.Name + isa.Name
	TEXT(name, NOSPLIT, fmt.Sprintf("func(ds, y, dy []%s, cols int)", d.Go))
	Pragma("noescape")
	p.BeginWith(BaseFor(isa))
	Doc(name+" sets ds = dy - exp(y)*sum(dy) per row, leaving masked (y = -Inf)",
		"entries out of the sum and setting their ds to 0.",
		"Equal lengths, cols >= 1 and len % cols == 0.")
	dsp := Load(Param("ds").Base(), GP64())
	yp := Load(Param("y").Base(), GP64())
	dyp := Load(Param("dy").Base(), GP64())
	total := Load(Param("y").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	g := newRowGen(p, isa, d, cols)
	two, four := g.two, g.four
	// float32: four rows at a time, their sums reduced together.
	quad := g.quad()

	Label("row")
	CMPQ(cols, U32(groupMaxCols))
	JA(LabelRef("alone"))
	if quad {
		CMPQ(total, four)
		JGE(LabelRef("quad"))
	}
	CMPQ(total, two)
	JGE(LabelRef("pair"))
	Label("alone")
	TESTQ(total, total)
	JE(LabelRef("done"))
	g.logBackwardBody(1, "s", yp, dyp, dsp)
	g.step(1, total, yp, dyp, dsp)
	JMP(LabelRef("row"))

	for _, k := range []int{2, 4} {
		if k == 4 && !quad {
			continue
		}
		Label(map[int]string{2: "pair", 4: "quad"}[k])
		g.logBackwardBody(k, map[int]string{2: "p", 4: "q"}[k], yp, dyp, dsp)
		g.step(k, total, yp, dyp, dsp)
		JMP(LabelRef("row"))
	}

	Label("done")
	VZEROUPPER()
	RET()
}

// logBackGroup is what the two passes over one group of k rows (1, 2 or
// 4; 4 only for float32) at yp, dyp and dsp share: the pass pointers and,
// in pass 2, the exp's clamp bounds and table.
type logBackGroup struct {
	*rowGen
	k            int
	pre          string // the labels' prefix
	yp, dyp, dsp Register
	negInf       Mem
	n            GPVirtual // the passes' element count
	py, pdy, pds GPVirtual // the passes' pointers
	// lo and hi: AVX-512 float32's clamp bounds for y (see dsVec); tab:
	// float32's register table of 2^(j/16) or 2^(j/8).
	lo, hi, tab VecVirtual
}

// logBackwardBody emits both passes for k rows (1, 2 or 4; 4 only for
// float32): the sums of dy, then ds.
func (g *rowGen) logBackwardBody(k int, pre string, yp, dyp, dsp Register) {
	b := &logBackGroup{rowGen: g, k: k, pre: pre, yp: yp, dyp: dyp, dsp: dsp}
	b.negInf = g.p.Of(g.d, "neginf", math.Inf(-1))

	Comment("Pass 1: S = sum of dy over entries with y != -Inf.")
	b.n, b.py, b.pdy, b.pds = GP64(), GP64(), GP64(), GP64()
	MOVQ(g.cols, b.n)
	MOVQ(yp, b.py)
	MOVQ(dyp, b.pdy)
	// Every row, alone or in a group of two or four, sums its vectors in
	// the same order (rows stand alone, CONTRACT.md): the loop takes
	// sumUnroll vectors of each row whatever k, so the float32 pairs added
	// before widening and the float64 vectors added before the Kahan step
	// are the same ones. The reductions after the loop agree too: float32
	// rows outside a group of four reduce with hsumTree4, which adds as
	// Tree4 does; float64 rows all take HSumPD.
	var sums []VecVirtual
	if g.d.Size == 4 {
		sums = b.sumF32()
	} else {
		sums = b.sumF64()
	}
	svs := b.broadcastSums(sums)

	Comment("Pass 2: ds = dy - exp(y)*S, 0 where y = -Inf.")
	b.gradPass(svs)
}

// keep zeroes dy where y = -Inf.
func (b *logBackGroup) keep(y, dy VecVirtual) {
	Select(b.d, CmpNEQUQ, b.negInf, y, dy, dy)
}

// loadDy reads row r's vector i of y and dy and returns dy, masked
// entries zeroed.
func (b *logBackGroup) loadDy(i, r int) VecVirtual {
	y, dy := b.isa.Vec(), b.isa.Vec()
	b.d.MOVU(b.at(b.py, b.isa.VB*i, r), y)
	b.d.MOVU(b.at(b.pdy, b.isa.VB*i, r), dy)
	b.keep(y, dy)
	return dy
}

// loadDyTail is loadDy for the row's tail, under the mask.
func (b *logBackGroup) loadDyTail(r int) VecVirtual {
	y, dy := b.isa.Vec(), b.isa.Vec()
	b.mask.Load(b.at(b.py, 0, r), y)
	b.mask.Load(b.at(b.pdy, 0, r), dy)
	b.keep(y, dy)
	return dy
}

// sumF32 emits pass 1 for float32: each row summed in float64 lanes.
func (b *logBackGroup) sumF32() []VecVirtual {
	isa, k, vb := b.isa, b.k, b.isa.VB
	sums := make([]VecVirtual, k)
	for r := range sums {
		sums[r] = isa.Vec()
		VXORPD(sums[r], sums[r], sums[r])
	}
	add := func(dy VecVirtual, r int) {
		lo, hi := Widen(dy)
		VADDPD(hi, lo, lo)
		VADDPD(lo, sums[r], sums[r])
	}
	// Two vectors of a row are added in float32 first: one rounding,
	// 2^-24 of sum |dy|, far inside CONTRACT.md's bound.
	Loop(b.pre+"sum", b.n, b.d.Lanes(vb), b.sumUnroll(), func(u int) {
		for i := 0; i < u; i += 2 {
			for r := 0; r < k; r++ {
				dy := b.loadDy(i, r)
				if i+1 < u {
					VADDPS(b.loadDy(i+1, r), dy, dy)
				}
				add(dy, r)
			}
		}
		ADDQ(U32(vb*u), b.py)
		ADDQ(U32(vb*u), b.pdy)
	}, func() {
		for r := 0; r < k; r++ {
			add(b.loadDyTail(r), r)
		}
	})
	return sums
}

// sumF64 emits pass 1 for float64: Kahan-compensated sums.
func (b *logBackGroup) sumF64() []VecVirtual {
	isa, k, vb := b.isa, b.k, b.isa.VB
	sums, comp := make([]VecVirtual, k), make([]VecVirtual, k)
	for r := range sums {
		sums[r], comp[r] = isa.Vec(), isa.Vec()
		VXORPD(sums[r], sums[r], sums[r])
		VXORPD(comp[r], comp[r], comp[r])
	}
	Loop(b.pre+"sum", b.n, b.d.Lanes(vb), b.sumUnroll(), func(u int) {
		for r := 0; r < k; r++ {
			a := b.loadDy(0, r)
			for i := 1; i < u; i++ {
				VADDPD(b.loadDy(i, r), a, a)
			}
			kahanAdd(sums[r], comp[r], a)
		}
		ADDQ(U32(vb*u), b.py)
		ADDQ(U32(vb*u), b.pdy)
	}, func() {
		for r := 0; r < k; r++ {
			kahanAdd(sums[r], comp[r], b.loadDyTail(r))
		}
	})
	for r := range sums {
		VSUBPD(comp[r], sums[r], sums[r])
	}
	return sums
}

// broadcastSums reduces each row's float64 sum vector and broadcasts the
// sum, in the row's type, to a vector of its own: a group of four through
// Tree4, other rows one at a time.
func (b *logBackGroup) broadcastSums(sums []VecVirtual) []VecVirtual {
	isa, d, k := b.isa, b.d, b.k
	if k == 4 {
		return splitRows4(b.p, isa, Tree4Of(Float64, sums, VADDPD))
	}
	svs := make([]VecVirtual, k)
	for r := 0; r < k; r++ {
		if b.quad() {
			hsumTree4(sums[r])
		} else {
			HSumPD(sums[r])
		}
		if d.Size == 4 {
			VCVTSD2SS(sums[r].AsX(), sums[r].AsX(), sums[r].AsX())
		}
		svs[r] = isa.Vec()
		d.BCAST(sums[r].AsX(), svs[r])
	}
	return svs
}

// gradPass emits pass 2: ds = dy - exp(y)*svs[r] for each row r.
func (b *logBackGroup) gradPass(svs []VecVirtual) {
	p, isa, d, k, mask := b.p, b.isa, b.d, b.k, b.mask
	vb, pre := isa.VB, b.pre
	MOVQ(b.cols, b.n)
	MOVQ(b.yp, b.py)
	MOVQ(b.dyp, b.pdy)
	MOVQ(b.dsp, b.pds)
	if d.Size == 4 && isa.AVX512 {
		b.lo, b.hi = isa.Vec(), isa.Vec()
		VMOVUPS(p.F32("exp32_lo", ExpF32Lo), b.lo)
		VMOVUPS(p.F32("exp32_hi", ExpF32Hi), b.hi)
	}
	// AVX-512 keeps the exp constants in registers: single rows and pairs,
	// and float32 groups of four (both faster, bench/TUNING.md). AVX2 has
	// room for four beside the slow path, which gained nothing.
	if isa.AVX512 && (k <= 2 || d.Size == 4) {
		if d.Size == 4 {
			HoldExpF32For(p, isa, Ln2HiLo)
		} else {
			HoldExpF64Of(p, ExpF64CoreSplats|ExpSoftmaxF64Splats, HoldAll)
		}
		defer p.Release()
	}
	if d.Size == 4 {
		b.tab = ExpTableFor(p, isa)
	}
	// AVX2: single rows prefetch the next row's y and dy while the exp
	// keeps the memory idle (see prefetchRowBytes), from nextOff bytes on
	// (0, the lines being read, for rows over prefetchRowBytes): faster on
	// long rows (bench/TUNING.md). The AVX-512 kernels, already near the
	// memory floor there, gained nothing either way; groups ran out of
	// general registers.
	var nextOff GPVirtual
	if k == 1 && !isa.AVX512 {
		nextOff = b.nextRowOffset(pre)
	}
	Loop(pre+"grad", b.n, d.Lanes(vb), b.expUnroll(k), func(u int) {
		for i := 0; i < u; i++ {
			for r := 0; r < k; r++ {
				y, dy := isa.Vec(), isa.Vec()
				d.MOVU(b.at(b.py, vb*i, r), y)
				d.MOVU(b.at(b.pdy, vb*i, r), dy)
				b.dsVec(y, dy, svs[r], fmt.Sprint(pre, u, "_", i, "_", r))
				d.MOVU(y, b.at(b.pds, vb*i, r))
			}
			if nextOff != nil {
				PREFETCHT0(Mem{Base: b.py, Index: nextOff, Scale: 1, Disp: vb * i})
				PREFETCHT0(Mem{Base: b.pdy, Index: nextOff, Scale: 1, Disp: vb * i})
			}
		}
		ADDQ(U32(vb*u), b.py)
		ADDQ(U32(vb*u), b.pdy)
		ADDQ(U32(vb*u), b.pds)
	}, func() {
		for r := 0; r < k; r++ {
			y, dy := isa.Vec(), isa.Vec()
			mask.Load(b.at(b.py, 0, r), y)
			mask.Load(b.at(b.pdy, 0, r), dy)
			b.dsVec(y, dy, svs[r], fmt.Sprint(pre, "t_", r))
			mask.Store(y, b.at(b.pds, 0, r))
		}
	})
}

// dsVec turns y into ds, given dy and the row's sum sv. Masked lanes are
// zeroed first; then the fast exp runs unless some |y| is past its range
// (or NaN), when the full-domain exp does. AVX-512 float32 clamps y (NaN
// kept: lo and hi are the first VMAXPS/VMINPS sources) and has no slow
// path: VSCALEFPS covers the whole range.
func (b *logBackGroup) dsVec(y, dy, sv VecVirtual, tag string) {
	d := b.d
	m := Compare(d, CmpNEQUQ, b.negInf, y)
	if b.lo != nil {
		// -Inf is clamped like any other y; ds is zeroed there by the
		// masked FNMA.
		VMINPS(y, b.hi, y)
		VMAXPS(y, b.lo, y)
		ExpF32TableCore(b.p, []VecVirtual{y}, b.tab)
		VFNMADD231PS_Z(sv, y, m.K(), dy)
		VMOVAPS(dy, y)
		return
	}
	m.Apply(y, y)
	if d.Size == 4 {
		b.expGuardedF32(y, tag)
	} else {
		b.expGuardedF64(y, tag)
	}
	d.FNMA231(sv, y, dy)
	m.Apply(dy, y)
}

// expGuardedF32 sets y = exp(y) for AVX2 float32: the table exp, or the
// float64 core over the clamped y where some |y| is past the table's
// range.
func (b *logBackGroup) expGuardedF32(y VecVirtual, tag string) {
	p, isa, d := b.p, b.isa, b.d
	a := isa.Vec()
	VANDPS(p.U32("abs32", 0x7fffffff), y, a)
	AnyTrue([]Pred{Compare(d, CmpNLEUQ, p.F32("exp32f_max", ExpF32FastMax), a)})
	JZ(LabelRef("fast" + tag))
	lo, hi := isa.Vec(), isa.Vec()
	VMOVUPS(p.F32("exp32_lo", ExpF32Lo), lo)
	VMOVUPS(p.F32("exp32_hi", ExpF32Hi), hi)
	VMINPS(y, hi, y)
	VMAXPS(y, lo, y)
	yl, yh := Widen(y)
	ExpF32Core(p, []VecVirtual{yl, yh})
	Narrow(yl, yh)
	JMP(LabelRef("exp" + tag))
	Label("fast" + tag)
	ExpF32TableCore(p, []VecVirtual{y}, b.tab)
	Label("exp" + tag)
}

// expGuardedF64 sets y = exp(y) for float64: for |y| <= 708 the softmax
// core (within 1 ulp, far inside the 2^-46 bound) suffices, else the
// full-domain core.
func (b *logBackGroup) expGuardedF64(y VecVirtual, tag string) {
	p, d := b.p, b.d
	a := b.isa.Vec()
	VANDPD(p.U64("abs64", 0x7fffffffffffffff), y, a)
	AnyTrue([]Pred{Compare(d, CmpNLEUQ, p.F64("lsb64_max", 708), a)})
	JZ(LabelRef("fast" + tag))
	ExpF64Core(p, []VecVirtual{y})
	JMP(LabelRef("exp" + tag))
	Label("fast" + tag)
	ExpSoftmaxF64Core(p, []VecVirtual{y})
	Label("exp" + tag)
}

// sumUnroll is how many vectors of each row one iteration of
// LogSoftmaxBackward's sum loop takes. It must not depend on how many rows
// go together: the vectors an iteration adds before the row's running sum
// fix the order of the additions, and so the sum's bits.
func (g *rowGen) sumUnroll() int {
	if g.d.Size == 8 {
		return 2
	}
	return g.expUnroll(1)
}

// hsumTree4 reduces the float64 vector v to its sum in lane 0, adding
// exactly as Tree4 does for each of its four rows: the same pairs, and the
// same operand first in each addition, which decides the payload a sum of
// NaNs keeps. A float32 row alone then gets the bits of the same row in a
// group of four (HSumPD adds the same pairs with the other operand first).
func hsumTree4(v VecVirtual) {
	x := v.AsX().(VecVirtual)
	t := XMM()
	if v.Size() == 64 {
		// Tree4: the high 256 bits plus the low, then the high 128 bits
		// of that plus its low, then lane 0 plus lane 1.
		h := YMM()
		VEXTRACTF64X4(U8(1), v, h)
		VADDPD(v.AsY(), h, h)
		VEXTRACTF128(U8(1), h, t)
		VADDPD(h.AsX(), t, x)
		VPERMILPD(U8(1), x, t)
		VADDSD(t, x, x)
		return
	}
	// Tree4 (AVX2): the high 128 bits plus the low, then lane 1 plus
	// lane 0.
	VEXTRACTF128(U8(1), v, t)
	VADDPD(x, t, t)
	VPERMILPD(U8(1), t, x)
	VADDSD(t, x, x)
}
