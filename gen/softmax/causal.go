// SoftmaxCausal: the rows of a stack of causal blocks in one call, each
// row through the one-row code of the passes over the columns it sees.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"

	. "github.com/rowwise/softmax/gen/internal"
)

// zeroUnroll is how many vectors of zeros an iteration of the loop that
// clears a row's masked part stores.
const zeroUnroll = 4

// loadCausalArgs loads SoftmaxCausal's arguments: g.cols is the row's
// visible length, see (cols - q + 1 for row 0 of a block, one more each
// row), the passes' column count; rb and one step a whole row of cols.
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
	g := &rowGen{p: p, isa: isa, d: d, cols: see, apart: true}
	g.one, g.first = AllocLocal(8), AllocLocal(8)
	MOVQ(cols, g.one)
	MOVQ(see, g.first)
	rb := GP64()
	MOVQ(cols, rb)
	SHLQ(U8(d.Shift), rb)
	g.rb = rb
	g.scaleBy(Param("scale"))
	g.srcp, g.dstp, g.total = srcp, dstp, total
	return g
}

// causalLoop emits the loop over SoftmaxCausal's rows: the row-tail mask
// of the row's visible length, the passes of one row (rowGen.body with
// k = 1) over the columns it sees, the masked part cleared, then the next
// row, which sees one column more, or the first row of the next block.
func (r *rowGen) causalLoop() {
	isa, d := r.isa, r.d
	Comment("Rows stand alone (CONTRACT.md): every row, whatever its length,",
		"takes the one-row code over the columns it sees, so its arithmetic",
		"depends on that length (cols, q and its place in the block) only.")
	r.fast = AllocLocal(8)
	Label("row")
	TESTQ(r.total, r.total)
	JE(LabelRef("done"))
	Comment("The row-tail mask of the columns this row sees.")
	tc := GP64()
	MOVQ(r.cols, tc)
	ANDQ(U32(d.Lanes(isa.VB)-1), tc)
	r.mask = NewMask(r.p, isa, d, tc)
	r.bail = "special"
	r.body(1, "s")
	Label("next1")
	r.clearMasked()
	r.step(1, r.total, r.srcp, r.dstp)
	Comment("The next row sees one column more; after the block's last, the",
		"next block's first row sees cols - q + 1.")
	INCQ(r.cols)
	CMPQ(r.cols, r.one)
	JLE(LabelRef("row"))
	MOVQ(r.first, r.cols)
	JMP(LabelRef("row"))
}

// clearMasked writes +0 over the row's masked part, dst[see:cols]: whole
// vectors from see on, then a masked store at the row's end. The masked
// part of src is never read.
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
	Loop("zero", n, lanes, zeroUnroll, func(u int) {
		for i := 0; i < u; i++ {
			d.MOVU(z, Mem{Base: ptr, Disp: vb * i})
		}
		ADDQ(U32(vb*u), ptr)
	}, func() {
		m := NewMask(r.p, isa, d, n)
		m.Store(z, Mem{Base: ptr})
	})
}
