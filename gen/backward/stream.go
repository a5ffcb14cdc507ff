package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// streamFunction emits SoftmaxBackwardStream: SoftmaxBackward for rows of
// at least one vector whose ds is written with non-temporal stores. For
// outputs too large to stay in cache (the caller decides): the stores skip
// the read for ownership and leave p and dp in the cache, which pays from
// a ds of a few MiB (bench/TUNING.md). Pass 1 is the long-row loop. On AVX2, pass 2
// stores the row's first vector plainly, then aligned vectors from the
// first 32-byte boundary of ds, then the vector that ends the row plainly
// again; the overlaps rewrite the same values from the same inputs. On
// AVX-512, pass 2 is the plain kernel's (alignedRows) with the whole
// vectors stored non-temporally: ds's 64-byte boundaries are what it
// aligns to already. Either way a row takes exactly the arithmetic of the
// plain kernel's long-row path (pass 2 is elementwise), so a row of more
// than maxMedium whole vectors (AVX-512 maxMediumZMM) gets the plain
// kernel's bits, streamed or not. ds must not alias p or dp (the caller
// checks). A fence orders the streamed stores before the return: MFENCE,
// whose SSE2 every amd64 CPU has (avo lists SFENCE under MMXEXT, a flag
// Intel CPUs do not set).
func (g *gen) streamFunction() {
	g.lanes = g.VB / g.dt.Size
	vb := g.VB
	TEXT(g.name(), NOSPLIT, g.signature())
	Pragma("noescape")
	op := "ds = p*(dp - e)"
	if g.form == scaled {
		op = "ds = scale*p*(dp - e)"
	}
	Doc(fmt.Sprintf("%s sets, per row of cols elements, %s with e = sum_j p*dp,", g.name(), op),
		"storing ds with non-temporal stores. The lengths must be equal and a multiple of cols,",
		fmt.Sprintf("cols >= %d; ds must not overlap p or dp. Rows of more than %d whole vectors get the bits", g.lanes, g.maxMedium()),
		fmt.Sprintf("of %s.", g.plainName()))
	r := g.prologue()
	g.loadScale()
	g.i = GP64()
	g.ne = g.Vec()
	g.acc = [2]VecVirtual{g.Vec(), g.Vec()}
	if g.AVX512 {
		g.alignedRows(r)
		Label("next")
		g.nextRow()
		CMPQ(g.p, r.end)
		JB(LabelRef("row"))
		Label("done")
		MFENCE()
		VZEROUPPER()
		RET()
		return
	}
	tailOff, next := GP64(), GP64()
	MOVQ(r.rowBytes, tailOff)
	SUBQ(U32(vb), tailOff)

	Label("row")
	g.longPass1(r)
	Comment("Pass 2: the first vector, then aligned non-temporal stores, then the last vector.")
	XORQ(g.i, g.i)
	g.storeBlock(1, g.mov)
	MOVQ(g.ds, g.i)
	NEGQ(g.i)
	ANDQ(U32(vb-1), g.i)
	Label("streamLoop")
	LEAQ(Mem{Base: g.i, Disp: unroll * vb}, next)
	CMPQ(next, r.rowBytes)
	JA(LabelRef("streamOne"))
	g.storeBlock(unroll, g.dt.MOVNT)
	MOVQ(next, g.i)
	JMP(LabelRef("streamLoop"))
	Label("streamOne")
	LEAQ(Mem{Base: g.i, Disp: vb}, next)
	CMPQ(next, r.rowBytes)
	JA(LabelRef("streamLast"))
	g.storeBlock(1, g.dt.MOVNT)
	MOVQ(next, g.i)
	JMP(LabelRef("streamOne"))
	Label("streamLast")
	MOVQ(tailOff, g.i)
	g.storeBlock(1, g.mov)
	g.nextRow()
	CMPQ(g.p, r.end)
	JB(LabelRef("row"))

	Label("done")
	MFENCE()
	VZEROUPPER()
	RET()
}
