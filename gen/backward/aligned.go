// AVX-512 long rows written from ds's 64-byte boundaries.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// alignedRows handles, in the AVX-512 kernels, the long rows (more than
// maxMediumZMM whole vectors): pass 1 as on AVX2 (longPass1), pass 2 with
// its whole vectors on ds's 64-byte boundaries, a masked head before the
// first and a masked tail after the last. Every unaligned 64-byte access
// spans two cache lines, and on Intel rows that are not a multiple of 64
// bytes ran well behind their aligned neighbours; this pass 2 recovers part
// of that and costs aligned rows nothing measurable (bench/TUNING.md). The slices usually share their alignment (the same
// offsets from aligned bases), so p and dp are read aligned too. Pass 2 is
// elementwise, so the bits do not depend on where ds lies; pass 1 keeps
// the row's own order, since aligning its sums (faster) would make them
// depend on the address. Head and tail are read and written under masks,
// so nothing overlaps and ds may be p or dp. Each row starts at "row" and
// ends by jumping to "next".
func (g *gen) alignedRows(r rowRegs) {
	vb := g.VB
	rowBytes := r.rowBytes
	tbl, mainLim, fullLim := GP64(), GP64(), GP64()
	LEAQ(kTable, tbl)
	MOVQ(rowBytes, mainLim)
	SUBQ(U32(unroll*vb), mainLim)
	MOVQ(rowBytes, fullLim)
	SUBQ(U32(vb), fullLim)
	Label("row")
	g.longPass1(r)

	Comment("Head: the elements before ds's first 64-byte boundary (maybe none).")
	head, rest := GP64(), GP64()
	MOVQ(g.ds, head)
	NEGQ(head)
	ANDQ(U32(63), head)
	SHRQ(U8(uint8(g.dt.Shift)), head)
	kHead, kEnd := K(), K()
	KMOVW(Mem{Base: tbl, Index: head, Scale: 2}, kHead)
	SHLQ(U8(uint8(g.dt.Shift)), head)
	Comment("Tail: the elements after the last whole vector from there.")
	MOVQ(rowBytes, rest)
	SUBQ(head, rest)
	ANDQ(U32(vb-1), rest)
	SHRQ(U8(uint8(g.dt.Shift)), rest)
	KMOVW(Mem{Base: tbl, Index: rest, Scale: 2}, kEnd)

	Comment("Pass 2: ds = p*(dp - e), the head and tail with their masks.")
	TESTQ(head, head)
	JZ(LabelRef("alignedHeadless"))
	zero := GP64()
	XORQ(zero, zero)
	g.alignedEdge(kHead, zero)
	Label("alignedHeadless")
	MOVQ(head, g.i)
	// Signed: in the streaming kernel a row may be shorter than the
	// unrolled block, and mainLim negative.
	g.storeLoops(rowBytes, mainLim, fullLim, func(lim Register, exit string) {
		CMPQ(g.i, lim)
		JG(LabelRef(exit))
	})
	Label("storeTail")
	TESTQ(rest, rest)
	JZ(LabelRef("next"))
	g.alignedEdge(kEnd, g.i)
	JMP(LabelRef("next"))
}

// alignedEdge computes and stores, under the mask k, the vector at byte
// offset off of the row: lanes outside k are neither read nor written.
func (g *gen) alignedEdge(k Op, off Register) {
	m := func(b Register) Mem { return Mem{Base: b, Index: off, Scale: 1} }
	pv, dv := g.Vec(), g.Vec()
	g.dt.MOVZ(m(g.p), k, pv)
	g.dt.MOVZ(m(g.dp), k, dv)
	t := g.Vec()
	if g.form == scaled {
		g.dt.FMA213(g.ne, g.sc, dv) // scale*dp + (-scale*e)
		t = dv
	} else {
		g.dt.ADD(dv, g.ne, t) // g.ne holds -e
	}
	out := t
	if g.adds() {
		out = g.Vec()
		g.dt.MOVZ(m(g.ds), k, out)
		g.dt.FMA231(pv, t, out)
	} else {
		g.dt.MUL(pv, t, out)
	}
	g.dt.MOVU(out, k, m(g.ds))
}
