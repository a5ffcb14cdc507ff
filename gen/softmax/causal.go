// SoftmaxCausal: the rows of a stack of causal blocks in one call, each
// row through the passes over the columns it sees, the rows of up to
// groupMaxCols columns in groups where their tails allow.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// zeroUnroll is how many vectors of zeros an iteration of the loop that
// clears a row's masked part stores.
const zeroUnroll = 4

// loadCausalArgs loads SoftmaxCausal's arguments: g.cols is the visible
// length of the row at hand, see (cols - q + 1 for row 0 of a block, one
// more each row), the passes' column count; rb and one step a whole row
// of cols.
func loadCausalArgs(p *Pool, isa ISA, d DType) *rowGen {
	dstp := Load(Param("dst").Base(), GP64())
	srcp := Load(Param("src").Base(), GP64())
	total := Load(Param("src").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	q := Load(Param("q"), GP64())
	Comment("see, the columns row 0 of a block sees: cols - q + 1.")
	see := GP64()
	MOVQ(cols, see)
	SUBQ(q, see)
	INCQ(see)
	g := &rowGen{p: p, isa: isa, d: d, cols: see, causal: true}
	g.one, g.first = AllocLocal(8), AllocLocal(8)
	MOVQ(cols, g.one)
	MOVQ(see, g.first)
	rb := GP64()
	MOVQ(cols, rb)
	SHLQ(U8(d.Shift), rb)
	g.rb = rb
	if g.quad() {
		g.rb3 = GP64()
		LEAQ(Mem{Base: rb, Index: rb, Scale: 2}, g.rb3)
	}
	g.scaleBy(Param("scale"))
	g.srcp, g.dstp, g.total = srcp, dstp, total
	return g
}

// causalLoop emits the loop over SoftmaxCausal's rows. A row's arithmetic
// is a function of the columns it sees (rows stand alone, CONTRACT.md):
// rows of over groupMaxCols columns take the one-row code, shorter ones the
// group code, in a group (causalGroup) or alone (solo: the same arithmetic,
// as in rowLoop). In the group code every row's last vector is its tail,
// of 1 to lanes columns, the whole vectors before it (see-1)/lanes: the
// passes run with cols = see-1 (as their count of whole vectors) and
// tailMask adds the 1. Rows from see = 1 on then go in groups without a
// row left alone, and a row's tail is the same code in a group and
// alone. After the passes the masked part of each row is cleared and the
// next row sees one column more, or, after a block's last row, the next
// block's first row sees cols - q + 1.
func (r *rowGen) causalLoop() {
	isa, d := r.isa, r.d
	lanes := d.Lanes(isa.VB)
	k, group := 2, "p"
	if r.quad() {
		k, group = 4, "q"
		r.ahead, r.mq = GP64(), isa.Vec()
		XORQ(r.ahead, r.ahead)
	}
	r.fast = AllocLocal(8)
	slots := 8
	if isa.AVX512 && r.quad() {
		slots = 16 // the group's masks, then the next group's (causalAhead)
	}
	r.maskSlots = AllocLocal(slots)
	Label("row")
	TESTQ(r.total, r.total)
	JE(LabelRef("done"))
	CMPQ(r.cols, U32(groupMaxCols))
	JA(LabelRef("single"))
	r.causalGroup(k, lanes)

	Comment(fmt.Sprintf("A group of %d rows; the passes count see-1 columns.", k))
	DECQ(r.cols)
	r.bail = "o" + group
	r.maskedTails = true
	r.holdMasks(k)
	r.body(k, group)
	INCQ(r.cols)
	r.clearGroup(k)
	for _, p := range []Register{r.srcp, r.dstp} {
		LEAQ(Mem{Base: p, Index: r.rb, Scale: uint8(k)}, p)
	}
	t := GP64()
	MOVQ(r.one, t)
	SHLQ(U8(map[int]int{2: 1, 4: 2}[k]), t)
	SUBQ(t, r.total)
	ADDQ(U8(k), r.cols)
	JMP(LabelRef("nextrow"))

	Label("single")
	r.bail, r.maskedTails, r.held = "special", false, false
	r.body(1, "s")
	JMP(LabelRef("next1"))

	Comment("A row alone: the passes count see-1 columns, as in a group.")
	Label("o" + group + "in")
	DECQ(r.cols)
	Label("o" + group) // a group that bailed out: cols is see-1
	if r.quad() {
		XORQ(r.ahead, r.ahead) // a group that bailed out may have set it
	}
	r.solo, r.bail, r.maskedTails = true, "ospecial", true
	r.holdMasks(1)
	r.body(k, "o"+group)
	r.solo, r.maskedTails, r.held = false, false, false
	INCQ(r.cols)
	JMP(LabelRef("next1"))
	Label("ospecial")
	INCQ(r.cols)
	JMP(LabelRef("special"))

	Label("next1")
	r.clearMasked()
	r.step(1, r.total, r.srcp, r.dstp)
	INCQ(r.cols)
	Label("nextrow")
	CMPQ(r.cols, r.one)
	JLE(LabelRef("row"))
	MOVQ(r.first, r.cols)
	JMP(LabelRef("row"))
}

// clearGroup writes +0 over the masked parts of the k rows of a group,
// row r's from see+r on: the first k-1-r entries one at a time, then the
// part all k rows share, from see+k-1 to cols, in one loop over the rows
// as clearMasked clears one row's.
func (r *rowGen) clearGroup(k int) {
	isa, d, vb := r.isa, r.d, r.isa.VB
	lanes := d.Lanes(vb)
	Comment("The masked parts of the group's rows, dst[see+r:cols] for row r, cleared.")
	ptr, n := GP64(), GP64()
	LEAQ(Mem{Base: r.dstp, Index: r.cols, Scale: uint8(d.Size)}, ptr)
	for row := 0; row < k-1; row++ {
		for c := row; c < k-1; c++ {
			if d.Size == 4 {
				MOVL(U32(0), r.at(ptr, c*d.Size, row))
			} else {
				MOVQ(U32(0), r.at(ptr, c*d.Size, row))
			}
		}
	}
	ADDQ(U8((k-1)*d.Size), ptr)
	MOVQ(r.one, n)
	SUBQ(r.cols, n)
	SUBQ(U8(k-1), n)
	z := isa.Vec()
	VXORPS(z, z, z)
	CMPQ(n, U32(lanes))
	JB(LabelRef("gzeroshort"))
	Loop("gzero", n, lanes, 1, func(u int) {
		for i := 0; i < u; i++ {
			for row := 0; row < k; row++ {
				d.MOVU(z, r.at(ptr, vb*i, row))
			}
		}
		ADDQ(U32(vb*u), ptr)
	}, func() {
		end := GP64()
		LEAQ(Mem{Base: ptr, Index: n, Scale: uint8(d.Size), Disp: -vb}, end)
		for row := 0; row < k; row++ {
			d.MOVU(z, r.at(end, 0, row))
		}
	})
	JMP(LabelRef("gzerodone"))
	Label("gzeroshort")
	TESTQ(n, n)
	JE(LabelRef("gzerodone"))
	m := NewMask(r.p, isa, d, n)
	for row := 0; row < k; row++ {
		m.Store(z, r.at(ptr, 0, row))
	}
	Label("gzerodone")
}

// causalGroup emits the test that sends the row at hand alone (to the solo
// label) unless it and the k-1 rows after it form a group: all in the
// block, of at most groupMaxCols columns, and with the same number of
// whole vectors (row r's tail, (see-1)%lanes + 1 + r, at most lanes), as
// the group code runs one count of whole vectors for all its rows.
func (r *rowGen) causalGroup(k, lanes int) {
	solo := "o" + map[int]string{2: "p", 4: "q"}[k] + "in"
	Comment(fmt.Sprintf("A group if the %d rows from this one are in the block, of", k),
		"up to groupMaxCols columns, with as many whole vectors; else solo.")
	t := GP64()
	MOVQ(r.cols, t)
	ADDQ(U8(k-1), t)
	CMPQ(t, r.one)
	JA(LabelRef(solo))
	CMPQ(t, U32(groupMaxCols))
	JA(LabelRef(solo))
	LEAQ(Mem{Base: r.cols, Disp: -1}, t)
	ANDQ(U32(lanes-1), t)
	CMPQ(t, U32(lanes-k))
	JA(LabelRef(solo))
}

// holdMasks builds the tail masks of the first n rows of a group (see
// tailMask) for tailMask to load, one load a use: AVX-512 into
// g.maskSlots, two bytes a row, copied from the mask table; AVX2 (whose
// frame has no room for four vectors) the address of row 0's in the mask
// table, whose row r's lies r elements before it.
func (g *rowGen) holdMasks(n int) {
	Comment("The rows' tail masks, built once for the passes.")
	g.held = false
	if g.isa.AVX512 {
		// Rows 0..n-1's masks are the table's entries cols%lanes + 1 on,
		// two bytes each as in g.maskSlots: one copy. A group's last
		// entry, cols%lanes + n, is at most lanes (causalGroup), inside
		// the table.
		t, b := GP64(), GP64()
		MOVQ(g.cols, t)
		ANDQ(U32(g.d.Lanes(g.isa.VB)-1), t)
		LEAQ(g.p.KTable(), b)
		from := Mem{Base: b, Index: t, Scale: 2, Disp: 2}
		switch n {
		case 4:
			x := GP64()
			MOVQ(from, x)
			MOVQ(x, g.maskSlots)
		case 2:
			x := GP32()
			MOVL(from, x)
			MOVL(x, g.maskSlots)
		case 1:
			x := GP32()
			MOVWLZX(from, x)
			MOVW(x.As16(), g.maskSlots)
		default:
			panic(fmt.Sprintf("holdMasks: %d rows", n))
		}
	} else {
		t, b := GP64(), GP64()
		MOVQ(g.cols, t)
		ANDQ(U32(g.d.Lanes(g.isa.VB)-1), t)
		SHLQ(U8(g.d.Shift), t)
		NEGQ(t)
		LEAQ(g.p.MaskTable(), b)
		LEAQ(Mem{Base: b, Index: t, Scale: 1, Disp: 32 - g.d.Size}, b) // cols%lanes + 1
		MOVQ(b, g.maskSlots)
	}
	g.held = true
}

// tailMask returns the tail mask of slot r: the call's (it depends on
// cols only), or for SoftmaxCausal the slot's row's, which sees
// see%lanes columns in its last vector (one-row code), or in the group
// code, where cols is see-1 of row 0, cols%lanes + 1 + r: from
// g.maskSlots (held), or built here (AVX-512: loaded from the table,
// the offset r in the address).
func (g *rowGen) tailMask(r int) Mask {
	if !g.causal {
		return g.mask
	}
	if g.solo {
		r = 0
	}
	switch {
	case g.held && g.isa.AVX512:
		return MaskFrom(g.isa, g.d, g.maskSlots.Offset(2*r))
	case g.held:
		b := GP64()
		MOVQ(g.maskSlots, b)
		return MaskFrom(g.isa, g.d, Mem{Base: b, Disp: -r * g.d.Size})
	}
	if g.maskedTails {
		r++
	}
	t := GP64()
	MOVQ(g.cols, t)
	ANDQ(U32(g.d.Lanes(g.isa.VB)-1), t)
	if g.isa.AVX512 {
		// Entry cols%lanes + r of the table, one load into the mask (the
		// table's address in a register: PIE has no symbol-and-index form).
		b := GP64()
		LEAQ(g.p.KTable(), b)
		return MaskFrom(g.isa, g.d, Mem{Base: b, Index: t, Scale: 2, Disp: 2 * r})
	}
	if r > 0 {
		ADDQ(U8(r), t)
	}
	return NewMask(g.p, g.isa, g.d, t)
}

// loop is Loop over the rows of b; SoftmaxCausal's group code runs the
// tail even where slot 0's is empty (see causalLoop).
func (b *rowGroup) loop(name string, n Register, lanes, unroll int, body func(u int), tail func()) {
	if !b.causal || b.k == 1 {
		Loop(name, n, lanes, unroll, body, tail)
		return
	}
	Loop(name, n, lanes, unroll, body, nil)
	tail()
}

// clearMasked writes +0 over the row's masked part, dst[see:cols]: whole
// vectors from see on, the last one ending at the row's end (over zeros
// already written), or one masked store for a part shorter than a vector
// (a masked store is slow on AVX2, see overlap). The masked part of src
// is never read.
func (r *rowGen) clearMasked() {
	isa, d, vb := r.isa, r.d, r.isa.VB
	lanes := d.Lanes(vb)
	Comment(fmt.Sprintf("The masked part, dst[see:cols], cleared: %d vectors an iteration.", zeroUnroll))
	n, ptr := GP64(), GP64()
	MOVQ(r.one, n)
	SUBQ(r.cols, n)
	LEAQ(Mem{Base: r.dstp, Index: r.cols, Scale: uint8(d.Size)}, ptr)
	z := isa.Vec()
	VXORPS(z, z, z)
	CMPQ(n, U32(lanes))
	JB(LabelRef("zeroshort"))
	Loop("zero", n, lanes, zeroUnroll, func(u int) {
		for i := 0; i < u; i++ {
			d.MOVU(z, Mem{Base: ptr, Disp: vb * i})
		}
		ADDQ(U32(vb*u), ptr)
	}, func() {
		d.MOVU(z, Mem{Base: ptr, Index: n, Scale: uint8(d.Size), Disp: -vb})
	})
	JMP(LabelRef("zerodone"))
	Label("zeroshort")
	TESTQ(n, n)
	JE(LabelRef("zerodone"))
	NewMask(r.p, isa, d, n).Store(z, Mem{Base: ptr})
	Label("zerodone")
}

// causalAhead is nextGroupAhead for SoftmaxCausal: the next four rows'
// maxima into g.mq (g.ahead set) when they form a group (see causalGroup),
// each row seeing four columns more than the one four rows before.
func (b *rowGroup) causalAhead(pre string) {
	lanes := b.d.Lanes(b.isa.VB)
	Comment("Next group's maxima, if the next four rows form a group (cols is see-1).")
	XORQ(b.ahead, b.ahead)
	t := GP64()
	MOVQ(b.cols, t)
	ADDQ(U8(1+4+3), t)
	CMPQ(t, b.one)
	JA(LabelRef(pre + "noahead"))
	CMPQ(t, U32(groupMaxCols))
	JA(LabelRef(pre + "noahead"))
	MOVQ(b.cols, t)
	ADDQ(U8(4), t)
	ANDQ(U32(lanes-1), t)
	CMPQ(t, U32(lanes-4))
	JA(LabelRef(pre + "noahead"))
	next := GP64()
	LEAQ(Mem{Base: b.srcp, Index: b.rb, Scale: 4}, next)
	ADDQ(U8(4), b.cols)
	if b.isa.AVX512 {
		this := b.maskSlots
		b.maskSlots = this.Offset(8) // the next group's masks, held there
		b.holdMasks(4)
		b.maxTree(pre+"n", next)
		b.maskSlots = this
	} else {
		b.held = false // the next group's masks, built
		b.maxTree(pre+"n", next)
		b.held = true
	}
	SUBQ(U8(4), b.cols)
	MOVQ(U32(1), b.ahead)
	Label(pre + "noahead")
}
