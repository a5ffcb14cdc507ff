// CrossEntropy's rows of up to xres64Vecs vectors, float64 AVX-512: eight
// rows at a time, held in registers from the load to the ds store (rows of
// more than xres64HeldVecs: through the scratch block, as AVX2's).

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xres64Vecs is the most vectors of a float64 row that the resident path
// takes (40 columns): eight rows as the float32 resident path (xres.go),
// each target's lane -Inf at the load, the others' maxima and the sums by
// groupTree (row i in lane i), s_t blended into the same lanes, the exps
// (xentExpF64: far and masked lanes exact zeros) in place, and the loss
// (lossLanes) and ds's factors (dsFactors) once for the eight rows in the
// lanes of one vector. A row left over, or one of a group that cannot take
// the group code, runs the same code solo (slot 0 fed to every input of
// the trees), so a row's bits do not depend on its neighbours. Longer rows
// take the short path (short.go).
const xres64Vecs = 5

// xres64ScratchParts are the AVX-512 float64 rows of more than
// xres64HeldVecs vectors, by length (first, last), one function each.
var xres64ScratchParts = [][2]int{{3, 5}}

// xres64HeldVecs is the most vectors of a row that the AVX-512 group holds
// in registers: eight rows of two are 16 values, beside the exp's
// temporaries. Rows of three to five vectors pass through the scratch
// block (res64LoadScratch, res64ExpScratch: xres64y.go), eight of five
// being 40 vectors, more than the 32 ZMM registers.
const xres64HeldVecs = 2

// xres64ExpChunk is the vectors whose exps the AVX-512 scratch pass takes
// together (a whole row): res64ExpScratch's budget with xres64yScratchLive
// live, eight sums and xres64yExpRegs a vector, 3 + 8 + 5*4 + 1 = 32.
const xres64ExpChunk = 5

func init() {
	if n := xres64yScratchLive + xresRows + xres64ExpChunk*xres64yExpRegs + 1; n > zmmRegs {
		panic(fmt.Sprintf("xres64 AVX-512: the scratch exp pass needs %d ZMM registers, more than %d", n, zmmRegs))
	}
}

// xres64Held is the number of lseExpF64's constants that the exp pass of
// one-vector rows holds in registers: with the nine values, three live
// vectors and two vectors' temporaries in flight, 29 of the 32.
const xres64Held = 8

// xres64OK says whether CrossEntropy has the float64 resident path (AVX2:
// xres64y.go).
func (r *row) xres64OK() bool { return r.d.Size == 8 }

// res64Group emits CrossEntropy for the k rows (a group: eight AVX-512,
// four AVX2; or 1: solo) of v float64 vectors at srcp; a row for the
// caller (a max that is not finite, or a confident row past
// confidentMargin64) jumps to bail.
func (x *xentRows) res64Group(pre string, v, k int, s slots, mask Mask, loc xresLocals, bail string) {
	isa := x.isa
	if k > 1 {
		LEAQ(Mem{Base: s.a, Index: s.rb3, Scale: 1}, s.b)
	}
	var xs [][]VecVirtual
	var om []VecVirtual
	if x.res64Held(v) {
		xs, om = x.res64Load(v, k, s, mask)
	} else {
		om = x.res64LoadScratch(v, k, s, mask, loc)
	}
	m, st := x.resMax(om, func() VecVirtual { return x.resTargets(s, k) }, bail)
	var et, dt, o VecVirtual
	if x.res64Held(v) {
		et, dt = x.res64Exp(xs, m, st, loc)
		o = x.res64Sums(xs)
	} else {
		et, dt, o = x.res64ExpScratch(v, k, m, st, loc)
	}
	// AVX2 takes ds first (the held rows leave the loss too few
	// registers), and a group leaves its losses pending, as float32's.
	pipelined := !isa.AVX512
	if pipelined && x.withDS {
		z := isa.Vec()
		VADDPD(o, et, z) // Z = e_t + O, as lossLanes
		x.res64DS(v, k, xs, o, z, s, mask, loc)
	}
	if pipelined && k > 1 {
		dt = isa.Vec()
		VMOVUPD(loc.hold.Offset(x.vb), dt)
		x.resPend(pre, et, o, dt, loc, func() { x.resFinishPending(loc) })
		return
	}
	z := isa.Vec()
	l := x.lossLanes(et, o, z, func() VecVirtual {
		if dt == nil { // on the stack (AVX2, or the scratch block's rows)
			dt = isa.Vec()
			VMOVUPD(loc.hold.Offset(x.vb), dt)
		}
		return dt
	})
	x.resStoreLoss(l, k, Mem{Base: x.lossp})
	if x.withDS && !pipelined {
		x.res64DS(v, k, xs, o, z, s, mask, loc)
	}
}

