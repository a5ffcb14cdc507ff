// The passes of one row or group of rows: rowGen.body and the methods of
// rowGroup, one a pass.

package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// rowGroup is what the passes over one group of k rows (1, 2 or 4) at
// g.srcp/g.dstp share: the loop counter and pointer, the rows computed,
// the maxima and the stack slots of the tails.
type rowGroup struct {
	*rowGen
	k      int
	pre    string // the labels' prefix
	negInf Mem
	n, ptr GPVirtual // the passes' element count and read pointer
	un     int       // the max pass's vectors of each row an iteration
	// tryFast: AVX2 float32 Softmax rows whose values span at most fastSpan
	// take passes 2 and 3 without the guards for tiny e (see fastSpan);
	// pass 1 then also tracks the minima, and g.fast says whether the group
	// qualifies. Not for LogSoftmax (only a clamp to save) nor for AVX-512
	// (masked exp and flush cost little there): the minima cost as much as
	// they save (bench/TUNING.md).
	tryFast bool
	slots   []int
	// tree: four float32 rows reduce together (see Tree4), and the max
	// pass of the next group runs while this one finishes (g.ahead says
	// that g.mq already holds this group's maxima).
	tree bool
	// perRow: the slots whose max and sum are reduced one at a time.
	perRow []int
	// acc and mins: pass 1's maxima and minima of each row (perRow).
	acc, mins [][]VecVirtual
	// mv: each row's max, broadcast, in a register or on the stack.
	mv []Op
	// groups: rows whose exps are computed together in pass 2.
	groups [][]int
	// The tail's e goes to a stack slot with a full-width store, not to
	// dst: pass 3 reloads it, and a load from a masked store would not be
	// forwarded and would stall. (A register would stay live on the paths
	// that skip the tail, all through the function.) LogSoftmax's
	// overlapped tails wait in ytail. Both versions of passes 2 and 3
	// share them.
	etail, ytail Mem
}

// body emits the three passes for k rows (1, 2 or 4) at srcp/dstp: the
// rows' maxima, then passes 2 and 3 in the versions the call or the group
// selects (the folded scale or not; the guards for tiny e or not).
func (g *rowGen) body(k int, pre string) {
	b := g.newRowGroup(k, pre)
	b.maxima()
	b.broadcastMaxima()
	b.tailSlots()
	if g.fold == nil && g.fold64 == nil {
		b.guardVersions(pre)
		return
	}
	Comment("The scale folded into the exp (see ExpScale), if this call's allows.")
	CMPL(g.foldOK, U8(0))
	JE(LabelRef(pre + "mul"))
	g.folding = true
	b.guardVersions(pre + "x")
	g.folding = false
	JMP(LabelRef(pre + "end"))
	Label(pre + "mul")
	// AVX2's versions with the guards or not end on their own pre+"end".
	mul := pre
	if b.tryFast {
		mul = pre + "m"
	}
	b.guardVersions(mul)
	Label(pre + "end")
}

// guardVersions emits passes 2 and 3 with the guards for tiny e, and
// where the group may go without them (AVX2 float32 Softmax), the version
// without, chosen by the span test.
func (b *rowGroup) guardVersions(pre string) {
	switch {
	case !b.tryFast:
		b.expAndNormalise(withGuards, pre)
	default:
		Comment("Rows spanning more than fastSpan (or with a NaN) keep the guards.")
		CMPL(b.fast, U8(0))
		JNE(LabelRef(pre + "fast"))
		b.expAndNormalise(withGuards, pre)
		JMP(LabelRef(pre + "end"))
		Label(pre + "fast")
		b.expAndNormalise(noGuards, pre+"f")
		Label(pre + "end")
	}
}

// newRowGroup starts the group of k rows whose labels begin with pre: the
// loop registers and which slots and reductions it takes.
func (g *rowGen) newRowGroup(k int, pre string) *rowGroup {
	b := &rowGroup{rowGen: g, k: k, pre: pre}
	b.negInf = g.p.Of(g.d, "neginf", math.Inf(-1))
	b.n, b.ptr = GP64(), GP64()
	b.un = max(1, 4/k)
	b.tryFast = g.d.Size == 4 && !g.log && !g.isa.AVX512
	b.slots = g.slots(k)
	b.tree = k == 4 && g.d.Size == 4
	if !b.tree {
		b.perRow = b.slots
	}
	return b
}

