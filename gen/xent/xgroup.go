// CrossEntropy's rows of xresVecs+1 to xgroupVecs vectors, float32
// AVX-512: eight rows at a time, each read twice by loops over its
// vectors.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xgroupVecs is the longest row, in vectors, of the eight-row looped
// path: rows longer than the resident path's go eight at a time as
// LogSumExp's group rows (lse.go), a vector of each row a step: a max
// pass (each target's lane left out by a compare of its label with the
// lanes' columns, as the four-row path), one transposing tree for the
// eight others' maxima, s_t taken into the tree's lanes (resTargets), an
// exp pass (the target's lane zeroed, e stored into ds with ds) and one
// float64 tree for the eight sums O; the losses and ds's factors once for
// the eight in one vector (lossLanes, dsFactors), and with ds a scale pass
// over the eight rows and ds at each target (resTargetDS). A group's
// losses are finished after the next group's passes (resFinish). A row
// left over, or one of a group that cannot take the group code, runs the
// same code solo (slot 0 only, standing for every input of the trees),
// so that its bits do not depend on its neighbours (rows stand alone).
// Longer rows take the four-row path, then the one-row path: with ds,
// the four-row path measured faster on rows of 7 to 11 vectors
// (bench/TUNING.md).
const xgroupVecs = 6

// Steps of the loops: vectors of each row an iteration.
const (
	xgroupMaxUnroll   = 2
	xgroupExpUnroll   = 2 // a row's e added in float32 before one widening, as the four-row path
	xgroupScaleUnroll = 2
)

// xgroupExpBudget is the ZMM budget of the exp pass: the eight sums
// (float64), a columns register a vector of a step (newColumns), the
// exp's held constants and clamp bound, a row's vectors of a step with
// their exp temporaries (the rows go one after another), and the two
// widened halves. The labels and the maxima are read from memory by
// embedded broadcasts ({1to16}).
const xgroupExpBudget = xresRows + xgroupExpUnroll + xresHeldExp + loClamp +
	xgroupExpUnroll*(1+xresExpTemps) + widenTemps

func init() {
	if xgroupExpBudget > zmmRegs {
		panic(fmt.Sprintf("xgroup: the exp pass needs %d ZMM registers, more than %d", xgroupExpBudget, zmmRegs))
	}
}

// xgroupOK says whether CrossEntropy has the eight-row looped path.
func (r *row) xgroupOK() bool { return r.d.Size == 4 && r.isa.AVX512 }

// xgroupRows emits the path's row loops for rows of up to xgroupVecs
// vectors (shorter ones have taken the resident path); longer rows go on
// past them. Rows of over xquadSpanVecs vectors take spans (see xgroup).
func (x *xentRows) xgroupRows(pre string, loc xresLocals, done string) {
	r := x.row
	Comment(fmt.Sprintf("Rows of up to %d vectors: eight at a time, read twice.", xgroupVecs))
	CMPQ(r.cols, U32(xgroupVecs*r.lanes))
	JA(LabelRef(pre + "skip"))
	for _, spans := range []bool{false, true} {
		sp := pre + "n"
		if spans {
			sp = pre + "w"
			Label(sp + "wide")
		} else if xgroupVecs > xquadSpanVecs {
			CMPQ(r.cols, U32(xquadSpanVecs*r.lanes))
			JA(LabelRef(pre + "wwide"))
		}
		x.resRowLoop(sp, loc, done, func(pre string, k int, s slots, bail string) {
			x.xgroup(pre, k, s, loc, bail, spans)
		}, func(s slots) { x.xgroupPending(sp+"f", s, loc) })
		if xgroupVecs <= xquadSpanVecs {
			break
		}
	}
	Label(pre + "skip")
}