// res64Load loads the k rows (v vectors each, the last through mask), each
// target's lane and the lanes past the row -Inf (the load merged into
// -Inf under the compare of the label with the lanes' columns), and
// returns them with the others' maxima, a vector a row.
func (x *xentRows) res64Load(v, k int, s slots, mask Mask) (xs [][]VecVirtual, om []VecVirtual) {
	isa := x.isa
	if !isa.AVX512 {
		return x.resLoadY(v, k, s, mask)
	}
	Comment("Load the rows, each target's lane -Inf; the others' max.")
	xs = make([][]VecVirtual, k)
	om = make([]VecVirtual, k)
	for i := range xs {
		lab := x.resLabel(i) // the label in both halves of a lane
		xs[i] = make([]VecVirtual, v)
		for j := range xs[i] {
			xs[i][j] = x.res64Vec(i, j, v, lab, s, mask)
		}
		om[i] = x.rowMax(xs[i])
	}
	return xs, om
}

// res64Vec loads vector j of row i (of v vectors, the last through mask),
// the target's lane and the lanes past the row -Inf (AVX2: resRowVecY).
func (x *xentRows) res64Vec(i, j, v int, lab VecVirtual, s slots, mask Mask) VecVirtual {
	isa, p, r := x.isa, x.p, x.row
	if !isa.AVX512 {
		return x.resRowVecY(i, j, v, lab, s, mask)
	}
	idx := make([]Constant, r.lanes)
	for l := range idx {
		c := uint64(j*r.lanes + l)
		idx[l] = U64(c | c<<32)
	}
	cols := p.Table(fmt.Sprintf("xres64_cols%d", j), idx)
	o := K()
	if j == v-1 {
		VPCMPQ(U8(cmpNE), cols, lab, mask.K(), o)
	} else {
		VPCMPQ(U8(cmpNE), cols, lab, o)
	}
	y := isa.Vec()
	VMOVUPD(r.negInf, y)
	VMOVUPD(s.at(i, r.vb*j), o, y)
	return y
}

// res64Exp takes e = exp(s - max) of the rows xs in place (the target's
// and masked lanes: 0), and returns e_t = exp(s_t - max) and s_t - max,
// row i in lane i (AVX2: s_t - max nil, left at loc.hold + 32 for the
// loss, which has not the registers beside the held rows).
func (x *xentRows) res64Exp(xs [][]VecVirtual, m, st VecVirtual, loc xresLocals) (et, dt VecVirtual) {
	isa, r := x.isa, x.row
	Comment("s_t - max and e_t = exp(s_t - max), row i in lane i.")
	xe := newXentExpF64(x.p, isa)
	dt, et = isa.Vec(), isa.Vec()
	VSUBPD(m, st, dt)
	VMOVAPD(dt, et)
	if !isa.AVX512 {
		VMOVUPD(dt, loc.hold.Offset(32))
		dt = nil
	}
	Comment("Exp pass: e = exp(s - max) in place, with e_t's.")
	var all []VecVirtual
	for i := range xs {
		b := isa.Vec()
		r.laneBroadcast(m, i, b)
		for _, y := range xs[i] {
			VSUBPD(b, y, y)
			all = append(all, y)
		}
	}
	all = append(all, et)
	// Live: the values, s_t - max, max, the clamp, the held constants;
	// three temporaries a vector in flight (AVX2: the tail mask in max's
	// place, max being dead).
	// AVX-512 one-vector rows hold xres64Held of the exp's constants;
	// the others read them from memory (bench/TUNING.md).
	held, regs := 0, ymmRegs
	if isa.AVX512 {
		regs = zmmRegs
		if len(xs[0]) == 1 {
			held = xres64Held
			x.p.Hold(isa, lseExpF64Splats()[:held]...)
			defer x.p.Release()
		}
	}
	chunk := max(1, (regs-len(all)-3-held)/3)
	for c0 := 0; c0 < len(all); c0 += chunk {
		xe.exp(all[c0:min(c0+chunk, len(all))])
	}
	return et, dt
}

// res64Sums returns the sums O of the rows' e (the target's lanes 0), row
// i in lane i: a row's vectors added, then groupTree.
func (x *xentRows) res64Sums(xs [][]VecVirtual) VecVirtual {
	Comment("O, row i in lane i.")
	sums := make([]VecVirtual, len(xs))
	for i := range xs {
		for _, y := range xs[i] {
			sums[i] = addTo(sums[i], y)
		}
	}
	return groupTree(x.row.fill(sums), VADDPD, false)
}

// res64DS emits ds for the rows of v vectors: the e (held, or from the
// scratch block when xs is nil) scaled by g/Z and stored, then ds[t] =
// -g * (O/Z) at each target.
func (x *xentRows) res64DS(v, k int, xs [][]VecVirtual, o, z VecVirtual, s slots, mask Mask, loc xresLocals) {
	isa, r := x.isa, x.row
	kf, dt := x.dsFactors(o, z)
	VMOVUPD(dt, loc.tmp)
	var es Mem
	if xs == nil {
		es = x.block
	}
	Comment("ds = e * g/Z, the rows' vectors as held (or from the scratch block).")
	ds := x.dsSlots(s, k)
	for i := 0; i < k; i++ {
		b := kf
		if k > 1 {
			b = isa.Vec()
			r.laneBroadcast(kf, i, b)
		}
		x.scaleRow(i, v, b, xs, es, ds, mask)
	}
	x.resTargetDS(ds, k, loc)
}
