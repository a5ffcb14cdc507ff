// Short rows held in registers: AVX-512 float32 Softmax and LogSoftmax,
// four rows at once.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// residentVecs is the most vectors a row may span to be held in registers:
// four rows of three are 12 ZMMs, beside the exp's temporaries for four
// vectors at a time (residentExpTemps), the four maxima, the clamp bound
// and the table; residentLoad's budget checks it.
const residentVecs = 3

// groupRun says whether a resident block runs a group of four rows or one
// row alone (see rowGen.solo).
type groupRun int

const (
	fourRows groupRun = iota
	soloRow
)

// dispatchResident jumps, when a row ends in a partial vector within
// residentVecs vectors, to the loop of the blocks emitted by resident for
// that many vectors. Every row of such a cols goes through them (four rows
// at a time, or solo), so that its bits do not depend on the other rows.
// Rows of whole vectors keep the loops, which have no tail to pay for.
func (g *rowGen) dispatchResident() {
	Comment("Rows of up to three vectors, the last partial: held in registers.")
	lanes := g.d.Lanes(g.isa.VB)
	TESTQ(U32(lanes-1), g.cols)
	JZ(LabelRef("nores"))
	for v := 1; v <= residentVecs; v++ {
		CMPQ(g.cols, U32(v*lanes))
		JB(LabelRef(fmt.Sprintf("res%dh", v)))
	}
	Label("nores")
}

// resident emits the block for four rows of v vectors each, the last one
// partial (tail mask g.mask), and its jump back to "row". It loads each
// value once and stores each probability once, with no loop: per row v-1
// maxima, e = exp(s - max) in place (as the loops compute it), the row's e
// added in float32 (at most two roundings deep, inside CONTRACT.md's budget as
// in the loops) and widened once, then the loops' four-row trees, one
// division for the four rows and the flushed scaling (LogSoftmax: see
// residentLog; faster than the loops, bench/TUNING.md). A group
// whose max is not finite goes one row at a time through the solo block
// (solo: the row in slot 0 alone, see rowGen.solo), and a row whose max
// is not finite to the slow path.
func (g *rowGen) resident(v int, run groupRun) {
	solo := run == soloRow
	name := fmt.Sprintf("res%d", v)
	if !solo {
		Comment("A group while one is left, else solo.")
		Label(name + "h")
		CMPQ(g.total, g.four)
		JGE(LabelRef(name))
		TESTQ(g.total, g.total)
		JE(LabelRef("done"))
		JMP(LabelRef(name + "s"))
	}
	g.solo, g.bail = solo, name+"s"
	if solo {
		name, g.bail = name+"s", "special"
	}
	Label(name)
	// Every splat through the aligned base: registers are to spare here.
	g.p.WithinBase(AlignedBase, func() { g.residentBody(v, name) })
	g.solo = false
	if solo {
		JMP(LabelRef("next1"))
		return
	}
	g.step(4, g.total, g.srcp, g.dstp)
	JMP(LabelRef(name + "h"))
}

// residentBody emits the block's passes over the four rows (or the solo
// row) of v vectors: load and maxima, the bail-out test, then the exps and
// normalisation (residentLog for LogSoftmax).
func (g *rowGen) residentBody(v int, name string) {
	slots := g.slots(4)
	x, maxes := g.residentLoad(v, slots)
	mv := g.residentMaxima(slots, maxes)
	lo := g.isa.Vec()
	VMOVUPS(g.p.F32("sm32_lo", SoftmaxF32Lo), lo)
	if g.log {
		g.residentLog(v, slots, x, mv, lo)
		return
	}
	g.residentExp(v, name, slots, x, mv, lo)
	g.residentNormalise(v, slots, x)
}

// residentLoad loads the rows' v vectors each (the last filled with -Inf
// past the row) under the block's register budget, and returns them with
// each row's vector of partial maxima.
func (g *rowGen) residentLoad(v int, slots []int) (x [][]VecVirtual, maxes []VecVirtual) {
	p, isa, d := g.p, g.isa, g.d
	vb := isa.VB
	negInf := p.Of(d, "neginf", math.Inf(-1))
	b := newBudget("zmmRegs-residentExpTemps", zmmRegs-residentExpTemps)
	b.take(v*len(slots), "values")
	b.take(len(slots), "maxima")
	b.take(1, "clamp bound")
	b.take(1, "exp table")
	b.state()
	x = make([][]VecVirtual, 4)
	maxes = make([]VecVirtual, 4)
	for _, r := range slots {
		x[r] = make([]VecVirtual, v)
		for i := range x[r] {
			x[r][i] = isa.Vec()
			if i < v-1 {
				VMOVUPS(g.at(g.srcp, vb*i, r), x[r][i])
			} else {
				g.mask.LoadFill(g.at(g.srcp, vb*i, r), x[r][i], negInf)
			}
		}
		maxes[r] = x[r][0]
		if v > 1 {
			maxes[r] = isa.Vec()
			VMAXPS(x[r][1], x[r][0], maxes[r])
			for i := 2; i < v; i++ {
				VMAXPS(x[r][i], maxes[r], maxes[r])
			}
		}
	}
	for r := len(slots); r < 4; r++ {
		maxes[r] = maxes[0] // solo: slot 0 stands for every slot
	}
	return x, maxes
}

// residentMaxima reduces the four rows' maxima through the tree, leaves
// for g.bail when one is not finite, and returns each row's max broadcast.
func (g *rowGen) residentMaxima(slots []int, maxes []VecVirtual) (mv []VecVirtual) {
	p, isa, d := g.p, g.isa, g.d
	m := Tree4Of(Float32, maxes, VMAXPS)
	Comment("A NaN, +Inf or all -Inf max in the group: one row at a time.")
	t := isa.Vec()
	VANDPS(p.U32("abs32", 0x7fffffff), m, t)
	AnyTrue([]Pred{Compare(d, CmpNLTUQ, p.F32("posinf32", float32(math.Inf(1))), t)})
	JNZ(LabelRef(g.bail))
	mv = make([]VecVirtual, 4)
	for _, r := range slots {
		mv[r] = bcastRow4(p, isa, m, r, 1)
	}
	return mv
}