// expAndNormalise emits passes 2 and 3, with the guards for tiny e or
// without.
func (b *rowGroup) expAndNormalise(guard guards, pre string) {
	sums, out := b.expSumPass(guard, pre)
	s4 := b.reduceSums(sums, pre)
	if !b.log {
		b.scalePass(guard, pre, out, sums, s4)
	} else {
		b.logPass(pre, out, sums, s4)
	}
}

// maxima emits pass 1 for the group: into g.mq through the four-row tree
// (unless the previous group's look-ahead did it), else into acc (and
// mins) row by row.
func (b *rowGroup) maxima() {
	switch {
	case b.tree && b.solo:
		b.maxTree(b.pre, b.srcp)
	case b.tree:
		TESTQ(b.ahead, b.ahead)
		JNZ(LabelRef(b.pre + "ahead"))
		b.maxTree(b.pre, b.srcp)
		Label(b.pre + "ahead")
	default:
		b.acc, b.mins = b.maxPass(b.pre, b.srcp)
	}
}

// maxPass emits the max pass over the k rows at base; acc[r][0] ends up
// with a vector of row r's partial maxima (and mins[r][0] with the minima).
func (b *rowGroup) maxPass(pre string, base Register) (acc, mins [][]VecVirtual) {
	p, d, isa, k := b.p, b.d, b.isa, b.k
	lanes, vb := d.Lanes(isa.VB), isa.VB
	n, ptr, un, fast, slots := b.n, b.ptr, b.un, b.tryFast, b.slots
	Comment("Pass 1: row maximum (and minimum).")
	MOVQ(b.cols, n)
	MOVQ(base, ptr)
	acc = make([][]VecVirtual, k)
	for _, r := range slots {
		acc[r] = make([]VecVirtual, un)
		for i := range acc[r] {
			acc[r][i] = isa.Vec()
			d.MOVU(b.negInf, acc[r][i])
		}
	}
	if fast {
		mins = make([][]VecVirtual, k)
		for _, r := range slots {
			mins[r] = make([]VecVirtual, un)
			for i := range mins[r] {
				mins[r][i] = isa.Vec()
				d.MOVU(p.Of(d, "posinf", math.Inf(1)), mins[r][i])
			}
		}
	}
	b.loop(pre+"max", n, lanes, un, func(u int) {
		for i := 0; i < u; i++ {
			for _, r := range slots {
				var x Op = b.at(ptr, vb*i, r)
				if fast {
					// One load for both.
					v := isa.Vec()
					d.MOVU(x, v)
					x = v
					d.MIN(x, mins[r][i], mins[r][i])
				}
				d.MAX(x, acc[r][i], acc[r][i])
			}
		}
		ADDQ(U32(vb*u), ptr)
	}, func() {
		if b.overlap() {
			CMPQ(b.cols, U32(lanes))
			JL(LabelRef(pre + "max_mtail"))
			for _, r := range slots {
				var x Op = b.rowEnd(base, r)
				if fast {
					v := isa.Vec()
					d.MOVU(x, v)
					x = v
					d.MIN(x, mins[r][0], mins[r][0])
				}
				d.MAX(x, acc[r][0], acc[r][0])
			}
			JMP(LabelRef(pre + "max_done"))
			Label(pre + "max_mtail")
		}
		for _, r := range slots {
			x := isa.Vec()
			m := b.tailMask(r)
			m.LoadFill(b.at(ptr, 0, r), x, b.negInf)
			d.MAX(x, acc[r][0], acc[r][0])
			switch {
			case fast && b.maskedTails:
				// SoftmaxCausal's group code, whose rows all have a
				// tail: the minimum of the row's own lanes.
				y := isa.Vec()
				m.LoadFill(b.at(ptr, 0, r), y, p.Of(d, "posinf", math.Inf(1)))
				d.MIN(y, mins[r][0], mins[r][0])
			case fast:
				// AVX2: the -Inf fill makes the row take the guards.
				m.MergeMin(x, mins[r][0])
			}
		}
	})
	for _, r := range slots {
		for i := 1; i < un; i++ {
			d.MAX(acc[r][i], acc[r][0], acc[r][0])
			if fast {
				d.MIN(mins[r][i], mins[r][0], mins[r][0])
			}
		}
	}
	for r := len(slots); r < k; r++ {
		// solo: slot 0 stands for every slot in the trees.
		acc[r] = acc[0]
		if fast {
			mins[r] = mins[0]
		}
	}
	return acc, mins
}

