// Rows of up to quadBytes, LogSumExp float32 AVX-512: four at a time.

package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// quadBytes is the longest row (in bytes) that takes the four-row path:
// four rows at a time, one vector of each per step, their four maxima and
// four sums reduced by one transposing tree each (Tree4) and their four
// logs taken in one vector (LogPD), as Softmax's groups. A row left over,
// or one of a group beside a row left to the caller, runs the same code
// alone (solo: slot 0 only, its values fed to every slot of the trees,
// which treat each slot's lanes alike), so a row's bits do not depend on
// its neighbours (rows stand alone).
const quadBytes = 2048

// quadOK says whether LogSumExp has the four-row path.
func (r *row) quadOK() bool { return r.isa.AVX512 && r.d.Size == 4 }

// quadCols returns the longest row of the four-row path, in elements.
func (r *row) quadCols() int { return quadBytes / r.d.Size }

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

// quadLogSumExp emits LogSumExp for four rows at srcp into dstp, or solo
// for the row at srcp alone (slot 0; the other slots repeat it). A group
// any of whose maxima is not finite jumps to bail, as does a solo row
// whose max is not finite.
func (r *row) quadLogSumExp(pre string, srcp, dstp Register, solo, spans bool, bail string) {
	d, isa, p := r.d, r.isa, r.p
	k := 4
	if solo {
		k = 1
	}
	Comment("Four rows (or one, solo): the max pass, a vector of each per step.")
	n, a, b := GP64(), GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(srcp, a)
	LEAQ(Mem{Base: srcp, Index: r.cols, Scale: uint8(2 * d.Size)}, b)
	acc, acc2, mins := make([]VecVirtual, 4), make([]VecVirtual, 4), make([]VecVirtual, 4)
	for i := 0; i < k; i++ {
		acc[i], acc2[i], mins[i] = isa.Vec(), isa.Vec(), isa.Vec()
		d.MOVU(r.negInf, acc[i])
		d.MOVU(r.negInf, acc2[i])
		d.MOVU(p.F32("posinf", float32(math.Inf(1))), mins[i])
	}
	advance := func(u int) {
		ADDQ(U32(r.vb*u), a)
		if !solo {
			ADDQ(U32(r.vb*u), b)
		}
	}
	Loop(pre+"qmax", n, r.lanes, 2, func(u int) {
		for j := 0; j < u; j++ {
			for i := 0; i < k; i++ {
				m := r.quadAt(a, b, i)
				m.Disp = r.vb * j
				x := isa.Vec()
				d.MOVU(m, x)
				if spans {
					d.MIN(x, mins[i], mins[i])
				}
				if j == 0 {
					d.MAX(x, acc[i], acc[i])
				} else {
					d.MAX(x, acc2[i], acc2[i])
				}
			}
		}
		advance(u)
	}, func() {
		for i := 0; i < k; i++ {
			x := isa.Vec()
			r.mask.LoadFill(r.quadAt(a, b, i), x, r.negInf)
			d.MAX(x, acc[i], acc[i])
			if spans {
				r.mask.MergeMin(x, mins[i])
			}
		}
	})
	for i := 0; i < k; i++ {
		d.MAX(acc2[i], acc[i], acc[i])
	}
	for i := k; i < 4; i++ {
		acc[i] = acc[0] // solo: slot 0 stands for every slot
		mins[i] = mins[0]
	}
	m := Tree4(acc, VMAXPS, true) // quarter i: slot i's max in every lane
	var span VecVirtual
	if spans {
		span = Tree4(mins, VMINPS, true)
		VSUBPS(span, m, span) // quarter i: slot i's max - min
	}
	Comment("A max that is not finite (NaN, +Inf, all -Inf): bail.")
	ex, kk := isa.Vec(), K()
	VPANDD(p.U32("f32_expbits", 0x7f800000), m, ex)
	VPCMPEQD(p.U32("f32_expbits", 0x7f800000), ex, kk)
	KORTESTW(kk, kk)
	JNE(LabelRef(bail))
	ms := make([]VecVirtual, k)
	for i := range ms {
		ms[i] = isa.Vec()
		VSHUFF32X4(U8(0x55*i), m, m, ms[i])
	}

	Comment("The exp pass: e = exp(s - max), each row summed in float64.",
		"Every row within fastSpan: whole vectors skip the exp's clamp, which",
		"changes no lane of such rows (the same bits).")
	sums := make([]VecVirtual, 4)
	for i := 0; i < k; i++ {
		sums[i] = isa.Vec()
		VXORPD(sums[i], sums[i], sums[i])
	}
	if spans {
		slow := Compare(Float32, CmpNLEUQ, p.F32("fastspan32", fastSpan), span)
		AnyTrue([]Pred{slow})
		JNZ(LabelRef(pre + "qguard"))
		r.quadExp(pre+"qf", srcp, ms, sums, k, solo, true)
		JMP(LabelRef(pre + "qexpdone"))
	}
	Label(pre + "qguard")
	r.quadExp(pre+"qg", srcp, ms, sums, k, solo, false)
	Label(pre + "qexpdone")
	for i := k; i < 4; i++ {
		sums[i] = sums[0]
	}
	s := Tree4(sums, VADDPD, false) // quarter i: slot i's sum in both lanes
	Comment("max + log(sum) in float64, slot i in lane i (and i+4): the four",
		"logs in one vector (a ZMM: the tier has no AVX2 or AVX512VL).")
	pdIdx, psIdx := make([]Constant, 8), make([]Constant, 16)
	for i := range pdIdx {
		pdIdx[i] = U64(uint64(2 * (i % 4)))
	}
	for i := range psIdx {
		psIdx[i] = U32(uint32(4 * (i % 4)))
	}
	idx, lg := isa.Vec(), isa.Vec()
	VMOVDQU64(p.Table("xent_quadpd", pdIdx), idx)
	VPERMPD(s, idx, lg) // lane i: slot i's sum
	LogPD(p, lg, logTerms(d))
	mi, mp, md := isa.Vec(), isa.Vec(), isa.Vec()
	VMOVDQU32(p.Table("xent_quadps", psIdx), mi)
	VPERMPS(m, mi, mp) // lane i: slot i's max
	VCVTPS2PD(mp.AsY(), md)
	VADDPD(md, lg, lg)
	yv := isa.Vec()
	VCVTPD2PS(lg, yv.AsY()) // lane i: slot i's result
	y := yv.AsX()
	if solo {
		VMOVSS(y, Mem{Base: dstp})
		return
	}
	VMOVUPS(y, Mem{Base: dstp})
}

