package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// SoftmaxCausalBackward (AVX2 and AVX-512, both types) is the scaled
// backward pass under a causal mask, over a whole stack of blocks of q rows
// in one call: row i of a block sees n = cols-q+1+i columns, so the
// visible length steps by one element a row and starts again at each
// block. A row reads p and dp on its n columns only, as ceil(n/lanes)
// vectors, the last one with the lanes it does not see zeroed, never read
// (AVX-512 by a masked load; AVX2 from the whole vector that ends at the
// row's visible end, see loadLast), so NaN or a guard page past them
// changes nothing. Pass 1 sums p*dp, pass 2 writes scale*p*(dp - e) with the
// masked lanes of the last vector zeroed (+0, not the -0 that 0*(-x)
// would give), and the rest of the row is written with zero vectors, the
// last under the mask of the row's own last partial vector.
//
// Rows with the same number of vectors come one after another (lanes of
// them in a block): each vector count has its own code, which loops over
// the rows of its run, so the branches of a row (loop trip counts, the
// stores of zeros) repeat from row to row and the next run is entered
// without a dispatch. Rows of at most causalMedVecs vectors take
// straight-line code that keeps dp in registers between the passes;
// longer rows take loops: blocks of unroll vectors summed in the element
// type and added into float64 lanes (float32) or a TwoSum pair (float64),
// as the long rows of SoftmaxBackward, so e is within a few ulps of
// sum_j |p*dp| at any length.
//
// Rows stand alone: the code a row takes and the order of its sums depend
// on its visible length n alone (and on cols for the stores of zeros),
// never on the rows around it, its block or its address. A row only
// touches its own elements and reads each input before it writes the
// same element of ds, so ds may be p or dp.
//
// Error of e, float32 (u = 2^-24, relative to sum_j |p*dp|): straight-line
// rows sum in float32, in chains of at most 3 products (AVX-512; AVX2 4),
// a tree of the chains (2 additions) and of the lanes (4; AVX2 3), so e is
// within 9u; the long rows as SoftmaxBackward's (5u). Pass 2 is the scaled
// kernel's, t = scale*dp - scale*e in one FMA and ds = p*t, at most 2u
// more of p*(|dp| + sum_j |p*dp|): within CONTRACT.md's 2^-20 = 16u.
// float64 alike with u = 2^-53 against 2^-46. The lane sum in float32
// shortens each row's chain of dependent operations, which the short
// rows of a prefill wait on (bench/TUNING.md).

// causalMedVecs is the longest row, in vectors (the last one partial or
// whole), that takes the straight-line path: AVX2 keeps dp of 8 vectors in
// registers beside the sums (causalRegsYMM), AVX-512 12 (as maxMediumZMM).
func (g *gen) causalMedVecs() int {
	if g.AVX512 {
		return maxMediumZMM
	}
	return maxMedium
}

// causalChains is the number of product chains of the straight-line rows
// (at most 3 products a chain on AVX-512 rows of 12 vectors, 4 on AVX2).
const causalChains = 4

// Register budgets of the straight-line causal rows, checked when a row's
// code is emitted and stated in the .s: dp of every vector, p of the last,
// the scale, the AVX2 tail mask, and the chains or, after them, the lane
// sum's causalSumTemps temporaries.
const (
	causalRegsYMM  = 16
	causalRegsZMM  = 32
	causalSumTemps = 4
)

// causalRegs is the vector registers of the straight-line rows of nv
// vectors, and the ISA's limit.
func (g *gen) causalRegs(nv int) (used, limit int) {
	used = nv + 1 + 1 + max(min(nv, g.chains()), causalSumTemps) // dp, the last p, scale
	if !g.AVX512 {
		return used + 1, causalRegsYMM // the row's tail mask
	}
	return used, causalRegsZMM
}

// chains is causalChains, or 2 on AVX2, whose 16 registers hold 8 vectors
// of dp beside them.
func (g *gen) chains() int {
	if g.AVX512 {
		return causalChains
	}
	return 2
}

// causalRegsOf holds the per-call values of the causal kernel.
type causalRegsOf struct {
	end        Register // p's end
	rowBytes   Register // cols, in bytes
	firstBytes Register // the visible bytes of a block's first row
	vis        Register // the visible bytes of this row
	tbl        Register // kTable (AVX-512) or the end of maskTable's ones (AVX2)
	endMask    Register // AVX2: the mask of the row's last partial vector, by address
	kEnd       Op       // AVX-512: the mask of the row's last partial vector
	lastOff    Register // long rows: the offset of the last vector
	mainBytes  Register // long rows: the unrolled blocks before it
}