// spanTest stores in g.fast whether every row's max - min (lane 0 of each
// of diffs, or every lane of one vector) is within fastSpan.
// SoftmaxScaled compares scale*(max - min), rounded as each scale*(s -
// max) is: rounding is monotonic, so no lane's |scale*(s - max)| exceeds
// it.
func (b *rowGroup) spanTest(diff VecVirtual) {
	b.multiply(diff)
	flag := GP32()
	XORL(flag, flag)
	AnyTrue([]Pred{Compare(b.d, CmpNLEUQ, b.p.F32("fastspan32", fastSpan), diff)})
	SETEQ(flag.As8())
	MOVL(flag, b.rowGen.fast)
}

// maxTree emits the max pass and the four-row reduction for the group at
// base into g.mq (and the span test).
func (b *rowGroup) maxTree(pre string, base Register) {
	acc, mins := b.maxPass(pre, base)
	rows := make([]VecVirtual, b.k)
	for r := range rows {
		rows[r] = acc[r][0]
	}
	VMOVAPS(Tree4Of(Float32, rows, VMAXPS), b.mq)
	if b.tryFast {
		for r := range rows {
			rows[r] = mins[r][0]
		}
		lo := Tree4Of(Float32, rows, VMINPS)
		VSUBPS(lo, b.mq, lo)
		b.spanTest(lo)
	}
}

// broadcastMaxima sends a group or row whose max is not finite to g.bail,
// makes the span test of rows reduced one at a time, and broadcasts each
// row's max into mv: registers, or with more rows than ymmMaxima on AVX2
// the stack (see ymmMaxima).
func (b *rowGroup) broadcastMaxima() {
	p, d, isa, k := b.p, b.d, b.isa, b.k
	vb := isa.VB
	b.mv = make([]Op, k)
	var mvMem Mem
	spill := !isa.AVX512 && k > ymmMaxima
	if spill {
		mvMem = AllocLocal(vb * k)
		Comment(fmt.Sprintf("The broadcast maxima of %d rows on the stack: AVX2 holds ymmMaxima = %d in registers.", k, ymmMaxima))
	} else if !isa.AVX512 {
		bu := newBudget("ymmMaxima", ymmMaxima)
		bu.take(k, "broadcast max")
		bu.state()
	}
	gs := k
	if spill {
		gs = ymmExpRows
	}
	for i := 0; i < len(b.slots); i += gs {
		b.groups = append(b.groups, b.slots[i:min(i+gs, len(b.slots))])
	}
	if b.tree {
		m := b.mq
		Comment("A NaN, +Inf or all -Inf max in the group: one row at a time.")
		t := isa.Vec()
		VANDPS(p.U32("abs32", 0x7fffffff), m, t)
		AnyTrue([]Pred{Compare(d, CmpNLTUQ, p.F32("posinf32", float32(math.Inf(1))), t)})
		JNZ(LabelRef(b.bail))
		for _, r := range b.slots {
			b.mv[r] = bcastRow4(p, isa, m, r, 1)
			if spill {
				d.MOVU(b.mv[r], mvMem.Offset(vb*r))
				b.mv[r] = mvMem.Offset(vb * r)
			}
		}
	}
	if b.tryFast && !b.tree {
		Comment("Span of each row, max - min, into lane 0 of one vector.")
		var all VecVirtual
		for _, r := range b.slots {
			HMax(d, b.acc[r][0])
			HMin(d, b.mins[r][0])
			t := XMM()
			VSUBSS(b.mins[r][0].AsX(), b.acc[r][0].AsX(), t)
			if all == nil {
				all = t
			} else {
				VMAXSS(t, all, all) // a NaN span in t wins
			}
		}
		v := isa.Vec()
		VBROADCASTSS(all, v)
		b.spanTest(v)
	}
	for _, r := range b.perRow {
		a := b.acc[r]
		if !b.tryFast {
			HMax(d, a[0])
		}
		Comment("A NaN, +Inf or all -Inf max: slow path.")
		bits := GP64()
		if d.Size == 4 {
			VMOVD(a[0].AsX(), bits.As32())
			ANDL(U32(0x7f800000), bits.As32())
			CMPL(bits.As32(), U32(0x7f800000))
		} else {
			VMOVQ(a[0].AsX(), bits)
			SHRQ(U8(52), bits)
			ANDL(U32(0x7ff), bits.As32())
			CMPL(bits.As32(), U32(0x7ff))
		}
		JE(LabelRef(b.bail))
		v := isa.Vec()
		d.BCAST(a[0].AsX(), v)
		b.mv[r] = v
		if spill {
			d.MOVU(v, mvMem.Offset(vb*r))
			b.mv[r] = mvMem.Offset(vb * r)
		}
	}
}

