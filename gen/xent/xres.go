// CrossEntropy's rows of up to xresVecs vectors, float32 AVX-512: eight
// rows at a time, held in registers from the load to the ds store.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xresVecs is the most vectors of a row that the resident path takes: a
// row of v vectors ((v-1)*lanes < cols <= v*lanes, the last one masked)
// goes with seven others through one code with no loop, as LogSumExp's
// resident rows (lse_resident.go): its target's lane set to -Inf by a
// compare of its label with the lanes' columns, the others' maxima
// reduced by one transposing tree (groupTree: row i in 64-bit lane i),
// s_t broadcast from each row and blended into the same lanes, the exps
// taken in place, the sums O widened and reduced by a float64 tree, and
// the loss (quadLoss's arithmetic, lossLanes) and ds's factors taken once
// for the eight rows in the lanes of one vector; with ds, the exps are
// scaled and stored, and ds at each target written after. A group's
// losses are finished after the next group's passes, as the four-row
// path's. A row left over, or one of a group that cannot take the group
// code (an ignored row, a row for the caller), runs the same code solo
// (slot 0 fed to every input of the trees, whose inputs' lanes are
// treated alike), so a row's bits do not depend on its neighbours (rows
// stand alone). Longer rows take the looped eight-row path (xgroup.go):
// unrolled here, a group of them would be long code (bench/TUNING.md).
const xresVecs = 3

// xresHeldVecs is the most vectors of a row that the resident path holds
// whole in registers from the load to the ds store: eight rows of three
// have not the registers beside the max tree and the exp. Rows of three
// keep their tails in the stack instead (xres3.go).
const xresHeldVecs = 2

// The resident exp pass's register budget (resExp): the ZMM registers,
// the vectors live beside the values (e_t, s_t - max, the clamp bound),
// the constants HoldExpF32For keeps (Ln2One: the table, the shift,
// log2e, ln2 and the cubic's three), and the temporaries of a vector's
// exp.
const (
	zmmRegs      = 32
	xresExpLive  = 3
	xresHeldExp  = 7
	xresExpTemps = expTempsF32ZMM - 1
)

// xresRows is the rows of a group: one a float64 lane.
const xresRows = 8

// xresOK says whether CrossEntropy has the resident path: AVX-512 float32.
func (r *row) xresOK() bool { return r.d.Size == 4 }

// resGroupRows is the rows of a group: one a float64 lane (xresRows on
// AVX-512, xres2Rows on AVX2).
func (r *row) resGroupRows() int { return r.groupRows() }

// resMaxVecs is the longest row of the resident path, in vectors.
func (r *row) resMaxVecs() int {
	if r.d.Size == 8 && r.isa.AVX512 {
		return xres64Vecs
	}
	if r.d.Size == 8 {
		return xres64yVecs
	}
	if r.isa.AVX512 {
		return xresVecs
	}
	return xres2ReloadVecs
}

// resHeldVecs is the longest row that the resident path holds in
// registers, in vectors; longer ones keep their tails in the stack
// (AVX-512 float32, xres3.go), are read twice (AVX2 float32, xres2r.go)
// or pass through the scratch block (float64, xres64y.go).
func (r *row) resHeldVecs() int {
	switch {
	case r.d.Size == 8 && r.isa.AVX512:
		return xres64HeldVecs
	case r.d.Size == 8:
		return xres64yHeldVecs
	case r.isa.AVX512:
		return xresHeldVecs
	}
	return xres2Vecs
}

// xresLocals are the resident path's stack slots.
type xresLocals struct {
	tmp  Mem // 32 bytes: ds at the eight targets
	left Mem // 8 bytes: the rows left to run solo
	// The pending group's e_t, O and s_t - max (three vectors, see
	// resGroup), and whether there is one (8 bytes).
	pend, pending Mem
	// Rows of more than xresHeldVecs vectors with ds: their e, 64-byte
	// aligned (see resScratch). AVX2 float32 (rows of more than
	// xres2Vecs): the rows as the max pass loaded them, then with ds their
	// e; float64 rows of more than xres64HeldVecs (AVX2: xres64yHeldVecs)
	// vectors: the rows, then their e (res64LoadScratch).
	scratch Mem
	// AVX2: e_t and s_t - max through the exp pass and the sums (64 bytes;
	// float64: and the maxima, 96); AVX-512 float32 rows of the tail path
	// with ds (resExpTail): e_t and s_t - max (128 bytes), and the rows'
	// sums in sums (xresRows vectors).
	hold, sums Mem
}

