// Command backward generates the fused softmax backward kernels
//
//	SoftmaxBackward:    ds  = p * (dp - e)
//	SoftmaxBackwardAdd: ds += p * (dp - e)
//
// with e = sum_j p[j]*dp[j] per row, for float32 and float64, as AVX2+FMA and
// AVX-512 assembly from one generator (a per-type instruction table, a
// per-ISA width and tail-mask scheme). One call covers the whole matrix
// (rows = len/cols), so short rows pay no call per row. Each row takes two
// passes and no exp: pass 1 sums the products, pass 2 writes ds once,
// t = dp - e then ds = p*t or ds = fma(p, t, ds).
//
// Row shapes, chosen once per call:
//
//   - long rows (more than 8 whole vectors, AVX-512 12): an unrolled loop, a one-vector
//     loop and a masked-load tail. float32 sums a block of 4 vectors in
//     float32 (at most 3 roundings per product) and adds the block into
//     float64 lanes; float64 adds each block into a (hi, lo) pair with
//     TwoSum. e is then within a few ulps of sum_j |p*dp| at any length
//     (2^17 columns and beyond). On AVX-512, pass 2 writes ds from its
//     64-byte boundaries, with a masked head and tail (see alignedRows).
//   - medium rows (1 to 8 whole vectors, AVX-512 12, and a partial one):
//     straight-line, software-pipelined code; dp and (on AVX-512, or with a partial
//     vector where the registers allow) p stay in registers between the
//     passes; the at most 13 products per lane are summed in the element
//     type, in chains of at most 5 (a second accumulator from 6 vectors on,
//     a third from 11), then across lanes. AVX-512 rows of one or two whole
//     vectors and a partial one go four at a time while four remain, with
//     one transposing tree for the four sums and ds prefetched a group
//     ahead, the row ending with a half-width vector where the partial
//     one is at most half a vector (see quadMedium); the last few rows
//     take the same arithmetic one at a time.
//   - short rows of at most half a vector (AVX-512: less than half):
//     k = lanes/cols whole rows at a time from one load per input, summed
//     by a segmented scan (see shortGroups), while a whole vector from the
//     row's start lies inside the slices; the rows before and after, one
//     at a time by the same scan.
//   - other short rows (less than one vector) and the last few: per row,
//     whole-vector loads where they lie inside the slices, else masked
//     loads; the result is merged into the vector that ends at the row's
//     end (see shortRows); on AVX2, rows over half a vector build that
//     vector from this row and the one before, not from the last one
//     written, so no chain of permutes runs from row to row. AVX-512 rows
//     of half a vector or more go four at a time while four remain (masked
//     loads and stores, one transposing tree for the four sums, the next
//     group loaded before the current one is stored; see quadRows), the
//     rest one at a time with the same arithmetic (quadRest).
//
// Rows stand alone: the arithmetic of a row (the order of its sum, the
// form of pass 2) is a function of cols alone, the same for a row in a
// group, a row left over, the first rows of the matrix and a row of a
// one-row call, at any start address and with any aliasing. Where rows go
// in groups, the rows outside a group run the group's arithmetic on their
// own (rowScan, quadRest, quadMedRows), and a single row's lane sum
// (allSum) pairs its lanes as the transposing tree (Tree4) does.
//
// SoftmaxCausalBackward (AVX2 and AVX-512, both types) is the scaled
// kernel under a causal mask, a whole stack of blocks in one call, the
// visible length stepping by one a row (causal.go).
//
// SoftmaxBackwardStream (AVX2 and AVX-512, both types) is the long-row
// path alone, with ds written by non-temporal stores, for outputs the
// caller judges too large to stay in cache (stream.go); on long rows its
// bits are the plain kernel's.
//
// Error of e, float32: long rows <= 5u, medium <= 11u, short <= 5u, with
// u = 2^-24 relative to sum_j |p*dp|; pass 2 adds at most 2u of
// p*(|dp| + sum_j |p*dp|): within CONTRACT.md's 2^-20 = 16u. float64 is alike
// with u = 2^-53 against 2^-46.
//
// Tails never store outside a row and never read or write outside the
// slices. Pass 2, on a row at least one vector long, computes the vector
// that ends the row before it stores anything of the row and stores it
// last: it overlaps elements already written with the very same values,
// computed from the same, original inputs, so it is right when ds is p or
// dp and in the Add form (nothing is added twice).
//
// Tried and left out, for no gain or a loss (the figures are in
// bench/TUNING.md): fusing pass 2 of a long row with pass 1 of the next (the
// current row falls out of L1 for 4096 columns), pass 2 from the row's end
// down, software prefetch of the next row for rows of 1 KiB or more
// (shorter ones gain: prefetchRowBytes), and float64 lane sums for medium
// rows (the conversions cost more than the bound needs). For short and
// medium rows the cost is in the loads and stores, not in the lane sums:
// reducing the lane sums of 4 or 8 medium rows together by a transposing
// reduction (pass 2 then reloads p and dp), running pass 1 two rows ahead
// rather than one, a masked load for the partial vector of AVX-512 medium
// rows (and a permute for the row-ending vector), masked stores for short
// rows (the next row's load of ds waits on the masked store), and the
// grouped short-row path with one row per group (rows over half a vector)
// were all slower.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// unroll is the number of vectors per iteration of the unrolled loops.
const unroll = 4

