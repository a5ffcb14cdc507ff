// CrossEntropy's rows of up to xquadBytes, float32: four at a time. AVX2
// runs the same code on YMM registers, branching where it lacks what
// AVX-512 has (mask registers, 32 registers); xquad2.go holds its own
// budgets and constants.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xquadBytes is the longest row (in bytes) of CrossEntropy's four-row
// path: four rows at a time, one vector of each per step, each row's
// target lane found by one compare of its label (broadcast) with the
// lanes' columns; the four maxima of the other entries and the four sums
// O reduced by one transposing tree each (Tree4); e_t, the four losses
// (both branches, blended) and ds's factors taken lane by lane in one
// vector each. A row left over, or one of a group that cannot take the
// group code (an ignored row, a row for the caller), runs the same code
// alone (solo: slot 0 only, its values standing for every slot of the
// trees, whose slots' lanes are treated alike; the lane-wise steps the
// same in every lane), so a row's bits do not depend on its neighbours
// (rows stand alone).
//
// On AVX-512, rows of up to xgroupVecs vectors go eight at a time
// instead (xres.go, xgroup.go).
//
// Longer rows amortize the single-row path's per-row work, and its
// unsplit vectors (no compare for the target's lane) win there
// (bench/TUNING.md).
const xquadBytes = 1536

// xquadOK says whether CrossEntropy has the four-row path.
func (r *row) xquadOK() bool { return xquadFor(r.isa, r.d) }

// xquadFor says whether CrossEntropy for isa and d has the four-row path:
// float32 on either ISA.
func xquadFor(isa ISA, d DType) bool { return d.Size == 4 }

// xquadCols returns the longest row of the four-row path, in elements.
func (r *row) xquadCols() int { return xquadBytes / r.d.Size }

// xquadSpanVecs is the longest row, in vectors, that the four-row path
// takes without the fast exp pass: the fast pass saves two operations a
// whole vector (the exp's clamp and zeroing), but needs each row's min
// (one more a vector, and a tree for the four), which pays only on longer
// rows. A row's path depends on cols only.
const xquadSpanVecs = 4

// xquadExpChunk is the number of vectors one exp core call of the exp pass
// takes: a row's two vectors of a step, three temporaries each.
const xquadExpChunk = 2

// xquadBudget is the ZMM budget of the four-row exp pass: 4 maxima, 4
// sums, 4 labels, 2 columns (see columns), a row's 2 vectors, lo, the
// exp's 7 held constants (HoldExpF32: the table, the reduction's and the
// polynomial's splats) and xquadExpChunk*3 exp temporaries (the rows'
// vectors go one row after another).
const xquadBudget = 4 + 4 + 4 + 2 + 2 + 1 + 7 + xquadExpChunk*3

func init() {
	if xquadBudget > 32 {
		panic(fmt.Sprintf("xquad: the exp pass needs %d ZMM registers, more than 32", xquadBudget))
	}
}

// xquadSeriesTop is the highest power of log1p's series in f (f <= 1/6,
// 2 atanh(f) = 2f (1 + f^2/3 + f^4/5 + ...)): up to f^9 leaves a relative
// truncation under f^10/11 < 2^-29, beneath float32 results.
const xquadSeriesTop = 9

// Compare predicates of the loss blend (VCMPPD).
const (
	cmpLEOQ = 0x12 // a <= b, ordered
)

// xquadLocals are the four-row path's stack slots: values kept across the
// exp pass, whose registers are all taken.
type xquadLocals struct {
	bufs    Mem // two xquadVals blocks: the group's (or solo row's), and the pending group's
	cur     Mem // 8 bytes: the address of the block the passes fill
	pend    Mem // 8 bytes: the address of the pending group's block
	pending Mem // 8 bytes: 1 while a group's losses are pending
	tmp     Mem // 16 bytes: ds at the four targets
	bc      Mem // AVX2: xquadBcBytes, the labels and maxima broadcast (xquad2.go)
}

// xquadValsBytes is the size of an xquadVals block.
const xquadValsBytes = 128 + 4*64

// xquadVals is a block of the stack holding what the losses (and ds's
// factors) of a group need from its passes, lane i slot i: s_t and the
// max (float32), e_t and O (float64), and with ds the tails' e; base
// holds its address. Two blocks take turns (see quadRows), so that the
// pending group's stay while the next group's passes fill the other.
type xquadVals struct{ base Register }

// vals loads the address of a block (loc.cur or loc.pend).
func vals(ptr Mem) xquadVals {
	b := GP64()
	MOVQ(ptr, b)
	return xquadVals{b}
}

func (v xquadVals) at(off int) Mem { return Mem{Base: v.base, Disp: off} }

// st: 16 bytes, float32, reloaded into every quarter.
func (v xquadVals) st() Mem { return v.at(0) }

// m: the maxima, as st.
func (v xquadVals) m() Mem { return v.at(16) }

// et: 32 bytes, float64, reloaded into both halves.
func (v xquadVals) et() Mem { return v.at(32) }

// o: the sums O, as et.
func (v xquadVals) o() Mem { return v.at(64) }

// tail: slot i's tail of e (with ds), a whole vector (see expPass.etail).
func (v xquadVals) tail(i int) Mem { return v.at(128 + 64*i) }

