// Rows over f32SumBytes, AVX2 float32, LogSumExp: the group's exp pass
// one row after another.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// rowExpUnrolls are the vectors of a row that the steps of the row exp
// pass take, largest first, each a loop of its own: a step's e are added
// pairwise in float32 as they come (pairTree), then widened once and
// summed in float64. A row of 128 columns is one step of 16: one widening
// where the interleaved pass (groupExp) paid four.
//
// The error of a row's sum S (>= 1, the terms positive), relative to S:
// the exp (expSoftmaxF32Table8's table and cubic, see holdLSEExpF32YNeg)
// is within 2^-22.4 of each e^d (a lane clamped at lseY32Lo is off by
// under 2^-115, beside S >= 1); a term passes through at most log2(16) = 4
// float32 additions, each rounding a partial sum of positive terms, so
// under S, by 2^-24: 2^-22 in all; the widening is exact, and the float64
// additions (a lane adds at most 64 steps' values, then the group's
// tree's 2) under 2^-46. So S is within 2^-21.2 (0.44 of 2^-20), and with
// the log's 2^-25 (groupLogTermsF32) and ln2lo's |k|*2^-32.3, LogSumExp
// is within 0.5 * 2^-20 of the reference, the final rounding to float32
// (2^-24 |ref|) inside the bound's |ref| term. TestLogSumExpSharedTerms
// runs rows of 64 to 511 columns through every step and the tail.
var rowExpUnrolls = []int{16, 8, 4, 1}

// rowExpHeld is the number of lseExpF32Y's operands the row exp pass holds
// in registers (the rounding shift, -log2e, ln2, b and a): with the row's
// sum, its max, the clamp bound, pairTree's four partials and one
// vector's exp (the value and three temporaries), 16 of the 16 YMM
// registers. One row at a time is what frees them: the interleaved pass
// keeps the group's four sums live.
const rowExpHeld = 5

// rowExpOK says whether the group path's exp pass goes row by row for rows
// of at least rowExpMinCols: AVX2 float32.
func (r *row) rowExpOK() bool { return r.d.Size == 4 && !r.isa.AVX512 }

// rowExpMinCols is the shortest row whose group exp pass goes row by row:
// a row of 8 vectors is one step of the pass; shorter rows pay its fixed
// costs (the steps' tests, the row's max and sum through memory) on too
// few vectors, and keep the interleaved pass (groupExp).
const rowExpMinCols = 64

// rowExpBytes is the stack the row exp pass needs beside the group
// path's (the maxima and groupTail's keep, g+1 vectors from mx): the k
// rows' float64 sums and the tree of their maxima, which it has no
// register for.
func (r *row) rowExpBytes() int { return r.vb * (r.groupRows() + 1) }

// rowExpY emits the exp pass of k rows (the group, or 1: solo; each row
// runs the same code, one after another, so a row's bits are its own)
// from src with the broadcast maxima at mx (row i's vector at mx+vb*i)
// and returns the tree of their sums, in float64, row i in lane i, and m,
// the tree of their maxima, which it keeps on the stack meanwhile. Its
// exp takes max - s (holdLSEExpF32YNeg), one VSUBPS with s from memory.
func (r *row) rowExpY(pre string, src Register, s slots, k int, mx Mem, m VecVirtual, gt *groupTail) (sum, tree VecVirtual) {
	p, isa, g := r.p, r.isa, r.groupRows()
	sums, mt := mx.Offset(r.vb*(g+1)), mx.Offset(r.vb*(2*g+1))
	VMOVUPS(m, mt)
	Comment("Exp pass, row by row: e = exp(s - max) as exp(-(max - s)), added",
		"pairwise in float32, summed in float64.")
	hi := YMM()
	VMOVUPS(ySplat(p, "lse32y_hi", -lseY32Lo), hi)
	e := holdLSEExpF32YNeg(p, rowExpHeld)
	rp, q, left := GP64(), GP64(), GP64()
	MOVQ(src, rp)
	LEAQ(mx, q)
	MOVQ(U32(k), left)
	Label(pre + "rrow")
	mr, acc := YMM(), YMM()
	VMOVUPS(Mem{Base: q}, mr)
	VXORPD(acc, acc, acc)
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(rp, ptr)
	add := func(x VecVirtual) {
		l, h := Widen(x)
		VADDPD(h, l, l)
		VADDPD(l, acc, acc)
	}
	for li, u := range rowExpUnrolls {
		lbl := pre + "rexp" + string(rune('a'+li))
		Label(lbl)
		CMPQ(n, U32(r.lanes*u))
		JL(LabelRef(lbl + "_end"))
		var t pairTree
		for i := 0; i < u; i++ {
			x := YMM()
			VSUBPS(Mem{Base: ptr, Disp: r.vb * i}, mr, x)
			e.exp([]VecVirtual{x}, hi)
			t.push(x)
		}
		add(t.sum())
		ADDQ(U32(r.vb*u), ptr)
		SUBQ(U32(r.lanes*u), n)
		JMP(LabelRef(lbl))
		Label(lbl + "_end")
	}
	TESTQ(n, n)
	JE(LabelRef(pre + "rtaildone"))
	off := GP64()
	MOVQ(gt.off, off)
	x := YMM()
	VSUBPS(Mem{Base: ptr, Index: off, Scale: 1}, mr, x)
	e.exp([]VecVirtual{x}, hi)
	VANDPS(gt.keep, x, x)
	add(x)
	Label(pre + "rtaildone")
	VMOVUPD(acc, Mem{Base: q, Disp: sums.Disp - mx.Disp})
	ADDQ(s.rb, rp)
	ADDQ(U32(r.vb), q)
	DECQ(left)
	JNE(LabelRef(pre + "rrow"))

	vs := make([]VecVirtual, k)
	for i := range vs {
		vs[i] = isa.Vec()
		VMOVUPD(sums.Offset(r.vb*i), vs[i])
	}
	tree = isa.Vec()
	VMOVUPS(mt, tree)
	return groupTree(r.fill(vs), VADDPD, false), tree
}
