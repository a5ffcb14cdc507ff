// Rows of up to groupBytes, LogSumExp on every tier: a float64 vector's
// worth of rows at a time.

package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// groupBytes is the longest row (in bytes) that takes the group path:
// groupRows rows at a time, one vector of each per step, so that a short
// row's fixed costs (the horizontal reductions, the log, the branches)
// are paid once for the group: the maxima and the sums are reduced by one
// transposing tree each (groupTree), which leaves row i's value in lane i
// of one float64 vector, and the logs are one log of that vector (float32:
// LogPDF32, see groupFinish). A row left over, or one of a group beside a
// row left to the caller, runs the same code alone (solo: slot 0 only, its
// values fed to every input of the trees, which treat each input's lanes
// alike), so a row's bits do not depend on its neighbours (rows stand
// alone). AVX2 float32 rows from rowExpMinCols columns run the exp pass
// one row after another (rowExpY), the rest of the path as above.
//
// Up to this length a float64 row's sum needs no compensation: each lane
// adds at most groupBytes/vb terms in order, a relative error of at most
// 2^-47 (AVX2, 64 terms), and the tree three more roundings.
const groupBytes = 2048

// f32SumBytes returns the longest float32 row (in bytes) whose group sums
// stay in float32 lanes: its e need no widening. A term passes through at
// most 10 additions on the way to its row's sum (AVX-512, 512 bytes: two
// levels of its iteration's pairs, then the sum's adds of the later
// iterations, single vectors and tail, then the tree's 4; AVX2, 160
// bytes: 6), each a rounding of 2^-24 relative to the sum (>= 1, the
// terms positive): 2^-20.7 at most, which beside the exp's 2^-22.5 keeps
// the log of the sum within CONTRACT.md's 2^-20 for LogSumExp. (AVX2's
// rows of 128 columns would take 20.)
func (r *row) f32SumBytes() int {
	if r.isa.AVX512 {
		return 512
	}
	return 160
}

// groupExpUnroll is the number of vectors of each row an iteration of the
// group exp pass takes: their e are added pairwise in F before the sum,
// so that a float32 row widens one vector of four.
const groupExpUnroll = 4

// groupRows returns the rows of a group: the lanes of a float64 vector,
// one for each row's result.
func (r *row) groupRows() int { return r.isa.VB / 8 }

// groupCols returns the longest row of the group path, in elements.
func (r *row) groupCols() int { return groupBytes / r.d.Size }

// groupExpVecs is the number of vectors whose exps the group path's exp
// pass computes together (ILP for the exp's latency chains): a group's
// sums and these vectors' temporaries fill the register file (see
// groupBudget).
func (r *row) groupExpVecs() int {
	if r.isa.AVX512 {
		return 4
	}
	if r.d.Size == 4 {
		return 4 // expSoftmaxF32Table8 runs them one after another
	}
	return 1
}

// Registers of one vector's exp (the value and its temporaries), by core:
// lseExpF32 (AVX-512 float32) keeps three beside the value, the table and
// its rounding shift being held (lseExpF32Held); expSoftmaxF32Table8
// (AVX2 float32) runs its vectors one after another (three temporaries in
// all, beside the values); lseExpF64 keeps three beside the value, and
// one more for r^2 at its end.
const (
	expTempsF32ZMM = 4
	expTempsF32YMM = 1 // per value; plus yExpTempsF32 once
	yExpTempsF32   = 3
	expTempsF64    = 5
	widenTemps     = 2 // float32: the two float64 halves of an e
	loClamp        = 1 // the exp's clamp bound
)

// groupHeldY is the number of the AVX2 float32 exp's constants (its
// rounding shift, log2e, -ln2) that the group exp pass holds in registers:
// the three where the sums stay in float32 (the registers of the widening
// left free), none on the other tiers and types, or with the widening.
func (r *row) groupHeldY(f32sum bool) int {
	if r.d.Size == 4 && !r.isa.AVX512 && f32sum {
		return 3
	}
	return 0
}

