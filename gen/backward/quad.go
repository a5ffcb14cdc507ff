// AVX-512 rows of half a vector up to one, four at a time.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// quadSet holds one group of four rows: p, dp and (Add) ds, one vector a
// row.
type quadSet struct{ p, dp, ds []VecVirtual }

// quadRows handles, in the AVX-512 SoftmaxBackward kernels, rows of half a
// vector or more but less than one, four rows at a time while four remain:
// each row is one zeroing-masked load per input (g.kTail holds the row's
// lanes), the four sums of products come out of one transposing tree
// (Tree4: quarter r holds row r's e), and each row is written with a masked
// store. The next group is loaded before the current one is stored (two
// register sets, the loop unrolled twice): a load issued after a masked
// store whose 64 bytes it overlaps (the next row, or an address 4 KiB
// apart in another slice) waits for that store to retire. Rows do not
// overlap, so ds may be p or dp. The sum is taken in the element type:
// product rounding and a 4-level tree, e within 5 ulps of sum_j |p*dp|.
// The rows left over go on to halfRows.
func (g *gen) quadRows(rowBytes, end Register) {
	Comment("Rows of half a vector up to a whole one, four at a time.")
	rb3, last := GP64(), GP64()
	LEAQ(Mem{Base: rowBytes, Index: rowBytes, Scale: 2}, rb3)
	row := func(base Register, r int) Mem {
		switch r {
		case 0:
			return Mem{Base: base}
		case 3:
			return Mem{Base: base, Index: rb3, Scale: 1}
		}
		return Mem{Base: base, Index: rowBytes, Scale: uint8(r)}
	}
	// exists jumps to no unless the group that starts `groups` groups
	// after the current one is whole.
	exists := func(groups int, no string) {
		LEAQ(Mem{Base: g.p, Index: rb3, Scale: 1}, last)
		if groups > 0 {
			LEAQ(Mem{Base: last, Index: rowBytes, Scale: 4}, last)
		}
		CMPQ(last, end)
		JAE(LabelRef(no))
	}
	newSet := func() quadSet {
		s := quadSet{make([]VecVirtual, 4), make([]VecVirtual, 4), nil}
		for r := range s.p {
			s.p[r], s.dp[r] = g.vec(), g.vec()
		}
		if g.add {
			s.ds = make([]VecVirtual, 4)
			for r := range s.ds {
				s.ds[r] = g.vec()
			}
		}
		return s
	}
	// load fills s from the group `groups` groups after the current one.
	load := func(s quadSet, groups int) {
		bases := []Register{g.p, g.dp, g.ds}
		if groups > 0 {
			for i, b := range bases {
				t := GP64()
				LEAQ(Mem{Base: b, Index: rowBytes, Scale: 4}, t)
				bases[i] = t
			}
		}
		for r := 0; r < 4; r++ {
			g.dt.movZ(row(bases[0], r), g.kTail, s.p[r])
			g.dt.movZ(row(bases[1], r), g.kTail, s.dp[r])
			if g.add {
				g.dt.movZ(row(bases[2], r), g.kTail, s.ds[r])
			}
		}
	}
	// finish computes and stores the current group from s, then steps the
	// pointers to the next group.
	finish := func(s quadSet) {
		prod := make([]VecVirtual, 4)
		for r := range prod {
			prod[r] = g.vec()
			g.dt.mul(s.p[r], s.dp[r], prod[r])
		}
		e := Tree4(prod, g.dt.add, g.dt.size == 4)
		for r := 0; r < 4; r++ {
			er := g.vec()
			VSHUFF32X4(U8(0x55*r), e, e, er)
			g.dt.sub(er, s.dp[r], s.dp[r])
			out := s.p[r]
			if g.add {
				out = s.ds[r]
				g.dt.fma231(s.p[r], s.dp[r], out)
			} else {
				g.dt.mul(s.dp[r], s.p[r], out)
			}
			g.dt.mov(out, g.kTail, row(g.ds, r))
		}
		for _, b := range []Register{g.p, g.dp, g.ds} {
			LEAQ(Mem{Base: b, Index: rowBytes, Scale: 4}, b)
		}
	}
	a, b := newSet(), newSet()
	exists(0, "quadDone")
	load(a, 0)
	Label("quad")
	exists(1, "quadLastA")
	load(b, 1)
	finish(a)
	exists(1, "quadLastB")
	load(a, 1)
	finish(b)
	JMP(LabelRef("quad"))
	Label("quadLastA")
	finish(a)
	JMP(LabelRef("quadDone"))
	Label("quadLastB")
	finish(b)
	Label("quadDone")
	CMPQ(g.p, end)
	JAE(LabelRef("done"))
}