// xgroup emits CrossEntropy for the k rows (eight, or 1: solo) at the
// slots s, jumping to bail for a row of the caller's (resMax). spans, as
// the four-row path's: the max pass takes each row's max and min over
// every entry; the others' max (a second pass) only when a row's target
// is its max and its span is over confidentMargin; the exp pass without
// its clamp on whole vectors when every span is within fastSpan (the same
// bits: the clamp changes no lane of such rows).
func (x *xentRows) xgroup(pre string, k int, s slots, loc xresLocals, bail string, spans bool) {
	if k > 1 {
		LEAQ(Mem{Base: s.a, Index: s.rb3, Scale: 1}, s.b)
	}
	st := x.resTargets(s, k) // before the loads, as resGroup's rows read twice
	var m, span VecVirtual
	if spans {
		m, span = x.xgroupSpans(pre, k, s, st, bail)
	} else {
		m, _ = x.resMax(x.xgroupMax(pre, k, s), func() VecVirtual { return st }, bail)
	}
	et, dt, lo := x.resTarget(m, st)
	Comment("The maxima to the stack: each row's read by a broadcast.")
	mx := loc.scratch
	VMOVUPS(m, mx)
	o := x.isa.Vec()
	if spans {
		Comment("Every row within fastSpan (max - min): whole vectors skip the",
			"exp's clamp and zeroing, which change no lane of such rows.")
		slow := Compare(Float32, CmpNLEUQ, x.p.F32("fastspan32", fastSpan), span)
		AnyTrue([]Pred{slow})
		JNZ(LabelRef(pre + "guard"))
		VMOVAPD(x.xgroupExp(pre+"f", k, s, mx, lo, loc, true), o)
		JMP(LabelRef(pre + "expdone"))
	}
	Label(pre + "guard")
	VMOVAPD(x.xgroupExp(pre+"g", k, s, mx, lo, loc, false), o)
	Label(pre + "expdone")
	at := slots{a: x.dsp.(GPVirtual)}
	x.resFinish(pre, k, et, dt, o, loc, dsPending, func(z VecVirtual) {
		x.xgroupDS(pre, 1, at, Mem{Base: x.labp}, o, z, loc)
	}, func() { x.xgroupPending(pre+"p", s, loc) })
}

// xgroupPending emits the pending group's losses and, with ds, its ds:
// the eight rows before the pointers, from the values it left on the
// stack (a group's ds waits for the next group's passes, as the four-row
// path's: the scale pass then reads e stored long before).
func (x *xentRows) xgroupPending(pre string, s slots, loc xresLocals) {
	x.resFinishPending(loc)
	if !x.withDS {
		return
	}
	isa, g := x.isa, xresRows
	et, o, z := isa.Vec(), isa.Vec(), isa.Vec()
	VMOVUPD(loc.pend, et)
	VMOVUPD(loc.pend.Offset(64), o)
	VADDPD(o, et, z) // Z = e_t + O, as lossLanes
	at := slots{a: GP64(), b: GP64(), rb: s.rb, rb3: s.rb3}
	MOVQ(s.rb, at.a)
	SHLQ(U8(3), at.a) // eight rows' bytes
	NEGQ(at.a)
	ADDQ(x.dsp, at.a)
	LEAQ(Mem{Base: at.a, Index: s.rb3, Scale: 1}, at.b)
	x.xgroupDS(pre, g, at, Mem{Base: x.labp, Disp: -4 * g}, o, z, loc)
}

