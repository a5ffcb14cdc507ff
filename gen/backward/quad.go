// AVX-512 rows of half a vector up to one, four at a time.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// quadSet holds one group of four rows: p, dp and (Add) ds, one vector a
// row.
type quadSet struct {
	name      string
	p, dp, ds []VecVirtual
}

// quadRows handles, in the AVX-512 SoftmaxBackward kernels, rows of half a
// vector or more but less than one, four rows at a time while four remain:
// each row is one load per input (zeroing-masked by g.kTail, which holds
// the row's lanes, near the slices' end; see below), the four sums of products come out of one transposing tree
// (Tree4: quarter r holds row r's e), and each row is written with a masked
// store: ds = p*dp - p*e, from the product pass 1 formed (one more rounding
// of p*|dp|, inside the bound), or ds += p*(dp - e). The next group is
// loaded before the current one is stored (two register sets, the loop
// unrolled twice; p and dp step ahead, ds lags one group): a load issued
// after a masked store whose 64 bytes it overlaps (the next row, or an
// address 4 KiB apart in another slice) waits for that store to retire.
// Rows do not overlap, so ds may be p or dp. The sum is taken in the
// element type: product rounding and a 4-level tree, e within 5 ulps of
// sum_j |p*dp|. The rows left over go on to quadRest. Groups whose last
// vector lies inside the slices are read with whole-vector loads (the
// product is masked instead), and SoftmaxBackward prefetches the ds of
// the group after next; both were faster (bench/TUNING.md).
func (g *gen) quadRows(rowStep, end Register) {
	Comment("Rows of half a vector up to a whole one, four at a time.")
	q := &quadLoop{gen: g, rowStep: rowStep}
	q.limits(end)
	a, b := q.newQuadSet("A"), q.newQuadSet("B")
	CMPQ(g.p, q.lim3)
	JAE(LabelRef("quadDone"))
	q.loadGroup(a, atDS)
	Label("quad")
	for _, cur := range [][2]quadSet{{a, b}, {b, a}} {
		CMPQ(g.p, q.lim7)
		JAE(LabelRef("quadLast" + cur[0].name))
		q.nextGroup(g.p, g.dp)
		q.loadGroup(cur[1], aheadOfDS)
		q.finishGroup(cur[0])
	}
	JMP(LabelRef("quad"))
	for _, s := range []quadSet{a, b} {
		Label("quadLast" + s.name)
		q.nextGroup(g.p, g.dp)
		q.finishGroup(s)
		JMP(LabelRef("quadDone"))
	}
	Label("quadDone")
	CMPQ(g.p, end)
	JAE(LabelRef("done"))
}

// quadLoop is what quadRows' steps share: the row step, the limits and
// the count of loads emitted (their labels' suffix).
type quadLoop struct {
	*gen
	rowStep, rb3     Register
	lim3, lim7, limU Register
	loads            int
}

// groupAt is where the group loadGroup reads lies with respect to ds.
type groupAt int

const (
	atDS      groupAt = iota // the group at ds
	aheadOfDS                // the group after ds's (p and dp stepped, ds not yet)
)

// limits sets rb3 = 3*rowStep and the limits below which a group (lim3),
// a group after it (lim7) and a group of whole-vector loads (limU) start.
func (q *quadLoop) limits(end Register) {
	rowStep := q.rowStep
	rb3, lim3, lim7 := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: rowStep, Index: rowStep, Scale: 2}, rb3)
	Comment("A group starts below lim3; one after it below lim7.")
	MOVQ(end, lim3)
	SUBQ(rb3, lim3)
	MOVQ(lim3, lim7)
	SUBQ(rowStep, lim7)
	SUBQ(rb3, lim7)
	Comment("A group at or below limU is read with whole-vector loads.")
	limU := GP64()
	MOVQ(lim3, limU)
	SUBQ(U32(q.VB), limU)
	q.rb3, q.lim3, q.lim7, q.limU = rb3, lim3, lim7, limU
}

// rowAt addresses row r (0..3) of the group at base.
func (q *quadLoop) rowAt(base Register, r int) Mem {
	switch r {
	case 0:
		return Mem{Base: base}
	case 3:
		return Mem{Base: base, Index: q.rb3, Scale: 1}
	}
	return Mem{Base: base, Index: q.rowStep, Scale: uint8(r)}
}

// nextGroup steps bases to the next group of four rows.
func (q *quadLoop) nextGroup(bases ...Register) {
	for _, b := range bases {
		LEAQ(Mem{Base: b, Index: q.rowStep, Scale: 4}, b)
	}
}

// newQuadSet allocates the registers of one group.
func (q *quadLoop) newQuadSet(name string) quadSet {
	g := q.gen
	s := quadSet{name, make([]VecVirtual, 4), make([]VecVirtual, 4), nil}
	for r := range s.p {
		s.p[r], s.dp[r] = g.Vec(), g.Vec()
	}
	if g.adds() {
		s.ds = make([]VecVirtual, 4)
		for r := range s.ds {
			s.ds[r] = g.Vec()
		}
	}
	return s
}