// initBufs points loc.cur and loc.pend at the two blocks.
func (loc xquadLocals) initBufs() {
	b := GP64()
	LEAQ(loc.bufs, b)
	MOVQ(b, loc.cur)
	ADDQ(U32(xquadValsBytes), b)
	MOVQ(b, loc.pend)
}

// swapBufs exchanges loc.cur and loc.pend: the group just passed becomes
// the pending one, without a copy.
func (loc xquadLocals) swapBufs() {
	a, b := GP64(), GP64()
	MOVQ(loc.cur, a)
	MOVQ(loc.pend, b)
	MOVQ(a, loc.pend)
	MOVQ(b, loc.cur)
}

// columns holds the columns of the lanes of the step's vectors: one
// register for each vector of a step (unroll), shared by the four rows, so
// that a row's target lane is the one where its label (broadcast, see
// targets) equals it, one compare a vector.
type columns []VecVirtual

// newColumns starts the columns at 0, 1, ..., lanes-1 for the first
// vector, lanes more for each next one.
func (x *xentRows) newColumns(unroll int) columns {
	c := make(columns, unroll)
	for j := range c {
		c[j] = x.isa.Vec()
		if x.isa.AVX512 {
			VMOVDQU32(x.p.LaneIndex(x.d, x.vb), c[j])
		} else {
			VMOVDQU(x.p.LaneIndex(x.d, x.vb), c[j])
		}
		if j > 0 {
			VPADDD(x.p.U32(fmt.Sprintf("xent_lanes32_%d", j*x.lanes), uint32(j*x.lanes)), c[j], c[j])
		}
	}
	return c
}

// targets returns each of k slots' label in every lane (a broadcast load).
func (x *xentRows) targets(k int) []VecVirtual {
	ts := make([]VecVirtual, k)
	for i := range ts {
		ts[i] = x.isa.Vec()
		VPBROADCASTD(Mem{Base: x.labp, Disp: 4 * i}, ts[i])
	}
	return ts
}

// step moves the columns on by u vectors.
func (x *xentRows) stepColumns(c columns, u int) {
	for _, v := range c {
		VPADDD(x.p.U32(fmt.Sprintf("xent_lanes32_%d", u*x.lanes), uint32(u*x.lanes)), v, v)
	}
}

// others sets k to the lanes of the vector of columns c that do not hold
// the target t (broadcast; or in memory, an int32: an embedded broadcast).
func others(t Op, c VecVirtual, k Register) {
	if _, ok := t.(Mem); ok {
		VPCMPD_BCST(U8(cmpNE), t, c, k)
		return
	}
	VPCMPD(U8(cmpNE), t, c, k)
}

// quadLabelsOK jumps to bail unless all four labels are >= 0.
func (x *xentRows) quadLabelsOK(bail string) {
	l := GP32()
	MOVL(Mem{Base: x.labp}, l)
	for i := 1; i < 4; i++ {
		ORL(Mem{Base: x.labp, Disp: 4 * i}, l)
	}
	TESTL(l, l)
	JS(LabelRef(bail))
}

