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
		r.groupRowLoop(pre, srcp, dstp, rows, s, left, done, func(pre string, k int, bail string) {
			r.residentLogSumExp(srcp, dstp, s, k, v, bail)
		})
		Label(pre + "skip")
	}
}

// residentLogSumExp emits LogSumExp for the k rows (the group, or 1: solo)
// of v vectors at srcp into dstp, each loaded once. A max that is not
// finite in any of them jumps to bail.
func (r *row) residentLogSumExp(srcp, dstp Register, s slots, k, v int, bail string) {
	d, isa, p := r.d, r.isa, r.p
	Comment("Load the rows; max pass.")
	r.startSlots(s, srcp, k)
	xs := make([][]VecVirtual, k)
	acc := make([]VecVirtual, k)
	for i := range xs {
		xs[i] = make([]VecVirtual, v)
		for j := range xs[i] {
			x := isa.Vec()
			if j < v-1 {
				d.MOVU(s.at(i, r.vb*j), x)
			} else {
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
	var lo VecVirtual
	if d.Size == 8 {
		lo = isa.Vec()
		VMOVUPD(p.F64("sm64_lo", SoftmaxF64Lo), lo)
	} else {
		lo = isa.Vec()
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	}
	var e32 lseExpF32
	if d.Size == 4 && isa.AVX512 {
		e32 = holdLSEExpF32(p)
	}
	c := r.residentExpVecs()
	for c0 := 0; c0 < len(all); c0 += c {
		chunk := all[c0:min(c0+c, len(all))]
		if d.Size == 4 {
			if isa.AVX512 {
				e32.core(p, chunk, lo)
			} else {
				ExpSumF32Core(p, chunk, lo)
			}
		} else {
			lseExpF64(p, chunk, lo)
		}
	}
	sums := make([]VecVirtual, k)
	for i := range xs {
		sums[i] = xs[i][0]
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