// resScratch returns the scratch block, aligned to 64 bytes (resRows
// takes it once, as x.block, for every group of the function).
func (x *xentRows) resScratch(loc xresLocals) Mem {
	b := GP64()
	LEAQ(loc.scratch, b)
	ADDQ(U8(63), b)
	ANDQ(I8(-64), b)
	return Mem{Base: b}
}

// resRows emits the resident path's row loops, one for each v up to
// resMaxVecs; longer rows go on past them.
func (x *xentRows) resRows(pre string, loc xresLocals, done string) {
	r := x.row
	what := ""
	if x.d.Size == 8 {
		what = " float64"
	}
	if x.part.last > r.resHeldVecs() {
		x.block = x.resScratch(loc)
	}
	for v := x.part.first; v <= x.part.last; v++ {
		vp := fmt.Sprintf("%s%d", pre, v)
		Comment(fmt.Sprintf("Rows of %d%s vectors, the last masked: resident.", v, what))
		CMPQ(r.cols, U32(v*r.lanes))
		JA(LabelRef(vp + "skip"))
		cnt := GP64()
		MOVQ(r.cols, cnt)
		SUBQ(U32((v-1)*r.lanes), cnt)
		mask := NewMask(x.p, x.isa, x.d, cnt) // the last vector's lanes
		x.resRowLoop(vp, loc, done, func(pre string, k int, s slots, bail string) {
			if x.d.Size == 4 {
				x.resGroup(pre, v, k, s, mask, loc, bail)
			} else {
				x.res64Group(pre, v, k, s, mask, loc, bail)
			}
		}, func(slots) { x.resFinishPending(loc) })
		Label(vp + "skip")
	}
}

// resRowLoop emits a row loop of eight-row groups: groups while a group's
// rows are left, else rows solo; a group with a negative label or a row
// for the caller runs its rows solo. group emits k rows (the group, or 1:
// solo) at the slots s (s.a is srcp itself), jumping to bail for a row of
// the caller's. float32 groups, and AVX2 float64 groups, are pipelined (a group's losses left
// pending, flushed by pend before rows go solo). It goes on at done.
func (x *xentRows) resRowLoop(pre string, loc xresLocals, done string, group func(pre string, k int, s slots, bail string), pend func(s slots)) {
	r := x.row
	pipelined := x.d.Size == 4 || !x.isa.AVX512
	s := slots{a: x.srcp.(GPVirtual), b: GP64(), rb: GP64(), rb3: GP64()}
	MOVQ(r.cols, s.rb)
	SHLQ(U8(x.d.Shift), s.rb)
	LEAQ(Mem{Base: s.rb, Index: s.rb, Scale: 2}, s.rb3)
	left := loc.left
	ptrs := x.rowPtrs()
	if pipelined {
		MOVQ(U32(0), loc.pending)
	}

	Label(pre + "groups")
	g := r.resGroupRows()
	CMPQ(x.rows, U8(g))
	JL(LabelRef(pre + "rest"))
	l := GP32()
	MOVL(Mem{Base: x.labp}, l)
	for i := 1; i < g; i++ {
		ORL(Mem{Base: x.labp, Disp: 4 * i}, l)
	}
	TESTL(l, l)
	JS(LabelRef(pre + "bail"))
	group(pre+"g", g, s, pre+"bail")
	for _, b := range ptrs {
		LEAQ(Mem{Base: b, Index: s.rb, Scale: uint8(g)}, b)
	}
	ADDQ(U32(x.d.Size*g), x.lossp)
	ADDQ(U32(4*g), x.labp)
	SUBQ(U8(g), x.rows)
	JMP(LabelRef(pre + "groups"))

	Label(pre + "bail")
	MOVQ(U32(g), left)
	if pipelined {
		JMP(LabelRef(pre + "flush"))
	} else {
		JMP(LabelRef(pre + "solo"))
	}
	Label(pre + "rest")
	MOVQ(x.rows, left)
	if pipelined {
		Label(pre + "flush")
		CMPQ(loc.pending, U8(0))
		JE(LabelRef(pre + "solo"))
		pend(s)
		MOVQ(U32(0), loc.pending)
	}
	Label(pre + "solo")
	CMPQ(left, U8(0))
	JNE(LabelRef(pre + "one"))
	TESTQ(x.rows, x.rows)
	JE(LabelRef(done))
	JMP(LabelRef(pre + "groups"))
	Label(pre + "one")
	t := GP64()
	MOVLQSX(Mem{Base: x.labp}, t)
	TESTQ(t, t)
	JS(LabelRef(pre + "oignored"))
	group(pre+"o", 1, s, pre+"ospecial")
	Label(pre + "onext")
	r.next(ptrs, x.lossp, x.labp)
	DECQ(x.rows)
	DECQ(left)
	JMP(LabelRef(pre + "solo"))

	x.rowExits(pre + "o")
}