// quad emits CrossEntropy for the four rows at srcp (or, solo, the one):
// loss to lossp, ds (withDS) to dsp. A group jumps to bail when a label is
// negative or a row is the caller's; a solo row jumps to ignored (negative
// label) or special (the caller's: max not finite, or a confident row past
// confidentMargin). spans: rows longer than a vector, which may take the
// fast exp pass.
func (x *xentRows) quad(pre string, solo, spans bool, loc xquadLocals, bail, ignored, special string) {
	r, d, isa, p := x.row, x.d, x.isa, x.p
	k := 4
	if solo {
		k = 1
		t := GP64()
		MOVLQSX(Mem{Base: x.labp}, t)
		TESTQ(t, t)
		JS(LabelRef(ignored))
	} else {
		x.quadLabelsOK(bail)
		special = bail
	}

	// The labels broadcast: in registers on AVX-512, on the stack (loc.bc)
	// on AVX2, whose passes are short of registers.
	tgt := asOps(x.targets(k))
	if !isa.AVX512 {
		for i, t := range tgt {
			VMOVDQU(t, loc.bcLabel(i))
			tgt[i] = loc.bcLabel(i)
		}
	}
	// With spans, the max of all entries and the min (the target's lane
	// is left out only when the margin test needs it: see below); else the
	// other entries' max.
	mq, minq := x.quadMax(pre+"xmax", k, solo, spans, tgt)

	parts := "halves"
	if isa.AVX512 {
		parts = "quarters"
	}
	Comment("s_t of each slot in lane i (solo: every lane), the "+parts,
		"repeated; then max = max(others' max, s_t), lane i slot i.")
	bs := make([]VecVirtual, k)
	for i := range bs {
		row, t := r.slotRow(x.srcp, i), GP64()
		MOVLQSX(Mem{Base: x.labp, Disp: 4 * i}, t)
		bs[i] = isa.Vec()
		VBROADCASTSS(Mem{Base: row, Index: t, Scale: uint8(d.Size)}, bs[i])
	}
	st := bs[0]
	if !solo {
		st = isa.Vec()
		// ZMM forms only (the AVX-512 tier has no AVX512VL): [s0 s1 s0 s1],
		// [s2 s3 s2 s3], then [s0 s1 s2 s3] in every quarter (half).
		VUNPCKLPS(bs[1], bs[0], bs[0])
		VUNPCKLPS(bs[3], bs[2], bs[2])
		VUNPCKLPD(bs[2], bs[0], st)
	}
	out := vals(loc.cur)
	storeLow16(st, out.st())
	lidx, om := isa.Vec(), isa.Vec()
	if isa.AVX512 {
		VMOVDQU32(p.Table("xent_q4ps", quarterIndex()), lidx)
	} else {
		VMOVDQU(p.Table("xent_q4ps8", quarterIndexY()), lidx)
	}
	VPERMPS(mq, lidx, om) // lane i: slot i's max (no spans: others' max)
	m := isa.Vec()
	VMAXPS(st, om, m) // a NaN s_t kept
	var span VecVirtual
	if spans {
		Comment("A row whose target is not its max, or whose entries all lie",
			"within confidentMargin of the max, has others' max within it: the",
			"margin test passes without the others' max (the same verdict).")
		span = x.marginShortcut(pre+"xmok", minq, lidx, m, st)
		oq, _ := x.quadMax(pre+"xoth", k, solo, false, tgt)
		om = isa.Vec()
		VPERMPS(oq, lidx, om) // lane i: slot i's others' max
	}
	Comment("Others' max more than confidentMargin below max, or NaN: the caller's.")
	gap, lim := isa.Vec(), isa.Vec()
	VSUBPS(m, om, gap)
	VMOVUPS(p.F32("margin32", -confidentMargin), lim)
	far := Compare(Float32, CmpNLEUQ, gap, lim) // !(-margin <= gap)
	if isa.AVX512 {
		KORTESTW(far.K(), far.K())
		JNE(LabelRef(special))
	} else {
		AnyTrue([]Pred{far})
		JNZ(LabelRef(special))
	}
	Label(pre + "xmok")
	Comment("A max that is not finite (NaN, +Inf, all -Inf): the caller's.")
	if isa.AVX512 {
		ex, inf := isa.Vec(), K()
		VPANDD(p.U32("f32_expbits", 0x7f800000), m, ex)
		VPCMPEQD(p.U32("f32_expbits", 0x7f800000), ex, inf)
		KORTESTW(inf, inf)
	} else {
		ex := isa.Vec()
		VANDPS(p.U32("f32_expbits", 0x7f800000), m, ex)
		VPCMPEQD(p.U32("f32_expbits", 0x7f800000), ex, ex)
		VPTEST(ex, ex)
	}
	JNE(LabelRef(special))
	storeLow16(m, out.m())

	Comment("e_t = exp(s_t - max), lane by lane, by the exp pass's own core.")
	lo := isa.Vec()
	VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	ev := isa.Vec()
	VSUBPS(m, st, ev)
	ExpSoftmaxF32Core(p, []VecVirtual{ev}, lo)
	etd := isa.Vec()
	VCVTPS2PD(x.lowHalf(ev), etd)
	storeLow32(etd, out.et())

	// Each slot's max broadcast, as the labels.
	ms := make([]Op, k)
	for i := range ms {
		mi := m
		if !solo {
			mi = isa.Vec()
			VBROADCASTSS(out.at(16+4*i), mi) // lane i of m
		} else if isa.AVX512 {
			mi = isa.Vec()
			VMOVAPS(m, mi)
		}
		ms[i] = mi
		if !isa.AVX512 {
			VMOVUPS(mi, loc.bcMax(i))
			ms[i] = loc.bcMax(i)
		}
	}
	sums := make([]VecVirtual, 4)
	for i := 0; i < k; i++ {
		sums[i] = isa.Vec()
		VXORPD(sums[i], sums[i], sums[i])
	}
	if spans {
		Comment("Every row within fastSpan (max - min): whole vectors skip the",
			"exp's clamp and zeroing, which change no lane of such rows.")
		slow := Compare(Float32, CmpNLEUQ, p.F32("fastspan32", fastSpan), span)
		AnyTrue([]Pred{slow})
		JNZ(LabelRef(pre + "xguard"))
		x.quadExp(pre+"xf", ms, tgt, sums, k, solo, true, loc)
		JMP(LabelRef(pre + "xexpdone"))
	}
	Label(pre + "xguard")
	x.quadExp(pre+"xg", ms, tgt, sums, k, solo, false, loc)
	Label(pre + "xexpdone")
	for i := k; i < 4; i++ {
		sums[i] = sums[0]
	}
	sq := Tree4Of(Float64, sums, VADDPD) // AVX-512: quarter i: slot i's O in both lanes
	o := isa.Vec()
	if isa.AVX512 {
		oidx := isa.Vec()
		VMOVDQU64(p.Table("xent_q4pd", quarterIndexPD()), oidx)
		VPERMPD(sq, oidx, o) // lane i (and i+4): slot i's O
	} else {
		VPERMPD(U8(tree4PDOrder), sq, o) // lane i: slot i's O
	}
	out = vals(loc.cur)
	storeLow32(o, out.o())
	if solo {
		x.quadLoss(pre+"b", out, loc, x.lossp, x.dsp, x.labp, true)
	}
}