// groupBudget checks the exp pass's vector registers against the ISA's
// (16 YMM; 32 ZMM) and writes the count into the .s; it panics past them.
func (r *row) groupBudget(f32sum bool) {
	limit := 16
	if r.isa.AVX512 {
		limit = 32
	}
	g, k := r.groupRows(), r.groupExpVecs()
	parts := []string{fmt.Sprintf("%d sums", g), "1 max tree"}
	used := g + 1
	add := func(n int, what string) {
		used += n
		parts = append(parts, fmt.Sprintf("%d %s", n, what))
	}
	switch {
	case r.d.Size == 4 && r.isa.AVX512:
		add(k*expTempsF32ZMM, "exp values and temporaries")
		add(lseExpF32Held, "held exp constants")
		add(loClamp, "clamp bound")
	case r.d.Size == 4:
		add(k*expTempsF32YMM+yExpTempsF32, "exp values and temporaries")
		add(loClamp, "clamp bound")
		if n := r.groupHeldY(f32sum); n > 0 {
			add(n, "held exp constants")
		}
	default:
		add(k*expTempsF64, "exp values and temporaries")
		add(loClamp, "clamp bound")
	}
	if r.d.Size == 4 && !f32sum {
		add(widenTemps, "widened halves")
	}
	s := fmt.Sprintf("Register budget groupExp: %s, %d of %d.", strings.Join(parts, " + "), used, limit)
	if used > limit {
		panic(s)
	}
	Comment(s)
}

// slots addresses the rows of a group: slot i is the row i rows after
// slot 0's, through two bases and two row strides (the x86 scales 1, 2, 4
// reach every slot of 8); solo, both strides are 0 and every slot is slot
// 0's row.
type slots struct {
	a, b    GPVirtual // slot 0's row and slot 3's
	rb, rb3 GPVirtual // a row's bytes, and three rows'
}

// at addresses slot i's row, disp bytes in: slots 3, 5 and 7 from b
// (slot 3's row), the others from a, each 0, 1, 2 or 4 rows (rb) or two
// times three rows (rb3) on.
func (s slots) at(i, disp int) Mem {
	if i < 0 || i > 7 {
		panic("slot out of range")
	}
	m := Mem{Base: s.a, Disp: disp}
	if i%2 == 1 && i > 1 {
		m.Base, i = s.b, i-3
	}
	switch i {
	case 1, 2, 4:
		m.Index, m.Scale = s.rb, uint8(i)
	case 6:
		m.Index, m.Scale = s.rb3, 2
	}
	return m
}

// start points the slots at the rows from src: k = 1 is solo.
func (r *row) startSlots(s slots, src Register, k int) {
	MOVQ(src, s.a)
	if k == 1 {
		return
	}
	LEAQ(Mem{Base: src, Index: s.rb3, Scale: 1}, s.b)
}

// advance moves every slot on by u vectors.
func (r *row) advanceSlots(s slots, k, u int) {
	ADDQ(U32(r.vb*u), s.a)
	if k > 1 {
		ADDQ(U32(r.vb*u), s.b)
	}
}

