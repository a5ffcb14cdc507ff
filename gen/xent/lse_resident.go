// Rows shorter than residentVecs vectors, LogSumExp: a group held in
// registers across both passes.

package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// residentVecs is the most vectors of a row that the group path keeps in
// registers from the max pass to the exp pass (a group's rows loaded once,
// no loop: the fixed costs of a short row are most of it). A row of v
// vectors takes the resident code when (v-1)*lanes < cols < v*lanes: its
// last vector is the row's tail (r.mask), the others whole; a row of
// whole vectors only takes the looping group code. AVX2 float64 has not
// the registers for a group of rows of two vectors beside the exp's
// temporaries.
func (r *row) residentVecs() int {
	if !r.isa.AVX512 && r.d.Size == 8 {
		return 1
	}
	return 2
}

// residentExpVecs is the number of vectors whose exps the resident code
// computes together (see residentBudget).
func (r *row) residentExpVecs() int {
	switch {
	case r.d.Size == 4 && r.isa.AVX512:
		return 3
	case r.d.Size == 4:
		return 4 // expSoftmaxF32Table8 runs them one after another
	case r.isa.AVX512:
		return 2
	}
	return 1
}

// residentBudget checks the resident code's vector registers during its
// exps (the group's values, the tree of their maxima, the exps'
// temporaries, the held constants and the row-tail mask, which AVX2 keeps
// in a YMM register) against the
// ISA's, writes the count into the .s, and panics past them.
func (r *row) residentBudget(v int) {
	limit, parts, used := 16, []string{}, 0
	if r.isa.AVX512 {
		limit = 32
	}
	add := func(n int, what string) {
		used += n
		parts = append(parts, fmt.Sprintf("%d %s", n, what))
	}
	add(r.groupRows()*v, "values")
	add(1, "max tree")
	c := r.residentExpVecs()
	switch {
	case r.d.Size == 4 && r.isa.AVX512:
		add(c*(expTempsF32ZMM-1), "exp temporaries")
		add(lseExpF32Held+loClamp, "held exp constants and clamp bound")
	case r.d.Size == 4:
		add(yExpTempsF32+loClamp, "exp temporaries and clamp bound")
		add(1, "row-tail mask")
		if r.overlapOK(v) {
			add(1, "overlapped lanes' mask")
		}
	default:
		add(c*(expTempsF64-1)+loClamp, "exp temporaries and clamp bound")
		if !r.isa.AVX512 {
			add(1, "row-tail mask")
		}
	}
	s := fmt.Sprintf("Register budget resident%d: %s, %d of %d.", v, strings.Join(parts, " + "), used, limit)
	if used > limit {
		panic(s)
	}
	Comment(s)
}

// residentRows emits, for each v up to residentVecs, the row loop of the
// rows of v vectors, the last a tail (see residentVecs); other rows go on
// past it.
func (r *row) residentRows(srcp, dstp, rows Register, s slots, left Register, done string) {
	for v := 1; v <= r.residentVecs(); v++ {
		pre := fmt.Sprintf("r%d", v)
		Comment(fmt.Sprintf("Rows of %d vectors, the last a tail: resident.", v))
		CMPQ(r.cols, U32((v-1)*r.lanes))
		JBE(LabelRef(pre + "skip"))
		CMPQ(r.cols, U32(v*r.lanes))
		JAE(LabelRef(pre + "skip"))
		var ov *overlapTail
		if r.overlapOK(v) {
			ov = r.newOverlapTail(s, v)
		}
		r.groupRowLoop(pre, srcp, dstp, rows, s, left, done, func(pre string, k int, bail string) {
			r.residentLogSumExp(srcp, dstp, s, k, v, ov, bail)
		})
		Label(pre + "skip")
	}
}