// xgroupSpans emits the max pass of spans (see xgroup) and the margin
// test, and returns the rows' maxima and spans (max - min), row i in
// 64-bit lane i (both halves), jumping to bail for a row of the caller's.
func (x *xentRows) xgroupSpans(pre string, k int, s slots, st VecVirtual, bail string) (m, span VecVirtual) {
	r, isa, p := x.row, x.isa, x.p
	Comment("Max pass: each row's max and min, a vector of each a step.")
	ls, n := x.xgroupSlots(x.srcp, k, s)
	acc, mins := make([]VecVirtual, k), make([]VecVirtual, k)
	for i := range acc {
		acc[i], mins[i] = isa.Vec(), isa.Vec()
		VMOVUPS(r.negInf, acc[i])
		VMOVUPS(p.F32("posinf", float32(math.Inf(1))), mins[i])
	}
	Loop(pre+"span", n, r.lanes, xgroupMaxUnroll, func(u int) {
		for j := 0; j < u; j++ {
			for i := range acc {
				y := isa.Vec()
				VMOVUPS(ls.at(i, r.vb*j), y)
				VMINPS(y, mins[i], mins[i])
				VMAXPS(y, acc[i], acc[i])
			}
		}
		r.advanceSlots(ls, k, u)
	}, func() {
		for i := range acc {
			y := isa.Vec()
			r.mask.LoadFill(ls.at(i, 0), y, r.negInf)
			r.mask.MergeMin(y, mins[i])
			VMAXPS(y, acc[i], acc[i])
		}
	})
	m = groupTree(r.fill(acc), VMAXPS, true)
	mn := groupTree(r.fill(mins), VMINPS, true)
	span = isa.Vec()
	VSUBPS(mn, m, span) // row i's max - min, target included
	Comment("A row whose target is below its max, or whose entries all lie",
		"within confidentMargin of it, has others' max within it: the margin",
		"test passes without the others' max (the same verdict).")
	below := Compare(Float32, CmpLTOQ, m, st)
	near := Compare(Float32, cmpLEOQ, p.F32("margin32pos", confidentMargin), span)
	all := K()
	KORW(below.K(), near.K(), all)
	KORTESTW(all, all)
	JCS(LabelRef(pre + "mok")) // every lane
	x.resMax(x.xgroupMax(pre+"o", k, s), func() VecVirtual { return st }, bail)
	Label(pre + "mok")
	r.groupFinite(m, bail)
	return m, span
}

// xgroupTail is slot i's tail of e (with ds) in the scratch block, past
// the maxima: the scale pass reads it there rather than from a masked
// store to ds (not forwarded).
func xgroupTail(loc xresLocals, i int) Mem { return loc.scratch.Offset(64 * (i + 1)) }

// xgroupSlots returns slots walking the k rows from base (the row
// strides of s), a vector of each a step, and the column count of the
// walk.
func (x *xentRows) xgroupSlots(base Register, k int, s slots) (slots, GPVirtual) {
	w := slots{a: GP64(), rb: s.rb, rb3: s.rb3}
	if k > 1 {
		w.b = GP64()
	}
	x.row.startSlots(w, base, k)
	n := GP64()
	MOVQ(x.cols, n)
	return w, n
}

// xgroupLabel is slot i's label, the operand of an embedded broadcast.
func (x *xentRows) xgroupLabel(i int) Mem { return Mem{Base: x.labp, Disp: 4 * i} }

// xgroupMax returns the others' maxima of the k rows, a vector a row:
// each target's lane (and the tail's lanes past the row) left out of a
// merge-masked VMAXPS.
func (x *xentRows) xgroupMax(pre string, k int, s slots) []VecVirtual {
	r, isa := x.row, x.isa
	Comment("Max pass: the others' max of each row, a vector of each a step.")
	ls, n := x.xgroupSlots(x.srcp, k, s)
	cols := x.newColumns(xgroupMaxUnroll)
	acc := make([]VecVirtual, k)
	for i := range acc {
		acc[i] = isa.Vec()
		VMOVUPS(r.negInf, acc[i])
	}
	step := func(u int, tail bool) {
		for j := 0; j < u; j++ {
			for i := range acc {
				o := K()
				if tail {
					VPCMPD_BCST(U8(cmpNE), x.xgroupLabel(i), cols[j], r.mask.K(), o)
				} else {
					VPCMPD_BCST(U8(cmpNE), x.xgroupLabel(i), cols[j], o)
				}
				VMAXPS(ls.at(i, r.vb*j), acc[i], o, acc[i]) // masked lanes: no load, no fault
			}
		}
	}
	Loop(pre+"max", n, r.lanes, xgroupMaxUnroll, func(u int) {
		step(u, false)
		x.stepColumns(cols, u)
		r.advanceSlots(ls, k, u)
	}, func() { step(1, true) })
	return acc
}

