// CrossEntropy's resident path on AVX2, float64: xres64.go's code, four
// rows a group in the lanes of a YMM register; and the scratch block's
// passes, which both tiers' rows of more than two vectors take.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// xres64yVecs is the most vectors of a float64 row that the AVX2 resident
// path takes (40 columns): four rows a group (xres2Rows), row i in lane i
// after the trees, as on AVX-512 (xres64.go), with AVX2's forms of the
// load (resRowY: the tail filled with -Inf, the target's lane -Inf by
// VPCMPEQQ and VBLENDVPD) and of the blend of s_t (resTargets'
// immediates), and a group's losses pending until the next group's passes
// are done (resPend). Longer rows take the short path (short.go). (An
// earlier run of rows of 37-40 columns 2.4 times slower in one process was
// the binary file's placement, not the code: bench/TUNING.md.)
const xres64yVecs = 10

// xres64yScratchParts are the AVX2 float64 rows of more than
// xres64yHeldVecs vectors, by length (first, last), one function each (see
// rowsParts): go generate's time (bench/TUNING.md).
var xres64yScratchParts = [][2]int{{3, 6}, {7, 8}, {9, 10}}

// resScratchParts returns the float64 rows of more than the held vectors,
// by length (first, last), one function each.
func (r *row) resScratchParts() [][2]int {
	if r.isa.AVX512 {
		return xres64ScratchParts
	}
	return xres64yScratchParts
}

func init() {
	for _, c := range []struct {
		parts      [][2]int
		held, most int
	}{{xres64ScratchParts, xres64HeldVecs, xres64Vecs}, {xres64yScratchParts, xres64yHeldVecs, xres64yVecs}} {
		next := c.held + 1
		for _, fl := range c.parts {
			if fl[0] != next || fl[1] < fl[0] {
				panic(fmt.Sprintf("xres64: scratch parts %v do not follow on from %d", c.parts, c.held))
			}
			next = fl[1] + 1
		}
		if next != c.most+1 {
			panic(fmt.Sprintf("xres64: scratch parts %v do not end at %d", c.parts, c.most))
		}
	}
}

// xres64yHeldVecs is the most vectors of a row that the group holds in
// registers from the load to the ds store: four rows of two are eight
// values, which leave the exp one vector's temporaries in the 16 YMM
// registers (res64Exp's budget, ymmRegs). The rows of more vectors pass
// through the scratch block (res64LoadScratch, res64ExpScratch): stored
// as loaded, read back xres64yExpChunk vectors at a time for the exp,
// their e stored there again for ds.
const xres64yHeldVecs = 2

// The register budget of res64ExpScratch: the YMM registers; what stays
// live through the exps beside the rows' sums (the tail mask, the clamp
// and the row's broadcast max: the maxima wait on the stack); the rows'
// sums (the finished ones and the running one); the vectors of a row
// whose exps are taken together; and a vector's exp (the value and three
// temporaries, beside one more for r^2 at a time).
const (
	ymmRegs            = 16
	xres64yScratchLive = 3
	xres64yExpChunk    = 2
	xres64yExpRegs     = 4
)

func init() {
	if n := xres64yScratchLive + xres2Rows + xres64yExpChunk*xres64yExpRegs + 1; n > ymmRegs {
		panic(fmt.Sprintf("xres64 AVX2: the scratch exp pass needs %d YMM registers, more than %d", n, ymmRegs))
	}
}

// xres64ScratchFor says whether the float64 CrossEntropy has the resident
// path's scratch block (both tiers), which takes more stack than a
// NOSPLIT function may.
func xres64ScratchFor(d DType) bool { return d.Size == 8 }

// res64Held says whether the group holds its rows of v vectors in
// registers (else the scratch block).
func (x *xentRows) res64Held(v int) bool { return v <= x.resHeldVecs() }

// res64ExpChunk is the scratch rows' vectors whose exps are taken
// together.
func (x *xentRows) res64ExpChunk() int {
	if x.isa.AVX512 {
		return xres64ExpChunk
	}
	return xres64yExpChunk
}

// res64LoadScratch loads the k rows of v vectors as res64Vec, stores them
// to the scratch block, and returns the others' maxima, a vector a row.
func (x *xentRows) res64LoadScratch(v, k int, s slots, mask Mask, loc xresLocals) (om []VecVirtual) {
	Comment("Load the rows, each target's lane (and the tail's) -Inf, to the",
		"scratch block; the others' max.")
	es := x.block
	om = make([]VecVirtual, k)
	for i := range om {
		lab := x.resLabel(i)
		for j := 0; j < v; j++ {
			y := x.res64Vec(i, j, v, lab, s, mask)
			VMOVUPD(y, es.Offset(x.vb*(i*v+j)))
			if j == 0 {
				om[i] = y
				continue
			}
			a := x.isa.Vec()
			VMAXPD(y, om[i], a) // as rowMax
			om[i] = a
		}
	}
	return om
}

// res64ExpScratch is res64Exp and res64Sums for the rows in the scratch
// block: e_t and s_t - max through the stack (s_t - max left there, as
// res64Exp leaves it), then each row's vectors read back, their e taken
// res64ExpChunk at a time (with ds, stored back) and added in
// res64Sums' order.
func (x *xentRows) res64ExpScratch(v, k int, m, st VecVirtual, loc xresLocals) (et, dt, o VecVirtual) {
	isa, r := x.isa, x.row
	xe := newXentExpF64(x.p, isa)
	Comment("s_t - max and e_t = exp(s_t - max), row i in lane i, to the stack.")
	dt, et = isa.Vec(), isa.Vec()
	VSUBPD(m, st, dt)
	VMOVUPD(dt, loc.hold.Offset(x.vb))
	VMOVUPD(m, loc.hold.Offset(2*x.vb)) // each row's max broadcast from there
	VMOVAPD(dt, et)
	xe.exp([]VecVirtual{et})
	VMOVUPD(et, loc.hold)
	es := x.block
	chunk := x.res64ExpChunk()
	Comment(fmt.Sprintf("Exp pass from the scratch block (register budget: %d + %d sums + %d*%d + 1).",
		xres64yScratchLive, r.groupRows(), chunk, xres64yExpRegs))
	sums := make([]VecVirtual, k)
	for i := range sums {
		b := isa.Vec()
		VBROADCASTSD(loc.hold.Offset(2*x.vb+8*i), b)
		var sum VecVirtual
		for j0 := 0; j0 < v; j0 += chunk {
			ys := make([]VecVirtual, min(chunk, v-j0))
			for c := range ys {
				ys[c] = isa.Vec()
				VMOVUPD(es.Offset(x.vb*(i*v+j0+c)), ys[c])
				VSUBPD(b, ys[c], ys[c])
			}
			xe.exp(ys)
			for c, y := range ys {
				if x.withDS {
					VMOVUPD(y, es.Offset(x.vb*(i*v+j0+c)))
				}
				sum = addTo(sum, y)
			}
		}
		sums[i] = sum
	}
	o = groupTree(r.fill(sums), VADDPD, false)
	et = isa.Vec()
	VMOVUPD(loc.hold, et)
	return et, nil, o
}

// addTo returns sum + y in a new register (y itself when sum is nil):
// a row's vectors added in order, as every float64 resident row does.
func addTo(sum, y VecVirtual) VecVirtual {
	if sum == nil {
		return y
	}
	a := like(y)
	VADDPD(y, sum, a)
	return a
}
