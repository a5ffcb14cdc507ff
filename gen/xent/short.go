// Short rows: two at a time.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// shortVecs is the longest row (in vectors: 1024 bytes AVX-512, 512
// AVX2) that takes the short path: two rows at a time, one vector of each
// per step (the exp pass: shortExpUnroll), so that the latency chains of
// their reductions and logs overlap (one short row alone is bound by
// them). A row left over, or one of a pair that cannot take it, runs the
// same code alone (one slot): each slot's arithmetic is the same in both,
// so a row's bits do not depend on its neighbour (rows stand alone).
const shortVecs = 16

// shortCols returns the longest row of the short path, in elements.
func (r *row) shortCols() int { return shortVecs * r.lanes }

// at addresses slot i's row at base: slot 1 is the row after slot 0's.
func (r *row) at(base Register, disp, i int) Mem {
	if i == 0 {
		return Mem{Base: base, Disp: disp}
	}
	return Mem{Base: base, Index: r.cols, Scale: uint8(r.d.Size), Disp: disp}
}

// shortXentOK says whether CrossEntropy has the short path: float64
// (float32 takes the four-row path).
func (r *row) shortXentOK() bool { return r.d.Size == 8 }

// targetDist returns, for slot i, t - l in lane l (t the slot's label, as
// an integer as wide as the elements): the target's lane of the first
// vector is the one that holds 0, and each next vector's distances are
// lanes less (see stepDist).
func (x *xentRows) targetDist(i int) VecVirtual {
	r, isa, d := x.row, x.isa, x.d
	t := GP64()
	MOVLQSX(Mem{Base: x.labp, Disp: 4 * i}, t)
	v := isa.Vec()
	broadcastGP(isa, d, t, v)
	if d.Size == 4 {
		VPSUBD(r.p.LaneIndex(d, isa.VB), v, v)
	} else {
		VPSUBQ(r.p.LaneIndex(d, isa.VB), v, v)
	}
	return v
}

// stepDist moves the target distances on by a vector.
func (x *xentRows) stepDist(v VecVirtual) {
	if x.d.Size == 4 {
		VPSUBD(x.p.U32(fmt.Sprintf("xent_lanes32_%d", x.lanes), uint32(x.lanes)), v, v)
	} else {
		VPSUBQ(x.p.U64(fmt.Sprintf("xent_lanes64_%d", x.lanes), uint64(x.lanes)), v, v)
	}
}

// atTarget sets the lane of x where dist is 0: to -Inf (inf) or 0.
func (x *xentRows) atTarget(v, dist VecVirtual, inf bool) {
	d := x.d
	if x.isa.AVX512 {
		k := K()
		switch {
		case inf && d.Size == 4:
			VPTESTNMD(dist, dist, k)
		case inf:
			VPTESTNMQ(dist, dist, k)
		case d.Size == 4:
			VPTESTMD(dist, dist, k)
		default:
			VPTESTMQ(dist, dist, k)
		}
		switch {
		case inf:
			d.MOVU(x.negInf, k, v)
		case d.Size == 4:
			VMOVAPS_Z(v, k, v)
		default:
			VMOVAPD_Z(v, k, v)
		}
		return
	}
	eq := x.isa.Vec()
	if d.Size == 4 {
		VPCMPEQD(x.p.U32("zero32", 0), dist, eq)
	} else {
		VPCMPEQQ(x.p.U64("zero64", 0), dist, eq)
	}
	if inf {
		d.BLENDV(eq, x.negInf, v, v)
	} else {
		d.ANDN(v, eq, v)
	}
}

// targetAddr returns a register addressing slot i's row at base, and
// slot i's label.
func (x *xentRows) targetAddr(base Register, i int) (Register, Register) {
	b, t := GP64(), GP64()
	LEAQ(x.at(base, 0, i), b)
	MOVLQSX(Mem{Base: x.labp, Disp: 4 * i}, t)
	return b, t
}

