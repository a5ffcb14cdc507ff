// CrossEntropy's resident path on AVX2, float32: xres.go's code, four
// rows a group in the lanes of a YMM register.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xres2Vecs is the most vectors of a row that the AVX2 resident path
// takes (16 columns): a group of four such rows is eight held vectors,
// which leave the exp its temporaries in the 16 YMM registers. Longer rows
// take the four-row path (xquad2.go). The group is xres.go's with what
// AVX2 lacks done otherwise: the target's lane set to -Inf by a VPCMPEQD
// and VBLENDVPS, the tail filled with -Inf (Mask.LoadFill), s_t blended
// by immediates, the exp's constants read from memory.
const xres2Vecs = 2

// xres2ExpLive is what stays live beside the values through the AVX2
// exp pass: lo and the row loop's two (the tail mask and its fill), e_t
// and s_t - max waiting on the stack.
const xres2ExpLive = 3

func init() {
	if n := 4*xres2Vecs + xres2ExpLive + yExpTempsF32 + expTempsF32YMM; n > 16 {
		panic(fmt.Sprintf("xres AVX2: the exp pass needs %d YMM registers, more than 16", n))
	}
}

// resLoadY is resLoad's AVX2 form (float32 and float64).
func (x *xentRows) resLoadY(v, k int, s slots, mask Mask) (xs [][]VecVirtual, om []VecVirtual) {
	Comment("Load the rows, each target's lane (and the tail's) -Inf; the others' max.")
	xs = make([][]VecVirtual, k)
	om = make([]VecVirtual, k)
	for i := range xs {
		xs[i] = x.resRowY(i, v, s, mask)
		om[i] = x.rowMax(xs[i])
	}
	return xs, om
}

// resRowY loads slot i's row (v vectors, the last through mask), its
// target's lane (and the tail's) -Inf (resRowVecY).
func (x *xentRows) resRowY(i, v int, s slots, mask Mask) []VecVirtual {
	lab := x.resLabel(i)
	ys := make([]VecVirtual, v)
	for j := range ys {
		ys[j] = x.resRowVecY(i, j, v, lab, s, mask)
	}
	return ys
}

// resRowVecY loads vector j of slot i's row (of v vectors, the last
// through mask), its target's lane (and the tail's) -Inf: a compare of
// the label lab (in both halves of a float64 lane) with the lanes'
// columns, and a blend.
func (x *xentRows) resRowVecY(i, j, v int, lab VecVirtual, s slots, mask Mask) VecVirtual {
	d, isa, p, r := x.d, x.isa, x.p, x.row
	idx := make([]Constant, r.lanes)
	for l := range idx {
		c := uint32(j*r.lanes + l)
		idx[l] = U32(c)
		if d.Size == 8 {
			idx[l] = U64(uint64(c) | uint64(c)<<32)
		}
	}
	y, c := isa.Vec(), isa.Vec()
	if j == v-1 {
		mask.LoadFill(s.at(i, r.vb*j), y, r.negInf)
	} else {
		d.MOVU(s.at(i, r.vb*j), y)
	}
	if d.Size == 8 {
		VPCMPEQQ(p.Table(fmt.Sprintf("xres64y_cols%d", j), idx), lab, c)
	} else {
		VPCMPEQD(p.Table(fmt.Sprintf("xres2_cols%d", j), idx), lab, c)
	}
	d.BLENDV(c, r.negInf, y, y) // the target's lane: -Inf
	return y
}

// rowMax returns the max of a row's vectors, lane by lane.
func (x *xentRows) rowMax(ys []VecVirtual) VecVirtual {
	m := ys[0]
	for _, y := range ys[1:] {
		a := x.isa.Vec()
		x.d.MAX(y, m, a)
		m = a
	}
	return m
}

// xres2Rows is the rows of an AVX2 group: one a float64 lane of a YMM.
const xres2Rows = 4

// resExpY takes the exps of the AVX2 group's values in place, as many at
// a time as the registers left beside them allow.
func (x *xentRows) resExpY(all []VecVirtual, lo VecVirtual) {
	live := len(all) + xres2ExpLive + yExpTempsF32 + 1
	chunk := max(1, (16-live)/expTempsF32YMM)
	Comment(fmt.Sprintf("Register budget: %d values + %d + %d exp temporaries, %d a chunk.", len(all), xres2ExpLive, yExpTempsF32, chunk))
	for c0 := 0; c0 < len(all); c0 += chunk {
		ExpSoftmaxF32Core(x.p, all[c0:min(c0+chunk, len(all))], lo)
	}
}

// resStoreLossY is resStoreLoss's AVX2 form.
func (x *xentRows) resStoreLossY(l VecVirtual, k int, loss Mem) {
	lf := XMM()
	VCVTPD2PSY(l, lf)
	if k == 1 {
		VMOVSS(lf, loss)
		return
	}
	VMOVUPS(lf, loss)
}

// resExpSumsY is resExp and resSums for the AVX2 group, ordered for its
// 16 registers: s_t - max and the rows' broadcast maxima taken first (the
// maxima's tree then dead), e_t's exp, e_t and s_t - max through the
// stack while the exp pass and the sums take the registers. The
// arithmetic is resExp's and resSums'.
func (x *xentRows) resExpSumsY(v int, xs [][]VecVirtual, m, st VecVirtual, loc xresLocals) (et, dt, o VecVirtual) {
	isa, p, r := x.isa, x.p, x.row
	Comment("s_t - max (exact) in float64 lanes, s_t - max in float32; the rows less their max.")
	ev := isa.Vec()
	VSUBPS(m, st, ev)
	dt = r.treeF64(st)
	VSUBPD(r.treeF64(m), dt, dt)
	VMOVUPD(dt, loc.hold.Offset(32))
	all := x.lessMax(xs, m)
	Comment("e_t = exp(s_t - max), row i in float64 lane i.")
	lo := isa.Vec()
	VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
	ExpSoftmaxF32Core(p, []VecVirtual{ev}, lo)
	et = r.treeF64(ev)
	VMOVUPD(et, loc.hold)
	Comment("Exp pass: e = exp(s - max) in place (the target's lanes: 0).")
	x.resExpY(all, lo)
	o = x.resSums(v, xs)
	et, dt = isa.Vec(), isa.Vec()
	VMOVUPD(loc.hold, et)
	VMOVUPD(loc.hold.Offset(32), dt)
	return et, dt, o
}