func (g *gen) causalName() string {
	return "SoftmaxCausalBackward" + g.dt.Name + g.ISA.Name
}

// causalFunction emits SoftmaxCausalBackward.
func (g *gen) causalFunction() {
	g.lanes = g.VB / g.dt.Size
	TEXT(g.causalName(), NOSPLIT, fmt.Sprintf("func(ds, p, dp []%s, cols, q int, scale %s)", g.dt.Go, g.dt.Go))
	Pragma("noescape")
	Doc(g.causalName()+" sets, per row of cols elements, row i of each block of q rows",
		"seeing n = cols-q+1+i columns: ds = scale*p*(dp - e), e = sum_j p*dp, on",
		"the first n and +0 on the others, where p and dp are not read. The lengths",
		"must be equal and a multiple of q*cols, 1 <= q <= cols; ds may be p or dp.")

	var c causalRegsOf
	shift := U8(uint8(g.dt.Shift))
	g.ds = Load(Param("ds").Base(), GP64())
	g.p = Load(Param("p").Base(), GP64())
	g.dp = Load(Param("dp").Base(), GP64())
	n := Load(Param("ds").Len(), GP64())
	TESTQ(n, n)
	JZ(LabelRef("done"))
	cols := Load(Param("cols"), GP64())
	q := Load(Param("q"), GP64())
	c.end = GP64()
	SHLQ(shift, n)
	LEAQ(Mem{Base: g.p, Index: n, Scale: 1}, c.end)
	c.rowBytes = GP64()
	MOVQ(cols, c.rowBytes)
	SHLQ(shift, c.rowBytes)
	g.step = c.rowBytes
	c.firstBytes = GP64()
	MOVQ(cols, c.firstBytes)
	SUBQ(q, c.firstBytes)
	INCQ(c.firstBytes)
	SHLQ(shift, c.firstBytes)
	c.vis = GP64()
	MOVQ(c.firstBytes, c.vis)
	g.loadScale()

	Comment("The mask of a row's last partial vector: the cols%lanes lanes of zeros",
		"that end a row not a whole number of vectors long.")
	ANDQ(U32(g.lanes-1), cols)
	c.tbl = GP64()
	if g.AVX512 {
		LEAQ(kTable, c.tbl)
		k := K()
		KMOVW(Mem{Base: c.tbl, Index: cols, Scale: 2}, k)
		c.kEnd = k
	} else {
		LEAQ(maskTable.Offset(32), c.tbl)
		c.endMask = GP64()
		SHLQ(shift, cols)
		NEGQ(cols)
		LEAQ(Mem{Base: c.tbl, Index: cols, Scale: 1}, c.endMask)
	}
	g.i = GP64()
	c.lastOff = GP64()
	c.mainBytes = GP64()

	M := g.causalMedVecs()
	Label("row")
	Comment("A run of rows starts: its vector count from the visible length.")
	MOVQ(c.vis, c.lastOff)
	DECQ(c.lastOff)
	ANDQ(I32(-g.VB), c.lastOff)
	CMPQ(c.lastOff, U32((M-1)*g.VB))
	JA(LabelRef("long"))
	for nv := 1; nv < M; nv++ {
		CMPQ(c.lastOff, U32((nv-1)*g.VB))
		JE(LabelRef(causalLabel(nv)))
	}
	JMP(LabelRef(causalLabel(M)))

	Label("wrap")
	Comment("The next block: its first row's visible length.")
	MOVQ(c.firstBytes, c.vis)
	JMP(LabelRef("row"))

	for nv := 1; nv <= M; nv++ {
		g.causalMedium(&c, nv, nv == M)
	}
	g.causalLong(&c)

	Label("done")
	VZEROUPPER()
	RET()
}

func causalLabel(nv int) string { return fmt.Sprintf("vecs%d", nv) }

// lastVec is how a row's last vector is read: mask has its visible lanes,
// and on AVX2 idx moves the lanes of the vector that ends at the row's
// visible end into place (lane j from lane j+lanes-m mod lanes, m the
// visible lanes; pairs of 32-bit lanes for float64).
type lastVec struct {
	mask Op
	idx  VecVirtual
}