// tailSlots allocates the stack slots of the row tails (see etail).
func (b *rowGroup) tailSlots() {
	vb := b.isa.VB
	if !b.log {
		b.etail = AllocLocal(vb * b.k)
	} else if b.overlap() {
		b.ytail = AllocLocal(vb * b.k)
	}
}

// expSumPass emits pass 2: e = exp(s - max) (times scale), stored in dst
// (Softmax) and summed; it returns the sums of the slots and out, the
// register that pass 3 writes through. Pass 2 also prefetches what the
// passes bound by memory touch next (see the Prefetches comment in
// main.go).
func (b *rowGroup) expSumPass(guard guards, pre string) (sums []VecVirtual, out GPVirtual) {
	isa, k := b.isa, b.k
	Comment("Pass 2: e = exp(s - max), summed in float64. A NaN in the row",
		"(the max may have missed it) makes the sum NaN and so the whole row.")
	MOVQ(b.cols, b.n)
	MOVQ(b.srcp, b.ptr)
	out = GP64()
	MOVQ(b.dstp, out)
	if b.log {
		Comment("LogSoftmax stores nothing here: out only aims the prefetches of",
			"dst (see logPrefetchBytes), at src for longer rows.")
		CMPQ(b.rb, U32(logPrefetchBytes))
		JBE(LabelRef(pre + "pfdst"))
		MOVQ(b.srcp, out)
		Label(pre + "pfdst")
	}
	var nextOff GPVirtual
	if k == 1 {
		nextOff = b.nextRowOffset(pre)
	}
	var nextPtr GPVirtual
	if k > 1 {
		nextPtr = b.nextGroupPtr(pre)
	}
	pf := prefetches{out: out, nextOff: nextOff, nextPtr: nextPtr}
	sums = make([]VecVirtual, k)
	// AVX-512 reads the exp constants through an aligned base (see Pool).
	b.p.WithinBase(BaseFor(isa), func() {
		if b.d.Size == 4 {
			b.expSumF32(guard, pre, sums, pf)
		} else {
			b.expSumF64(pre, sums, pf)
		}
	})
	for r := len(b.slots); r < k; r++ {
		sums[r] = sums[0] // solo: slot 0 stands for every slot
	}
	return sums, out
}

// prefetches are the registers pass 2 aims its prefetches with: out (dst,
// LogSoftmax), nextOff (single rows: the next row's offset) and nextPtr
// (groups: the next group's src); nil where they do not apply.
type prefetches struct {
	out, nextOff, nextPtr GPVirtual
}

// nextGroupPtr returns a register aimed at the next group's src, which
// groups prefetch during pass 2 (see groupPrefetchSplitBytes).
func (b *rowGroup) nextGroupPtr(pre string) GPVirtual {
	nextPtr := GP64()
	LEAQ(Mem{Base: b.srcp, Index: b.rb, Scale: uint8(b.k)}, nextPtr)
	if b.isa.AVX512 && !b.log {
		Comment("Softmax: not on rows of over groupPrefetchSplitBytes that split",
			"lines; the prefetches then hit this group's",
			"own lines, in L1.")
		TESTQ(U32(63), b.rb)
		JZ(LabelRef(pre + "pfgroup"))
		CMPQ(b.rb, U32(groupPrefetchSplitBytes))
		JBE(LabelRef(pre + "pfgroup"))
		MOVQ(b.srcp, nextPtr)
		Label(pre + "pfgroup")
	}
	return nextPtr
}