// short emits CrossEntropy for k rows (1 or 2) of the short path: the
// passes of the long rows, one vector of each row per step, the target's
// lane found by its distance in every vector. A negative label jumps to
// ignored, a row for the caller's slow path to special (k = 2: both to
// the first row alone). float64 only (float32 takes the four-row path).
func (x *xentRows) short(pre string, k int, ignored, special string) {
	for i := 0; i < k; i++ {
		t := GP64()
		MOVLQSX(Mem{Base: x.labp, Disp: 4 * i}, t)
		TESTQ(t, t)
		JS(LabelRef(ignored))
	}
	ms := x.shortMax(pre, k, special)
	xe := newXentExpF64(x.p, x.isa)
	Comment("s_t - max (back to the locals, for the loss) and e_t =",
		"exp(s_t - max), both slots' in one vector: slot i's in lane i.")
	dt := pairMem(x.sts[:k])
	VSUBPD(pairLanes(ms), dt, dt)
	storeLanes(dt, x.sts[:k])
	ev := x.isa.Vec()
	VMOVAPD(dt, ev.AsX())
	xe.exp([]VecVirtual{ev})
	storeLanes(ev.AsX(), x.ets[:k])
	sums := x.shortExp(pre, k, ms, xe)
	o, z := x.pairLoss(sums)
	if x.withDS {
		kvs, dt := x.pairDS(o, z, k)
		x.shortScale(pre, kvs)
		x.pairStoreDT(dt, k)
	}
}

// shortMax emits the max pass of the short path's k slots, the target's
// lane left out, stores each slot's s_t, and returns the maxima
// (broadcast); the margin and finiteness as the long rows' (to special).
func (x *xentRows) shortMax(pre string, k int, special string) []VecVirtual {
	r, d, isa, p := x.row, x.d, x.isa, x.p
	Comment("Max pass, the target's lane left out.")
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(x.srcp, ptr)
	acc, dist := make([]VecVirtual, k), make([]VecVirtual, k)
	for i := range acc {
		acc[i] = isa.Vec()
		d.MOVU(r.negInf, acc[i])
		dist[i] = x.targetDist(i)
	}
	one := func(load func(i int, v VecVirtual)) {
		for i := range acc {
			v := isa.Vec()
			load(i, v)
			x.atTarget(v, dist[i], true)
			d.MAX(v, acc[i], acc[i])
			x.stepDist(dist[i])
		}
	}
	Loop(pre+"smax", n, r.lanes, 1, func(int) {
		one(func(i int, v VecVirtual) { d.MOVU(r.at(ptr, 0, i), v) })
		ADDQ(U32(r.vb), ptr)
	}, func() {
		one(func(i int, v VecVirtual) { r.mask.LoadFill(r.at(ptr, 0, i), v, r.negInf) })
	})
	ms := make([]VecVirtual, k)
	for i := range acc {
		HMax(d, acc[i])
		Comment("max = max(others' max, s_t); the margin and finiteness as the long rows'.")
		b, t := x.targetAddr(x.srcp, i)
		st, m, gap := XMM(), XMM(), XMM()
		VMOVSD(Mem{Base: b, Index: t, Scale: 8}, st)
		VMOVSD(st, x.sts[i])
		mx := acc[i].AsX()
		VMAXSD(st, mx, m)
		VSUBSD(m, mx, gap)
		VUCOMISD(p.F64("margin64", -confidentMargin64), gap)
		JCS(LabelRef(special))
		r.finiteOr(m, special)
		ms[i] = isa.Vec()
		d.BCAST(m, ms[i])
	}
	return ms
}

// shortExpUnroll is the number of vectors of each slot a step of the
// short path's exp pass takes: AVX-512 has the registers for two (four
// exps in flight), AVX2 for one.
func shortExpUnroll(isa ISA) int {
	if isa.AVX512 {
		return 2
	}
	return 1
}