// causalMask loads the mask of the visible lanes of the row's last vector,
// which starts at lastOff bytes: vis-lastOff bytes, 1 to a whole vector.
func (g *gen) causalMask(c *causalRegsOf, lastOff Op) lastVec {
	m := GP64()
	MOVQ(c.vis, m)
	if lastOff != U32(0) {
		SUBQ(lastOff, m)
	}
	if g.AVX512 {
		// The table's entry r (r lanes) is at 2r bytes: bytes >> (shift-1).
		SHRQ(U8(uint8(g.dt.Shift-1)), m)
		k := K()
		KMOVW(Mem{Base: c.tbl, Index: m, Scale: 1}, k)
		return lastVec{mask: k}
	}
	NEGQ(m)
	v, idx := YMM(), YMM()
	VMOVDQU(Mem{Base: c.tbl, Index: m, Scale: 1}, v)
	rot := GP64()
	LEAQ(rot8.Offset(32), rot)
	VMOVDQU(Mem{Base: rot, Index: m, Scale: 1}, idx)
	return lastVec{mask: v, idx: idx}
}

// lastWidth says whether the row loadLast reads may see less than a
// vector.
type lastWidth int

const (
	wholeVisible lastWidth = iota // a vector or more of the row is visible
	mayBeShort                    // it may be shorter than a vector
)

// loadLast loads the visible lanes of the row's last vector into r, zeros
// elsewhere, reading nothing the row does not see. AVX-512 loads the
// vector at aligned under the mask. AVX2's masked load (VMASKMOV) is slow,
// so AVX2 loads the whole vector that ends at the row's visible end (from
// base), all of it visible, and permutes and masks it; rows shorter than a
// vector, where that vector would start before the row, take VMASKMOV
// (mayBeShort: the code may see such rows; prefix makes its labels
// unique).
func (g *gen) loadLast(c *causalRegsOf, lv lastVec, base Register, aligned Mem, r VecVirtual, width lastWidth, prefix string) {
	short := width == mayBeShort
	if g.AVX512 {
		g.dt.MOVZ(aligned, lv.mask, r)
		return
	}
	if short {
		CMPQ(c.vis, U32(g.VB))
		JAE(LabelRef(prefix + "Wide"))
		g.dt.MASKMOV(aligned, lv.mask, r)
		JMP(LabelRef(prefix + "Loaded"))
		Label(prefix + "Wide")
	}
	VPERMPS(Mem{Base: base, Index: c.vis, Scale: 1, Disp: -g.VB}, lv.idx, r)
	VANDPS(lv.mask, r, r)
	if short {
		Label(prefix + "Loaded")
	}
}

// lastOut turns t = dp of the row's last vector into its ds: t = scale*dp
// - scale*e, from se = +scale*e (posE) or -scale*e (negE), as the row's
// other vectors; ds = p*t on the visible lanes and +0 on the others.
func (g *gen) lastOut(se VecVirtual, sign eSign, p, t VecVirtual, mask Op) {
	if sign == posE {
		g.dt.FMS213(se, g.sc, t)
	} else {
		g.dt.FMA213(se, g.sc, t)
	}
	if g.AVX512 {
		g.dt.MULZ(p, t, mask, t)
		return
	}
	g.dt.MUL(p, t, t)
	VANDPS(mask, t, t)
}

// lastStore stores the row's last vector r at ds+off: whole where the row
// holds it, else under the mask of the row's last partial vector.
// fits emits the jump to the label it is given where the row holds the
// whole vector; prefix makes the labels the function's own.
func (g *gen) lastStore(c *causalRegsOf, r VecVirtual, off Mem, prefix string, fits func(label string)) {
	fits(prefix + "Whole")
	if g.AVX512 {
		g.dt.MOVU(r, c.kEnd, off)
	} else {
		m := YMM()
		VMOVDQU(Mem{Base: c.endMask}, m)
		g.dt.MASKMOV(r, m, off)
	}
	JMP(LabelRef(prefix + "Stored"))
	Label(prefix + "Whole")
	g.dt.MOVU(r, off)
	Label(prefix + "Stored")
}