// prefetchVec emits, after vector i of an iteration, the prefetch of dst
// (LogSoftmax, which stores nothing in pass 2) for the rows and of the
// next row's src (single rows).
func (b *rowGroup) prefetchVec(pf prefetches, i int, rows []int) {
	vb := b.isa.VB
	if b.log {
		for _, r := range rows {
			PREFETCHT0(b.at(pf.out, vb*i, r))
		}
	}
	b.prefetchNextRow(pf, i)
}

// prefetchNextRow prefetches vector i of the next row's src (single rows).
func (b *rowGroup) prefetchNextRow(pf prefetches, i int) {
	if pf.nextOff != nil {
		PREFETCHT0(Mem{Base: b.ptr, Index: pf.nextOff, Scale: 1, Disp: b.isa.VB * i})
	}
}

// prefetchNextGroup prefetches a group's worth of lines of the next
// group's src for the u vectors of each row of an iteration.
func (b *rowGroup) prefetchNextGroup(pf prefetches, u int) {
	if pf.nextPtr == nil {
		return
	}
	k, vb := b.k, b.isa.VB
	for l := 0; l < k*u*vb; l += 64 {
		PREFETCHT0(Mem{Base: pf.nextPtr, Disp: l})
	}
	ADDQ(U32(k*u*vb), pf.nextPtr)
}

// expSumF32 is pass 2's loop for float32: e in float32 lanes, summed in
// float64 lanes.
func (b *rowGroup) expSumF32(guard guards, pre string, sums []VecVirtual, pf prefetches) {
	p, isa, k := b.p, b.isa, b.k
	lanes, vb := b.d.Lanes(isa.VB), isa.VB
	n, ptr := b.n, b.ptr
	// Groups of up to zmmHoldRows hold the exp's constants.
	sc := b.fold
	if isa.AVX512 && k <= zmmHoldRows {
		if b.folding {
			HoldExpF32Table(p)
			sc = sc.Held()
		} else {
			HoldExpF32For(p, isa, Ln2One)
		}
		defer p.Release()
	}
	e := &f32ExpSum{rowGroup: b, sc: sc, sums: sums}
	e.lo = isa.Vec()
	if b.folding {
		VBROADCASTSS(sc.Lo, e.lo)
	} else {
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), e.lo)
	}
	for _, r := range b.slots {
		sums[r] = isa.Vec()
		VXORPD(sums[r], sums[r], sums[r])
	}
	if b.overlap() {
		e.overlapTails(guard, pre)
	}
	// At least two vectors of each row, for addVecs' pairs (groups too:
	// faster than one, bench/TUNING.md). The same with the guards or
	// without (AVX2 Softmax): the pairs set the order of the sum, which
	// must not depend on the other rows of the group.
	un := max(2, b.expUnroll(k))
	b.loop(pre+"exp", n, lanes, un, func(u int) {
		for _, rows := range b.groups {
			nr := len(rows)
			xs := make([]VecVirtual, u*nr)
			// One vector index at a time: AVX2 has the registers for no
			// more; the core overlaps the exp chains all the same.
			for i := 0; i < u; i++ {
				at := xs[i*nr : (i+1)*nr]
				for j, r := range rows {
					at[j] = isa.Vec()
					VMOVUPS(b.at(ptr, vb*i, r), at[j])
				}
				e.expVecs(at, rows, guard)
				if !b.log {
					for j, r := range rows {
						VMOVUPS(at[j], b.at(pf.out, vb*i, r))
					}
				}
				b.prefetchVec(pf, i, rows)
			}
			e.addVecs(xs, rows, u, nil)
		}
		b.prefetchNextGroup(pf, u)
		ADDQ(U32(vb*u), ptr)
		ADDQ(U32(vb*u), pf.out)
	}, func() {
		if b.overlap() {
			CMPQ(b.cols, U32(lanes))
			JGE(LabelRef(pre + "exp_done"))
		}
		e.maskedTails()
	})
}

// f32ExpSum is what the steps of rowGroup.expSumF32 share: the exp's
// lower bound, the folded scale (held or not) and the rows' sums.
type f32ExpSum struct {
	*rowGroup
	lo   VecVirtual
	sc   *ExpScale
	sums []VecVirtual
}