// xgroupExp emits the exp pass of the k rows with the maxima at mx (row
// i's at 8i, see groupTree) and returns the sums O, row i in float64 lane
// i: e = exp(s - max), the target's lane zeroed (the second vector of a
// step's is left out by its merge-masked add, and its ds written at the
// end), with ds stored (the tails to xgroupTail); a row's step added in
// float32, widened and summed in float64.
func (x *xentRows) xgroupExp(pre string, k int, s slots, mx Mem, lo VecVirtual, loc xresLocals, fast bool) VecVirtual {
	r, isa, p := x.row, x.isa, x.p
	Comment(fmt.Sprintf("Exp pass: register budget %d of %d (xgroupExpBudget).", xgroupExpBudget, zmmRegs))
	ls, n := x.xgroupSlots(x.srcp, k, s)
	var ds slots
	if x.withDS {
		ds, _ = x.xgroupSlots(x.dsp, k, s)
	}
	cols := x.newColumns(xgroupExpUnroll)
	sums := make([]VecVirtual, k)
	for i := range sums {
		sums[i] = isa.Vec()
		VXORPD(sums[i], sums[i], sums[i])
	}
	HoldExpF32For(p, isa, Ln2One)
	defer p.Release()
	labels := make([]Op, k)
	for i := range labels {
		labels[i] = x.xgroupLabel(i)
	}
	step := func(u int, guard bool, load, store func(i, j int, y VecVirtual)) {
		x.expStep(u, lo, guard, func(i int, y VecVirtual) { VSUBPS_BCST(mx.Offset(8*i), y, y) }, labels, cols, sums, load, store)
	}
	Loop(pre+"exp", n, r.lanes, xgroupExpUnroll, func(u int) {
		step(u, !fast, func(i, j int, y VecVirtual) {
			VMOVUPS(ls.at(i, r.vb*j), y)
		}, func(i, j int, y VecVirtual) {
			VMOVUPS(y, ds.at(i, r.vb*j))
		})
		x.stepColumns(cols, u)
		r.advanceSlots(ls, k, u)
		if x.withDS {
			r.advanceSlots(ds, k, u)
		}
	}, func() {
		step(1, true, func(i, _ int, y VecVirtual) {
			r.mask.LoadFill(ls.at(i, 0), y, r.negInf)
		}, func(i, _ int, y VecVirtual) {
			if k > 1 {
				r.mask.Store(y, ds.at(i, 0)) // read back after the next group's passes
			} else {
				VMOVUPS(y, xgroupTail(loc, i))
			}
		})
	})
	return groupTree(r.fill(sums), VADDPD, false)
}

// xgroupDS emits ds for the k rows at the slots at (their labels at lab):
// g/Z in float32, the scale pass over the e in ds (solo: the tail from
// xgroupTail), then ds[t] = -g * (O/Z) at each target.
func (x *xentRows) xgroupDS(pre string, k int, at slots, lab Mem, o, z VecVirtual, loc xresLocals) {
	r, isa := x.row, x.isa
	kf, dt := x.dsFactors(o, z)
	storeLow32(dt, loc.tmp)
	kvs := make([]VecVirtual, k)
	for i := range kvs {
		kvs[i] = x.resFactor(kf, k, i, loc)
	}
	Comment("Scale pass: ds = e * g/Z.")
	ds, n := x.xgroupSlots(at.a, k, at)
	Loop(pre+"scale", n, r.lanes, xgroupScaleUnroll, func(u int) {
		for j := 0; j < u; j++ {
			for i, kv := range kvs {
				y, m := isa.Vec(), ds.at(i, r.vb*j)
				VMULPS(m, kv, y)
				VMOVUPS(y, m)
			}
		}
		r.advanceSlots(ds, k, u)
	}, func() {
		for i, kv := range kvs {
			y := isa.Vec()
			if k > 1 {
				r.mask.Load(ds.at(i, 0), y)
				VMULPS(y, kv, y)
			} else {
				VMULPS(xgroupTail(loc, 0), kv, y)
			}
			r.mask.Store(y, ds.at(i, 0))
		}
	})
	x.resTargetDSAt(at, k, loc, lab)
}