// zeros writes +0 from offset off (a whole number of vectors from the row's
// start, start) to the row's end: whole vectors, four at a time, then what
// is left of a partial vector at the row's end as the whole vector that
// ends there where that lies among the zeros (one vector or more were
// written), else under the mask of the row's last partial vector (a masked
// store costs AVX2 12 cycles or more; bench/TUNING.md). prefix makes the
// labels the function's own.
func (g *gen) zeros(c *causalRegsOf, off Register, start Op, prefix string) {
	z := g.Vec()
	VXORPS(z, z, z)
	t := GP64()
	loop := func(label, exit string, u int) {
		Label(label)
		LEAQ(Mem{Base: off, Disp: u * g.VB}, t)
		CMPQ(t, c.rowBytes)
		JA(LabelRef(exit))
		for j := 0; j < u; j++ {
			g.dt.MOVU(z, Mem{Base: g.ds, Index: off, Scale: 1, Disp: j * g.VB})
		}
		MOVQ(t, off)
		JMP(LabelRef(label))
	}
	loop(prefix+"Zeros4", prefix+"Zeros1", 4)
	loop(prefix+"Zeros1", prefix+"ZerosEnd", 1)
	Label(prefix + "ZerosEnd")
	CMPQ(off, c.rowBytes)
	JAE(LabelRef(prefix + "ZerosDone"))
	CMPQ(off, start)
	JE(LabelRef(prefix + "ZerosMasked"))
	g.dt.MOVU(z, Mem{Base: g.ds, Index: c.rowBytes, Scale: 1, Disp: -g.VB})
	JMP(LabelRef(prefix + "ZerosDone"))
	Label(prefix + "ZerosMasked")
	if g.AVX512 {
		g.dt.MOVU(z, c.kEnd, Mem{Base: g.ds, Index: off, Scale: 1})
	} else {
		m := YMM()
		VMOVDQU(Mem{Base: c.endMask}, m)
		g.dt.MASKMOV(z, m, Mem{Base: g.ds, Index: off, Scale: 1})
	}
	Label(prefix + "ZerosDone")
}

// advance steps to the next row: to "done" after the last, to "wrap" at a
// block's end, to same while the next row has as many vectors (its visible
// bytes at most runEnd), else on to what follows.
func (g *gen) advance(c *causalRegsOf, runEnd Op, same string) {
	g.nextRow()
	CMPQ(g.p, c.end)
	JAE(LabelRef("done"))
	ADDQ(U32(g.dt.Size), c.vis)
	CMPQ(c.vis, c.rowBytes)
	JA(LabelRef("wrap"))
	CMPQ(c.vis, runEnd)
	JBE(LabelRef(same))
}

// causalMedium emits the rows of nv vectors in straight-line code: pass 1
// loads dp into registers and sums the products in chains, pass 2 works on
// those registers and p from memory.
func (g *gen) causalMedium(c *causalRegsOf, nv int, last bool) {
	used, limit := g.causalRegs(nv)
	if used > limit {
		panic(fmt.Sprintf("%s: causal rows of %d vectors take %d of %d vector registers", g.causalName(), nv, used, limit))
	}
	name := causalLabel(nv)
	Label(name)
	Comment(fmt.Sprintf("Rows of %d vector(s). Register budget: %d of the %d vector registers.", nv, used, limit))
	lastOff := (nv - 1) * g.VB
	lv := g.causalMask(c, U32(lastOff))
	mask := lv.mask
	at := func(b Register, j int) Mem { return Mem{Base: b, Disp: j * g.VB} }
	dps := make([]VecVirtual, nv)
	for j := 0; j < nv-1; j++ {
		dps[j] = g.Vec()
		g.dt.MOVU(at(g.dp, j), dps[j])
	}
	width := wholeVisible
	if nv == 1 {
		width = mayBeShort
	}
	dps[nv-1] = g.Vec()
	g.loadLast(c, lv, g.dp, at(g.dp, nv-1), dps[nv-1], width, name+"DP")
	pl := g.Vec()
	g.loadLast(c, lv, g.p, at(g.p, nv-1), pl, width, name+"P")
	p := func(j int) Op {
		if j == nv-1 {
			return pl
		}
		return at(g.p, j)
	}
	chains := make([]VecVirtual, min(nv, g.chains()))
	for j := 0; j < nv; j++ {
		k := j % len(chains)
		if j < len(chains) {
			chains[k] = g.Vec()
			g.dt.MUL(p(j), dps[j], chains[k])
		} else {
			g.dt.FMA231(p(j), dps[j], chains[k])
		}
	}
	se := g.causalE(g.addTree(chains))
	for j := 0; j < nv-1; j++ {
		g.dt.FMS213(se, g.sc, dps[j])
		g.dt.MUL(at(g.p, j), dps[j], dps[j])
		g.dt.MOVU(dps[j], at(g.ds, j))
	}
	g.lastOut(se, posE, pl, dps[nv-1], mask)
	g.lastStore(c, dps[nv-1], at(g.ds, nv-1), name, func(whole string) {
		CMPQ(c.rowBytes, U32(nv*g.VB))
		JAE(LabelRef(whole))
	})
	off := GP64()
	MOVQ(U32(nv*g.VB), off)
	g.zeros(c, off, U32(nv*g.VB), name)
	g.advance(c, U32(nv*g.VB), name)
	if last {
		JMP(LabelRef("long"))
	}
}