// marginShortcut jumps to ok when every slot's row passes the margin test
// without its others' max (lane i: slot i's target below the max m, or
// its span within confidentMargin); it returns the spans, max - min, from
// the mins minq (Tree4's order, permuted by lidx).
func (x *xentRows) marginShortcut(ok string, minq, lidx, m, st VecVirtual) (span VecVirtual) {
	isa, p := x.isa, x.p
	if isa.AVX512 {
		mn := isa.Vec()
		VPERMPS(minq, lidx, mn)
		span = isa.Vec()
		VSUBPS(mn, m, span) // lane i: slot i's max - min, target included
		below := Compare(Float32, CmpLTOQ, m, st)
		near := Compare(Float32, cmpLEOQ, p.F32("margin32pos", confidentMargin), span)
		all := K()
		KORW(below.K(), near.K(), all)
		KORTESTW(all, all)
		JCS(LabelRef(ok)) // every lane
		return span
	}
	mn, near, below := isa.Vec(), isa.Vec(), isa.Vec()
	VPERMPS(minq, lidx, mn)
	span = isa.Vec()
	VSUBPS(mn, m, span)               // lane i: slot i's max - min, target included
	VCMPPS(U8(CmpLTOQ), m, st, below) // s_t < max
	VMOVUPS(p.F32("margin32pos", confidentMargin), near)
	VCMPPS(U8(cmpLEOQ), near, span, near) // span <= margin
	VORPS(below, near, near)
	mk := GP32()
	VMOVMSKPS(near, mk)
	CMPL(mk, U8(0xff))
	JE(LabelRef(ok)) // every lane
	return span
}

// storeLow32 stores v's low 32 bytes to m (ZMM forms only on AVX-512).
func storeLow32(v VecVirtual, m Mem) {
	if v.Size() == 64 {
		VEXTRACTF64X4(U8(0), v, m)
	} else {
		VMOVUPD(v, m)
	}
}

// quadMax emits the max pass of k slots' rows at srcp, a vector of each
// per step: with spans the max of every entry and the min, else the
// other entries' max (each target's lane left out: tgt, the labels
// broadcast, see others; AVX2 sets the lane to -Inf). It returns the four
// maxima and mins by Tree4 (solo: slot 0 in every slot).
func (x *xentRows) quadMax(pre string, k int, solo, spans bool, tgt []Op) (mq, minq VecVirtual) {
	r, d, isa, p := x.row, x.d, x.isa, x.p
	Comment("Max pass, a vector of each row per step.")
	if !spans && !isa.AVX512 {
		Comment(fmt.Sprintf("At most %d of 16 YMM registers (xquadYMaxBudget).", xquadYMaxBudget))
	}
	n, a, b := GP64(), GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(x.srcp, a)
	LEAQ(Mem{Base: x.srcp, Index: r.cols, Scale: uint8(2 * d.Size)}, b)
	// Rows without spans are short, and AVX2 short of registers: one
	// accumulator each (the max is exact, so the order does not matter).
	acc, acc2, mins := make([]VecVirtual, 4), make([]VecVirtual, 4), make([]VecVirtual, 4)
	for i := 0; i < k; i++ {
		acc[i] = isa.Vec()
		d.MOVU(r.negInf, acc[i])
		acc2[i] = acc[i]
		if spans && isa.AVX512 {
			acc2[i] = isa.Vec()
			d.MOVU(r.negInf, acc2[i])
		}
		if spans {
			mins[i] = isa.Vec()
			d.MOVU(p.F32("posinf", float32(math.Inf(1))), mins[i])
		}
	}
	var ninf VecVirtual
	var cols columns
	if !spans {
		if !isa.AVX512 {
			ninf = isa.Vec()
			d.MOVU(r.negInf, ninf)
		}
		cols = x.newColumns(2)
	}
	// load fills v (the tail: fill lanes -Inf).
	step := func(u int, load func(i, j int, v VecVirtual), tail bool) {
		for j := 0; j < u; j++ {
			for i := 0; i < k; i++ {
				v := isa.Vec()
				load(i, j, v)
				ac := acc[i]
				if j == 1 {
					ac = acc2[i]
				}
				switch {
				case spans && tail && isa.AVX512:
					r.mask.MergeMin(v, mins[i])
				case spans && tail:
					// The tail loaded again, filled with +Inf for the
					// min, so that a row with a tail can take the
					// shortcuts.
					vm := isa.Vec()
					r.mask.LoadFill(r.quadAt(a, b, i), vm, p.F32("posinf", float32(math.Inf(1))))
					d.MIN(vm, mins[i], mins[i])
				case spans:
					d.MIN(v, mins[i], mins[i])
				}
				switch {
				case spans:
					d.MAX(v, ac, ac)
				case isa.AVX512:
					o := K()
					others(tgt[i], cols[j], o)
					VMAXPS(v, ac, o, ac) // the target's lane keeps a
				default:
					eq := isa.Vec()
					VPCMPEQD(tgt[i], cols[j], eq)
					VBLENDVPS(eq, ninf, v, v) // the target's lane: -Inf
					VMAXPS(v, ac, ac)
				}
			}
		}
		if !tail && !spans {
			x.stepColumns(cols, u)
		}
	}
	Loop(pre, n, r.lanes, 2, func(u int) {
		step(u, func(i, j int, v VecVirtual) {
			m := r.quadAt(a, b, i)
			m.Disp = r.vb * j
			d.MOVU(m, v)
		}, false)
		ADDQ(U32(r.vb*u), a)
		if !solo {
			ADDQ(U32(r.vb*u), b)
		}
	}, func() {
		step(1, func(i, _ int, v VecVirtual) { r.mask.LoadFill(r.quadAt(a, b, i), v, r.negInf) }, true)
	})
	for i := 0; i < k && spans && isa.AVX512; i++ {
		d.MAX(acc2[i], acc[i], acc[i])
	}
	for i := k; i < 4; i++ {
		acc[i] = acc[0] // solo: slot 0 stands for every slot
		mins[i] = mins[0]
	}
	mq = Tree4Of(Float32, acc, VMAXPS)
	if spans {
		minq = Tree4Of(Float32, mins, VMINPS)
	}
	return mq, minq
}