// resGroup emits CrossEntropy for the k rows (eight, or 1: solo) of v
// vectors at srcp; a row for the caller (a max that is not finite, or a
// confident row past confidentMargin) jumps to bail. A group (pipelined)
// leaves its losses pending (see resRowLoop) and finishes the pending
// group's; the arithmetic is the same.
func (x *xentRows) resGroup(pre string, v, k int, s slots, mask Mask, loc xresLocals, bail string) {
	isa := x.isa
	var xs [][]VecVirtual
	var et, dt, o VecVirtual
	if k > 1 {
		LEAQ(Mem{Base: s.a, Index: s.rb3, Scale: 1}, s.b)
	}
	// With ds, the rows held whole scale their e before the pending
	// group's losses, the others after (bench/TUNING.md). s_t: after the
	// loads of the rows held whole, before those of the others.
	when := dsBefore
	switch {
	case x.resTailOK(v):
		es := x.block
		var om []VecVirtual
		st := x.resTargets(s, k)
		xs, om = x.resLoadTail(v, k, s, mask, es)
		m, _ := x.resMax(om, func() VecVirtual { return st }, bail)
		et, dt, o = x.resExpTail(v, xs, m, st, loc, es)
		when = dsAfter
	case v <= x.resHeldVecs():
		var om []VecVirtual
		xs, om = x.resLoad(v, k, s, mask)
		m, st := x.resMax(om, func() VecVirtual { return x.resTargets(s, k) }, bail)
		if !isa.AVX512 {
			et, dt, o = x.resExpSumsY(v, xs, m, st, loc)
		} else {
			et, dt = x.resExp(v, xs, m, st)
			o = x.resSums(v, xs)
		}
	default: // AVX2: read twice, through the scratch block (xres2r.go)
		when = dsAfter
		keep := x.block
		st := x.resTargets(s, k)
		m, _ := x.resMax(x.resMaxKeepY(v, k, s, mask, keep), func() VecVirtual { return st }, bail)
		et, dt, o = x.resExpReloadY(v, k, m, st, loc, keep)
	}
	x.resFinish(pre, k, et, dt, o, loc, when, func(z VecVirtual) {
		x.resDS(v, k, xs, o, z, s, mask, loc)
	}, func() { x.resFinishPending(loc) })
}

// dsWhen is when a group's ds runs (resFinish): before the pending group
// is finished, after, or with the group itself, once pending (by pend).
type dsWhen int

const (
	dsBefore dsWhen = iota
	dsAfter
	dsPending
)

