// AVX-512 rows of one or two whole vectors and a partial one, four at a time.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// quadMedVecs is the most whole vectors a row may have to go through
// quadMedium: four rows of three vectors of p and dp are 24 ZMMs, beside
// the four sums and the tree's temporaries.
const quadMedVecs = 2

// quadMedRegs is quadMedium's register budget: the ZMMs a group of four
// rows holds, p and dp of each row and the four sums, the rest of the 32
// left to the tree's temporaries, the masks' copies and a scaled kernel's
// scale. quadMedGroups panics when a group would exceed it and states its
// use in the .s.
const quadMedRegs = 28

// quadMedLabel is the label of quadMedGroups' loop for rows of nv whole
// vectors ending in a vector of width.
func quadMedLabel(nv int, width rowEnd) string {
	if width == halfEnd {
		return fmt.Sprintf("quadMed%dHalf", nv)
	}
	return fmt.Sprintf("quadMed%d", nv)
}

// quadMedium handles, in the AVX-512 kernels, rows of nv whole vectors and a
// partial one, four rows at a time while four remain; the rest go on to
// quadMedRows one at a time. Each row is read as its nv vectors and the whole
// vector that ends the row (as the medium path does: no masked load or
// store, so no later load waits on a masked store), all four rows before
// anything is stored, so ds may be p or dp. The products of a row are
// summed in one vector (the row-ending vector's lanes already counted
// masked off: at most nv+1 roundings), the four sums come out of one
// transposing tree (Tree4, two to four more), and pass 2 runs on the
// registers: t = dp - e, then ds = p*t or ds += p*t. The row-ending vector
// is stored last, over lanes already holding the same values; the Add form
// reads it before it stores anything of the row. One group's chains are
// short beside the per-row horizontal sums of the medium path, and the
// core overlaps consecutive groups. Each group first prefetches the lines
// of the next group's ds: stores to lines that are not in L1 drain slowly
// enough to stall the loop (bench/TUNING.md).
// Prefetching p and dp as well, or ds two groups ahead, gained nothing.
// Where the partial vector is at most half a vector, the row ends with a
// half-width vector instead (quadMedGroups): a 64-byte access at any
// unaligned address spans two lines, a 32-byte one half as often, and the
// L1 moves fewer bytes, which was faster in L1 and L2 (bench/TUNING.md).
func (g *gen) quadMedium(nv int, rowBytes, end Register) {
	Comment(fmt.Sprintf("Rows of %d whole vectors and a partial one, four at a time.", nv))
	g.quadMedGroups(nv, halfEnd, g.kHalf, rowBytes, end)
	g.quadMedGroups(nv, wholeEnd, g.kLast, rowBytes, end)
}

// rowEnd is the width of the vector that ends a row in quadMedGroups.
type rowEnd int

const (
	wholeEnd rowEnd = iota // a whole vector
	halfEnd                // a half-width one (the partial vector is at most half a vector)
)