// quarterIndex is the VPERMPS index that gathers the quarters' first
// lanes: lane i takes lane 4*(i%4).
func quarterIndex() []Constant {
	c := make([]Constant, 16)
	for i := range c {
		c[i] = U32(uint32(4 * (i % 4)))
	}
	return c
}

// quarterIndexPD is quarterIndex for float64 lanes: lane i takes lane
// 2*(i%4).
func quarterIndexPD() []Constant {
	c := make([]Constant, 8)
	for i := range c {
		c[i] = U64(uint64(2 * (i % 4)))
	}
	return c
}

// quadLoss emits the losses (and with ds, ds's factors, the scale pass and
// ds at the targets) of the group from O (float64, lane i slot i), the
// locals' s_t, max and e_t. Both branches are taken lane by lane and
// blended by each lane's own e_t and O: log(Z) - (s_t - max), and where
// the loss may be tiny (p_t > 1/2, q = O/e_t <= 0.4) log1p(q) by its
// series. Unlike xentLoss, whose third branch log(1 + q) covers the rest
// of p_t >= 1/2, log(Z) - (s_t - max) takes it: there the loss is at least
// log(1.4) and s_t - max lies in [-log 2, 0], so its relative error stays
// that of log(Z), and neither chain waits on a division by e_t.
func (x *xentRows) quadLoss(pre string, vals xquadVals, loc xquadLocals, lossp, dsp, labp Register, solo bool) {
	isa, p := x.isa, x.p
	k := 4
	if solo {
		k = 1
	}
	Comment("The four losses: Z = e_t + O; loss = log(Z) - (s_t - max), but",
		"log1p(O/e_t) by its series when e_t >= 1/2 and O <= 0.4 e_t (p_t",
		"near 1: the loss may be tiny). NaN takes the first.")
	et, z, o := isa.Vec(), isa.Vec(), isa.Vec()
	x.loadPD(vals.et(), et)
	x.loadPD(vals.o(), o)
	l := x.lossLanes(et, o, z, func() VecVirtual {
		stv, mv, dt := isa.Vec(), isa.Vec(), isa.Vec()
		x.loadPSWide(vals.st(), stv)
		x.loadPSWide(vals.m(), mv)
		VSUBPD(mv, stv, dt)
		return dt
	})
	if isa.AVX512 {
		lf := isa.Vec()
		VCVTPD2PS(l, lf.AsY())
		// A masked store: ZMM forms only (no AVX512VL).
		lanes, km := GP32(), K()
		MOVL(U32(1<<k-1), lanes)
		KMOVW(lanes, km)
		VMOVUPS(lf, km, Mem{Base: lossp})
	} else {
		Comment("A NaN loss as storeNaN's: the NaN that reaches it may depend on",
			"the row's slot (VMAXPS keeps its second operand's), its bits may not.")
		nan := isa.Vec()
		VCMPPD(U8(CmpUnord), l, l, nan)
		VBLENDVPD(nan, p.F64("nan64", math.NaN()), l, l)
		lf := XMM()
		VCVTPD2PSY(l, lf)
		if solo {
			VMOVSS(lf, Mem{Base: lossp})
		} else {
			VMOVUPS(lf, Mem{Base: lossp})
		}
	}
	if !x.withDS {
		return
	}
	x.quadDS(pre, o, z, vals, loc, dsp, labp, solo)
}

// lossLanes emits the losses of the lanes of et and o (float64: e_t and O;
// the series to xquadSeriesTop for float32 rows, pairSeriesTop for float64)
// as quadLoss describes, dt (s_t - max, float64) emitted once the log is
// under way; it sets z to Z = e_t + O and returns the losses (float64).
func (x *xentRows) lossLanes(et, o, z VecVirtual, dt func() VecVirtual) (l VecVirtual) {
	isa, p, d := x.isa, x.p, x.d
	VADDPD(o, et, z)
	y := isa.Vec()
	VMOVAPD(z, y)
	LogPD(p, y, logTerms(d))
	top := xquadSeriesTop
	if d.Size == 8 {
		top = pairSeriesTop
	}
	s := atanhSeries(p, et, o, isa.Vec(), isa.Vec(), isa.Vec(), top)
	Comment("log(Z) - (s_t - max), s_t - max exact in float64.")
	dv := dt()
	l = isa.Vec()
	VSUBPD(dv, y, l)
	Comment("Blend, lane by lane: the series where 1/2 <= e_t and O <= 0.4 e_t.")
	half, lim := isa.Vec(), isa.Vec()
	VMOVUPD(p.F64("half64", 0.5), half)
	VMULPD(p.F64("l1p_04", 0.4), et, lim)
	if isa.AVX512 {
		ka, kb, ks := K(), K(), K()
		VCMPPD(U8(cmpLEOQ), et, half, ka) // 1/2 <= e_t
		VCMPPD(U8(cmpLEOQ), lim, o, kb)   // O <= 0.4 e_t
		KANDW(kb, ka, ks)
		VMOVAPD(s, ks, l)
		return l
	}
	ka, kb := isa.Vec(), isa.Vec()
	VCMPPD(U8(cmpLEOQ), et, half, ka) // 1/2 <= e_t
	VCMPPD(U8(cmpLEOQ), lim, o, kb)   // O <= 0.4 e_t
	VANDPD(kb, ka, ka)
	VBLENDVPD(ka, s, l, l)
	return l
}