// groupTree reduces groupRows vectors, one per slot, with op into one
// vector whose 64-bit lane i holds slot i's value (float32: in both
// halves). A transposing tree: each step pairs two vectors' halves
// (256-bit blocks, then 128-bit, then 64-bit lanes; float32 then the two
// halves of each 64-bit lane), so that every input's lanes are combined
// in the same pattern, wherever it sits (rows stand alone). The inputs
// are placed so that the result comes out in slot order.
func groupTree(vs []VecVirtual, op func(...Op), f32 bool) VecVirtual {
	g := len(vs)
	zmm := vs[0].Size() == 64
	cur := make([]VecVirtual, g)
	for i, v := range vs {
		cur[i/2+(g/2)*(i%2)] = v
	}
	level := func(pair func(x, y, lo, hi VecVirtual)) {
		next := make([]VecVirtual, len(cur)/2)
		for j := range next {
			lo, hi := like(cur[0]), like(cur[0])
			pair(cur[2*j], cur[2*j+1], lo, hi)
			op(lo, hi, hi)
			next[j] = hi
		}
		cur = next
	}
	Comment("A transposing tree: row i's value to 64-bit lane i.")
	if zmm {
		level(func(x, y, lo, hi VecVirtual) {
			VSHUFF64X2(U8(0x44), y, x, lo) // x's low 256 bits, y's
			VSHUFF64X2(U8(0xee), y, x, hi) // x's high 256 bits, y's
		})
		level(func(x, y, lo, hi VecVirtual) {
			VSHUFF64X2(U8(0x88), y, x, lo) // the even 128-bit blocks
			VSHUFF64X2(U8(0xdd), y, x, hi) // the odd ones
		})
	} else {
		level(func(x, y, lo, hi VecVirtual) {
			VPERM2F128(U8(0x20), y, x, lo)
			VPERM2F128(U8(0x31), y, x, hi)
		})
	}
	level(func(x, y, lo, hi VecVirtual) {
		VUNPCKLPD(y, x, lo)
		VUNPCKHPD(y, x, hi)
	})
	m := cur[0]
	if f32 {
		t := like(m)
		VPERMILPS(U8(0xb1), m, t)
		op(t, m, m)
	}
	return m
}

// groupMaxUnroll returns the vectors of each row a step of the group max
// pass takes: on AVX2 four, the loop's own instructions paid once for
// them; AVX-512's eight rows of a group keep one (four was no faster
// there, bench/TUNING.md).
func (r *row) groupMaxUnroll() int {
	if r.isa.AVX512 {
		return 1
	}
	return 4
}

// groupMax emits the max pass of k slots (the group, or 1: solo) and
// returns the tree of their maxima (see groupTree).
func (r *row) groupMax(pre string, src Register, s slots, k int, gt *groupTail) VecVirtual {
	d, isa := r.d, r.isa
	Comment("Max pass, one vector of each row per step.")
	n := GP64()
	MOVQ(r.cols, n)
	r.startSlots(s, src, k)
	acc := make([]VecVirtual, k)
	for i := range acc {
		acc[i] = isa.Vec()
		d.MOVU(r.negInf, acc[i])
	}
	Loop(pre+"gmax", n, r.lanes, r.groupMaxUnroll(), func(u int) {
		for j := 0; j < u; j++ {
			for i := range acc {
				d.MAX(s.at(i, r.vb*j), acc[i], acc[i])
			}
		}
		r.advanceSlots(s, k, u)
	}, func() {
		if gt != nil {
			ts := gt.slots(s, k)
			for i := range acc {
				d.MAX(ts.at(i, 0), acc[i], acc[i]) // the overlap changes no max
			}
			return
		}
		for i := range acc {
			x := isa.Vec()
			r.mask.LoadFill(s.at(i, 0), x, r.negInf)
			d.MAX(x, acc[i], acc[i])
		}
	})
	return groupTree(r.fill(acc), d.MAX, d.Size == 4)
}

// fill returns vs as the trees' groupRows inputs: solo, slot 0's vector
// stands for every slot.
func (r *row) fill(vs []VecVirtual) []VecVirtual {
	out := make([]VecVirtual, r.groupRows())
	for i := range out {
		out[i] = vs[min(i, len(vs)-1)]
	}
	return out
}

