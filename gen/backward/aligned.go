// AVX-512 long rows read and written from ds's 64-byte boundaries.

package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// alignedRow handles, in the AVX-512 kernels, one long row (more than
// maxMediumZMM whole vectors) in both passes with the whole vectors placed
// on ds's 64-byte boundaries: a masked head up to the first boundary, the
// unrolled and one-vector loops, a masked tail. Every unaligned 64-byte
// access spans two cache lines, and on an Intel Xeon rows that are not a
// multiple of 64 bytes ran 15-30% slower than their aligned neighbours
// (in L2: 300 float32 columns 0.152 ns/elem against 0.110 at 320). The
// slices usually share their alignment (same offsets from aligned bases),
// so p and dp are aligned too. The head and tail are read and written with
// masks, so nothing overlaps and ds may be p or dp. Each row starts at
// "row" and ends by jumping to "next".
func (g *gen) alignedRows(r rowRegs) {
	vb := g.bytes
	rowBytes := r.rowBytes
	tbl, mainLim, fullLim := GP64(), GP64(), GP64()
	LEAQ(kTable, tbl)
	MOVQ(rowBytes, mainLim)
	SUBQ(U32(unroll*vb), mainLim)
	MOVQ(rowBytes, fullLim)
	SUBQ(U32(vb), fullLim)
	Label("row")
	Comment("Head: the elements before ds's first 64-byte boundary (maybe none).")
	head, rest := GP64(), GP64()
	MOVQ(g.ds, head)
	NEGQ(head)
	ANDQ(U32(63), head)
	SHRQ(U8(g.dt.shift), head)
	kHead, kEnd := K(), K()
	KMOVW(Mem{Base: tbl, Index: head, Scale: 2}, kHead)
	SHLQ(U8(g.dt.shift), head)
	Comment("Tail: the elements after the last whole vector from there.")
	MOVQ(rowBytes, rest)
	SUBQ(head, rest)
	ANDQ(U32(vb-1), rest)
	SHRQ(U8(g.dt.shift), rest)
	KMOVW(Mem{Base: tbl, Index: rest, Scale: 2}, kEnd)

	Comment("Pass 1: -e = -sum_j p*dp.")
	for _, a := range g.acc {
		VXORPD(a, a, a)
	}
	masked := func(k Op, off Register) []VecVirtual {
		pv, dv := g.vec(), g.vec()
		g.dt.movZ(Mem{Base: g.p, Index: off, Scale: 1}, k, pv)
		g.dt.movZ(Mem{Base: g.dp, Index: off, Scale: 1}, k, dv)
		return []VecVirtual{pv, dv}
	}
	zero := GP64()
	XORQ(zero, zero)
	TESTQ(head, head)
	JZ(LabelRef("alignedSumHeadless"))
	g.sumBlock(1, masked(kHead, zero))
	Label("alignedSumHeadless")
	MOVQ(head, g.i)
	Label("alignedSum")
	CMPQ(g.i, mainLim)
	JA(LabelRef("alignedSumOne"))
	g.sumBlock(unroll, nil)
	ADDQ(U32(unroll*vb), g.i)
	JMP(LabelRef("alignedSum"))
	Label("alignedSumOne")
	CMPQ(g.i, fullLim)
	JA(LabelRef("alignedSumTail"))
	g.sumBlock(1, nil)
	ADDQ(U32(vb), g.i)
	JMP(LabelRef("alignedSumOne"))
	Label("alignedSumTail")
	TESTQ(rest, rest)
	JZ(LabelRef("alignedReduce"))
	g.sumBlock(1, masked(kEnd, g.i))
	Label("alignedReduce")
	g.reduce()

	Comment("Pass 2: ds = p*(dp - e), the head and tail with their masks.")
	TESTQ(head, head)
	JZ(LabelRef("alignedHeadless"))
	XORQ(zero, zero)
	g.alignedEdge(kHead, zero)
	Label("alignedHeadless")
	MOVQ(head, g.i)
	CMPQ(rowBytes, U32(prefetchRowBytes))
	JB(LabelRef("alignedStoreAhead"))
	Label("alignedStore")
	CMPQ(g.i, mainLim)
	JA(LabelRef("alignedStoreOne"))
	g.storeBlock(unroll, g.mov)
	ADDQ(U32(unroll*vb), g.i)
	JMP(LabelRef("alignedStore"))
	Comment("Rows shorter than prefetchRowBytes: the same loop, and the lines",
		"prefetchAhead bytes on (later rows) of p and dp fetched.")
	Label("alignedStoreAhead")
	CMPQ(g.i, mainLim)
	JA(LabelRef("alignedStoreOne"))
	for off := 0; off < unroll*vb; off += 64 {
		PREFETCHT0(Mem{Base: g.p, Index: g.i, Scale: 1, Disp: prefetchAhead + off})
		PREFETCHT0(Mem{Base: g.dp, Index: g.i, Scale: 1, Disp: prefetchAhead + off})
	}
	g.storeBlock(unroll, g.mov)
	ADDQ(U32(unroll*vb), g.i)
	JMP(LabelRef("alignedStoreAhead"))
	Label("alignedStoreOne")
	CMPQ(g.i, fullLim)
	JA(LabelRef("alignedStoreTail"))
	g.storeBlock(1, g.mov)
	ADDQ(U32(vb), g.i)
	JMP(LabelRef("alignedStoreOne"))
	Label("alignedStoreTail")
	TESTQ(rest, rest)
	JZ(LabelRef("next"))
	g.alignedEdge(kEnd, g.i)
	JMP(LabelRef("next"))
}

// alignedEdge computes and stores, under the mask k, the vector at byte
// offset off of the row: lanes outside k are neither read nor written.
func (g *gen) alignedEdge(k Op, off Register) {
	m := func(b Register) Mem { return Mem{Base: b, Index: off, Scale: 1} }
	pv, dv := g.vec(), g.vec()
	g.dt.movZ(m(g.p), k, pv)
	g.dt.movZ(m(g.dp), k, dv)
	t := g.vec()
	g.dt.add(dv, g.ne, t) // g.ne holds -e
	out := t
	if g.add {
		out = g.vec()
		g.dt.movZ(m(g.ds), k, out)
		g.dt.fma231(pv, t, out)
	} else {
		g.dt.mul(pv, t, out)
	}
	g.dt.mov(out, k, m(g.ds))
}