// quadLogSumExpRows emits the four-row path's row loop: groups of four
// while four are left, else rows solo; a group with a max that is not
// finite runs its four rows solo, and a solo row whose max is not finite
// gets NaN. It goes on at done.
func (r *row) quadLogSumExpRows(pre string, spans bool, srcp, dstp, rows Register, done string) {
	left := GP64()
	Label(pre + "quads")
	CMPQ(rows, U8(4))
	JL(LabelRef(pre + "qrest"))
	r.quadLogSumExp(pre+"q", srcp, dstp, false, spans, pre+"qbail")
	for i := 0; i < 4; i++ {
		r.next([]Register{srcp}, dstp, nil)
	}
	SUBQ(U8(4), rows)
	JMP(LabelRef(pre + "quads"))

	Label(pre + "qbail")
	MOVQ(U32(4), left)
	JMP(LabelRef(pre + "qsolo"))
	Label(pre + "qrest")
	TESTQ(rows, rows)
	JE(LabelRef(done))
	MOVQ(rows, left)
	Label(pre + "qsolo")
	TESTQ(left, left)
	JE(LabelRef(pre + "quads"))
	r.quadLogSumExp(pre+"o", srcp, dstp, true, spans, pre+"qsnan")
	Label(pre + "qsnext")
	r.next([]Register{srcp}, dstp, nil)
	DECQ(rows)
	DECQ(left)
	JMP(LabelRef(pre + "qsolo"))
	Label(pre + "qsnan")
	r.storeNaN(Mem{Base: dstp})
	JMP(LabelRef(pre + "qsnext"))
}

// quadExp emits the exp pass of k slots' rows at srcp with maxima ms
// (broadcast), adding each slot's e into sums[i] (float64). fast: whole
// vectors skip the exp's clamp (the tail keeps it).
func (r *row) quadExp(pre string, srcp Register, ms, sums []VecVirtual, k int, solo, fast bool) {
	d, isa, p := r.d, r.isa, r.p
	n, a, b := GP64(), GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(srcp, a)
	LEAQ(Mem{Base: srcp, Index: r.cols, Scale: uint8(2 * d.Size)}, b)
	advance := func(u int) {
		ADDQ(U32(r.vb*u), a)
		if !solo {
			ADDQ(U32(r.vb*u), b)
		}
	}
	lo := isa.Vec()
	VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	HoldExpF32Table(p)
	defer p.Release()
	// step takes u vectors of each slot's row: pairs are added in float32
	// first (one rounding, as the one-row path), then widened and summed
	// in float64.
	step := func(u int, guard bool, load func(i, j int, x VecVirtual)) {
		xs := make([]VecVirtual, 0, k*u)
		for i := 0; i < k; i++ {
			for j := 0; j < u; j++ {
				x := isa.Vec()
				load(i, j, x)
				VSUBPS(ms[i], x, x)
				xs = append(xs, x)
			}
		}
		l := lo
		if !guard {
			l = nil
		}
		for c := 0; c < len(xs); c += 4 {
			ExpSumF32Core(p, xs[c:min(c+4, len(xs))], l)
		}
		for i := 0; i < k; i++ {
			x := xs[i*u]
			if u == 2 {
				VADDPS(xs[i*u+1], x, x)
			}
			l, h := Widen2(x)
			VADDPD(h, l, l)
			VADDPD(l, sums[i], sums[i])
		}
	}
	Loop(pre+"exp", n, r.lanes, 2, func(u int) {
		step(u, !fast, func(i, j int, x VecVirtual) {
			m := r.quadAt(a, b, i)
			m.Disp = r.vb * j
			VMOVUPS(m, x)
		})
		advance(u)
	}, func() {
		step(1, true, func(i, _ int, x VecVirtual) { r.mask.LoadFill(r.quadAt(a, b, i), x, r.negInf) })
	})
}