// loadPD loads the four slots' float64 values at m (32 bytes) into v: into
// both halves on AVX-512.
func (x *xentRows) loadPD(m Mem, v VecVirtual) {
	if x.isa.AVX512 {
		VBROADCASTF64X4(m, v)
	} else {
		VMOVUPD(m, v)
	}
}

// loadPSWide loads the four slots' float32 values at m (16 bytes) into v
// as float64, as loadPD.
func (x *xentRows) loadPSWide(m Mem, v VecVirtual) {
	if x.isa.AVX512 {
		VBROADCASTF32X4(m, v)
		VCVTPS2PD(v.AsY(), v)
	} else {
		VCVTPS2PD(m, v)
	}
}

// quadDS emits ds for the group: g/Z as a float32 factor of each slot, the
// scale pass, and ds[t] = -g * (O/Z), lane by lane as dsScale.
func (x *xentRows) quadDS(pre string, o, z VecVirtual, vals xquadVals, loc xquadLocals, dsp, labp Register, solo bool) {
	r, d, isa := x.row, x.d, x.isa
	k := 4
	if solo {
		k = 1
	}
	kfs, dts := x.dsFactors(o, z)
	storeLow16(kfs, loc.tmp)
	kvs := make([]VecVirtual, k)
	for i := range kvs {
		kvs[i] = isa.Vec()
		kt := loc.tmp
		kt.Disp += 4 * i
		VBROADCASTSS(kt, kvs[i]) // lane i of kf
	}
	Comment("Scale pass: ds = e * g/Z.")
	n, a, b := GP64(), GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(dsp, a)
	LEAQ(Mem{Base: dsp, Index: r.cols, Scale: uint8(2 * d.Size)}, b)
	Loop(pre+"xscale", n, r.lanes, 2, func(u int) {
		for j := 0; j < u; j++ {
			for i, kv := range kvs {
				m := r.quadAt(a, b, i)
				m.Disp = r.vb * j
				v := isa.Vec()
				d.MUL(m, kv, v)
				d.MOVU(v, m)
			}
		}
		ADDQ(U32(r.vb*u), a)
		if !solo {
			ADDQ(U32(r.vb*u), b)
		}
	}, func() {
		for i, kv := range kvs {
			v := isa.Vec()
			d.MUL(vals.tail(i), kv, v)
			r.mask.Store(v, r.quadAt(a, b, i))
		}
	})
	if isa.AVX512 {
		Comment("ds at each target: minus the other entries' share (through the",
			"stack: ZMM forms only).")
	} else {
		Comment("ds at each target: minus the other entries' share.")
	}
	tmp := loc.tmp
	storeLow16(dts, tmp)
	for i := 0; i < k; i++ {
		row, t := r.slotRow(dsp, i), GP64()
		MOVLQSX(Mem{Base: labp, Disp: 4 * i}, t)
		v := GP32()
		MOVL(tmp, v)
		MOVL(v, Mem{Base: row, Index: t, Scale: uint8(d.Size)})
		tmp.Disp += d.Size
	}
}

// lowHalf is v's lower half, the source of a widening conversion.
func (x *xentRows) lowHalf(v VecVirtual) Op {
	if x.isa.AVX512 {
		return v.AsY()
	}
	return v.AsX()
}

// dsFactors returns ds's two factors, row i in lane i of each (float32
// rows: float32 lanes; float64 rows: float64): g/Z
// (what the row's e are scaled by) and -g*(O/Z) (ds at its target).
func (x *xentRows) dsFactors(o, z VecVirtual) (kf, dt VecVirtual) {
	isa, p := x.isa, x.p
	if x.d.Size == 8 {
		Comment("ds's factors: g/Z, -g*(O/Z) at the target.")
	} else {
		Comment("ds's factors: g/Z in float32, -g*(O/Z) at the target.")
	}
	inv, g := isa.Vec(), isa.Vec()
	VMOVUPD(p.F64("one64", 1), inv)
	VDIVPD(z, inv, inv) // 1/Z
	gs, err := Param("gradScale").Resolve()
	if err != nil {
		panic(err)
	}
	if x.d.Size == 8 {
		VBROADCASTSD(gs.Addr, g)
	} else {
		VBROADCASTSS(gs.Addr, g)
		VCVTPS2PD(x.lowHalf(g), g)
	}
	kf = isa.Vec()
	VMULPD(inv, g, kf) // g/Z
	if x.d.Size == 4 {
		kf = x.narrowPD(kf)
	}
	dt = isa.Vec()
	VMULPD(inv, o, dt)
	VMULPD(g, dt, dt)
	VXORPD(p.F64("signbit64", math.Copysign(0, -1)), dt, dt)
	if x.d.Size == 8 {
		return kf, dt
	}
	return kf, x.narrowPD(dt)
}

// narrowPD converts the float64 lanes of v to float32 and returns the
// register whose low lanes hold them: v itself on AVX-512, a new XMM on
// AVX2.
func (x *xentRows) narrowPD(v VecVirtual) VecVirtual {
	if x.isa.AVX512 {
		VCVTPD2PS(v, v.AsY())
		return v
	}
	n := XMM()
	VCVTPD2PSY(v, n)
	return n
}