// groupExp emits the exp pass of k slots with the broadcast maxima at ms
// (one vector each) and returns the tree of their sums, in float64, row i
// in lane i. f32sum (float32 rows of up to f32SumBytes()): the sums stay in
// float32 lanes.
func (r *row) groupExp(pre string, src Register, s slots, k int, ms []Mem, f32sum bool, gt *groupTail) VecVirtual {
	d, isa := r.d, r.isa
	if f32sum {
		Comment("Exp pass: e = exp(s - max), each row summed in float32 lanes.")
	} else {
		Comment("Exp pass: e = exp(s - max), each row summed in float64 lanes.")
	}
	r.groupBudget(f32sum)
	n := GP64()
	MOVQ(r.cols, n)
	r.startSlots(s, src, k)
	sums := make([]VecVirtual, k)
	for i := range sums {
		sums[i] = isa.Vec()
		VXORPD(sums[i], sums[i], sums[i])
	}
	held := r.groupHeldY(f32sum)
	if held > 0 {
		defer r.p.Release()
	}
	ge := r.holdGroupExp(held)
	c := r.groupExpVecs()
	// step takes u vectors of each slot's row (u a power of 2): their e
	// are added in F first, pairwise (float32: at most two roundings
	// beside the one-row path's one), then (float32 rows over
	// f32SumBytes) widened and summed in float64.
	// keep (the overlapped tail, see groupTail) zeroes the lanes before
	// the row's last cols%lanes after the exp.
	step := func(u int, load func(i, j int, x VecVirtual), keep *Mem) {
		type val struct{ i, j int }
		var all []val
		for i := 0; i < k; i++ {
			for j := 0; j < u; j++ {
				all = append(all, val{i, j})
			}
		}
		xs := make([]VecVirtual, len(all))
		for c0 := 0; c0 < len(all); c0 += c {
			chunk := xs[c0:min(c0+c, len(all))]
			for q := range chunk {
				v := all[c0+q]
				chunk[q] = isa.Vec()
				load(v.i, v.j, chunk[q])
				d.SUB(ms[v.i], chunk[q], chunk[q])
			}
			ge.exp(chunk)
			if keep != nil {
				for _, x := range chunk {
					d.AND(*keep, x, x)
				}
			}
			for q := range chunk {
				v := all[c0+q]
				if v.j != u-1 {
					continue // added with the slot's last
				}
				vs := xs[c0+q-(u-1) : c0+q+1]
				for len(vs) > 1 {
					for h := 0; h < len(vs)/2; h++ {
						d.ADD(vs[2*h+1], vs[2*h], vs[2*h])
						vs[h] = vs[2*h]
					}
					vs = vs[:len(vs)/2]
				}
				x := vs[0]
				switch {
				case f32sum:
					VADDPS(x, sums[v.i], sums[v.i])
					continue
				case d.Size == 4:
					l, h := Widen2(x)
					VADDPD(h, l, l)
					x = l
				}
				VADDPD(x, sums[v.i], sums[v.i])
			}
		}
	}
	Loop(pre+"gexp", n, r.lanes, groupExpUnroll, func(u int) {
		step(u, func(i, j int, x VecVirtual) { d.MOVU(s.at(i, r.vb*j), x) }, nil)
		r.advanceSlots(s, k, u)
	}, func() {
		if gt != nil {
			ts := gt.slots(s, k)
			step(1, func(i, _ int, x VecVirtual) { d.MOVU(ts.at(i, 0), x) }, &gt.keep)
			return
		}
		step(1, func(i, _ int, x VecVirtual) { r.mask.LoadFill(s.at(i, 0), x, r.negInf) }, nil)
	})
	if f32sum {
		return r.treeF64(groupTree(r.fill(sums), VADDPS, true))
	}
	return groupTree(r.fill(sums), VADDPD, false)
}