// expVecs turns xs (one vector of each row in rows) into e.
func (e *f32ExpSum) expVecs(xs []VecVirtual, rows []int, guard guards) {
	p := e.p
	for j, x := range xs {
		VSUBPS(e.mv[rows[j]], x, x)
		e.mulScale(x)
	}
	l := e.lo
	if guard == noGuards {
		l = nil
	}
	switch {
	case e.log:
		ExpSumF32Core(p, xs, l)
	case e.folding:
		ExpSoftmaxF32ScaledCore(p, xs, l, e.sc)
	default:
		ExpSoftmaxF32Core(p, xs, l)
	}
}

// addVecs adds xs (e, u vectors of each row in rows, row-minor) to the
// sums: two vectors of a row are first added in float32 (one rounding,
// 2^-24, in CONTRACT.md's budget), then widened and summed in float64.
// hide, if not nil, has the lanes to leave out.
func (e *f32ExpSum) addVecs(xs []VecVirtual, rows []int, u int, hide VecVirtual) {
	isa, sums := e.isa, e.sums
	nr := len(rows)
	for j, r := range rows {
		for i := 0; i < u; i += 2 {
			x := xs[i*nr+j]
			if i+1 < u {
				x = isa.Vec()
				VADDPS(xs[(i+1)*nr+j], xs[i*nr+j], x)
			}
			if hide != nil {
				h := isa.Vec()
				VANDNPS(x, hide, h)
				x = h
			}
			VADDPD(widenSum(x), sums[r], sums[r])
		}
	}
}

// overlapTails emits the overlapped tails (see rowGen.overlap): each row's
// last whole-width vector, its lanes before the tail left out of the sum,
// its e kept in etail.
func (e *f32ExpSum) overlapTails(guard guards, pre string) {
	p, isa, vb := e.p, e.isa, e.isa.VB
	Comment("Overlapped tails first: with dst == src the loop below",
		"overwrites their first lanes. Those lanes stay out of the sum.")
	skip := pre + "exp_ovskip"
	tc := e.ifOverlapTail(skip)
	tab := GP64()
	LEAQ(p.MaskTable(), tab)
	hide := isa.Vec()
	VMOVDQU(Mem{Base: tab, Index: tc, Scale: 4}, hide) // first lanes-tc
	for _, r := range e.slots {
		x := isa.Vec()
		VMOVUPS(e.rowEnd(e.srcp, r), x)
		e.expVecs([]VecVirtual{x}, []int{r}, guard)
		e.addVecs([]VecVirtual{x}, []int{r}, 1, hide)
		if !e.log {
			VMOVUPS(x, e.etail.Offset(vb*r))
		}
	}
	Label(skip)
}

// maskedTails is the loop's tail: each group's masked last vectors, with
// the guards, their e kept in etail.
func (e *f32ExpSum) maskedTails() {
	isa, vb := e.isa, e.isa.VB
	for _, rows := range e.groups {
		xs := make([]VecVirtual, len(rows))
		for j, r := range rows {
			xs[j] = isa.Vec()
			e.tailMask(r).LoadFill(e.at(e.ptr, 0, r), xs[j], e.negInf)
		}
		e.expVecs(xs, rows, withGuards)
		e.addVecs(xs, rows, 1, nil)
		if !e.log {
			for j, r := range rows {
				VMOVUPS(xs[j], e.etail.Offset(vb*r))
			}
		}
	}
}