// resFinish emits what follows a group's passes, from e_t, s_t - max and
// O (float64, row i in lane i): solo (k = 1), the loss and, with ds,
// ds(z) (z: Z = e_t + O); a group leaves its losses pending and finishes
// the pending group (pend), ds(z) when says (dsPending: pend's).
func (x *xentRows) resFinish(pre string, k int, et, dt, o VecVirtual, loc xresLocals, when dsWhen, ds func(z VecVirtual), pend func()) {
	isa := x.isa
	if k == 1 {
		z := isa.Vec()
		l := x.lossLanes(et, o, z, func() VecVirtual { return dt })
		x.resStoreLoss(l, k, Mem{Base: x.lossp})
		if x.withDS {
			ds(z)
		}
		return
	}
	withZ := func() {
		z := isa.Vec()
		VADDPD(o, et, z) // Z = e_t + O, as lossLanes
		ds(z)
	}
	if x.withDS && when == dsBefore {
		withZ()
	}
	x.resPend(pre, et, o, dt, loc, pend)
	if x.withDS && when == dsAfter {
		withZ()
	}
}

// resPend finishes the pending group (pend), if any, and leaves this
// group's e_t, O and s_t - max pending.
func (x *xentRows) resPend(pre string, et, o, dt VecVirtual, loc xresLocals, pend func()) {
	CMPQ(loc.pending, U8(0))
	JE(LabelRef(pre + "nopend"))
	pend()
	Label(pre + "nopend")
	Comment("This group's losses pending.")
	VMOVUPD(et, loc.pend)
	VMOVUPD(o, loc.pend.Offset(64))
	VMOVUPD(dt, loc.pend.Offset(128))
	MOVQ(U32(1), loc.pending)
}

// resFinishPending emits the losses of the pending group, the eight rows
// before lossp, from the values it left on the stack.
func (x *xentRows) resFinishPending(loc xresLocals) {
	isa := x.isa
	Comment("The pending group's losses.")
	et, o, dt, z := isa.Vec(), isa.Vec(), isa.Vec(), isa.Vec()
	VMOVUPD(loc.pend, et)
	VMOVUPD(loc.pend.Offset(64), o)
	VMOVUPD(loc.pend.Offset(128), dt)
	l := x.lossLanes(et, o, z, func() VecVirtual { return dt })
	g := x.resGroupRows()
	x.resStoreLoss(l, g, Mem{Base: x.lossp, Disp: -x.d.Size * g})
}

// resStoreLoss stores the k losses l (float64, row i in lane i) to loss.
func (x *xentRows) resStoreLoss(l VecVirtual, k int, loss Mem) {
	if x.d.Size == 8 {
		if k == 1 {
			VMOVSD(l.AsX(), loss)
		} else {
			VMOVUPD(l, loss)
		}
		return
	}
	if !x.isa.AVX512 {
		x.resStoreLossY(l, k, loss)
		return
	}
	lf := x.isa.Vec()
	VCVTPD2PS(l, lf.AsY())
	if k == 1 {
		VMOVSS(lf.AsX(), loss)
		return
	}
	// A masked store: ZMM forms only (no AVX512VL).
	lanes, km := GP32(), K()
	MOVL(U32(1<<k-1), lanes)
	KMOVW(lanes, km)
	VMOVUPS(lf, km, loss)
}

// resLoad loads the k rows (v vectors each, the last through mask), each
// target's lane set to -Inf (so that it stays out of the max, and its e
// out of the sum), and returns them with the others' maxima, a vector a
// row.
func (x *xentRows) resLoad(v, k int, s slots, mask Mask) (xs [][]VecVirtual, om []VecVirtual) {
	if !x.isa.AVX512 {
		return x.resLoadY(v, k, s, mask)
	}
	return x.resLoadKeep(v, k, s, mask, nil)
}