// quadMedGroups is quadMedium's loop; with halfEnd, each row ends with a
// half-width vector, whose last lanes kEnd holds.
func (g *gen) quadMedGroups(nv int, width rowEnd, kEnd Op, rowBytes, end Register) {
	half := width == halfEnd
	vb := g.VB
	name := quadMedLabel(nv, width)
	Label(name)
	if regs := 4*2*(nv+1) + 4; regs > quadMedRegs {
		panic(fmt.Sprintf("%s: groups of four rows of %d vectors take %d ZMMs, over quadMedRegs = %d", g.name(), nv+1, regs, quadMedRegs))
	} else {
		Comment(fmt.Sprintf("Register budget: a group takes %d of the %d ZMMs quadMedRegs allows.", regs, quadMedRegs))
	}
	endBytes := vb
	if half {
		endBytes = vb / 2
	}
	// ld and st move vector k of a row: the row-ending one at its width.
	// A half-width one is loaded into both halves of the ZMM and stored
	// from the lower: both forms need only AVX512F at any register, where
	// a YMM move on Y16-Y31 would need AVX512VL.
	ld := func(m Mem, r VecVirtual, k int) {
		if half && k == nv {
			VBROADCASTF64X4(m, r)
			return
		}
		g.dt.MOVU(m, r)
	}
	st := func(r VecVirtual, m Mem, k int) {
		if half && k == nv {
			VEXTRACTF64X4(U8(0), r, m)
			return
		}
		g.dt.MOVU(r, m)
	}
	step := g.step
	rb3, lim := GP64(), GP64()
	LEAQ(Mem{Base: step, Index: step, Scale: 2}, rb3)
	Comment("A group starts below lim.")
	MOVQ(end, lim)
	SUBQ(rb3, lim)
	// at addresses vector k of row r of the group at base; k == nv is the
	// vector that ends the row.
	at := func(base Register, r, k int) Mem {
		if k == nv {
			if r == 2 {
				return Mem{Base: base, Index: rb3, Scale: 1, Disp: -endBytes}
			}
			return Mem{Base: base, Index: step, Scale: uint8(r + 1), Disp: -endBytes}
		}
		switch r {
		case 0:
			return Mem{Base: base, Disp: k * vb}
		case 3:
			return Mem{Base: base, Index: rb3, Scale: 1, Disp: k * vb}
		}
		return Mem{Base: base, Index: step, Scale: uint8(r), Disp: k * vb}
	}
	bases := []Register{g.p, g.dp, g.ds}
	Label(name + "Loop")
	CMPQ(g.p, lim)
	JAE(LabelRef(name + "Rest"))
	Comment("Next group's ds into L1 (see quadMedium).")
	for off := 0; off < 4*(nv+1)*vb; off += 64 {
		PREFETCHT0(Mem{Base: g.ds, Index: step, Scale: 4, Disp: off})
	}
	g.quadMedRows(4, nv, at, ld, st, kEnd)
	for _, b := range bases {
		LEAQ(Mem{Base: b, Index: step, Scale: 4}, b)
	}
	JMP(LabelRef(name + "Loop"))
	Comment("The rows left, one at a time with a group's arithmetic (see quadMedRows).")
	Label(name + "Rest")
	CMPQ(g.p, end)
	JAE(LabelRef("done"))
	g.quadMedRows(1, nv, at, ld, st, kEnd)
	for _, b := range bases {
		ADDQ(step, b)
	}
	JMP(LabelRef(name + "Rest"))
}

// quadMedRows emits the arithmetic of n rows (a group of four, or one row
// left over) of quadMedGroups: at, ld and st address, load and store
// vector k of row r. A row's sum is the same either way: four go through
// Tree4, one through allSum, which pairs the lanes exactly as Tree4 pairs
// those of each of its rows; the rest is lane by lane.
func (g *gen) quadMedRows(n, nv int, at func(base Register, r, k int) Mem, ld func(Mem, VecVirtual, int), st func(VecVirtual, Mem, int), kEnd Op) {
	p, dp := make([][]VecVirtual, n), make([][]VecVirtual, n)
	sums := make([]VecVirtual, n)
	for r := 0; r < n; r++ {
		p[r], dp[r] = make([]VecVirtual, nv+1), make([]VecVirtual, nv+1)
		for k := 0; k <= nv; k++ {
			p[r][k], dp[r][k] = g.Vec(), g.Vec()
			ld(at(g.p, r, k), p[r][k], k)
			ld(at(g.dp, r, k), dp[r][k], k)
		}
		s := g.Vec()
		g.dt.MUL(p[r][0], dp[r][0], s)
		for k := 1; k < nv; k++ {
			g.dt.FMA231(p[r][k], dp[r][k], s)
		}
		// Only the lanes past the whole vectors (kEnd).
		g.dt.FMA231(p[r][nv], dp[r][nv], kEnd, s)
		sums[r] = s
	}
	var e VecVirtual
	if n == 4 {
		e = Tree4Of(g.dt, sums, g.dt.ADD)
	} else {
		e = sums[0]
		g.allSum(e, g.elemLanes())
	}
	for r := 0; r < n; r++ {
		er := e
		if n == 4 {
			er = g.Vec()
			VSHUFF32X4(U8(0x55*r), e, e, er)
		}
		var dsEnd VecVirtual
		if g.adds() {
			dsEnd = g.Vec()
			ld(at(g.ds, r, nv), dsEnd, nv)
		}
		for k := 0; k <= nv; k++ {
			t, out := dp[r][k], p[r][k]
			g.dt.SUB(er, t, t)
			if g.form == scaled {
				// (scale*p)*(dp - e): the product by scale waits only
				// on p, off the chain from e to the store.
				g.dt.MUL(g.sc, p[r][k], out)
				g.dt.MUL(out, t, out)
			} else if g.adds() {
				out = dsEnd
				if k < nv {
					out = g.Vec()
					g.dt.MOVU(at(g.ds, r, k), out)
				}
				g.dt.FMA231(p[r][k], t, out)
			} else {
				g.dt.MUL(p[r][k], t, out)
			}
			st(out, at(g.ds, r, k), k)
		}
	}
}