// groupLogSumExp emits LogSumExp for the k rows (the group, or 1: solo) at
// srcp into dstp. A max that is not finite in any of them jumps to bail.
func (r *row) groupLogSumExp(pre string, srcp, dstp Register, s slots, k int, mx Mem, how groupSum, gt *groupTail, bail string) {
	d, isa := r.d, r.isa
	m := r.groupMax(pre, srcp, s, k, gt)

	r.groupFinite(m, bail)

	Comment("Each row's max, broadcast to a vector on the stack (a permute of",
		"the tree's lane: a narrow load from the tree's wide store would wait",
		"for the store).")
	ms := make([]Mem, k)
	for i := range ms {
		b := isa.Vec()
		r.laneBroadcast(m, i, b)
		ms[i] = mx.Offset(isa.VB * i)
		d.MOVU(b, ms[i])
	}
	var sum VecVirtual
	if how == sumRows {
		sum, m = r.rowExpY(pre, srcp, s, k, mx, m, gt)
	} else {
		sum = r.groupExp(pre, srcp, s, k, ms, how == sumF32, gt)
	}

	r.groupFinish(m, sum, dstp, k)
}

// groupFinite jumps to bail when a max of the tree m is not finite (NaN,
// +Inf, all -Inf).
func (r *row) groupFinite(m VecVirtual, bail string) {
	d, isa, p := r.d, r.isa, r.p
	Comment("A max that is not finite (NaN, +Inf, all -Inf): bail.")
	var bits Mem
	and, eq := VANDPS, VPCMPEQD
	if d.Size == 4 {
		bits = p.U32("f32_expbits", 0x7f800000)
	} else {
		bits = p.U64("f64_expbits", 0x7ff0000000000000)
		and, eq = VANDPD, VPCMPEQQ
	}
	ex := isa.Vec()
	and(bits, m, ex)
	if isa.AVX512 {
		kk := K()
		eq(bits, ex, kk)
		KORTESTW(kk, kk)
	} else {
		eq(bits, ex, ex)
		VPTEST(ex, ex)
	}
	JNE(LabelRef(bail))
}

// groupFinish emits max + log(sum) for the k rows (k = 1: solo) of the
// trees m (maxima, F) and sum (float64, row i in lane i) into dstp.
func (r *row) groupFinish(m, sum VecVirtual, dstp Register, k int) {
	d, isa, p := r.d, r.isa, r.p
	g := r.groupRows()
	Comment("max + log(sum) in float64, row i in lane i: one log for the group.")
	var md VecVirtual
	if d.Size == 4 {
		md = r.treeF64(m)
		// The NaN of a NaN entry that VMAXPS passed over reaches the sum:
		// max + sum*0 keeps it, beside the log's chain rather than at its end.
		Comment("max + sum*0: a NaN sum stays NaN.")
		z := isa.Vec()
		VXORPD(z, z, z)
		VFMADD231PD(z, sum, md)
		LogPDF32(p, sum, groupLogTermsF32, logTerms(d))
	} else {
		LogPD(p, sum, logTerms(d))
		md = isa.Vec()
		VMOVAPD(m, md)
	}
	VADDPD(md, sum, sum)
	if d.Size == 8 {
		if k == 1 {
			VMOVSD(sum.AsX(), Mem{Base: dstp})
		} else {
			VMOVUPD(sum, Mem{Base: dstp})
		}
		return
	}
	y := isa.Vec()
	if isa.AVX512 {
		VCVTPD2PS(sum, y.AsY())
	} else {
		VCVTPD2PSY(sum, y.AsX())
	}
	switch {
	case k == 1:
		VMOVSS(y.AsX(), Mem{Base: dstp})
	case g == 8:
		VMOVUPS(y.AsY(), Mem{Base: dstp})
	default:
		VMOVUPS(y.AsX(), Mem{Base: dstp})
	}
}

// groupLogTermsF32 is the number of series terms of the float32 groups'
// log: 2^-25 absolute on ln m (|f| < 0.1716: the first term left out is
// 2f^9/9), a thirty-second of LogSumExp's bound.
const groupLogTermsF32 = 4