// expSumF64 is pass 2's loop for float64: Kahan-compensated sums.
func (b *rowGroup) expSumF64(pre string, sums []VecVirtual, pf prefetches) {
	p, isa, k := b.p, b.isa, b.k
	lanes, vb := b.d.Lanes(isa.VB), isa.VB
	n, ptr, mv, slots := b.n, b.ptr, b.mv, b.slots
	// Single rows hold f64HeldZMM of the exp's constants (faster on long
	// rows, bench/TUNING.md). Pairs: no room.
	sc := b.fold64
	if isa.AVX512 && k == 1 {
		bu := newBudget("zmmVEXRegs", zmmVEXRegs)
		bu.take(f64HeldZMM, "exp constants")
		bu.take(2, "sum and compensation")
		bu.state()
		if b.folding {
			sc = HoldExpF64Scaled(p, sc, f64HeldZMM)
		} else {
			HoldExpF64Of(p, ExpSoftmaxF64Splats, f64HeldZMM)
		}
		defer p.Release()
	}
	exp := func(xs []VecVirtual) {
		if b.folding {
			ExpSoftmaxF64ScaledCore(p, xs, sc)
		} else {
			ExpSoftmaxF64Core(p, xs)
		}
	}
	comp := make([]VecVirtual, k)
	for _, r := range slots {
		sums[r], comp[r] = isa.Vec(), isa.Vec()
		VXORPD(sums[r], sums[r], sums[r])
		VXORPD(comp[r], comp[r], comp[r])
	}
	ns := len(slots)
	b.loop(pre+"exp", n, lanes, max(1, 2/k), func(u int) {
		xs := make([]VecVirtual, 0, u*ns)
		for i := 0; i < u; i++ {
			for _, r := range slots {
				x := isa.Vec()
				VMOVUPD(b.at(ptr, vb*i, r), x)
				VSUBPD(mv[r], x, x)
				b.mulScale(x)
				xs = append(xs, x)
			}
		}
		exp(xs)
		for i := 0; i < u; i++ {
			for j, r := range slots {
				if !b.log {
					VMOVUPD(xs[i*ns+j], b.at(pf.out, vb*i, r))
				} else {
					PREFETCHT0(b.at(pf.out, vb*i, r))
				}
			}
			b.prefetchNextRow(pf, i)
		}
		b.prefetchNextGroup(pf, u)
		for j, r := range slots {
			if u == 2 {
				VADDPD(xs[ns+j], xs[j], xs[j])
			}
			kahanAdd(sums[r], comp[r], xs[j])
		}
		ADDQ(U32(vb*u), ptr)
		ADDQ(U32(vb*u), pf.out)
	}, func() {
		xs := make([]VecVirtual, ns)
		for j, r := range slots {
			x := isa.Vec()
			b.tailMask(r).LoadFill(b.at(ptr, 0, r), x, b.negInf)
			VSUBPD(mv[r], x, x)
			b.mulScale(x)
			xs[j] = x
		}
		exp(xs)
		for j, r := range slots {
			if !b.log {
				VMOVUPD(xs[j], b.etail.Offset(vb*r))
			}
			kahanAdd(sums[r], comp[r], xs[j])
		}
	})
	for _, r := range slots {
		VSUBPD(comp[r], sums[r], sums[r])
	}
}

// reduceSums reduces the sums across lanes: the four rows of a tree in one
// vector (s4), after the next group's look-ahead; else each row's own.
func (b *rowGroup) reduceSums(sums []VecVirtual, pre string) (s4 VecVirtual) {
	switch {
	case b.tree && b.solo:
		return Tree4Of(Float64, sums, VADDPD)
	case b.tree && b.causal:
		b.causalAhead(pre)
		return Tree4Of(Float64, sums, VADDPD)
	case b.tree:
		b.nextGroupAhead(pre)
		return Tree4Of(Float64, sums, VADDPD)
	}
	for _, r := range b.perRow {
		HSumPD(sums[r])
	}
	return nil
}

// nextGroupAhead runs the next group's max pass into g.mq (g.ahead set)
// when four more rows follow these four: it overlaps this group's sums,
// division and scaling.
func (b *rowGroup) nextGroupAhead(pre string) {
	Comment("Next group's maxima, if four more rows follow these four.")
	XORQ(b.ahead, b.ahead)
	left := GP64()
	MOVQ(b.total, left)
	SUBQ(b.four, left)
	CMPQ(left, b.four)
	JL(LabelRef(pre + "noahead"))
	next := GP64()
	LEAQ(Mem{Base: b.srcp, Index: b.rb, Scale: 4}, next)
	b.maxTree(pre+"n", next)
	MOVQ(U32(1), b.ahead)
	Label(pre + "noahead")
}