// storeLow16 stores v's low 16 bytes to m (ZMM forms only on AVX-512: no
// AVX512VL).
func storeLow16(v VecVirtual, m Mem) {
	if v.Size() == 64 {
		VEXTRACTF32X4(U8(0), v, m)
	} else {
		VMOVUPS(v.AsX(), m)
	}
}

// slotRow returns a register addressing slot i's row of the group at base.
func (r *row) slotRow(base Register, i int) GPVirtual {
	row := GP64()
	switch i {
	case 0:
		MOVQ(base, row)
	case 1:
		LEAQ(Mem{Base: base, Index: r.cols, Scale: uint8(r.d.Size)}, row)
	default:
		LEAQ(Mem{Base: base, Index: r.cols, Scale: uint8(2 * r.d.Size)}, row)
		if i == 3 {
			LEAQ(Mem{Base: row, Index: r.cols, Scale: uint8(r.d.Size)}, row)
		}
	}
	return row
}

// quadExp emits the exp pass of k slots' rows at srcp with maxima ms and
// labels tgt (each broadcast: registers on AVX-512, the stack's loc.bc on
// AVX2, whose 16 registers go to the sums and the exp): e = exp(s - max),
// the target's lane zeroed, stored to ds (withDS; the tails' to the block
// at loc.cur) and added into sums[i] in float64. fast: whole vectors skip
// the exp's clamp and zeroing (the tail keeps them).
func (x *xentRows) quadExp(pre string, ms, tgt []Op, sums []VecVirtual, k int, solo, fast bool, loc xquadLocals) {
	r, d, isa, p := x.row, x.d, x.isa, x.p
	n, a, b := GP64(), GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(x.srcp, a)
	LEAQ(Mem{Base: x.srcp, Index: r.cols, Scale: uint8(2 * d.Size)}, b)
	var oa, ob GPVirtual
	if x.withDS {
		oa, ob = GP64(), GP64()
		MOVQ(x.dsp, oa)
		LEAQ(Mem{Base: x.dsp, Index: r.cols, Scale: uint8(2 * d.Size)}, ob)
	}
	advance := func(u int) {
		ADDQ(U32(r.vb*u), a)
		if !solo {
			ADDQ(U32(r.vb*u), b)
		}
		if x.withDS {
			ADDQ(U32(r.vb*u), oa)
			if !solo {
				ADDQ(U32(r.vb*u), ob)
			}
		}
	}
	if !isa.AVX512 {
		Comment(fmt.Sprintf("Exp pass: %d of 16 YMM registers (xquadYExpBudget).", xquadYExpBudget))
	}
	cols := x.newColumns(2)
	lo := isa.Vec()
	VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	if isa.AVX512 {
		HoldExpF32For(p, isa, Ln2One)
		defer p.Release()
	}
	// step takes u vectors of each slot's row: pairs are added in float32
	// first (one rounding, as the one-row path), then widened and summed
	// in float64.
	step := func(u int, guard bool, load, store func(i, j int, v VecVirtual)) {
		x.expStep(u, lo, guard, func(i int, v VecVirtual) { VSUBPS(ms[i], v, v) }, tgt, cols, sums[:k], load, store)
	}
	Loop(pre+"exp", n, r.lanes, 2, func(u int) {
		step(u, !fast, func(i, j int, v VecVirtual) {
			m := r.quadAt(a, b, i)
			m.Disp = r.vb * j
			VMOVUPS(m, v)
		}, func(i, j int, v VecVirtual) {
			m := r.quadAt(oa, ob, i)
			m.Disp = r.vb * j
			VMOVUPS(v, m)
		})
		x.stepColumns(cols, u)
		advance(u)
	}, func() {
		step(1, true, func(i, _ int, v VecVirtual) {
			r.mask.LoadFill(r.quadAt(a, b, i), v, r.negInf)
		}, func(i, _ int, v VecVirtual) {
			VMOVUPS(v, vals(loc.cur).tail(i))
		})
	})
}

// expStep emits a step of an exp pass over len(sums) rows, one row's
// vectors after another (the out-of-order core overlaps the rows'
// independent chains, and the registers go to the exp's temporaries):
// row i's u vectors loaded (load), less its max (sub), and expSumRow with
// its label tgt[i] into sums[i], stored with ds (store). guard: the exp's
// clamp (lo), else none.
func (x *xentRows) expStep(u int, lo VecVirtual, guard bool, sub func(i int, v VecVirtual), tgt []Op, cols columns, sums []VecVirtual, load, store func(i, j int, v VecVirtual)) {
	l := lo
	if !guard {
		l = nil
	}
	for i := range sums {
		xs := make([]VecVirtual, u)
		for j := range xs {
			xs[j] = x.isa.Vec()
			load(i, j, xs[j])
			sub(i, xs[j])
		}
		var st func(j int, v VecVirtual)
		if x.withDS {
			st = func(j int, v VecVirtual) { store(i, j, v) }
		}
		x.expSumRow(xs, l, tgt[i], cols, sums[i], st)
	}
}

