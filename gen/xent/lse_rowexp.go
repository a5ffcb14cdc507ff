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
// pairwise in float32 as they come (pairTree: at most four roundings of
// 2^-24 a term beside lseExpF32Y's 2^-21.8, as in the long rows, see
// lseLongUnrollF32), then widened once and summed in float64, whose
// roundings (at most 64 terms a lane, then the group's tree) add under
// 2^-46. A row of 128 columns is one step of 16: one widening where the
// interleaved pass (groupExp) paid four.
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
// path's: the k rows' float64 sums and the tree of their maxima, which it
// has no register for.
func (r *row) rowExpBytes() int { return r.vb * (r.groupRows() + 1) }

// rowExpY emits the exp pass of k rows (the group, or 1: solo; each row
// runs the same code, one after another, so a row's bits are its own)
// from src with the broadcast maxima at mx (the row's vector i at
// mx+vb*i), the k sums going to sums (vector i at sums+vb*i), and
// returns the tree of their sums, in float64, row i in lane i. Its exp
// takes max - s (holdLSEExpF32YNeg), one VSUBPS with s from memory.
func (r *row) rowExpY(pre string, src Register, s slots, k int, mx, sums Mem, gt *groupTail) VecVirtual {
	p, isa := r.p, r.isa
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
	m, sum := YMM(), YMM()
	VMOVUPS(Mem{Base: q}, m)
	VXORPD(sum, sum, sum)
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(rp, ptr)
	add := func(x VecVirtual) {
		l, h := Widen(x)
		VADDPD(h, l, l)
		VADDPD(l, sum, sum)
	}
	for li, u := range rowExpUnrolls {
		lbl := pre + "rexp" + string(rune('a'+li))
		Label(lbl)
		CMPQ(n, U32(r.lanes*u))
		JL(LabelRef(lbl + "_end"))
		var t pairTree
		for i := 0; i < u; i++ {
			x := YMM()
			VSUBPS(Mem{Base: ptr, Disp: r.vb * i}, m, x)
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
	VSUBPS(Mem{Base: ptr, Index: off, Scale: 1}, m, x)
	e.exp([]VecVirtual{x}, hi)
	VANDPS(gt.keep, x, x)
	add(x)
	Label(pre + "rtaildone")
	VMOVUPD(sum, Mem{Base: q, Disp: sums.Disp - mx.Disp})
	ADDQ(s.rb, rp)
	ADDQ(U32(r.vb), q)
	DECQ(left)
	JNE(LabelRef(pre + "rrow"))

	vs := make([]VecVirtual, k)
	for i := range vs {
		vs[i] = isa.Vec()
		VMOVUPD(sums.Offset(r.vb*i), vs[i])
	}
	return groupTree(r.fill(vs), VADDPD, false)
}