// scalePass emits Softmax's pass 3: k = 1/sum; p = e*k, flushed to +0
// below the smallest normal (NaN kept), in place in dst.
func (b *rowGroup) scalePass(guard guards, pre string, out GPVirtual, sums []VecVirtual, s4 VecVirtual) {
	p, d, isa, k := b.p, b.d, b.isa, b.k
	lanes, vb := d.Lanes(isa.VB), isa.VB
	Comment("Pass 3.")
	MOVQ(b.cols, b.n)
	MOVQ(b.dstp, out)
	ks := make([]VecVirtual, k)
	if b.tree {
		// 1/sum of the four rows in one division.
		inv := isa.Vec()
		VMOVUPD(p.F64("one64", 1), inv)
		VDIVPD(s4, inv, inv)
		ks = splitRows4(p, isa, inv)
	}
	for _, r := range b.perRow {
		inv := XMM()
		VMOVSD(p.F64("one64", 1), inv)
		VDIVSD(sums[r].AsX(), inv, inv)
		if d.Size == 4 {
			VCVTSD2SS(inv, inv, inv)
		}
		ks[r] = isa.Vec()
		d.BCAST(inv, ks[r])
	}
	var tiny Op = p.Of(d, "tiny", minNormal(d))
	if isa.AVX512 {
		// In a register: a ZMM load from the pool may split a line.
		t := isa.Vec()
		d.MOVU(tiny, t)
		tiny = t
	}
	scale := func(x VecVirtual, r int) {
		d.MUL(ks[r], x, x)
		Select(d, CmpNLTUQ, tiny, x, x, x)
	}
	b.loop(pre+"scale", b.n, lanes, max(1, 4/k), func(u int) {
		for i := 0; i < u; i++ {
			for _, r := range b.slots {
				x := isa.Vec()
				d.MOVU(b.at(out, vb*i, r), x)
				if guard == withGuards {
					scale(x, r)
				} else {
					d.MUL(ks[r], x, x)
				}
				d.MOVU(x, b.at(out, vb*i, r))
			}
		}
		ADDQ(U32(vb*u), out)
	}, func() {
		b.storeOverlapTails(pre+"scale", b.etail, k, scale)
		for _, r := range b.slots {
			x := isa.Vec()
			d.MOVU(b.etail.Offset(vb*r), x)
			scale(x, r)
			b.tailMask(r).Store(x, b.at(out, 0, r))
		}
	})
}

// logPass emits LogSoftmax's pass 3: y = (s - max) - log(sum), s - max
// first to keep the rounding relative to |y|. log(NaN) is made NaN by
// adding sum*0.
func (b *rowGroup) logPass(pre string, out GPVirtual, sums []VecVirtual, s4 VecVirtual) {
	p, d, isa, k := b.p, b.d, b.isa, b.k
	lanes, vb := d.Lanes(isa.VB), isa.VB
	n, ptr, mv := b.n, b.ptr, b.mv
	Comment("Pass 3.")
	MOVQ(b.cols, n)
	MOVQ(b.dstp, out)
	ks := make([]VecVirtual, k)
	if b.tree {
		// The four logs in one vector.
		LogPD(p, s4, logTermsF32)
		ks = splitRows4(p, isa, s4)
	}
	for _, r := range b.perRow {
		l, z := XMM(), XMM()
		sr := sums[r].AsX()
		VMOVAPD(sr, l)
		LogPD(p, l, logTerms(d))
		VXORPD(z, z, z)
		VFMADD231SD(z, sr, l)
		if d.Size == 4 {
			VCVTSD2SS(l, l, l)
		}
		ks[r] = isa.Vec()
		d.BCAST(l, ks[r])
	}
	MOVQ(b.srcp, ptr)
	y := func(x VecVirtual, r int) {
		d.SUB(mv[r], x, x)
		d.SUB(ks[r], x, x)
	}
	if b.overlap() {
		Comment("Overlapped tails computed first (dst == src), stored last.")
		skip := pre + "log_ovskip"
		b.ifOverlapTail(skip)
		for _, r := range b.slots {
			x := isa.Vec()
			d.MOVU(b.rowEnd(b.srcp, r), x)
			y(x, r)
			d.MOVU(x, b.ytail.Offset(vb*r))
		}
		Label(skip)
	}
	b.loop(pre+"log", n, lanes, max(1, 4/k), func(u int) {
		for i := 0; i < u; i++ {
			for _, r := range b.slots {
				x := isa.Vec()
				d.MOVU(b.at(ptr, vb*i, r), x)
				y(x, r)
				d.MOVU(x, b.at(out, vb*i, r))
			}
		}
		ADDQ(U32(vb*u), ptr)
		ADDQ(U32(vb*u), out)
	}, func() {
		b.storeOverlapTails(pre+"log", b.ytail, k, nil)
		for _, r := range b.slots {
			x := isa.Vec()
			b.tailMask(r).Load(b.at(ptr, 0, r), x)
			y(x, r)
			b.tailMask(r).Store(x, b.at(out, 0, r))
		}
	})
}