// residentExp sets e = exp(s - max) in place: with the scale folded into
// the exp when this call's allows, else multiplied (see ExpScale).
func (g *rowGen) residentExp(v int, name string, slots []int, x [][]VecVirtual, mv []VecVirtual, lo VecVirtual) {
	Comment("e = exp(s - max) in place, one vector of each row at a time.")
	if g.fold == nil {
		g.residentExpVecs(v, slots, x, mv, lo)
		return
	}
	Comment("The scale folded into the exp (see ExpScale), if this call's allows.")
	CMPL(g.foldOK, U8(0))
	JE(LabelRef(name + "mul"))
	g.folding = true
	VBROADCASTSS(g.fold.Lo, lo)
	g.residentExpVecs(v, slots, x, mv, lo)
	g.folding = false
	JMP(LabelRef(name + "exped"))
	Label(name + "mul")
	VMOVUPS(g.p.F32("sm32_lo", SoftmaxF32Lo), lo)
	g.residentExpVecs(v, slots, x, mv, lo)
	Label(name + "exped")
}

// residentExpVecs emits one version of residentExp's exps: vector i of
// every row together.
func (g *rowGen) residentExpVecs(v int, slots []int, x [][]VecVirtual, mv []VecVirtual, lo VecVirtual) {
	for i := 0; i < v; i++ {
		xs := make([]VecVirtual, len(slots))
		for j, r := range slots {
			xs[j] = x[r][i]
			VSUBPS(mv[r], xs[j], xs[j])
			g.mulScale(xs[j])
		}
		if g.folding {
			ExpSoftmaxF32ScaledCore(g.p, xs, lo, g.fold)
		} else {
			ExpSoftmaxF32Core(g.p, xs, lo)
		}
	}
}

// residentNormalise sums each row's e, divides once for the four rows and
// stores p = e/sum, flushed.
func (g *rowGen) residentNormalise(v int, slots []int, x [][]VecVirtual) {
	p, isa, d := g.p, g.isa, g.d
	sums := make([]VecVirtual, 4)
	Comment("Each row's e summed in float32 (two roundings at most), then in float64.")
	for _, r := range slots {
		s := x[r][0]
		if v > 1 {
			s = isa.Vec()
			VADDPS(x[r][1], x[r][0], s)
		}
		if v > 2 {
			VADDPS(x[r][2], s, s)
		}
		sums[r] = widenSum(s)
	}
	for r := len(slots); r < 4; r++ {
		sums[r] = sums[0]
	}
	s4 := Tree4Of(Float64, sums, VADDPD)
	inv := isa.Vec()
	VMOVUPD(p.F64("one64", 1), inv)
	VDIVPD(s4, inv, inv)
	ks := splitRows4(p, isa, inv)
	tiny := isa.Vec()
	d.MOVU(p.Of(d, "tiny", minNormal(d)), tiny)
	Comment("p = e/sum, flushed to +0 below the smallest normal (NaN kept).")
	for _, r := range slots {
		for i, e := range x[r] {
			VMULPS(ks[r], e, e)
			Select(d, CmpNLTUQ, tiny, e, e, e)
			g.residentStore(v, i, r, e)
		}
	}
}

// residentLog is residentBody's LogSoftmax: d = s - max in place, e^d of
// two rows at a time (so that d stays in registers) summed per row in
// float32 as ((e0 + e1) + e2), the four logs of the sums in one vector,
// y = d - log(sum), as the loops compute it.
func (g *rowGen) residentLog(v int, slots []int, x [][]VecVirtual, mv []VecVirtual, lo VecVirtual) {
	p, isa := g.p, g.isa
	for _, r := range slots {
		for _, s := range x[r] {
			VSUBPS(mv[r], s, s)
		}
	}
	Comment("Each row's e summed in float32 (two roundings at most), then in float64.")
	part := make([]VecVirtual, 4)
	for i := 0; i < v; i++ {
		for r0 := 0; r0 < len(slots); r0 += 2 {
			rows := slots[r0:min(r0+2, len(slots))]
			es := make([]VecVirtual, len(rows))
			for j, r := range rows {
				es[j] = isa.Vec()
				VMOVAPS(x[r][i], es[j])
			}
			ExpSumF32Core(p, es, lo)
			for j, r := range rows {
				if i == 0 {
					part[r] = es[j]
				} else {
					VADDPS(es[j], part[r], part[r])
				}
			}
		}
	}
	sums := make([]VecVirtual, 4)
	for _, r := range slots {
		sums[r] = widenSum(part[r])
	}
	for r := len(slots); r < 4; r++ {
		sums[r] = sums[0] // solo: slot 0 stands for every slot
	}
	s4 := Tree4Of(Float64, sums, VADDPD)
	LogPD(p, s4, logTermsF32)
	ks := splitRows4(p, isa, s4)
	Comment("y = (s - max) - log(sum).")
	for _, r := range slots {
		for i, y := range x[r] {
			VSUBPS(ks[r], y, y)
			g.residentStore(v, i, r, y)
		}
	}
}

// residentStore stores vector i of row r of the group: the last one
// masked.
func (g *rowGen) residentStore(v, i, r int, x VecVirtual) {
	at := g.at(g.dstp, g.isa.VB*i, r)
	if i < v-1 {
		VMOVUPS(x, at)
	} else {
		g.mask.Store(x, at)
	}
}