// prefetchRowBytes is the row length below which pass 2 of the long-row
// path prefetches p and dp prefetchAhead bytes on, in later rows. Pass 2
// rereads the row from L1, so no miss there keeps the hardware prefetcher
// streaming, and each short row's pass 1 would start cold from L3. Inside
// a row (512 and 1024 columns) the same prefetches were slower, so longer
// rows do without (bench/TUNING.md).
const prefetchRowBytes = 1024

// prefetchAhead is the distance of those prefetches, in bytes.
const prefetchAhead = 1024

// mediumDepth is the number of rows pass 1 runs ahead in the medium path,
// for rows of at most pipelinedVecs whole vectors.
const mediumDepth = 1

// pipelinedVecs is the longest AVX-512 medium row, in whole vectors, whose
// loop is software-pipelined (mediumDepth; see pipelined): on longer rows
// the core overlaps rows by itself, and the pipelined loop, emitted twice
// with its prologue and drains, is code that paired benchmarks did not
// pay for (bench/TUNING.md).
const pipelinedVecs = 3

// maxMedium is the longest row, in whole vectors, that takes the
// straight-line path.
const maxMedium = 8

// maxMedium is maxMedium, or on AVX-512 maxMediumZMM: its 32 registers keep
// p or dp of rows up to 12 vectors, which pays; at 16 vectors, dp alone,
// it did not (bench/TUNING.md).
func (g *gen) maxMedium() int {
	if g.AVX512 {
		return maxMediumZMM
	}
	return maxMedium
}

// maxMediumZMM is the AVX-512 kernels' maxMedium.
const maxMediumZMM = 12

// The tables of the kernels, from gen/internal's Pool (written by Flush).
var (
	maskTable Mem // AVX2: 32 bytes of 0xff then 32 of 0x00 (Pool.MaskTable)
	kTable    Mem // AVX-512: uint16 (1<<r)-1 for r = 0..16 (Pool.KTable)
	iota32    Mem // int32 0..31
	iota64    Mem // int64 0..15
	rot8      Mem // int32 0..7, 0..7
	seg32     Mem // int32 -16..31
	seg64     Mem // int64 -8..15
)

func main() {
	ConstraintExpr("amd64")
	ConstraintExpr("!purego")

	pool := NewPool()
	maskTable = pool.MaskTable()
	kTable = pool.KTable()
	iota32 = pool.Table("backwardIota32", table(32, func(j int) Constant { return U32(uint32(j)) }))
	iota64 = pool.Table("backwardIota64", table(16, func(j int) Constant { return U64(uint64(j)) }))
	rot8 = pool.Table("backwardRot8", table(16, func(j int) Constant { return U32(uint32(j % 8)) }))
	seg32 = pool.Table("backwardSeg32", table(48, func(j int) Constant { return U32(uint32(int32(j - 16))) }))
	seg64 = pool.Table("backwardSeg64", table(24, func(j int) Constant { return U64(uint64(int64(j - 8))) }))

	for _, s := range []ISA{AVX2, AVX512} {
		for _, t := range []DType{Float32, Float64} {
			for _, f := range []form{plain, accumulate, scaled} {
				g := &gen{ISA: s, dt: t, form: f}
				g.function()
			}
		}
	}
	for _, s := range []ISA{AVX2, AVX512} {
		for _, t := range []DType{Float32, Float64} {
			for _, f := range []form{plain, scaled} {
				g := &gen{ISA: s, dt: t, form: f, stream: true}
				g.streamFunction()
			}
		}
	}
	for _, s := range []ISA{AVX2, AVX512} {
		for _, t := range []DType{Float32, Float64} {
			g := &gen{ISA: s, dt: t, form: scaled}
			g.causalFunction()
		}
	}
	memLoop(AVX2)
	memLoop(AVX512)
	pool.Flush()
	Generate()
}