// loadGroup fills s from the group at p and dp, and (Add) ds from the
// group at where. Whole-vector loads (lanes past the row dropped by the
// masked product and store) where the group's last vector lies inside
// the slices, else zeroing-masked ones.
func (q *quadLoop) loadGroup(s quadSet, where groupAt) {
	g := q.gen
	ds := g.ds
	if g.adds() && where == aheadOfDS {
		ds = GP64()
		LEAQ(Mem{Base: g.ds, Index: q.rowStep, Scale: 4}, ds)
	}
	q.loads++
	masked, done := fmt.Sprintf("quadMasked%d", q.loads), fmt.Sprintf("quadLoaded%d", q.loads)
	CMPQ(g.p, q.limU)
	JA(LabelRef(masked))
	for r := 0; r < 4; r++ {
		g.dt.MOVU(q.rowAt(g.p, r), s.p[r])
		g.dt.MOVU(q.rowAt(g.dp, r), s.dp[r])
		if g.adds() {
			g.dt.MOVU(q.rowAt(ds, r), s.ds[r])
		}
	}
	JMP(LabelRef(done))
	Label(masked)
	for r := 0; r < 4; r++ {
		g.dt.MOVZ(q.rowAt(g.p, r), g.kTail, s.p[r])
		g.dt.MOVZ(q.rowAt(g.dp, r), g.kTail, s.dp[r])
		if g.adds() {
			g.dt.MOVZ(q.rowAt(ds, r), g.kTail, s.ds[r])
		}
	}
	Label(done)
}

// finishGroup computes and stores the group at ds from s, and steps ds.
func (q *quadLoop) finishGroup(s quadSet) {
	g := q.gen
	for off := 0; off < 4*g.VB && !g.adds(); off += 64 {
		PREFETCHT0(Mem{Base: g.ds, Index: q.rowStep, Scale: 8, Disp: off})
	}
	prod := make([]VecVirtual, 4)
	for r := range prod {
		prod[r] = g.Vec()
		g.dt.MULZ(s.p[r], s.dp[r], g.kTail, prod[r])
	}
	e := Tree4Of(g.dt, prod, g.dt.ADD)
	for r := 0; r < 4; r++ {
		er := g.Vec()
		VSHUFF32X4(U8(0x55*r), e, e, er)
		out := prod[r]
		if g.form == scaled {
			g.quadScaled(er, s.p[r], out)
		} else if g.adds() {
			g.dt.SUB(er, s.dp[r], s.dp[r])
			out = s.ds[r]
			g.dt.FMA231(s.p[r], s.dp[r], out)
		} else {
			g.dt.FNMA231(er, s.p[r], out)
		}
		g.dt.MOVU(out, g.kTail, q.rowAt(g.ds, r))
	}
	q.nextGroup(g.ds)
}

// quadRest handles the rows quadRows leaves (fewer than four), one at a
// time, with a group's arithmetic: zeroing-masked loads, the product
// masked the same way, its lanes summed by allSum, which pairs the lanes
// exactly as Tree4 pairs those of each of its rows (128-bit blocks 0+2 and
// 1+3, then the two, then within the block the same way), and the same
// pass 2. So a row's bits do not depend on whether it came in a group of
// four.
func (g *gen) quadRest(end Register) {
	Comment("The rows left, one at a time with a group's arithmetic.")
	Label("quadRest")
	pv, dv, prod, e := g.Vec(), g.Vec(), g.Vec(), g.Vec()
	g.dt.MOVZ(Mem{Base: g.p}, g.kTail, pv)
	g.dt.MOVZ(Mem{Base: g.dp}, g.kTail, dv)
	var dsv VecVirtual
	if g.adds() {
		dsv = g.Vec()
		g.dt.MOVZ(Mem{Base: g.ds}, g.kTail, dsv)
	}
	g.dt.MULZ(pv, dv, g.kTail, prod)
	g.dt.MOVU(prod, e)
	g.allSum(e, g.elemLanes())
	out := prod
	if g.form == scaled {
		g.quadScaled(e, pv, out)
	} else if g.adds() {
		g.dt.SUB(e, dv, dv)
		out = dsv
		g.dt.FMA231(pv, dv, out)
	} else {
		g.dt.FNMA231(e, pv, out)
	}
	g.dt.MOVU(out, g.kTail, Mem{Base: g.ds})
	g.nextRow()
	CMPQ(g.p, end)
	JB(LabelRef("quadRest"))
	JMP(LabelRef("done"))
}

// quadScaled is pass 2 of quadRows and quadRest in a scaled kernel: with
// prod = p*dp (which gave e), prod = (scale*prod) - e*(scale*p). Both
// products by scale wait only on the loads, so the chain from e to the
// store is one FMA, as in SoftmaxBackward (the form scale*dp - scale*e of
// the other paths puts a product and an FMA on it).
func (g *gen) quadScaled(e, p, prod VecVirtual) {
	ps := g.Vec()
	g.dt.MUL(g.sc, p, ps)
	g.dt.MUL(g.sc, prod, prod)
	g.dt.FNMA231(e, ps, prod)
}