// treeF64 returns a float32 tree's values (see groupTree) as float64, row
// i in lane i.
func (r *row) treeF64(m VecVirtual) VecVirtual {
	p, isa := r.p, r.isa
	idx := make([]Constant, 16)
	for i := range idx {
		idx[i] = U32(uint32(2 * (i % 8)))
	}
	iv, t, md := isa.Vec(), isa.Vec(), isa.Vec()
	if isa.AVX512 {
		VMOVDQU32(p.Table("xent_even32", idx), iv)
	} else {
		VMOVDQU(p.Table("xent_even32", idx), iv)
	}
	VPERMPS(m, iv, t) // the values in lanes 0..g-1
	if isa.AVX512 {
		VCVTPS2PD(t.AsY(), md)
	} else {
		VCVTPS2PD(t.AsX(), md)
	}
	return md
}

// laneBroadcast sets every lane of b to 64-bit lane i of the tree m (its
// low half, float32).
func (r *row) laneBroadcast(m VecVirtual, i int, b VecVirtual) {
	p, isa := r.p, r.isa
	switch {
	case r.d.Size == 8 && !isa.AVX512:
		VPERMPD(U8(0x55*i), m, b)
		return
	case r.d.Size == 8:
		idx := isa.Vec()
		VMOVDQU64(p.U64(fmt.Sprintf("xent_lane64_%d", i), uint64(i)), idx)
		VPERMPD(m, idx, b)
		return
	}
	idx := isa.Vec()
	c := p.U32(fmt.Sprintf("xent_lane32_%d", 2*i), uint32(2*i))
	if isa.AVX512 {
		VMOVDQU32(c, idx)
	} else {
		VMOVDQU(c, idx)
	}
	VPERMPS(m, idx, b)
}

// groupLogSumExpRows emits the group path's row loop: groups while a group
// is left, else rows solo; a group with a max that is not finite runs its
// rows solo, and a solo row whose max is not finite gets NaN. It goes on
// at done.
func (r *row) groupLogSumExpRows(srcp, dstp, rows Register, done string) {
	g := r.groupRows()
	Comment("Each row's broadcast max: on the stack, aligned to 64 bytes (a",
		"vector load that splits a cache line costs twice).")
	size := r.vb*(g+1) + 64 // and groupTail's keep
	if r.rowExpOK() {
		size += r.rowExpBytes() // rowExpY's sums and tree
	}
	raw := AllocLocal(size)
	mb := GP64()
	LEAQ(raw, mb)
	ADDQ(U32(63), mb)
	ANDQ(I32(-64), mb)
	mx := Mem{Base: mb}
	s := slots{a: GP64(), b: GP64(), rb: GP64(), rb3: GP64()}
	left := GP64()
	MOVQ(r.cols, s.rb)
	SHLQ(U8(r.d.Shift), s.rb)
	LEAQ(Mem{Base: s.rb, Index: s.rb, Scale: 2}, s.rb3)
	r.residentRows(srcp, dstp, rows, s, left, done)
	var gt *groupTail
	if !r.isa.AVX512 {
		gt = r.newGroupTail(mx.Offset(r.vb * g))
	}
	loop := func(pre string, how groupSum) {
		r.groupRowLoop(pre, srcp, dstp, rows, s, left, done, func(pre string, k int, bail string) {
			r.groupLogSumExp(pre, srcp, dstp, s, k, mx, how, gt, bail)
		})
	}
	if r.d.Size == 4 {
		CMPQ(r.cols, U32(r.f32SumBytes()/4))
		JA(LabelRef("w"))
		loop("s", sumF32)
		Label("w")
	}
	if r.rowExpOK() {
		CMPQ(r.cols, U32(rowExpMinCols))
		JAE(LabelRef("rw"))
		loop("", sumF64)
		Label("rw")
		loop("w", sumRows)
		return
	}
	loop("", sumF64)
}

// groupSum is how the group path sums a row's e (see groupLogSumExpRows).
type groupSum int

