// CrossEntropy's resident path on AVX2, float32, rows of three to
// xres2ReloadVecs vectors: read twice, the rows through a stack block.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xres2ReloadVecs is the most vectors of a row that the AVX2 resident path
// takes (32 columns): rows of more than xres2Vecs go four at a time, read
// twice (the others' max, the rows left in a stack block as loaded, then
// the exps from there; with ds the e stored back in place). Longer rows
// take the four-row path (xquad2.go), which does better from five vectors
// on (bench/TUNING.md).
const xres2ReloadVecs = 4

// xres2Pair is the vectors of a row that the AVX2 exp pass takes at a
// time: their e added in float32 (one rounding) before the widening, as
// the four-row path and the AVX-512 tail path's first two.
const xres2Pair = 2

// xres2ReloadLive is what stays live through the exp pass of the AVX2
// rows read twice beside the rows' sums, the pair and the exp's and the
// widening's temporaries: the rows' max tree, lo and the row's broadcast
// max.
const xres2ReloadLive = 3

func init() {
	if n := xres2ReloadLive + xres2Rows + xres2Pair + widenTemps + yExpTempsF32 + expTempsF32YMM; n > 16 {
		panic(fmt.Sprintf("xres AVX2: the reload exp pass needs %d YMM registers, more than 16", n))
	}
}

// resMaxKeepY returns the others' maxima of the k rows of v vectors, a
// vector a row, the rows stored to keep as loaded (the exp pass reads
// them there).
func (x *xentRows) resMaxKeepY(v, k int, s slots, mask Mask, keep Mem) []VecVirtual {
	Comment("The others' max, each target's lane -Inf.")
	om := make([]VecVirtual, k)
	load := func(i, j int, lab VecVirtual) VecVirtual {
		y := x.resRowVecY(i, j, v, lab, s, mask)
		VMOVUPS(y, keep.Offset(x.vb*(i*v+j)))
		return y
	}
	for i := range om {
		lab := x.resLabel(i)
		om[i] = load(i, 0, lab)
		for j := 1; j < v; j++ {
			a := x.isa.Vec()
			VMAXPS(load(i, j, lab), om[i], a)
			om[i] = a
		}
	}
	return om
}

// resExpReloadY is the exp pass of the AVX2 rows read twice: the k rows
// of v vectors read again from es, where the max pass left them (their
// target's lanes and tails -Inf: no compare here), a pair of vectors at
// a time: e = exp(s - max) taken, stored back in place with ds, the pair
// added in float32 and widened into the row's float64 sum; e_t and s_t -
// max wait on the stack.
// It returns e_t, s_t - max and O, row i in float64 lane i.
func (x *xentRows) resExpReloadY(v, k int, m, st VecVirtual, loc xresLocals, es Mem) (et, dt, o VecVirtual) {
	isa, p, r := x.isa, x.p, x.row
	et, dt, lo := x.resTarget(m, st)
	VMOVUPD(et, loc.hold)
	VMOVUPD(dt, loc.hold.Offset(32))
	Comment("Exp pass: the rows as the max pass left them, e = exp(s - max) (the target's lanes: 0).")
	sums := make([]VecVirtual, k)
	for i := range sums {
		b := isa.Vec()
		r.laneBroadcast(m, i, b)
		for j := 0; j < v; j += xres2Pair {
			ys := make([]VecVirtual, min(xres2Pair, v-j))
			for c := range ys {
				at := es.Offset(r.vb * (i*v + j + c))
				ys[c] = isa.Vec()
				VMOVUPS(at, ys[c])
				VSUBPS(b, ys[c], ys[c])
				ExpSoftmaxF32Core(p, ys[c:c+1], lo)
				if x.withDS {
					VMOVUPS(ys[c], at)
				}
			}
			a := ys[0]
			if len(ys) == 2 {
				a = isa.Vec()
				VADDPS(ys[1], ys[0], a)
			}
			lw, hw := Widen2(a)
			VADDPD(hw, lw, lw)
			if sums[i] == nil {
				sums[i] = lw
			} else {
				VADDPD(lw, sums[i], sums[i])
			}
		}
	}
	o = groupTree(r.fill(sums), VADDPD, false)
	et, dt = isa.Vec(), isa.Vec()
	VMOVUPD(loc.hold, et)
	VMOVUPD(loc.hold.Offset(32), dt)
	return et, dt, o
}