// resLoadKeep is resLoad on AVX-512, each row's last vector passed to
// tail (when not nil) once the row's max has it.
func (x *xentRows) resLoadKeep(v, k int, s slots, mask Mask, tail func(i int, y VecVirtual)) (xs [][]VecVirtual, om []VecVirtual) {
	d, isa, p, r := x.d, x.isa, x.p, x.row
	Comment("Load the rows, each target's lane -Inf; the others' max.")
	ninf := isa.Vec()
	VMOVUPS(r.negInf, ninf)
	cols := make([]VecVirtual, v)
	for j := range cols {
		cols[j] = isa.Vec()
		idx := make([]Constant, r.lanes)
		for l := range idx {
			idx[l] = U32(uint32(j*r.lanes + l))
		}
		VMOVDQU32(p.Table(fmt.Sprintf("xres_cols%d", j), idx), cols[j])
	}
	xs = make([][]VecVirtual, k)
	om = make([]VecVirtual, k)
	for i := range xs {
		xs[i] = make([]VecVirtual, v)
		lab := Mem{Base: x.labp, Disp: 4 * i}
		for j := range xs[i] {
			y, o := isa.Vec(), K()
			if j == v-1 {
				mask.Load(s.at(i, r.vb*j), y)
				VPCMPD_BCST(U8(cmpNE), lab, cols[j], mask.K(), o)
			} else {
				d.MOVU(s.at(i, r.vb*j), y)
				VPCMPD_BCST(U8(cmpNE), lab, cols[j], o)
			}
			VBLENDMPS(y, ninf, o, y) // the target's and the masked lanes: -Inf
			xs[i][j] = y
		}
		om[i] = xs[i][0]
		for j := 1; j < v; j++ {
			a := isa.Vec()
			VMAXPS(xs[i][j], om[i], a)
			om[i] = a
		}
		if tail != nil {
			tail(i, xs[i][v-1])
		}
	}
	return xs, om
}

// resMax reduces the others' maxima om of the rows and returns max =
// max(others' max, s_t) and s_t (from stf, after the tree: see
// resTargets), row i in 64-bit lane i (both halves), jumping to bail when
// a row is the caller's.
func (x *xentRows) resMax(om []VecVirtual, stf func() VecVirtual, bail string) (m, st VecVirtual) {
	d, isa, p, r := x.d, x.isa, x.p, x.row
	omt := groupTree(r.fill(om), d.MAX, d.Size == 4)
	st = stf()
	m = isa.Vec()
	d.MAX(st, omt, m) // a NaN s_t kept
	margin := p.F32("margin32", -confidentMargin)
	if d.Size == 8 {
		margin = p.F64("margin64", -confidentMargin64)
	}
	Comment("Others' max more than confidentMargin (float64: confidentMargin64)",
		"below max, or NaN: the caller's.")
	gap, lim := isa.Vec(), isa.Vec()
	d.SUB(m, omt, gap)
	d.MOVU(margin, lim)
	far := Compare(d, CmpNLEUQ, gap, lim) // !(-margin <= gap)
	AnyTrue([]Pred{far})
	JNE(LabelRef(bail))
	r.groupFinite(m, bail)
	return m, st
}

// resTarget returns e_t = exp(s_t - max) and s_t - max (exact) in
// float64, row i in lane i, from the rows' maxima m and targets st, and
// the exp's lower clamp (SoftmaxF32Lo in every lane) for the exp pass.
func (x *xentRows) resTarget(m, st VecVirtual) (et, dt, lo VecVirtual) {
	isa, p, r := x.isa, x.p, x.row
	Comment("e_t = exp(s_t - max) and s_t - max (exact), row i in float64 lane i.")
	lo = isa.Vec()
	VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	ev := isa.Vec()
	VSUBPS(m, st, ev)
	ExpSoftmaxF32Core(p, []VecVirtual{ev}, lo)
	et = r.treeF64(ev)
	dt = r.treeF64(st)
	VSUBPD(r.treeF64(m), dt, dt)
	return et, dt, lo
}

// resExp takes e = exp(s - max) of the rows xs in place, and returns e_t =
// exp(s_t - max) and s_t - max in float64, row i in lane i.
func (x *xentRows) resExp(v int, xs [][]VecVirtual, m, st VecVirtual) (et, dt VecVirtual) {
	isa, p := x.isa, x.p
	et, dt, lo := x.resTarget(m, st)
	Comment("Exp pass: e = exp(s - max) in place (the target's lanes: 0).")
	all := x.lessMax(xs, m)
	if !isa.AVX512 {
		x.resExpY(all, lo)
		return et, dt
	}
	HoldExpF32For(p, isa, Ln2One)
	defer p.Release()
	// Live through the exps: the values, e_t, s_t - max, lo and the held
	// constants, one register spare; three temporaries a vector in flight.
	live := len(all) + xresExpLive + xresHeldExp + 1
	chunk := max(1, (zmmRegs-live)/xresExpTemps)
	Comment(fmt.Sprintf("Register budget: %d values + %d + %d held, %d a chunk.", len(all), xresExpLive, xresHeldExp, chunk))
	for c0 := 0; c0 < len(all); c0 += chunk {
		ExpSoftmaxF32Core(p, all[c0:min(c0+chunk, len(all))], lo)
	}
	return et, dt
}