const (
	sumF64  groupSum = iota // float64 lanes, the rows interleaved (groupExp)
	sumF32                  // float32 lanes, rows of up to f32SumBytes
	sumRows                 // float64 lanes, one row after another (rowExpY)
)

// groupRowLoop emits one row loop of the group path (see
// groupLogSumExpRows), labels prefixed by pre; emit emits the code of k
// rows (the group, or 1: solo) that jumps to bail when a max is not
// finite.
func (r *row) groupRowLoop(pre string, srcp, dstp, rows Register, s slots, left Register, done string, emit func(pre string, k int, bail string)) {
	g := r.groupRows()
	Label(pre + "groups")
	CMPQ(rows, U8(g))
	JL(LabelRef(pre + "grest"))
	emit(pre+"g", g, pre+"gbail")
	LEAQ(Mem{Base: srcp, Index: s.rb, Scale: uint8(g)}, srcp)
	ADDQ(U32(g*r.d.Size), dstp)
	SUBQ(U8(g), rows)
	JMP(LabelRef(pre + "groups"))

	Label(pre + "gbail")
	MOVQ(U32(g), left)
	JMP(LabelRef(pre + "gsolo"))
	Label(pre + "grest")
	TESTQ(rows, rows)
	JE(LabelRef(done))
	MOVQ(rows, left)
	Label(pre + "gsolo")
	TESTQ(left, left)
	JE(LabelRef(pre + "groups"))
	emit(pre+"o", 1, pre+"gsnan")
	Label(pre + "gsnext")
	r.next([]Register{srcp}, dstp, nil)
	DECQ(rows)
	DECQ(left)
	JMP(LabelRef(pre + "gsolo"))
	Label(pre + "gsnan")
	r.storeNaN(Mem{Base: dstp})
	JMP(LabelRef(pre + "gsnext"))
}

// groupTail is the AVX2 group path's row tail, as the resident rows'
// overlapTail: the whole vector that ends at the row's end instead of a
// masked load (VMASKMOV) and a blend with -Inf, read plain by the max pass
// (the overlap changes no max) and ANDed with keep after the exp. Its
// rows are over a vector (cols > lanes when there is a tail), so the
// vector holds only the row's own elements. The two values live on the
// stack: the group loops have no general or vector register to spare.
type groupTail struct {
	off  Mem // from the tail's place to that vector: (cols%lanes)*size - vb
	keep Mem // a vector: ones in the row's last cols%lanes lanes
}

// newGroupTail emits the set-up of groupTail, keep at the vector keep.
func (r *row) newGroupTail(keep Mem) *groupTail {
	d := r.d
	gt := &groupTail{off: AllocLocal(8), keep: keep}
	Comment("The row tail: the whole vector that ends at the row's end, its",
		"lanes before the row's last cols%lanes zeroed after the exp.")
	t, h := GP64(), GP64()
	MOVQ(r.cols, t)
	ANDQ(U32(r.lanes-1), t)
	MOVQ(U32(r.lanes), h)
	SUBQ(t, h)
	head := TailMask(r.p, d, h) // the first lanes - cols%lanes
	ones, k := YMM(), YMM()
	VPCMPEQD(ones, ones, ones)
	VANDNPS(ones, head, k)
	VMOVUPS(k, keep)
	SHLQ(U8(d.Shift), t)
	SUBQ(U32(r.vb), t)
	MOVQ(t, gt.off)
	return gt
}

// slots returns the slots' tail vectors: k rows (1: solo) at the slots'
// current place, at their tail.
func (gt *groupTail) slots(s slots, k int) slots {
	ts := slots{a: GP64(), rb: s.rb, rb3: s.rb3}
	MOVQ(gt.off, ts.a)
	ADDQ(s.a, ts.a)
	if k > 1 {
		ts.b = GP64()
		MOVQ(gt.off, ts.b)
		ADDQ(s.b, ts.b)
	}
	return ts
}