// expSumRow replaces a row's u (1 or 2) vectors of a step, xs = s - max,
// by e = exp(xs) (l: the clamp bound, or nil), the target's lane zeroed
// (t: its label, broadcast, or an int32 for an embedded broadcast;
// cols: the lanes' columns), stores them (store, unless nil) and adds
// them into sum (float64): the pair added in float32 first (one rounding,
// as the one-row path), then widened.
func (x *xentRows) expSumRow(xs []VecVirtual, l VecVirtual, t Op, cols columns, sum VecVirtual, store func(j int, v VecVirtual)) {
	isa, p, u := x.isa, x.p, len(xs)
	for c := 0; c < u; c += xquadExpChunk {
		ExpSoftmaxF32Core(p, xs[c:min(c+xquadExpChunk, u)], l)
	}
	// AVX-512: the target's lane left out of the sum: zeroed in the first
	// vector; the second's is left out by the pair's add, merge-masked
	// (its ds lane is written at the end anyway). x + 0 = x: the bits of
	// zeroing both. AVX2 (no merge-masking) zeroes it in both.
	if isa.AVX512 {
		o := K()
		others(t, cols[0], o)
		VMOVAPS_Z(xs[0], o, xs[0])
	}
	for j, v := range xs {
		if !isa.AVX512 {
			eq := isa.Vec()
			VPCMPEQD(t, cols[j], eq)
			VANDNPS(v, eq, v) // the target's lane: +0
		}
		if store != nil {
			store(j, v)
		}
	}
	v := xs[0]
	if u == 2 {
		if isa.AVX512 {
			o1 := K()
			others(t, cols[1], o1)
			VADDPS(xs[1], v, o1, v)
		} else {
			VADDPS(xs[1], v, v)
		}
	}
	lw, hw := Widen2(v)
	VADDPD(hw, lw, lw)
	VADDPD(lw, sum, sum)
}

// asOps returns vs as operands.
func asOps(vs []VecVirtual) []Op {
	ops := make([]Op, len(vs))
	for i, v := range vs {
		ops[i] = v
	}
	return ops
}

// quadRows emits the four-row path's row loop: groups of four while four
// are left, else rows solo; a group that cannot take the group code runs
// its four rows solo. A group's losses (and ds's scaling) run after the
// next group's passes: their chain of dependent steps (the trees, the
// logs, the divisions) then overlaps that group's work instead of holding
// up the core; the pending group is finished before any row runs solo and
// at the end. The arithmetic is the same either way. It goes on at done.
func (x *xentRows) quadRows(pre string, spans bool, loc xquadLocals, done string) {
	r := x.row
	ptrs := x.rowPtrs()
	left := GP64()
	loc.initBufs()
	MOVQ(U32(0), loc.pending)
	Label(pre + "quads")
	CMPQ(x.rows, U8(4))
	JL(LabelRef(pre + "rest"))
	x.quad(pre+"q", false, spans, loc, pre+"bail", "", "")
	CMPQ(loc.pending, U8(0))
	JE(LabelRef(pre + "qnew"))
	x.finishPending(pre+"p", loc)
	Label(pre + "qnew")
	loc.swapBufs()
	MOVQ(U32(1), loc.pending)
	for i := 0; i < 4; i++ {
		r.next(ptrs, x.lossp, x.labp)
	}
	SUBQ(U8(4), x.rows)
	JMP(LabelRef(pre + "quads"))

	Label(pre + "bail")
	MOVQ(U32(4), left)
	JMP(LabelRef(pre + "flush"))
	Label(pre + "rest")
	MOVQ(x.rows, left)
	Label(pre + "flush")
	CMPQ(loc.pending, U8(0))
	JE(LabelRef(pre + "solo"))
	x.finishPending(pre+"f", loc)
	MOVQ(U32(0), loc.pending)
	Label(pre + "solo")
	TESTQ(left, left)
	JNE(LabelRef(pre + "one"))
	TESTQ(x.rows, x.rows)
	JE(LabelRef(done))
	JMP(LabelRef(pre + "quads"))
	Label(pre + "one")
	x.quad(pre+"o", true, spans, loc, "", pre+"oignored", pre+"ospecial")
	Label(pre + "onext")
	r.next(ptrs, x.lossp, x.labp)
	DECQ(x.rows)
	DECQ(left)
	JMP(LabelRef(pre + "solo"))

	x.rowExits(pre + "o")
}

// finishPending emits the losses (and ds) of the pending group, the four
// rows before the pointers.
func (x *xentRows) finishPending(pre string, loc xquadLocals) {
	lossp, labp := GP64(), GP64()
	LEAQ(Mem{Base: x.lossp, Disp: -4 * x.d.Size}, lossp)
	LEAQ(Mem{Base: x.labp, Disp: -16}, labp)
	var dsp GPVirtual
	if x.withDS {
		dsp = GP64()
		MOVQ(x.cols, dsp)
		SHLQ(U8(x.d.Shift+2), dsp) // four rows' bytes
		NEGQ(dsp)
		ADDQ(x.dsp, dsp)
	}
	x.quadLoss(pre, vals(loc.pend), loc, lossp, dsp, labp, false)
}

// quadAt addresses slot i's row: slots 0 and 1 from a (the group's first
// row), slots 2 and 3 from b (its third).
func (r *row) quadAt(a, b Register, i int) Mem {
	base := a
	if i >= 2 {
		base = b
	}
	if i%2 == 0 {
		return Mem{Base: base}
	}
	return Mem{Base: base, Index: r.cols, Scale: uint8(r.d.Size)}
}