// residentLogSumExp emits LogSumExp for the k rows (the group, or 1: solo)
// of v vectors at srcp into dstp, each loaded once. A max that is not
// finite in any of them jumps to bail.
func (r *row) residentLogSumExp(srcp, dstp Register, s slots, k, v int, ov *overlapTail, bail string) {
	d, isa := r.d, r.isa
	Comment("Load the rows; max pass.")
	r.startSlots(s, srcp, k)
	if ov != nil {
		ov.start(s, k)
	}
	xs := make([][]VecVirtual, k)
	acc := make([]VecVirtual, k)
	for i := range xs {
		xs[i] = make([]VecVirtual, v)
		for j := range xs[i] {
			x := isa.Vec()
			switch {
			case j < v-1:
				d.MOVU(s.at(i, r.vb*j), x)
			case ov != nil:
				d.MOVU(ov.at(i), x) // the overlap changes no max
			default:
				r.mask.LoadFill(s.at(i, r.vb*j), x, r.negInf)
			}
			xs[i][j] = x
		}
		acc[i] = xs[i][0]
		for j := 1; j < v; j++ {
			a := isa.Vec()
			d.MAX(xs[i][j], acc[i], a)
			acc[i] = a
		}
	}
	m := groupTree(r.fill(acc), d.MAX, d.Size == 4)
	r.groupFinite(m, bail)

	Comment("Exp pass: e = exp(s - max), each row summed in F lanes (float32:",
		"rows under f32SumBytes).")
	var all []VecVirtual
	for i := range xs {
		b := isa.Vec()
		r.laneBroadcast(m, i, b)
		for _, x := range xs[i] {
			d.SUB(b, x, x)
			all = append(all, x)
		}
	}
	r.residentBudget(v)
	ge := r.holdGroupExp(0)
	c := r.residentExpVecs()
	for c0 := 0; c0 < len(all); c0 += c {
		chunk := all[c0:min(c0+c, len(all))]
		ge.exp(chunk)
	}
	sums := make([]VecVirtual, k)
	for i := range xs {
		sums[i] = xs[i][0]
		if ov != nil {
			last := xs[i][v-1]
			d.ANDN(last, ov.head, last) // the lanes of the vector before: 0
		}
		for j := 1; j < v; j++ {
			d.ADD(xs[i][j], sums[i], sums[i])
		}
	}
	var sum VecVirtual
	if d.Size == 4 {
		sum = r.treeF64(groupTree(r.fill(sums), VADDPS, true))
	} else {
		sum = groupTree(r.fill(sums), VADDPD, false)
	}
	r.groupFinish(m, sum, dstp, k)
}

// overlapTail is the AVX2 resident rows' tail: the whole vector that ends
// at the row's end, overlapping the vector before it, instead of a masked
// load (VMASKMOV) and a blend with -Inf: a plain load for the max pass,
// which the overlap does not change, and one ANDN after the exp that
// zeroes the overlapped lanes (head) before the sum. It reads only the
// row's own elements (cols > lanes).
type overlapTail struct {
	r      *row
	off    GPVirtual  // the tail vector's offset in a row: cols*size - vb
	ta, tb GPVirtual  // slots 0's and 3's tail vectors
	rb     GPVirtual  // the row stride (slots.rb)
	rb3    GPVirtual  // three rows' (slots.rb3)
	head   VecVirtual // the lanes before the row's last cols%lanes
}

// overlapOK says whether the resident rows of v vectors take overlapTail:
// AVX2 (AVX-512's masked load is one operation) rows over a vector.
func (r *row) overlapOK(v int) bool { return !r.isa.AVX512 && v >= 2 }

// newOverlapTail emits the row loop's set-up of overlapTail for rows of
// v vectors (v-1 whole ones and a tail).
func (r *row) newOverlapTail(s slots, v int) *overlapTail {
	o := &overlapTail{r: r, off: GP64(), ta: GP64(), tb: GP64(), rb: s.rb, rb3: s.rb3}
	LEAQ(Mem{Base: s.rb, Disp: -r.vb}, o.off)
	Comment("The overlapped lanes: lanes - cols%lanes of them (v*lanes - cols).")
	h := GP64()
	MOVQ(U32(v*r.lanes), h)
	SUBQ(r.cols, h)
	o.head = TailMask(r.p, r.d, h)
	return o
}

// start points the tail vectors at the k rows the slots point at.
func (o *overlapTail) start(s slots, k int) {
	LEAQ(Mem{Base: s.a, Index: o.off, Scale: 1}, o.ta)
	if k > 1 {
		LEAQ(Mem{Base: s.b, Index: o.off, Scale: 1}, o.tb)
	}
}

// at addresses slot i's tail vector.
func (o *overlapTail) at(i int) Mem {
	return slots{a: o.ta, b: o.tb, rb: o.rb, rb3: o.rb3}.at(i, 0)
}