// shortExp emits the exp pass of the short path's k slots: e = exp(s -
// max), the target's lane 0, stored into ds (the tails' e into etails),
// and returns each slot's sum O in lane 0. The sums are plain: a lane
// adds at most shortVecs = 16 e, and with the reduction's adds (three
// AVX-512, two AVX2) O is within 19 roundings, 2^-48.7 relative, inside
// the contract's 2^-46 (the long rows compensate theirs, as Softmax).
func (x *xentRows) shortExp(pre string, k int, ms []VecVirtual, xe xentExpF64) []VecVirtual {
	r, d, isa := x.row, x.d, x.isa
	Comment("Exp pass: e = exp(s - max), the target's lane 0, summed.")
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(x.srcp, ptr)
	var out GPVirtual
	if x.withDS {
		out = GP64()
		MOVQ(x.dsp, out)
	}
	// AVX2 subtracts the maxima from the stack: two rows' exps, maxima,
	// sums and target distances take more than its 16 registers.
	mops := make([]Op, k)
	for i, m := range ms {
		mops[i] = m
		if !isa.AVX512 {
			mops[i] = x.mtmp.Offset(r.vb * i)
			d.MOVU(m, mops[i])
		}
	}
	sums, dist := make([]VecVirtual, k), make([]VecVirtual, k)
	for i := range sums {
		sums[i] = isa.Vec()
		VXORPD(sums[i], sums[i], sums[i])
		dist[i] = x.targetDist(i)
	}
	// step takes u vectors of each slot: their exps in flight together,
	// then each added in order (the bits of one vector a step).
	step := func(u int, load func(i, j int, v VecVirtual), store func(i, j int, v VecVirtual)) {
		xs := make([]VecVirtual, 0, u*k)
		for j := 0; j < u; j++ {
			for i := 0; i < k; i++ {
				v := isa.Vec()
				load(i, j, v)
				d.SUB(mops[i], v, v)
				xs = append(xs, v)
			}
		}
		xe.exp(xs)
		for q, v := range xs {
			i, j := q%k, q/k
			x.atTarget(v, dist[i], false)
			x.stepDist(dist[i])
			if x.withDS {
				store(i, j, v)
			}
			VADDPD(v, sums[i], sums[i])
		}
	}
	Loop(pre+"sexp", n, r.lanes, shortExpUnroll(isa), func(u int) {
		step(u, func(i, j int, v VecVirtual) { d.MOVU(r.at(ptr, r.vb*j, i), v) },
			func(i, j int, v VecVirtual) { d.MOVU(v, r.at(out, r.vb*j, i)) })
		ADDQ(U32(r.vb*u), ptr)
		if out != nil {
			ADDQ(U32(r.vb*u), out)
		}
	}, func() {
		step(1, func(i, _ int, v VecVirtual) { r.mask.LoadFill(r.at(ptr, 0, i), v, r.negInf) },
			func(i, _ int, v VecVirtual) { d.MOVU(v, x.etails[i]) })
	})
	for _, s := range sums {
		HSumPD(s)
	}
	return sums
}

// shortScale emits the scale pass of the short path's slots: ds = e *
// g/Z, kvs[i] slot i's factor.
func (x *xentRows) shortScale(pre string, kvs []VecVirtual) {
	r, d, isa := x.row, x.d, x.isa
	Comment("Scale pass: ds = e * g/Z.")
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(x.dsp, ptr)
	Loop(pre+"sscale", n, r.lanes, 1, func(int) {
		for i, kv := range kvs {
			v := isa.Vec()
			d.MUL(r.at(ptr, 0, i), kv, v)
			d.MOVU(v, r.at(ptr, 0, i))
		}
		ADDQ(U32(r.vb), ptr)
	}, func() {
		for i, kv := range kvs {
			v := isa.Vec()
			d.MUL(x.etails[i], kv, v)
			r.mask.Store(v, r.at(ptr, 0, i))
		}
	})
}

// shortRows emits the short path's row loop for CrossEntropy: pairs, then
// a row alone. It goes on at done.
func (x *xentRows) shortRows(pre string, done string) {
	r := x.row
	ptrs := x.rowPtrs()
	Label(pre + "pairs")
	CMPQ(x.rows, U8(2))
	JL(LabelRef(pre + "alone"))
	x.short(pre+"p", 2, pre+"alone", pre+"alone")
	for i := 0; i < 2; i++ {
		r.next(ptrs, x.lossp, x.labp)
	}
	SUBQ(U8(2), x.rows)
	JMP(LabelRef(pre + "pairs"))

	Label(pre + "alone")
	TESTQ(x.rows, x.rows)
	JE(LabelRef(done))
	x.short(pre+"o", 1, pre+"oignored", pre+"ospecial")
	Label(pre + "onext")
	r.next(ptrs, x.lossp, x.labp)
	DECQ(x.rows)
	JMP(LabelRef(pre + "pairs"))

	x.rowExits(pre + "o")
}