// resSums returns the sums O of the rows' e (the target's lanes 0), in
// float64, row i in lane i: a row's vectors added in float32 (one
// rounding, as the four-row path), widened, and reduced by groupTree.
func (x *xentRows) resSums(v int, xs [][]VecVirtual) VecVirtual {
	Comment("O, row i in float64 lane i.")
	sums := make([]VecVirtual, len(xs))
	for i := range xs {
		a := xs[i][0]
		if v == 2 {
			a = x.isa.Vec()
			VADDPS(xs[i][1], xs[i][0], a)
		}
		lw, hw := Widen2(a)
		VADDPD(hw, lw, lw)
		sums[i] = lw
	}
	return groupTree(x.row.fill(sums), VADDPD, false)
}

// resDS emits ds for the rows: g/Z in float32, the held e scaled and
// stored, then ds[t] = -g * (O/Z) at each target, as quadDS.
func (x *xentRows) resDS(v, k int, xs [][]VecVirtual, o, z VecVirtual, s slots, mask Mask, loc xresLocals) {
	isa := x.isa
	kf, dt := x.dsFactors(o, z)
	storeLow32(dt, loc.tmp)
	if !isa.AVX512 && k > 1 {
		VMOVUPS(kf.AsX(), loc.tmp.Offset(16))
	}
	var es Mem
	if v > x.resHeldVecs() {
		es = x.block
	}
	Comment("ds = e * g/Z, the rows' vectors as held (or from the scratch block).")
	ds := x.dsSlots(s, k)
	for i := 0; i < k; i++ {
		b := x.resFactor(kf, k, i, loc)
		x.scaleRow(i, v, b, xs, es, ds, mask)
	}
	x.resTargetDS(ds, k, loc)
}

// resFactor returns lane i of the factors kf (float32; AVX2 groups: also
// stored at loc.tmp+16) in every lane.
func (x *xentRows) resFactor(kf VecVirtual, k, i int, loc xresLocals) VecVirtual {
	isa, p := x.isa, x.p
	b := isa.Vec()
	if k == 1 {
		VBROADCASTSS(kf.AsX(), b)
	} else if !isa.AVX512 {
		VBROADCASTSS(loc.tmp.Offset(16+4*i), b) // lane i of kf, stored below dt's
	} else {
		idx := isa.Vec()
		VMOVDQU32(p.U32(fmt.Sprintf("xent_lane32_%d", i), uint32(i)), idx)
		VPERMPS(kf, idx, b)
	}
	return b
}

// resTargetDS stores each row's ds at its target, -g*(O/Z), from the
// factors' lanes stored at loc.tmp.
func (x *xentRows) resTargetDS(ds slots, k int, loc xresLocals) {
	x.resTargetDSAt(ds, k, loc, Mem{Base: x.labp})
}

// resTargetDSAt is resTargetDS with the rows' labels at lab.
func (x *xentRows) resTargetDSAt(ds slots, k int, loc xresLocals, lab Mem) {
	Comment("ds at each target: minus the other entries' share.")
	for i := 0; i < k; i++ {
		row, t := GP64(), GP64()
		LEAQ(ds.at(i, 0), row)
		MOVLQSX(lab.Offset(4*i), t)
		at := Mem{Base: row, Index: t, Scale: uint8(x.d.Size)}
		if x.d.Size == 8 {
			w := GP64()
			MOVQ(loc.tmp.Offset(8*i), w)
			MOVQ(w, at)
		} else {
			w := GP32()
			MOVL(loc.tmp.Offset(4*i), w)
			MOVL(w, at)
		}
	}
}

// resLabel broadcasts slot i's label.
func (x *xentRows) resLabel(i int) VecVirtual {
	l := x.isa.Vec()
	VPBROADCASTD(Mem{Base: x.labp, Disp: 4 * i}, l)
	return l
}