// causalE sums the lanes of t (the row's products) in the element type and
// returns +scale*e in every lane.
func (g *gen) causalE(t VecVirtual) VecVirtual {
	lanes := f64Lanes
	if g.dt.Size == 4 {
		lanes = f32Lanes
	}
	g.allSum(t, lanes)
	se := g.Vec()
	g.dt.MUL(g.sc, t, se)
	return se
}

// causalLong emits the rows of more than causalMedVecs vectors: pass 1 and
// pass 2 loop over the whole vectors before the last, which is masked.
func (g *gen) causalLong(c *causalRegsOf) {
	Label("long")
	Comment("Rows of more vectors: loops over the vectors before the last one.")
	MOVQ(c.vis, c.lastOff)
	DECQ(c.lastOff)
	ANDQ(I32(-g.VB), c.lastOff)
	Label("longRun")
	MOVQ(c.lastOff, c.mainBytes)
	ANDQ(I32(-g.VB*unroll), c.mainBytes)
	Label("longRow")
	lv := g.causalMask(c, c.lastOff)
	mask := lv.mask

	g.acc = [2]VecVirtual{g.Vec(), g.Vec()}
	g.ne = g.Vec()
	for _, a := range g.acc {
		VXORPD(a, a, a)
	}
	XORQ(g.i, g.i)
	loop := OffsetLoop{I: g.i, VB: g.VB}
	sum := func(u int) { g.sumBlock(u, nil) }
	loop.Blocks("sumLoop", unroll, c.mainBytes, "sumOne", sum)
	loop.Blocks("sumOne", 1, c.lastOff, "sumLast", sum)
	Label("sumLast")
	pv, dv := g.Vec(), g.Vec()
	// Read before pass 2 stores anything: ds may be p or dp.
	g.loadLast(c, lv, g.p, Mem{Base: g.p, Index: c.lastOff, Scale: 1}, pv, wholeVisible, "")
	g.loadLast(c, lv, g.dp, Mem{Base: g.dp, Index: c.lastOff, Scale: 1}, dv, wholeVisible, "")
	g.sumBlock(1, []VecVirtual{pv, dv})
	g.reduce() // g.ne = -scale*e

	XORQ(g.i, g.i)
	block := func(u int) { g.storeBlock(u, g.mov) }
	loop.Blocks("outLoop", unroll, c.mainBytes, "outOne", block)
	loop.Blocks("outOne", 1, c.lastOff, "outLast", block)
	Label("outLast")
	g.lastOut(g.ne, negE, pv, dv, mask) // g.ne holds -scale*e
	t := GP64()
	g.lastStore(c, dv, Mem{Base: g.ds, Index: c.lastOff, Scale: 1}, "long", func(whole string) {
		LEAQ(Mem{Base: c.lastOff, Disp: g.VB}, t)
		CMPQ(t, c.rowBytes)
		JBE(LabelRef(whole))
	})
	start := GP64()
	LEAQ(Mem{Base: c.lastOff, Disp: g.VB}, start)
	MOVQ(start, t)
	g.zeros(c, t, start, "long")
	LEAQ(Mem{Base: c.lastOff, Disp: g.VB}, t)
	g.advance(c, t, "longRow")
	Comment("The next run: one vector more.")
	ADDQ(U32(g.VB), c.lastOff)
	JMP(LabelRef("longRun"))
}
