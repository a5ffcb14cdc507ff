// Short rows: two at a time.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// shortBytes is the longest row (in bytes) that takes the short path: two
// rows at a time, one vector of each per step, so that the latency chains
// of their reductions and logs overlap (one short row alone is bound by
// them). A row left over, or one of a pair that cannot take it, runs the
// same code alone (one slot): each slot's arithmetic is the same in both,
// so a row's bits do not depend on its neighbour (rows stand alone).
const shortBytes = 256

// shortCols returns the longest row of the short path, in elements.
func (r *row) shortCols() int { return shortBytes / r.d.Size }

// at addresses slot i's row at base: slot 1 is the row after slot 0's.
func (r *row) at(base Register, disp, i int) Mem {
	if i == 0 {
		return Mem{Base: base, Disp: disp}
	}
	return Mem{Base: base, Index: r.cols, Scale: uint8(r.d.Size), Disp: disp}
}

// shortMax emits the max of each of k rows at src into lane 0 of a
// vector each, one vector of each row per step.
func (r *row) shortMax(pre string, src Register, k int) []VecVirtual {
	d, isa := r.d, r.isa
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(src, ptr)
	acc := make([]VecVirtual, k)
	for i := range acc {
		acc[i] = isa.Vec()
		d.MOVU(r.negInf, acc[i])
	}
	Loop(pre+"smax", n, r.lanes, 1, func(int) {
		for i := range acc {
			d.MAX(r.at(ptr, 0, i), acc[i], acc[i])
		}
		ADDQ(U32(r.vb), ptr)
	}, func() {
		for i := range acc {
			x := isa.Vec()
			r.mask.LoadFill(r.at(ptr, 0, i), x, r.negInf)
			d.MAX(x, acc[i], acc[i])
		}
	})
	for _, a := range acc {
		HMax(d, a)
	}
	return acc
}

// finiteOr jumps to bail unless lane 0 of x (type d) is finite.
func (r *row) finiteOr(x Op, bail string) {
	bits := GP64()
	if r.d.Size == 4 {
		VMOVD(x, bits.As32())
		ANDL(U32(0x7f800000), bits.As32())
		CMPL(bits.As32(), U32(0x7f800000))
	} else {
		VMOVQ(x, bits)
		SHRQ(U8(52), bits)
		ANDL(U32(0x7ff), bits.As32())
		CMPL(bits.As32(), U32(0x7ff))
	}
	JE(LabelRef(bail))
}

// shortSums emits the exp pass of k rows at src with maxima ms (broadcast)
// and returns their sums, in float64, in lane 0 of a vector each: one
// vector of each row per step, each added on its own, in order.
func (r *row) shortSums(pre string, src Register, ms []VecVirtual) []VecVirtual {
	d, isa, p := r.d, r.isa, r.p
	k := len(ms)
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(src, ptr)
	sums := make([]VecVirtual, k)
	for i := range sums {
		sums[i] = isa.Vec()
		VXORPD(sums[i], sums[i], sums[i])
	}
	var comps []VecVirtual
	if d.Size == 8 {
		comps = make([]VecVirtual, k)
		for i := range comps {
			comps[i] = isa.Vec()
			VXORPD(comps[i], comps[i], comps[i])
		}
	}
	var lo VecVirtual
	if d.Size == 4 {
		lo = isa.Vec()
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	}
	step := func(load func(i int, x VecVirtual)) {
		xs := make([]VecVirtual, k)
		for i := range xs {
			xs[i] = isa.Vec()
			load(i, xs[i])
			d.SUB(ms[i], xs[i], xs[i])
		}
		if d.Size == 4 {
			ExpSumF32Core(p, xs, lo)
			for i, x := range xs {
				l, h := Widen2(x)
				VADDPD(h, l, l)
				VADDPD(l, sums[i], sums[i])
			}
			return
		}
		if isa.AVX512 {
			ExpSoftmaxF64Core(p, xs)
		} else {
			// One at a time: AVX2's 16 registers hold no more beside
			// the sums (the same arithmetic in each lane).
			for _, x := range xs {
				ExpSoftmaxF64Core(p, []VecVirtual{x})
			}
		}
		for i, x := range xs {
			kahanAdd(sums[i], comps[i], x)
		}
	}
	Loop(pre+"sexp", n, r.lanes, 1, func(int) {
		step(func(i int, x VecVirtual) { d.MOVU(r.at(ptr, 0, i), x) })
		ADDQ(U32(r.vb), ptr)
	}, func() {
		step(func(i int, x VecVirtual) { r.mask.LoadFill(r.at(ptr, 0, i), x, r.negInf) })
	})
	for i := range sums {
		if d.Size == 8 {
			VSUBPD(comps[i], sums[i], sums[i])
		}
		HSumPD(sums[i])
	}
	return sums
}

// shortLogSumExp emits LogSumExp for k rows (1 or 2) at srcp into dstp,
// jumping to bail (k = 2: the first row alone; k = 1: the caller's slow
// path) when a max is not finite. The logs of both rows take one LogPD,
// lane by lane.
func (r *row) shortLogSumExp(pre string, srcp, dstp Register, k int, bail string) {
	ms := r.shortMax(pre, srcp, k)
	bs := make([]VecVirtual, k)
	for i, m := range ms {
		r.finiteOr(m.AsX(), bail)
		bs[i] = r.isa.Vec()
		r.d.BCAST(m.AsX(), bs[i])
	}
	sums := r.shortSums(pre, srcp, bs)
	Comment("max + log(sum), the rows in the lanes of one XMM.")
	s, m := XMM(), XMM()
	VMOVAPD(sums[0].AsX(), s)
	mf := r.toF64(ms[0].AsX())
	VMOVAPD(mf, m)
	if k == 2 {
		VUNPCKLPD(sums[1].AsX(), s, s)
		VUNPCKLPD(r.toF64(ms[1].AsX()), m, m)
	}
	LogPD(r.p, s, logTerms(r.d))
	VADDPD(m, s, s)
	for i := 0; i < k; i++ {
		x := XMM()
		if i == 0 {
			VMOVAPD(s, x)
		} else {
			VPERMILPD(U8(1), s, x)
		}
		r.storeResult(x, Mem{Base: dstp, Disp: i * r.d.Size})
	}
}

// shortLogSumExpRows emits the short path's row loop: pairs, then a row
// alone; rows whose max is not finite get NaN. It goes on at done.
func (r *row) shortLogSumExpRows(srcp, dstp, rows Register, done string) {
	Label("pairs")
	CMPQ(rows, U8(2))
	JL(LabelRef("alone"))
	r.shortLogSumExp("p", srcp, dstp, 2, "alone")
	for i := 0; i < 2; i++ {
		r.next([]Register{srcp}, dstp, nil)
	}
	SUBQ(U8(2), rows)
	JMP(LabelRef("pairs"))

	Label("alone")
	TESTQ(rows, rows)
	JE(LabelRef(done))
	r.shortLogSumExp("o", srcp, dstp, 1, "ospecial")
	Label("onext")
	r.next([]Register{srcp}, dstp, nil)
	DECQ(rows)
	JMP(LabelRef("pairs"))
	Label("ospecial")
	r.storeNaN(Mem{Base: dstp})
	JMP(LabelRef("onext"))
}