// table returns the n constants elem(0), elem(1), ...
func table(n int, elem func(j int) Constant) []Constant {
	c := make([]Constant, n)
	for j := range c {
		c[j] = elem(j)
	}
	return c
}

// memLoop emits the benchmarks' memory floor: ds[i] = p[i] + dp[i] over the
// whole vectors of the slices (a remainder shorter than 4 vectors is left
// alone), read two streams and write one, as the backward pass does.
func memLoop(s ISA) {
	TEXT("backwardMemLoopF32"+s.Name, NOSPLIT, "func(ds, p, dp []float32)")
	Pragma("noescape")
	Doc("backwardMemLoopF32"+s.Name+" sets ds[i] = p[i] + dp[i] for i below len(ds) rounded down to",
		"4 vectors: the memory floor the backward benchmarks compare with.")
	ds := Load(Param("ds").Base(), GP64())
	p := Load(Param("p").Base(), GP64())
	dp := Load(Param("dp").Base(), GP64())
	n := Load(Param("ds").Len(), GP64())
	SHLQ(U8(2), n)
	ANDQ(I32(-4*s.VB), n)
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JAE(LabelRef("done"))
	for j := 0; j < 4; j++ {
		v := s.Vec()
		m := func(b Register) Mem { return Mem{Base: b, Index: i, Scale: 1, Disp: j * s.VB} }
		VMOVUPS(m(p), v)
		VADDPS(m(dp), v, v)
		VMOVUPS(v, m(ds))
	}
	ADDQ(U32(4*s.VB), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// form is what pass 2 makes of t = dp - e.
type form int

const (
	plain      form = iota // SoftmaxBackward:       ds  = p*t
	accumulate             // SoftmaxBackwardAdd:    ds += p*t
	scaled                 // SoftmaxBackwardScaled: ds  = p*(scale*dp - scale*e)
)

// gen emits one kernel.
type gen struct {
	ISA
	dt     DType
	form   form
	stream bool // long rows only, ds by non-temporal stores (stream.go)

	lanes int // elements per vector

	p, dp, ds Register // row pointers
	step      Register // bytes from a row's start to the next one's: rowBytes
	i         Register // byte offset in the row

	kTail Op // AVX-512 tail mask
	vTail Op // AVX2 tail mask

	// Medium rows: lanes of the row-ending vector beyond the whole vectors.
	kLast  Op // AVX-512: the last cols%lanes lanes
	kHalf  Op // AVX-512: the last cols%lanes lanes of a half-width vector
	vFirst Op // AVX2: the first lanes-cols%lanes lanes (the complement)

	rowBytes Register

	loc     Mem        // short-row groups: per-call tables in the frame
	plainDS bool       // short rows: out reads ds with a whole-vector load
	scans   int        // rowScan's label counter
	rowOff  []Register // medium rows: rowOff[k] = k*step
	endOff  []Register // medium rows: endOff[k] = k*step + rowBytes
	setRegs int        // medium rows: the vector registers the sets take

	// pass-1 accumulators: float32 lo/hi float64 halves; float64 hi/lo TwoSum pair.
	acc [2]VecVirtual
	ne  VecVirtual // -e broadcast (scaled long rows: -scale*e)
	sc  VecVirtual // scaled: scale broadcast
}

// adds says whether pass 2 adds into ds (SoftmaxBackwardAdd).
func (g *gen) adds() bool { return g.form == accumulate }

// loadScale broadcasts the scale argument of a scaled kernel into g.sc.
func (g *gen) loadScale() {
	if g.form != scaled {
		return
	}
	x := XMM()
	Load(Param("scale"), x)
	g.sc = g.Vec()
	g.dt.BCAST(x, g.sc)
}

// scaleE multiplies -e, lane by lane, by scale in a scaled kernel: the
// long rows' pass 2 then forms t = scale*dp - scale*e with one FMA (out's
// -e form). The shorter rows keep e as it is and scale p (out's +e form).
func (g *gen) scaleE(e VecVirtual) {
	if g.form == scaled {
		g.dt.MUL(g.sc, e, e)
	}
}

// nextRow steps the row pointers p, dp and ds by one row (g.step).
func (g *gen) nextRow() {
	ADDQ(g.step, g.p)
	ADDQ(g.step, g.dp)
	ADDQ(g.step, g.ds)
}

// plainName is the name of the kernel of g's form that is not a stream one.
func (g *gen) plainName() string {
	c := *g
	c.stream = false
	return c.name()
}

func (g *gen) name() string {
	n := "SoftmaxBackward"
	switch g.form {
	case accumulate:
		n += "Add"
	case scaled:
		n += "Scaled"
	}
	if g.stream {
		n += "Stream"
	}
	n += g.dt.Name + g.ISA.Name
	return n
}

// signature is the Go declaration of the kernel.
func (g *gen) signature() string {
	if g.form == scaled {
		return fmt.Sprintf("func(ds, p, dp []%s, cols int, scale %s)", g.dt.Go, g.dt.Go)
	}
	return fmt.Sprintf("func(ds, p, dp []%s, cols int)", g.dt.Go)
}

func (g *gen) at(base Register, disp int) Mem {
	return Mem{Base: base, Index: g.i, Scale: 1, Disp: disp}
}

// function emits the kernel: the prologue, then by the row's length the
// medium rows (straight-line code per row), the long rows (loops) or the
// short rows (under a vector).
func (g *gen) function() {
	g.lanes = g.VB / g.dt.Size
	g.header()
	r := g.prologue()
	g.loadScale()
	g.i = GP64()
	g.ne = g.Vec()
	g.acc = [2]VecVirtual{g.Vec(), g.Vec()}

	TESTQ(r.fullBytes, r.fullBytes)
	JZ(LabelRef("short"))

	tailOff := GP64()
	MOVQ(r.rowBytes, tailOff)
	SUBQ(U32(g.VB), tailOff)

	g.dispatchMedium(r)
	g.longRows(r, tailOff)
	g.mediumBlocks(r, tailOff)
	g.shortBlocks(r)

	Label("done")
	VZEROUPPER()
	RET()
}

// header declares the kernel, its doc and its frame.
func (g *gen) header() {
	TEXT(g.name(), NOSPLIT, g.signature())
	Pragma("noescape")
	op := "ds = p*(dp - e)"
	switch g.form {
	case accumulate:
		op = "ds += p*(dp - e)"
	case scaled:
		op = "ds = scale*p*(dp - e)"
	}
	Doc(fmt.Sprintf("%s sets, per row of cols elements, %s with e = sum_j p*dp.", g.name(), op),
		"The lengths must be equal and a multiple of cols >= 1; ds may be p or dp.")

	// Four tables on AVX2 (with the scan masks, log2(lanes/2)), three on
	// AVX-512.
	n := 3
	if !g.AVX512 {
		n = 4 + 2
	}
	g.loc = AllocLocal(n * g.VB)
}

// dispatchMedium jumps to "long" for rows over maxMedium whole vectors,
// else sets the row-ending vector's masks and jumps to the medium or
// quadMedium block of the row's length.
func (g *gen) dispatchMedium(r rowRegs) {
	fullBytes, rowBytes, tail := r.fullBytes, r.rowBytes, r.tail
	vb := g.VB
	maxMedium := g.maxMedium()
	Comment("Rows of 1 to", fmt.Sprint(maxMedium), "whole vectors (and a tail): straight-line code per row.")
	CMPQ(fullBytes, U32(maxMedium*vb))
	JA(LabelRef("long"))
	g.rowBytes = rowBytes
	g.lastMasks(tail)
	CMPQ(fullBytes, rowBytes)
	JE(LabelRef("exact"))
	if g.AVX512 {
		Comment("Rows of 1 or 2 whole vectors go four at a time; a partial vector",
			"of at most half a vector is read as a half-width one.")
		// kLast's lanes moved down by half a vector; KNOTW set the bits
		// above a float64 vector's 8 lanes too, so those are shifted out
		// first.
		g.kHalf = K()
		if g.lanes < 16 {
			KSHIFTLW(U8(16-g.lanes), g.kLast, g.kHalf)
			KSHIFTRW(U8(16-g.lanes/2), g.kHalf, g.kHalf)
		} else {
			KSHIFTRW(U8(g.lanes/2), g.kLast, g.kHalf)
		}
		CMPQ(tail, U32(g.lanes/2))
		JA(LabelRef("quadMedFull"))
		for nv := 1; nv <= quadMedVecs; nv++ {
			CMPQ(fullBytes, U32(nv*vb))
			JE(LabelRef(quadMedLabel(nv, halfEnd)))
		}
		Label("quadMedFull")
	}
	for nv := 1; nv < maxMedium; nv++ {
		CMPQ(fullBytes, U32(nv*vb))
		if g.AVX512 && nv <= quadMedVecs {
			JE(LabelRef(quadMedLabel(nv, wholeEnd)))
		} else {
			JE(LabelRef(mediumLabel(nv, withTail)))
		}
	}
	JMP(LabelRef(mediumLabel(maxMedium, withTail)))
	Label("exact")
	for nv := 1; nv < maxMedium; nv++ {
		CMPQ(fullBytes, U32(nv*vb))
		JE(LabelRef(mediumLabel(nv, noTail)))
	}
	JMP(LabelRef(mediumLabel(maxMedium, noTail)))
}

// lastMasks sets the masks of the lanes of a medium row's ending vector
// past its whole vectors: kLast, or on AVX2 the complement vFirst.
func (g *gen) lastMasks(tail Register) {
	shift := U8(uint8(g.dt.Shift))
	tbl, off := GP64(), GP64()
	if g.AVX512 {
		LEAQ(kTable, tbl)
		MOVQ(U32(g.lanes), off)
		SUBQ(tail, off)
		k := K()
		KMOVW(Mem{Base: tbl, Index: off, Scale: 2}, k)
		KNOTW(k, k)
		g.kLast = k
	} else {
		LEAQ(maskTable, tbl)
		MOVQ(tail, off)
		SHLQ(shift, off)
		m := YMM()
		VMOVDQU(Mem{Base: tbl, Index: off, Scale: 1}, m)
		g.vFirst = m
	}
}

// longRows emits the rows over maxMedium whole vectors: alignedRows on
// AVX-512, else pass 1's loops and pass 2's.
func (g *gen) longRows(r rowRegs, tailOff Register) {
	end, rowBytes, fullBytes, mainBytes := r.end, r.rowBytes, r.fullBytes, r.mainBytes
	Label("long")
	if g.AVX512 {
		g.alignedRows(r)
	} else {
		Label("row")
		g.longPass1(r)
		Comment("Pass 2: ds = p*(dp - e). The vector that ends the row is computed",
			"first and stored last, over elements already holding the same values.")
		CMPQ(fullBytes, rowBytes)
		JE(LabelRef("store"))
		MOVQ(tailOff, g.i)
		held := g.out(g.at(g.p, 0), g.at(g.dp, 0), g.at(g.ds, 0), negE, keep)
		Label("store")
		XORQ(g.i, g.i)
		g.storeLoops(rowBytes, mainBytes, fullBytes, func(lim Register, exit string) {
			CMPQ(g.i, lim)
			JAE(LabelRef(exit))
		})
		Label("storeTail")
		CMPQ(fullBytes, rowBytes)
		JE(LabelRef("next"))
		g.dt.MOVU(held, Mem{Base: g.ds, Index: tailOff, Scale: 1})
	}
	Label("next")
	g.nextRow()
	CMPQ(g.p, end)
	JB(LabelRef("row"))
	JMP(LabelRef("done"))
}

// mediumBlocks emits the blocks dispatchMedium jumps to: mediumRows for
// each length, quadMedium's for the AVX-512 rows with a tail it takes.
func (g *gen) mediumBlocks(r rowRegs, tailOff Register) {
	end, rowBytes := r.end, r.rowBytes
	maxMedium := g.maxMedium()
	for nv := 1; nv <= maxMedium; nv++ {
		for _, tail := range []rowTail{withTail, noTail} {
			if g.AVX512 && tail == withTail && nv <= quadMedVecs {
				continue // quadMedium's rows, the last few included
			}
			g.mediumRows(nv, tail, rowBytes, tailOff, end)
		}
	}
	for nv := 1; g.AVX512 && nv <= quadMedVecs; nv++ {
		g.quadMedium(nv, rowBytes, end)
	}
}

// shortBlocks emits the rows shorter than a vector: quadRows and
// quadRest for those over half a vector on AVX-512, shortRows for the
// rest.
func (g *gen) shortBlocks(r rowRegs) {
	end, rowBytes := r.end, r.rowBytes
	vb := g.VB
	Label("short")
	if g.AVX512 {
		CMPQ(rowBytes, U32(vb/2))
		JB(LabelRef("shortest"))
		g.quadRows(g.step, end)
		g.quadRest(end)
		Label("shortest")
	}
	g.shortRows(rowBytes, end)
}

// rowRegs are the per-call values of a backward kernel, in bytes.
type rowRegs struct {
	end       Register // p's end
	rowBytes  Register // a row
	fullBytes Register // its whole vectors
	mainBytes Register // its whole unrolled blocks
	tail      Register // elements in the last partial vector (cols is reused)
}

// prologue loads the arguments and the per-call values, sets the tail mask
// and returns to "done" when the slices are empty.
func (g *gen) prologue() rowRegs {
	vb := g.VB
	g.ds = Load(Param("ds").Base(), GP64())
	g.p = Load(Param("p").Base(), GP64())
	g.dp = Load(Param("dp").Base(), GP64())
	n := Load(Param("ds").Len(), GP64())
	cols := Load(Param("cols"), GP64())

	TESTQ(n, n)
	JZ(LabelRef("done"))

	Comment("Per-call constants: row, full-vector and unrolled-loop lengths in bytes.")
	shift := U8(uint8(g.dt.Shift))
	end := GP64()
	SHLQ(shift, n)
	LEAQ(Mem{Base: g.p, Index: n, Scale: 1}, end)
	rowBytes := GP64()
	MOVQ(cols, rowBytes)
	SHLQ(shift, rowBytes)
	fullBytes := GP64()
	MOVQ(rowBytes, fullBytes)
	ANDQ(I32(-vb), fullBytes)
	mainBytes := GP64()
	MOVQ(rowBytes, mainBytes)
	ANDQ(I32(-vb*unroll), mainBytes)
	g.step = rowBytes
	tail := cols // reused: elements in the last partial vector
	ANDQ(U32(g.lanes-1), tail)

	Comment("Tail mask for the last partial vector of a row.")
	if g.AVX512 {
		k := K()
		tbl := GP64()
		LEAQ(kTable, tbl)
		KMOVW(Mem{Base: tbl, Index: tail, Scale: 2}, k)
		g.kTail = k
	} else {
		tbl := GP64()
		LEAQ(maskTable.Offset(32), tbl)
		off := GP64()
		MOVQ(tail, off)
		SHLQ(shift, off)
		NEGQ(off)
		m := YMM()
		VMOVDQU(Mem{Base: tbl, Index: off, Scale: 1}, m)
		g.vTail = m
	}

	return rowRegs{end: end, rowBytes: rowBytes, fullBytes: fullBytes, mainBytes: mainBytes, tail: tail}
}

// longPass1 sums -e of a long row into g.ne (pass 1): the unrolled loop,
// the one-vector loop, the masked tail.
func (g *gen) longPass1(r rowRegs) {
	vb := g.VB
	mainBytes, fullBytes, rowBytes := r.mainBytes, r.fullBytes, r.rowBytes
	Comment("Pass 1: -e = -sum_j p*dp.")
	for _, a := range g.acc {
		VXORPD(a, a, a)
	}
	XORQ(g.i, g.i)
	loop := OffsetLoop{I: g.i, VB: vb}
	sum := func(u int) { g.sumBlock(u, nil) }
	loop.Blocks("sumLoop", unroll, mainBytes, "sumOne", sum)
	loop.Blocks("sumOne", 1, fullBytes, "sumTail", sum)
	Label("sumTail")
	CMPQ(fullBytes, rowBytes)
	JE(LabelRef("reduce"))
	pv, dv := g.Vec(), g.Vec()
	g.loadTail(Mem{Base: g.p, Index: g.i, Scale: 1}, pv)
	g.loadTail(Mem{Base: g.dp, Index: g.i, Scale: 1}, dv)
	g.sumBlock(1, []VecVirtual{pv, dv})
	Label("reduce")
	g.reduce()

}

// loadTail loads the masked tail vector at m into r (zeros elsewhere).
func (g *gen) loadTail(m Mem, r VecVirtual) {
	if g.AVX512 {
		g.dt.MOVZ(m, g.kTail, r)
	} else {
		g.dt.MASKMOV(m, g.vTail, r)
	}
}

func (g *gen) storeTail(r VecVirtual, m Mem) {
	if g.AVX512 {
		g.dt.MOVU(r, g.kTail, m)
	} else {
		g.dt.MASKMOV(r, g.vTail, m)
	}
}

// sumBlock adds the products of k vectors at offset i (or of the registers
// in regs: p, dp) into the accumulators.
func (g *gen) sumBlock(k int, regs []VecVirtual) {
	prods := make([]VecVirtual, 0, k)
	if regs != nil {
		m := g.Vec()
		g.dt.MUL(regs[0], regs[1], m)
		prods = append(prods, m)
	} else {
		for j := 0; j < k; j += 2 {
			m := g.Vec()
			d := g.Vec()
			g.dt.MOVU(g.at(g.dp, j*g.VB), d)
			g.dt.MUL(g.at(g.p, j*g.VB), d, m)
			if j+1 < k {
				d1 := g.Vec()
				g.dt.MOVU(g.at(g.dp, (j+1)*g.VB), d1)
				g.dt.FMA231(g.at(g.p, (j+1)*g.VB), d1, m)
			}
			prods = append(prods, m)
		}
	}
	t := g.addTree(prods)
	if g.dt.Size == 4 {
		// float32 block sum into two float64 accumulators.
		lo, hi := g.Vec(), g.Vec()
		if g.AVX512 {
			VCVTPS2PD(t.AsY(), lo)
			h := YMM()
			VEXTRACTF32X8(U8(1), t, h)
			VCVTPS2PD(h, hi)
		} else {
			VCVTPS2PD(t.AsX(), lo)
			h := XMM()
			VEXTRACTF128(U8(1), t, h)
			VCVTPS2PD(h, hi)
		}
		VSUBPD(lo, g.acc[0], g.acc[0]) // the accumulators hold -e
		VSUBPD(hi, g.acc[1], g.acc[1])
		return
	}
	// float64: TwoSum of acc[0] (hi) and -t, the rounding error into acc[1]
	// (lo); the pair holds -e.
	hi, lo := g.acc[0], g.acc[1]
	s, b, e1 := g.Vec(), g.Vec(), g.Vec()
	VSUBPD(t, hi, s)   // s = hi - t
	VSUBPD(hi, s, b)   // b = s - hi
	VSUBPD(b, s, e1)   // e1 = s - b
	VSUBPD(e1, hi, e1) // e1 = hi - (s - b)
	VADDPD(b, t, t)    // t = t + b = -(-t - b)
	VSUBPD(t, e1, e1)  // error of s
	VADDPD(e1, lo, lo) // lo += error
	VMOVAPD(s, hi)     // hi = s
}

// reduce adds the accumulators (which hold -e) across lanes into every lane
// of g.ne.
func (g *gen) reduce() {
	a := g.acc[0]
	VADDPD(g.acc[1], a, a)
	g.allSum(a, f64Lanes)
	if g.dt.Size == 4 {
		if g.AVX512 {
			VCVTPD2PS(a, a.AsY())
		} else {
			VCVTPD2PSY(a, a.AsX())
		}
		VBROADCASTSS(a.AsX(), g.ne)
	} else {
		VMOVAPD(a, g.ne)
	}
	g.scaleE(g.ne)
}

// eSign says which e a row's broadcast (g.ne) holds.
type eSign int

const (
	negE eSign = iota // -e: t = dp + ne
	posE              // +e, the short rows' form: t = dp - ne; the Add form reads ds under the tail mask (unless plainDS)
)

// storeMode says whether out stores its result.
type storeMode int

const (
	keep        storeMode = iota // return the result, store nothing
	storeMasked                  // store it to ds under the tail mask
)

// out computes the pass-2 result for one vector and returns its register.
// p and dp are memory operands or registers (a scaled kernel overwrites a
// dp register: none is read after pass 2); ds is memory, read by the Add
// form. sign is the form of g.ne (in a scaled kernel, -e times scale, or
// +e as it is: then p is scaled).
func (g *gen) out(p, dp Op, ds Mem, sign eSign, store storeMode) VecVirtual {
	masked := sign == posE
	t := g.Vec()
	switch {
	case g.form == scaled && masked:
		// (scale*p)*(dp - e): the product by scale waits only on p,
		// off the chain from e to the store (scale*dp - scale*e put a
		// product and an FMA on it).
		if _, ok := dp.(Mem); ok {
			g.dt.MOVU(dp, t)
			dp = t
		}
		g.dt.SUB(g.ne, dp, t) // t = dp - e
		ps := g.Vec()
		g.dt.MUL(p, g.sc, ps)
		p = ps
	case g.form == scaled:
		// dp in a register is not read again: t = dp, in place.
		if r, ok := dp.(VecVirtual); ok {
			t = r
		} else {
			g.dt.MOVU(dp, t)
		}
		g.dt.FMA213(g.ne, g.sc, t) // t = scale*dp + (-scale*e)
	case masked:
		g.dt.SUB(g.ne, dp, t) // short rows: g.ne holds +e
	default:
		g.dt.ADD(dp, g.ne, t) // g.ne holds -e
	}
	r := t
	if g.adds() {
		r = g.Vec()
		if masked && !g.plainDS {
			g.loadTail(ds, r)
		} else {
			g.dt.MOVU(ds, r)
		}
		g.dt.FMA231(p, t, r) // r = ds + p*t
	} else {
		g.dt.MUL(p, t, r) // r = p*t
	}
	if store == storeMasked {
		g.storeTail(r, ds)
	}
	return r
}

// mov is a plain store of r to m.
func (g *gen) mov(r, m Op) { g.dt.MOVU(r, m) }

// storeBlock computes and stores k vectors at offset i, with store.
func (g *gen) storeBlock(k int, store func(r, m Op)) {
	rs := make([]VecVirtual, k)
	for j := range rs {
		rs[j] = g.out(g.at(g.p, j*g.VB), g.at(g.dp, j*g.VB), g.at(g.ds, j*g.VB), negE, keep)
	}
	for j := range rs {
		store(rs[j], g.at(g.ds, j*g.VB))
	}
}

// storeLoops emits pass 2's loops from offset g.i: the unrolled one (and
// its copy that also prefetches p and dp prefetchAhead bytes on, for rows
// shorter than prefetchRowBytes) while over(mainLim) does not leave it,
// then the one-vector loop while over(fullLim) does not; both end at
// "storeTail". In a stream kernel the stores are non-temporal (the
// caller aligns g.i to ds's vectors).
func (g *gen) storeLoops(rowBytes, mainLim, fullLim Register, over func(lim Register, exit string)) {
	vb := g.VB
	store := g.mov
	if g.stream {
		store = g.dt.MOVNT
	}
	CMPQ(rowBytes, U32(prefetchRowBytes))
	JB(LabelRef("storeAhead"))
	loop := OffsetLoop{I: g.i, VB: vb, Exit: over}
	block := func(u int) { g.storeBlock(u, store) }
	loop.Blocks("storeLoop", unroll, mainLim, "storeOne", block)
	Comment("Rows shorter than prefetchRowBytes: the same loop, and the lines",
		"prefetchAhead bytes on (later rows) of p and dp fetched.")
	loop.Blocks("storeAhead", unroll, mainLim, "storeOne", func(u int) {
		for off := 0; off < u*vb; off += 64 {
			PREFETCHT0(Mem{Base: g.p, Index: g.i, Scale: 1, Disp: prefetchAhead + off})
			PREFETCHT0(Mem{Base: g.dp, Index: g.i, Scale: 1, Disp: prefetchAhead + off})
		}
		block(u)
	})
	loop.Blocks("storeOne", 1, fullLim, "storeTail", block)
}

// addTree adds vs pairwise (pairs, then pairs of pairs) into vs[0] and
// returns it.
func (g *gen) addTree(vs []VecVirtual) VecVirtual {
	for len(vs) > 1 {
		var next []VecVirtual
		for j := 0; j+1 < len(vs); j += 2 {
			g.dt.ADD(vs[j+1], vs[j], vs[j])
			next = append(next, vs[j])
		}
		if len(vs)%2 == 1 {
			next = append(next, vs[len(vs)-1])
		}
		vs = next
	}
	return vs[0]
}
