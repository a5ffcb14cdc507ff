// CrossEntropy's resident path on AVX-512, float32, rows of
// xresHeldVecs+1 vectors: read once, the whole vectors held in registers,
// the tails through a stack block.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// resTailOK says whether rows of v vectors take the tail path: AVX-512
// float32 rows one vector longer than those held whole. Eight such rows
// are 24 values, which leave the max tree and the exp no registers; their
// whole vectors (16) stay held, and each tail (the target's and the
// masked lanes -Inf) goes to the scratch block as the max pass loads it,
// so that no row is read twice (bench/TUNING.md).
func (x *xentRows) resTailOK(v int) bool {
	return x.isa.AVX512 && x.d.Size == 4 && v == xresHeldVecs+1
}

// resLoadTail is resLoad for the tail path: the tails stored to es (slot
// i's at vector i*v+v-1, where scaleRow reads an e it does not hold) and
// left out of xs.
func (x *xentRows) resLoadTail(v, k int, s slots, mask Mask, es Mem) (xs [][]VecVirtual, om []VecVirtual) {
	xs, om = x.resLoadKeep(v, k, s, mask, func(i int, y VecVirtual) {
		VMOVUPS(y, es.Offset(x.vb*(i*v+v-1)))
	})
	for i := range xs {
		xs[i][v-1] = nil
	}
	return xs, om
}

// resExpTail takes the exps of the tail path's k rows, a row at a time
// (its whole vectors in place, its tail from es, stored back there with
// ds), and returns e_t, s_t - max and O as resExp and resSums (a row's
// first two vectors added in float32, the tail widened and added in
// float64). With ds the held e take the registers, so
// e_t, s_t - max and the rows' sums wait on the stack.
func (x *xentRows) resExpTail(v int, xs [][]VecVirtual, m, st VecVirtual, loc xresLocals, es Mem) (et, dt, o VecVirtual) {
	isa, p, r := x.isa, x.p, x.row
	et, dt, lo := x.resTarget(m, st)
	if x.withDS {
		VMOVUPD(et, loc.hold)
		VMOVUPD(dt, loc.hold.Offset(64))
	}
	Comment("Exp pass: a row at a time, the tail from the scratch block (the target's lanes: 0).")
	sums := make([]VecVirtual, len(xs))
	for i := range xs {
		b := isa.Vec()
		r.laneBroadcast(m, i, b)
		at := es.Offset(r.vb * (i*v + v - 1))
		ys := append([]VecVirtual{}, xs[i][:v-1]...)
		for _, y := range ys {
			VSUBPS(b, y, y)
		}
		t := isa.Vec()
		VMOVUPS(at, t)
		VSUBPS(b, t, t)
		ys = append(ys, t)
		ExpSoftmaxF32Core(p, ys, lo)
		if x.withDS {
			VMOVUPS(t, at)
		}
		a := isa.Vec()
		VADDPS(ys[1], ys[0], a)
		lw, hw := Widen2(a)
		VADDPD(hw, lw, lw)
		l2, h2 := Widen2(t)
		VADDPD(h2, l2, l2)
		VADDPD(l2, lw, lw)
		sums[i] = lw
		if x.withDS {
			VMOVUPD(lw, loc.sums.Offset(64*i))
		}
	}
	if x.withDS {
		for i := range sums {
			sums[i] = isa.Vec()
			VMOVUPD(loc.sums.Offset(64*i), sums[i])
		}
	}
	o = groupTree(r.fill(sums), VADDPD, false)
	if x.withDS {
		et, dt = isa.Vec(), isa.Vec()
		VMOVUPD(loc.hold, et)
		VMOVUPD(loc.hold.Offset(64), dt)
	}
	return et, dt, o
}