// resTargets returns the rows' s_t, row i in 64-bit lane i (float32: both
// halves): each broadcast from its row, then blended by a tree of lane
// masks (row i's lanes taken from broadcast i; AVX-512 k-masks, AVX2
// immediates); solo: every lane.
func (x *xentRows) resTargets(s slots, k int) VecVirtual {
	isa, d, r := x.isa, x.d, x.row
	bcast, blend, blendImm := VBROADCASTSS, VBLENDMPS, VBLENDPS
	if d.Size == 8 {
		bcast, blend, blendImm = VBROADCASTSD, VBLENDMPD, VBLENDPD
		Comment("s_t of each row in its lane (solo: every lane).")
	} else {
		Comment("s_t of each row in its lanes (solo: every lane).")
	}
	if k == 1 {
		st, t := isa.Vec(), GP64()
		MOVLQSX(Mem{Base: x.labp}, t)
		bcast(Mem{Base: x.srcp, Index: t, Scale: uint8(d.Size)}, st)
		return st
	}
	g := r.resGroupRows()
	bs := make([]VecVirtual, g)
	for i := range bs {
		m, t := s.at(i, 0), GP64()
		MOVLQSX(Mem{Base: x.labp, Disp: 4 * i}, t)
		LEAQ(Mem{Base: m.Base, Index: t, Scale: uint8(d.Size)}, t)
		m.Base = t
		bs[i] = isa.Vec()
		bcast(m, bs[i])
	}
	per := r.lanes / g // lanes a row
	for bit := 1; bit < g; bit *= 2 {
		var lanes uint32
		for l := 0; l < r.lanes; l++ {
			if (l/per)&bit != 0 {
				lanes |= 1 << l
			}
		}
		var kb OpmaskVirtual
		if isa.AVX512 {
			gl := GP32()
			kb = K()
			MOVL(U32(lanes), gl)
			KMOVW(gl, kb)
		}
		next := make([]VecVirtual, len(bs)/2)
		for j := range next {
			// The lanes from the odd one (in place: AVX-512's masked
			// form reads its destination).
			if isa.AVX512 {
				blend(bs[2*j+1], bs[2*j], kb, bs[2*j])
			} else {
				blendImm(U8(lanes), bs[2*j+1], bs[2*j], bs[2*j])
			}
			next[j] = bs[2*j]
		}
		bs = next
	}
	return bs[0]
}

// lessMax subtracts from each row of xs (slot i's vectors) its max, lane i
// of m broadcast, in place, and returns the rows' vectors in order.
func (x *xentRows) lessMax(xs [][]VecVirtual, m VecVirtual) []VecVirtual {
	var all []VecVirtual
	for i := range xs {
		b := x.isa.Vec()
		x.row.laneBroadcast(m, i, b)
		for _, y := range xs[i] {
			x.d.SUB(b, y, y)
			all = append(all, y)
		}
	}
	return all
}

// scaleRow stores slot i's e (its v vectors: held in xs, or, where xs has
// none, read from the block es) times b to its ds row, the last vector
// through mask.
func (x *xentRows) scaleRow(i, v int, b VecVirtual, xs [][]VecVirtual, es Mem, ds slots, mask Mask) {
	r, d := x.row, x.d
	for j := 0; j < v; j++ {
		var y VecVirtual
		if xs != nil && xs[i][j] != nil {
			y = xs[i][j]
		} else {
			y = x.isa.Vec()
			d.MOVU(es.Offset(r.vb*(i*v+j)), y)
		}
		d.MUL(b, y, y)
		if j == v-1 {
			mask.Store(y, ds.at(i, r.vb*j))
		} else {
			d.MOVU(y, ds.at(i, r.vb*j))
		}
	}
}

// dsSlots returns the slots of the k rows' ds, beside the logits' s (their
// second base set here: the logits' are read by then).
func (x *xentRows) dsSlots(s slots, k int) slots {
	ds := slots{a: x.dsp.(GPVirtual), b: s.b, rb: s.rb, rb3: s.rb3}
	if k > 1 {
		LEAQ(Mem{Base: ds.a, Index: s.rb3, Scale: 1}, ds.b)
	}
	return ds
}
