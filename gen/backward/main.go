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
//   - long rows (more than 4 whole vectors): an unrolled loop, a one-vector
//     loop and a masked-load tail. float32 sums a block of 4 vectors in
//     float32 (at most 3 roundings per product) and adds the block into
//     float64 lanes; float64 adds each block into a (hi, lo) pair with
//     TwoSum. e is then within a few ulps of sum_j |p*dp| at any length
//     (2^17 columns and beyond).
//   - medium rows (1 to 4 whole vectors, and a partial one): straight-line,
//     software-pipelined code; dp and (on AVX-512, or with a partial
//     vector where the registers allow) p stay in registers between the
//     passes; the at most 5 products per lane are
//     summed in the element type, then across lanes.
//   - short rows of at most half a vector (AVX-512: less than half):
//     k = lanes/cols whole rows at a time from one load per input, summed
//     by a segmented scan (see shortGroups), while a whole vector from the
//     row's start lies inside the slices.
//   - other short rows (less than one vector) and the last few: per row,
//     whole-vector loads where they lie inside the slices, else masked
//     loads; the result is merged into the vector that ends at the row's
//     end (see shortRows); on AVX2, rows of half a vector or more build that
//     vector from this row and the one before, not from the last one
//     written, so no chain of permutes runs from row to row. AVX-512 rows
//     of half a vector or more take the AVX2 medium path.
//
// Error of e, float32: long rows <= 5u, medium <= 9u, short <= 5u, with
// u = 2^-24 relative to sum_j |p*dp|; pass 2 adds at most 2u of
// p*(|dp| + sum_j |p*dp|): within SPEC.md's 2^-20 = 16u. float64 is alike
// with u = 2^-53 against 2^-46.
//
// Tails never store outside a row and never read or write outside the
// slices. Pass 2, on a row at least one vector long, computes the vector
// that ends the row before it stores anything of the row and stores it
// last: it overlaps elements already written with the very same values,
// computed from the same, original inputs, so it is right when ds is p or
// dp and in the Add form (nothing is added twice).
//
// Measured on Zen 5 and left out, no gain or a loss: fusing pass 2 of a long
// row with pass 1 of the next (the current row falls out of L1 for 4096
// columns), pass 2 from the row's end down, software prefetch of the next
// row, and float64 lane sums for medium rows (the conversions cost 30-40%
// there for no accuracy the bound needs). For short and medium rows the cost
// is in the loads and stores, not in the lane sums: reducing the lane sums of
// 4 or 8 medium rows together by a transposing reduction (pass 2 then
// reloads p and dp) was 5-45% slower, running pass 1 two rows ahead rather
// than one no faster, a masked load for the partial vector of AVX-512
// medium rows (and a permute for the row-ending vector) 5-15% slower, and
// masked stores for short rows 10% slower (Add 3-4x: the next row's load of
// ds waits on the masked store). The grouped short-row path with one row per
// group (rows over half a vector) was 20-40% slower than the per-row paths.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// unroll is the number of vectors per iteration of the unrolled loops.
const unroll = 4

// mediumDepth is the number of rows pass 1 runs ahead in the medium path.
const mediumDepth = 1

// maxMedium is the longest row, in whole vectors, that takes the
// straight-line path.
const maxMedium = 4

// mediumF32Sum sums float32 medium rows across lanes in float32 rather than
// float64.
const mediumF32Sum = true

// isa describes one instruction set: vector width and the way tails are
// masked.
type isa struct {
	name   string
	bytes  int               // vector width in bytes
	vec    func() VecVirtual // a full-width vector register
	avx512 bool
}

var (
	avx2   = isa{name: "AVX2", bytes: 32, vec: YMM}
	avx512 = isa{name: "AVX512", bytes: 64, vec: ZMM, avx512: true}
)

// dtype is the per-element-type instruction table.
type dtype struct {
	name   string // F32, F64
	goType string
	size   int
	mov    func(...Op)
	movZ   func(m, k, r Op) // AVX-512 zeroing-masked load
	mask   func(a, b, c Op) // AVX2 VMASKMOVPS/PD
	add    func(...Op)
	sub    func(...Op)
	mul    func(...Op)
	fma231 func(...Op)
}

var (
	f32 = dtype{name: "F32", goType: "float32", size: 4,
		mov: VMOVUPS, movZ: VMOVUPS_Z, mask: VMASKMOVPS,
		add: VADDPS, sub: VSUBPS, mul: VMULPS, fma231: VFMADD231PS}
	f64 = dtype{name: "F64", goType: "float64", size: 8,
		mov: VMOVUPD, movZ: VMOVUPD_Z, mask: VMASKMOVPD,
		add: VADDPD, sub: VSUBPD, mul: VMULPD, fma231: VFMADD231PD}
)

var (
	maskTable Mem // AVX2: 32 bytes of 0xff then 32 of 0x00
	kTable    Mem // AVX-512: uint16 (1<<r)-1 for r = 0..16
	iota32    Mem // int32 0..31
	iota64    Mem // int64 0..15
	rot8      Mem // int32 0..7, 0..7
	seg32     Mem // int32 -16..31
	seg64     Mem // int64 -8..15
)

func main() {
	ConstraintExpr("amd64")
	ConstraintExpr("!purego")

	maskTable = GLOBL("backwardTailMask", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(0xffffffff))
	}
	for i := 8; i < 16; i++ {
		DATA(4*i, U32(0))
	}
	kTable = GLOBL("backwardTailK", RODATA|NOPTR)
	for r := 0; r <= 16; r++ {
		DATA(2*r, U16(uint16(1<<r-1)))
	}
	iota32 = GLOBL("backwardIota32", RODATA|NOPTR)
	for j := 0; j < 32; j++ {
		DATA(4*j, U32(uint32(j)))
	}
	iota64 = GLOBL("backwardIota64", RODATA|NOPTR)
	for j := 0; j < 16; j++ {
		DATA(8*j, U64(uint64(j)))
	}
	rot8 = GLOBL("backwardRot8", RODATA|NOPTR)
	for j := 0; j < 16; j++ {
		DATA(4*j, U32(uint32(j%8)))
	}

	seg32 = GLOBL("backwardSeg32", RODATA|NOPTR)
	for j := 0; j < 48; j++ {
		DATA(4*j, U32(uint32(int32(j-16))))
	}
	seg64 = GLOBL("backwardSeg64", RODATA|NOPTR)
	for j := 0; j < 24; j++ {
		DATA(8*j, U64(uint64(int64(j-8))))
	}

	for _, s := range []isa{avx2, avx512} {
		for _, t := range []dtype{f32, f64} {
			for _, add := range []bool{false, true} {
				g := &gen{isa: s, dt: t, add: add}
				g.function()
			}
		}
	}
	memLoop(avx2)
	memLoop(avx512)
	Generate()
}

// memLoop emits the benchmarks' memory floor: ds[i] = p[i] + dp[i] over the
// whole vectors of the slices (a remainder shorter than 4 vectors is left
// alone), read two streams and write one, as the backward pass does.
func memLoop(s isa) {
	TEXT("backwardMemLoopF32"+s.name, NOSPLIT, "func(ds, p, dp []float32)")
	Pragma("noescape")
	Doc("backwardMemLoopF32"+s.name+" sets ds[i] = p[i] + dp[i] for i below len(ds) rounded down to",
		"4 vectors: the memory floor the backward benchmarks compare with.")
	ds := Load(Param("ds").Base(), GP64())
	p := Load(Param("p").Base(), GP64())
	dp := Load(Param("dp").Base(), GP64())
	n := Load(Param("ds").Len(), GP64())
	SHLQ(U8(2), n)
	ANDQ(I32(-4*s.bytes), n)
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JAE(LabelRef("done"))
	for j := 0; j < 4; j++ {
		v := s.vec()
		m := func(b Register) Mem { return Mem{Base: b, Index: i, Scale: 1, Disp: j * s.bytes} }
		VMOVUPS(m(p), v)
		VADDPS(m(dp), v, v)
		VMOVUPS(v, m(ds))
	}
	ADDQ(U32(4*s.bytes), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// gen emits one kernel.
type gen struct {
	isa
	dt  dtype
	add bool
	pfx string // label prefix

	lanes int // elements per vector

	p, dp, ds Register // row pointers
	i         Register // byte offset in the row

	kTail Op // AVX-512 tail mask
	vTail Op // AVX2 tail mask

	// Medium rows: lanes of the row-ending vector beyond the whole vectors.
	kLast  Op // AVX-512: the last cols%lanes lanes
	vFirst Op // AVX2: the first lanes-cols%lanes lanes (the complement)

	rowBytes Register

	loc     Mem        // short-row groups: per-call tables in the frame
	plainDS bool       // short rows: out reads ds with a whole-vector load
	rowOff  []Register // medium rows: rowOff[k] = k*rowBytes

	// pass-1 accumulators: float32 lo/hi float64 halves; float64 hi/lo TwoSum pair.
	acc [2]VecVirtual
	ne  VecVirtual // -e broadcast
}

func (g *gen) name() string {
	n := "SoftmaxBackward"
	if g.add {
		n += "Add"
	}
	n += g.dt.name + g.isa.name
	return n
}

func (g *gen) at(base Register, disp int) Mem {
	return Mem{Base: base, Index: g.i, Scale: 1, Disp: disp}
}

func (g *gen) function() {
	g.lanes = g.bytes / g.dt.size
	vb := g.bytes
	TEXT(g.name(), NOSPLIT, fmt.Sprintf("func(ds, p, dp []%s, cols int)", g.dt.goType))
	Pragma("noescape")
	op := "ds = p*(dp - e)"
	if g.add {
		op = "ds += p*(dp - e)"
	}
	Doc(fmt.Sprintf("%s sets, per row of cols elements, %s with e = sum_j p*dp.", g.name(), op),
		"The lengths must be equal and a multiple of cols >= 1; ds may be p or dp.")

	{
		// Four tables on AVX2 (with the scan masks, log2(lanes/2)),
		// three on AVX-512.
		n := 3
		if !g.avx512 {
			n = 4 + 2
		}
		g.loc = AllocLocal(n * g.bytes)
	}
	g.ds = Load(Param("ds").Base(), GP64())
	g.p = Load(Param("p").Base(), GP64())
	g.dp = Load(Param("dp").Base(), GP64())
	n := Load(Param("ds").Len(), GP64())
	cols := Load(Param("cols"), GP64())

	TESTQ(n, n)
	JZ(LabelRef("done"))

	Comment("Per-call constants: row, full-vector and unrolled-loop lengths in bytes.")
	shift := U8(2)
	if g.dt.size == 8 {
		shift = U8(3)
	}
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
	tail := cols // reused: elements in the last partial vector
	ANDQ(U32(g.lanes-1), tail)

	Comment("Tail mask for the last partial vector of a row.")
	if g.avx512 {
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

	g.i = GP64()
	g.ne = g.vec()
	g.acc = [2]VecVirtual{g.vec(), g.vec()}

	TESTQ(fullBytes, fullBytes)
	JZ(LabelRef("short"))

	tailOff := GP64()
	MOVQ(rowBytes, tailOff)
	SUBQ(U32(vb), tailOff)

	Comment("Rows of 1 to", fmt.Sprint(maxMedium), "whole vectors (and a tail): straight-line code per row.")
	CMPQ(fullBytes, U32(maxMedium*vb))
	JA(LabelRef("row"))
	g.rowBytes = rowBytes
	{
		tbl, off := GP64(), GP64()
		if g.avx512 {
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
	CMPQ(fullBytes, rowBytes)
	JE(LabelRef("exact"))
	for nv := 1; nv < maxMedium; nv++ {
		CMPQ(fullBytes, U32(nv*vb))
		JE(LabelRef(mediumLabel(nv, true)))
	}
	JMP(LabelRef(mediumLabel(maxMedium, true)))
	Label("exact")
	for nv := 1; nv < maxMedium; nv++ {
		CMPQ(fullBytes, U32(nv*vb))
		JE(LabelRef(mediumLabel(nv, false)))
	}
	JMP(LabelRef(mediumLabel(maxMedium, false)))

	Label("row")
	Comment("Pass 1: -e = -sum_j p*dp.")
	for _, a := range g.acc {
		VXORPD(a, a, a)
	}
	XORQ(g.i, g.i)
	Label("sumLoop")
	CMPQ(g.i, mainBytes)
	JAE(LabelRef("sumOne"))
	g.sumBlock(unroll, nil)
	ADDQ(U32(unroll*vb), g.i)
	JMP(LabelRef("sumLoop"))
	Label("sumOne")
	CMPQ(g.i, fullBytes)
	JAE(LabelRef("sumTail"))
	g.sumBlock(1, nil)
	ADDQ(U32(vb), g.i)
	JMP(LabelRef("sumOne"))
	Label("sumTail")
	CMPQ(fullBytes, rowBytes)
	JE(LabelRef("reduce"))
	pv, dv := g.vec(), g.vec()
	g.loadTail(Mem{Base: g.p, Index: g.i, Scale: 1}, pv)
	g.loadTail(Mem{Base: g.dp, Index: g.i, Scale: 1}, dv)
	g.sumBlock(1, []VecVirtual{pv, dv})
	Label("reduce")
	g.reduce()

	Comment("Pass 2: ds = p*(dp - e). The vector that ends the row is computed",
		"first and stored last, over elements already holding the same values.")
	CMPQ(fullBytes, rowBytes)
	JE(LabelRef("store"))
	MOVQ(tailOff, g.i)
	held := g.out(g.at(g.p, 0), g.at(g.dp, 0), g.at(g.ds, 0), false, false)
	Label("store")
	XORQ(g.i, g.i)
	Label("storeLoop")
	CMPQ(g.i, mainBytes)
	JAE(LabelRef("storeOne"))
	g.storeBlock(unroll)
	ADDQ(U32(unroll*vb), g.i)
	JMP(LabelRef("storeLoop"))
	Label("storeOne")
	CMPQ(g.i, fullBytes)
	JAE(LabelRef("storeTail"))
	g.storeBlock(1)
	ADDQ(U32(vb), g.i)
	JMP(LabelRef("storeOne"))
	Label("storeTail")
	CMPQ(fullBytes, rowBytes)
	JE(LabelRef("next"))
	g.dt.mov(held, Mem{Base: g.ds, Index: tailOff, Scale: 1})
	Label("next")
	ADDQ(rowBytes, g.p)
	ADDQ(rowBytes, g.dp)
	ADDQ(rowBytes, g.ds)
	CMPQ(g.p, end)
	JB(LabelRef("row"))
	JMP(LabelRef("done"))

	for nv := 1; nv <= maxMedium; nv++ {
		for _, tail := range []bool{true, false} {
			g.mediumRows(nv, tail, rowBytes, tailOff, end)
		}
	}

	Label("short")
	if g.avx512 {
		CMPQ(rowBytes, U32(vb/2))
		JB(LabelRef("shortest"))
		g.halfRows(rowBytes, end)
		Label("shortest")
	}
	g.shortRows(rowBytes, end)

	Label("done")
	VZEROUPPER()
	RET()
}

// loadTail loads the masked tail vector at m into r (zeros elsewhere).
func (g *gen) loadTail(m Mem, r VecVirtual) {
	if g.avx512 {
		g.dt.movZ(m, g.kTail, r)
	} else {
		g.dt.mask(m, g.vTail, r)
	}
}

func (g *gen) storeTail(r VecVirtual, m Mem) {
	if g.avx512 {
		g.dt.mov(r, g.kTail, m)
	} else {
		g.dt.mask(r, g.vTail, m)
	}
}

// sumBlock adds the products of k vectors at offset i (or of the registers
// in regs: p, dp) into the accumulators.
func (g *gen) sumBlock(k int, regs []VecVirtual) {
	prods := make([]VecVirtual, 0, k)
	if regs != nil {
		m := g.vec()
		g.dt.mul(regs[0], regs[1], m)
		prods = append(prods, m)
	} else {
		for j := 0; j < k; j += 2 {
			m := g.vec()
			d := g.vec()
			g.dt.mov(g.at(g.dp, j*g.bytes), d)
			g.dt.mul(g.at(g.p, j*g.bytes), d, m)
			if j+1 < k {
				d1 := g.vec()
				g.dt.mov(g.at(g.dp, (j+1)*g.bytes), d1)
				g.dt.fma231(g.at(g.p, (j+1)*g.bytes), d1, m)
			}
			prods = append(prods, m)
		}
	}
	for len(prods) > 1 {
		var next []VecVirtual
		for j := 0; j+1 < len(prods); j += 2 {
			g.dt.add(prods[j+1], prods[j], prods[j])
			next = append(next, prods[j])
		}
		if len(prods)%2 == 1 {
			next = append(next, prods[len(prods)-1])
		}
		prods = next
	}
	t := prods[0]
	if g.dt.size == 4 {
		// float32 block sum into two float64 accumulators.
		lo, hi := g.vec(), g.vec()
		if g.avx512 {
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
	s, b, e1 := g.vec(), g.vec(), g.vec()
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
	g.allSum(a, true)
	if g.dt.size == 4 {
		if g.avx512 {
			VCVTPD2PS(a, a.AsY())
		} else {
			VCVTPD2PSY(a, a.AsX())
		}
		VBROADCASTSS(a.AsX(), g.ne)
	} else {
		VMOVAPD(a, g.ne)
	}
}

// out computes the pass-2 result for one vector and returns its register.
// p and dp are memory operands or registers; ds is memory, read by the Add
// form (with the tail mask when masked is set). With store set, the result
// is written to ds with the tail mask.
func (g *gen) out(p, dp Op, ds Mem, masked, store bool) VecVirtual {
	t := g.vec()
	if masked {
		g.dt.sub(g.ne, dp, t) // short rows: g.ne holds +e
	} else {
		g.dt.add(dp, g.ne, t) // g.ne holds -e
	}
	r := t
	if g.add {
		r = g.vec()
		if masked && !g.plainDS {
			g.loadTail(ds, r)
		} else {
			g.dt.mov(ds, r)
		}
		g.dt.fma231(p, t, r) // r = ds + p*t
	} else {
		g.dt.mul(p, t, r) // r = p*t
	}
	if store {
		g.storeTail(r, ds)
	}
	return r
}

// storeBlock computes and stores k vectors at offset i.
func (g *gen) storeBlock(k int) {
	rs := make([]VecVirtual, k)
	for j := range rs {
		rs[j] = g.out(g.at(g.p, j*g.bytes), g.at(g.dp, j*g.bytes), g.at(g.ds, j*g.bytes), false, false)
	}
	for j := range rs {
		g.dt.mov(rs[j], g.at(g.ds, j*g.bytes))
	}
}

// shortRows handles rows shorter than one vector (cols < lanes); tail holds
// the lane mask of one row. Each row is read at its start: with whole-vector
// loads (lanes past the row dropped) where the vector lies inside the
// slices, else with masked loads. Rows that start within the first vector of
// the matrix are written with a masked store. After them (and after the
// groups of shortGroups), a register w carries the last vector written
// (final values); each row's results are shifted in at its top end, and w is
// stored as the full vector that ends at the row's end: it rewrites the
// elements of earlier rows with their own final values, never touches a
// later row, and never reads memory a nearby store wrote.
func (g *gen) shortRows(rowBytes, end Register) {
	vb := g.bytes
	start := GP64()
	MOVQ(g.ds, start)
	ADDQ(U32(vb), start)

	Comment("Shift index: lane j of the new vector takes lane j+cols of (w, row).")
	idx := g.vec()
	tbl := GP64()
	switch {
	case g.avx512 && g.dt.size == 4:
		LEAQ(iota32, tbl)
	case g.avx512:
		LEAQ(iota64, tbl)
	default:
		LEAQ(rot8, tbl)
	}
	VMOVUPS(Mem{Base: tbl, Index: rowBytes, Scale: 1}, idx)

	Label("head")
	Comment("Rows starting in the first vector: masked store.")
	CMPQ(g.ds, start)
	JAE(LabelRef("headDone"))
	pv, dv := g.vec(), g.vec()
	g.loadTail(Mem{Base: g.p}, pv)
	g.loadTail(Mem{Base: g.dp}, dv)
	g.shortSum(pv, dv)
	g.out(pv, dv, Mem{Base: g.ds}, true, true)
	ADDQ(rowBytes, g.p)
	ADDQ(rowBytes, g.dp)
	ADDQ(rowBytes, g.ds)
	CMPQ(g.p, end)
	JB(LabelRef("head"))
	JMP(LabelRef("done"))

	Label("headDone")
	w := g.vec()
	g.dt.mov(Mem{Base: g.ds, Disp: -vb}, w)
	g.shortGroups(rowBytes, end, w)
	Comment("Software-pipelined: pass 1 of the next row, then pass 2 of this one.")
	sets := [2]*medSet{
		{ne: g.vec(), p: []VecVirtual{g.vec()}, dp: []VecVirtual{g.vec()}},
		{ne: g.vec(), p: []VecVirtual{g.vec()}, dp: []VecVirtual{g.vec()}},
	}
	// sum runs pass 1 of the row at p (+ index), with masked loads or, when
	// plain is set (a whole vector from the row's start lies inside the
	// slices), whole-vector loads whose lanes past the row are dropped.
	sum := func(index Register, set *medSet, plain bool) {
		m := Mem{Base: g.p}
		dm := Mem{Base: g.dp}
		if index != nil {
			m.Index, m.Scale = index, 1
			dm.Index, dm.Scale = index, 1
		}
		saved := g.ne
		g.ne = set.ne
		if plain {
			g.dt.mov(m, set.p[0])
			g.dt.mov(dm, set.dp[0])
			g.shortSumPlain(set.p[0], set.dp[0])
		} else {
			g.loadTail(m, set.p[0])
			g.loadTail(dm, set.dp[0])
			g.shortSum(set.p[0], set.dp[0])
		}
		g.ne = saved
	}
	// AVX2 rows of half a vector or more: the row-ending vector from the
	// row before and this one (see joinTables), no chain through w.
	var idx2, hi, prev VecVirtual
	if !g.avx512 {
		Comment("Join tables for rows of half a vector or more.")
		CMPQ(rowBytes, U32(vb/2))
		JB(LabelRef("joinDone"))
		cols := GP64()
		MOVQ(rowBytes, cols)
		if g.dt.size == 4 {
			SHRQ(U8(2), cols)
		} else {
			SHRQ(U8(3), cols)
		}
		g.joinTables(cols, g.loc.Offset(2*vb), g.loc.Offset(3*vb), "rowsIdx")
		Label("joinDone")
		idx2, hi, prev = g.vec(), g.vec(), g.vec()
		g.movdqu(g.loc.Offset(2*vb), idx2)
		g.movdqu(g.loc.Offset(3*vb), hi)
	}
	store := func(set *medSet, plain, free bool) {
		saved := g.ne
		g.ne = set.ne
		g.plainDS = plain
		r := g.out(set.p[0], set.dp[0], Mem{Base: g.ds}, true, false)
		g.plainDS = false
		g.ne = saved
		if g.avx512 {
			if g.dt.size == 4 {
				VPERMT2PS(r, idx, w)
			} else {
				VPERMT2PD(r, idx, w)
			}
		} else if free {
			b := g.vec()
			VPERMPS(prev, idx2, w)
			VPERMPS(r, idx2, b)
			VBLENDVPS(hi, b, w, w)
		} else {
			if g.dt.size == 4 {
				VBLENDVPS(g.vTail, r, w, w)
			} else {
				VBLENDVPD(g.vTail, r, w, w)
			}
			VPERMPS(w, idx, w)
		}
		if !g.avx512 {
			g.dt.mov(r, prev)
		}
		g.dt.mov(w, Mem{Base: g.ds, Index: rowBytes, Scale: 1, Disp: -vb})
	}
	sum(nil, sets[0], false)
	if !g.avx512 {
		Comment("One row with the join through w; then, for rows of half",
			"a vector, the loop that joins with the row before.")
		next := GP64()
		LEAQ(Mem{Base: g.p, Index: rowBytes, Scale: 1}, next)
		CMPQ(next, end)
		JAE(LabelRef("windowLast0"))
		sum(rowBytes, sets[1], false)
		store(sets[0], false, false)
		ADDQ(rowBytes, g.p)
		ADDQ(rowBytes, g.dp)
		ADDQ(rowBytes, g.ds)
		CMPQ(rowBytes, U32(vb/2))
		JAE(LabelRef("windowFree1"))
		JMP(LabelRef("windowPlain1"))
	}
	// Copies of the loop: whole-vector loads while the vector from the
	// next row's start ends inside the slices (joined through w, or on
	// AVX2 with the row before), then masked loads.
	type variant struct {
		name        string
		plain, free bool
	}
	variants := []variant{{"windowPlain", true, false}, {"windowMasked", false, false}}
	if !g.avx512 {
		variants = append(variants, variant{"windowFree", true, true})
	}
	for _, vr := range variants {
		loop := vr.name
		Label(loop)
		for h := 0; h < 2; h++ {
			Label(fmt.Sprintf("%s%d", loop, h))
			next := GP64()
			LEAQ(Mem{Base: g.p, Index: rowBytes, Scale: 1}, next)
			CMPQ(next, end)
			JAE(LabelRef(fmt.Sprintf("windowLast%d", h)))
			if vr.plain {
				ADDQ(U32(vb), next)
				CMPQ(next, end)
				JA(LabelRef(fmt.Sprintf("windowMasked%d", h)))
			}
			sum(rowBytes, sets[1-h], vr.plain)
			store(sets[h], vr.plain, vr.free)
			ADDQ(rowBytes, g.p)
			ADDQ(rowBytes, g.dp)
			ADDQ(rowBytes, g.ds)
		}
		JMP(LabelRef(loop))
	}
	for h := 0; h < 2; h++ {
		Label(fmt.Sprintf("windowLast%d", h))
		store(sets[h], false, false)
		JMP(LabelRef("done"))
	}
}

// shortSumPlain is shortSum for whole vectors loaded from the row's start:
// the products of lanes past the row (other rows' data, maybe Inf or NaN)
// are zeroed before the sum.
func (g *gen) shortSumPlain(pv, dv VecVirtual) {
	if g.avx512 {
		if g.dt.size == 4 {
			VMULPS_Z(pv, dv, g.kTail, g.ne)
		} else {
			VMULPD_Z(pv, dv, g.kTail, g.ne)
		}
	} else {
		g.dt.mul(pv, dv, g.ne)
		if g.dt.size == 4 {
			VANDPS(g.vTail, g.ne, g.ne)
		} else {
			VANDPD(g.vTail, g.ne, g.ne)
		}
	}
	g.allSum(g.ne, g.dt.size == 8)
}

// shortSum sums the products of one masked row (fewer than one vector of
// elements) in registers and leaves +e in every lane of g.ne; pass 2 then
// subtracts it from dp, which is in a register. The sum is taken in the
// element type: at most 16 products, so e is off by at most 5 ulps of
// sum_j |p*dp| (product rounding and a 4-level tree), well inside the bound.
// Every step adds a lane-permuted copy, so all lanes end with the same sum
// (addition commutes exactly) and no broadcast is needed.
func (g *gen) shortSum(pv, dv VecVirtual) {
	g.dt.mul(pv, dv, g.ne)
	g.allSum(g.ne, g.dt.size == 8)
}

// allSum sums the lanes of m (float64 lanes when f64 is set, else float32)
// into every lane of m: each step adds a lane-permuted copy, so all lanes
// end with bitwise the same sum (addition commutes exactly).
func (g *gen) allSum(m VecVirtual, f64 bool) {
	sw := g.vec()
	add := VADDPS
	if f64 {
		add = VADDPD
	}
	step := func() { add(sw, m, m) }
	if g.avx512 {
		if f64 {
			VSHUFF64X2(U8(0x4e), m, m, sw)
			step()
			VSHUFF64X2(U8(0xb1), m, m, sw)
			step()
		} else {
			VSHUFF32X4(U8(0x4e), m, m, sw)
			step()
			VSHUFF32X4(U8(0xb1), m, m, sw)
			step()
		}
	} else {
		VPERM2F128(U8(0x01), m, m, sw)
		step()
	}
	if f64 {
		VPERMILPD(U8(0x55), m, sw)
		step()
	} else {
		VPERMILPS(U8(0x4e), m, sw)
		step()
		VPERMILPS(U8(0xb1), m, sw)
		step()
	}
}

func mediumLabel(nv int, tail bool) string {
	if tail {
		return fmt.Sprintf("medium%dTail", nv)
	}
	return fmt.Sprintf("medium%d", nv)
}

// halfRows handles, in the AVX-512 kernels, rows of half a vector or more
// but less than one: the AVX2 medium path on 256-bit vectors (one whole
// vector and a tail), which beats the short-row path there.
func (g *gen) halfRows(rowBytes, end Register) {
	h := &gen{isa: avx2, dt: g.dt, add: g.add, pfx: "half",
		p: g.p, dp: g.dp, ds: g.ds, i: g.i, rowBytes: rowBytes}
	h.lanes = h.bytes / h.dt.size
	Comment("Rows of half a vector up to a whole one: 256-bit medium path.")
	tailOff := GP64()
	MOVQ(rowBytes, tailOff)
	SUBQ(U32(h.bytes), tailOff)
	tbl := GP64()
	LEAQ(maskTable, tbl)
	m := YMM()
	VMOVDQU(Mem{Base: tbl, Index: tailOff, Scale: 1}, m) // first lanes-(cols-lanes) lanes
	h.vFirst = m
	TESTQ(tailOff, tailOff)
	JZ(LabelRef(h.pfx + mediumLabel(1, false)))
	h.mediumRows(1, true, rowBytes, tailOff, end)
	h.mediumRows(1, false, rowBytes, tailOff, end)
}

// medSet is the register set of one row in the medium path: -e broadcast,
// and the vectors of p and dp that pass 2 reuses (nil: reload from memory).
// The last entry of p and dp is the whole vector that ends the row.
type medSet struct {
	ne    VecVirtual
	p, dp []VecVirtual
}

// depth is the number of rows whose pass 1 runs ahead of pass 2 in the
// medium path.
func (g *gen) depth(nv int) int {
	return mediumDepth
}

func (g *gen) newMedSet(nv int, tail bool, depth int) *medSet {
	n := nv
	if tail {
		n++
	}
	s := &medSet{ne: g.vec(), p: make([]VecVirtual, n), dp: make([]VecVirtual, n)}
	// Keep inputs in registers for pass 2 where the depth+1 sets fit beside
	// a few temporaries: dp and p, else dp alone, else neither (reload).
	budget := 32 - 6
	if !g.avx512 {
		budget = 16 - 4
	}
	// p only for rows with a partial vector (saving a reload of the
	// overlapping row-ending vector): for whole vectors the memory operands
	// of pass 1 and 2 take fewer instructions (Add float64 at 4 columns:
	// 20% faster).
	keepP := (g.avx512 || tail) && (2*n+1)*(depth+1) <= budget
	keepDP := (n+1)*(depth+1) <= budget
	for k := 0; k < n; k++ {
		if keepP {
			s.p[k] = g.vec()
		}
		if keepDP {
			s.dp[k] = g.vec()
		}
	}
	return s
}

// mediumRows handles rows of nv whole vectors, plus a partial one when tail
// is set, in straight-line code, software-pipelined: each iteration runs
// pass 1 of the next row and pass 2 of the current one, so the pass-2
// instructions enter the scheduler when their e is nearly ready, and pass 2
// works on the registers pass 1 loaded (two register sets, alternating, so
// the loop is unrolled twice). The products of a row are summed in one vector
// (at most five per lane: a few ulps of sum_j |p*dp|) and then across lanes
// in float64. The partial vector is read as the whole vector that ends the
// row, its lanes already counted masked off in pass 1; pass 2 computes it
// before storing anything of the row and stores it after the vectors it
// overlaps, with the same values. A row only touches its own elements, so
// pass 1 of a row may run before pass 2 of the previous one with aliasing.
func (g *gen) mediumRows(nv int, tail bool, rowBytes, tailOff, end Register) {
	name := g.pfx + mediumLabel(nv, tail)
	D := g.depth(nv)
	sets := make([]*medSet, D+1)
	for k := range sets {
		sets[k] = g.newMedSet(nv, tail, D)
	}
	Label(name)
	g.rowOff = make([]Register, D+2)
	g.rowOff[1] = rowBytes
	for k := 2; k <= D+1; k++ {
		r := GP64()
		LEAQ(Mem{Base: g.rowOff[k-1], Index: rowBytes, Scale: 1}, r)
		g.rowOff[k] = r
	}
	advance := func() {
		ADDQ(rowBytes, g.p)
		ADDQ(rowBytes, g.dp)
		ADDQ(rowBytes, g.ds)
	}
	// Prologue: pass 1 of the first D rows (fewer when the matrix ends).
	g.mediumSum(nv, tail, 0, sets[0])
	for k := 1; k < D; k++ {
		next := GP64()
		LEAQ(Mem{Base: g.p, Index: g.rowOff[k], Scale: 1}, next)
		CMPQ(next, end)
		JAE(LabelRef(fmt.Sprintf("%sDrain%d", name, 0)))
		g.mediumSum(nv, tail, k, sets[k])
	}
	Label(name + "Loop")
	for h := 0; h <= D; h++ {
		next := GP64()
		LEAQ(Mem{Base: g.p, Index: g.rowOff[D], Scale: 1}, next)
		CMPQ(next, end)
		JAE(LabelRef(fmt.Sprintf("%sDrain%d", name, h)))
		g.mediumSum(nv, tail, D, sets[(h+D)%(D+1)])
		g.mediumStore(nv, tail, tailOff, sets[h])
		advance()
	}
	JMP(LabelRef(name + "Loop"))
	// Drain: the rows left, at most D, have been through pass 1.
	for h := 0; h <= D; h++ {
		Label(fmt.Sprintf("%sDrain%d", name, h))
		for k := 0; k < D; k++ {
			if k > 0 {
				CMPQ(g.p, end)
				JAE(LabelRef("done"))
			}
			g.mediumStore(nv, tail, tailOff, sets[(h+k)%(D+1)])
			if k+1 < D {
				advance()
			}
		}
		JMP(LabelRef("done"))
	}
}

// mediumSum loads the row ahead rows after p into set and leaves
// -e in every lane of set.ne.
func (g *gen) mediumSum(nv int, tail bool, ahead int, set *medSet) {
	at := func(b Register, k int) Mem {
		m := Mem{Base: b, Disp: k * g.bytes}
		if ahead > 0 {
			m.Index, m.Scale = g.rowOff[ahead], 1
		}
		return m
	}
	fnmadd := VFNMADD231PS
	if g.dt.size == 8 {
		fnmadd = VFNMADD231PD
	}
	// operand returns the register of set (loaded) or the memory operand.
	operand := func(r VecVirtual, m Mem) Op {
		if r == nil {
			return m
		}
		g.dt.mov(m, r)
		return r
	}
	m := g.vec()
	VXORPS(m, m, m)
	for k := 0; k < nv; k++ {
		pk := operand(set.p[k], at(g.p, k))
		d := set.dp[k]
		if d == nil {
			d = g.vec()
		}
		g.dt.mov(at(g.dp, k), d)
		fnmadd(pk, d, m) // m -= p*dp
	}
	if tail {
		// The whole vector that ends the row, less the lanes counted above.
		win := func(b Register) Mem { return Mem{Base: b, Index: g.rowOff[ahead+1], Scale: 1, Disp: -g.bytes} }
		pw := operand(set.p[nv], win(g.p))
		d := set.dp[nv]
		if d == nil {
			d = g.vec()
		}
		g.dt.mov(win(g.dp), d)
		if g.avx512 {
			fnmadd(pw, d, g.kLast, m)
		} else {
			// Zero both factors, so that an Inf or NaN already counted
			// does not come back as Inf*0.
			dm, pm := g.vec(), g.vec()
			andn := VANDNPS
			if g.dt.size == 8 {
				andn = VANDNPD
			}
			andn(d, g.vFirst, dm)
			andn(pw, g.vFirst, pm)
			fnmadd(pm, dm, m)
		}
	}
	if g.dt.size == 8 || mediumF32Sum {
		g.allSum(m, g.dt.size == 8)
		g.dt.mov(m, set.ne)
		return
	}
	a, h := g.vec(), g.vec()
	if g.avx512 {
		VCVTPS2PD(m.AsY(), a)
		VEXTRACTF32X8(U8(1), m, h.AsY())
		VCVTPS2PD(h.AsY(), h)
	} else {
		VCVTPS2PD(m.AsX(), a)
		VEXTRACTF128(U8(1), m, h.AsX())
		VCVTPS2PD(h.AsX(), h)
	}
	VADDPD(h, a, a)
	g.allSum(a, true)
	if g.avx512 {
		VCVTPD2PS(a, a.AsY())
	} else {
		VCVTPD2PSY(a, a.AsX())
	}
	VBROADCASTSS(a.AsX(), set.ne)
}

// mediumStore runs pass 2 of the row at p with the registers of set.
func (g *gen) mediumStore(nv int, tail bool, tailOff Register, set *medSet) {
	saved := g.ne
	g.ne = set.ne
	defer func() { g.ne = saved }()
	at := func(b Register, k int) Mem { return Mem{Base: b, Disp: k * g.bytes} }
	last := func(b Register) Mem { return Mem{Base: b, Index: tailOff, Scale: 1} }
	pick := func(r VecVirtual, m Mem) Op {
		if r == nil {
			return m
		}
		return r
	}
	var held VecVirtual
	if tail {
		held = g.out(pick(set.p[nv], last(g.p)), pick(set.dp[nv], last(g.dp)), last(g.ds), false, false)
	}
	rs := make([]VecVirtual, nv)
	for k := range rs {
		rs[k] = g.out(pick(set.p[k], at(g.p, k)), pick(set.dp[k], at(g.dp, k)), at(g.ds, k), false, false)
	}
	for k := range rs {
		g.dt.mov(rs[k], at(g.ds, k))
	}
	if tail {
		g.dt.mov(held, last(g.ds))
	}
}

// shortGroups handles, while a whole vector from the current row's start
// lies inside the slices, rows of at most half a vector k = lanes/cols at a
// time: one load per input for G = k*cols elements (k whole rows), the
// products with lanes from G on zeroed, a segmented inclusive scan (lane j
// adds lane j-s when j-s is in its row, s = 1, 2, 4, ...) that leaves each
// row's sum in its last lane (a tree of depth log2(cols) per row), a
// permute that copies it over the row, and pass 2 on the whole vector. The
// vector that ends at the group's end is stored: for the first group, its
// results joined to w (the last vector written, see shortRows) by one
// two-table permute (AVX2: blend and rotate); after it, the last lanes of
// the group before and this group's results (2G >= lanes), so no chain of
// permutes runs from group to group. Each store rewrites earlier elements
// with their final values and never reaches past the group; the next
// group's loads start where it ends. The scan has one copy of the loops per
// length (2^steps >= cols: an extra step costs 25-30%). The per-call tables
// (lane position in its row, lane of its row's end, the join index) are
// built in the frame by scalar loops. On exit w holds the last vector
// stored and the rows left, if any, go on to the per-row loop.
func (g *gen) shortGroups(rowBytes, end Register, w VecVirtual) {
	vb := g.bytes
	L := g.lanes
	steps := 0
	for 1<<steps < L/2 {
		steps++
	}
	CMPQ(rowBytes, U32(vb/2))
	JA(LabelRef("groupsDone"))
	Comment("Per-call tables: position of each lane in its row and the lane that ends its row; G = k*cols.")
	posMem, endMem := g.loc, g.loc.Offset(vb)
	// AVX2 permutes float64 as pairs of float32 (VPERMPS).
	pairs := !g.avx512 && g.dt.size == 8
	cols, j, seg, segEnd, G, v := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	MOVQ(rowBytes, cols)
	if g.dt.size == 4 {
		SHRQ(U8(2), cols)
	} else {
		SHRQ(U8(3), cols)
	}
	XORQ(j, j)
	XORQ(seg, seg)
	LEAQ(Mem{Base: cols, Disp: -1}, segEnd)
	XORQ(G, G)
	Label("groupsTable")
	if g.dt.size == 4 {
		MOVL(seg.As32(), Mem{Base: posMem.Base, Index: j, Scale: 4, Disp: posMem.Disp})
		MOVL(segEnd.As32(), Mem{Base: endMem.Base, Index: j, Scale: 4, Disp: endMem.Disp})
	} else if pairs {
		MOVQ(seg, Mem{Base: posMem.Base, Index: j, Scale: 8, Disp: posMem.Disp})
		LEAQ(Mem{Base: segEnd, Index: segEnd, Scale: 1}, v)
		MOVL(v.As32(), Mem{Base: endMem.Base, Index: j, Scale: 8, Disp: endMem.Disp})
		INCQ(v)
		MOVL(v.As32(), Mem{Base: endMem.Base, Index: j, Scale: 8, Disp: endMem.Disp + 4})
	} else {
		MOVQ(seg, Mem{Base: posMem.Base, Index: j, Scale: 8, Disp: posMem.Disp})
		MOVQ(segEnd, Mem{Base: endMem.Base, Index: j, Scale: 8, Disp: endMem.Disp})
	}
	INCQ(j)
	INCQ(seg)
	CMPQ(seg, cols)
	JB(LabelRef("groupsTableNext"))
	XORQ(seg, seg)
	ADDQ(cols, segEnd)
	MOVQ(j, G) // a row ends at lane j-1
	Label("groupsTableNext")
	CMPQ(j, U32(L))
	JB(LabelRef("groupsTable"))

	Comment("Scan masks (lane position >= s), shift indexes, G masks.")
	pos := g.vec()
	g.movdqu(posMem, pos)
	if !g.avx512 {
		// AVX2 float32: the masks go to the frame (memory operands).
		g.movdqu(pos, posMem)
	}
	gBytes := GP64()
	MOVQ(G, gBytes)
	if g.dt.size == 4 {
		SHLQ(U8(2), gBytes)
	} else {
		SHLQ(U8(3), gBytes)
	}
	var kMasks []Op
	var vMasks []Mem
	var shIdx []VecVirtual
	for st := 0; st < steps; st++ {
		sv := 1 << st
		bc := g.vec()
		idx := g.vec()
		if g.dt.size == 4 {
			VPBROADCASTD(iota32.Offset(4*(sv-1)), bc)
			g.movdqu(seg32.Offset(4*(16-sv)), idx)
		} else if pairs {
			VPBROADCASTQ(iota64.Offset(8*(sv-1)), bc)
			g.movdqu(seg32.Offset(4*(16-2*sv)), idx)
		} else {
			VPBROADCASTQ(iota64.Offset(8*(sv-1)), bc)
			g.movdqu(seg64.Offset(8*(8-sv)), idx)
		}
		shIdx = append(shIdx, idx)
		if g.avx512 {
			k := K()
			if g.dt.size == 4 {
				VPCMPGTD(bc, pos, k)
			} else {
				VPCMPGTQ(bc, pos, k)
			}
			kMasks = append(kMasks, k)
		} else {
			m := g.loc.Offset(4*vb + st*vb)
			if pairs {
				VPCMPGTQ(bc, pos, bc)
			} else {
				VPCMPGTD(bc, pos, bc)
			}
			g.movdqu(bc, m)
			vMasks = append(vMasks, m)
		}
	}
	bidx := g.vec()
	g.movdqu(endMem, bidx)
	var kG Op
	var vG VecVirtual
	gIdx := g.vec()
	tbl := GP64()
	if g.avx512 {
		LEAQ(kTable, tbl)
		k := K()
		KMOVW(Mem{Base: tbl, Index: G, Scale: 2}, k)
		kG = k
		if g.dt.size == 4 {
			LEAQ(iota32, tbl)
		} else {
			LEAQ(iota64, tbl)
		}
		g.movdqu(Mem{Base: tbl, Index: gBytes, Scale: 1}, gIdx)
	} else {
		LEAQ(maskTable.Offset(32), tbl)
		off := GP64()
		MOVQ(gBytes, off)
		NEGQ(off)
		vG = YMM()
		g.movdqu(Mem{Base: tbl, Index: off, Scale: 1}, vG)
		LEAQ(rot8, tbl)
		g.movdqu(Mem{Base: tbl, Index: gBytes, Scale: 1}, gIdx)
	}
	last := GP64()
	MOVQ(end, last)
	SUBQ(U32(vb), last)

	Comment("Index (and AVX2 mask) for the vector that ends a group from the",
		"results of this group and the one before (2G >= lanes): lane j is",
		"lane j+2G-lanes of the one before for j < lanes-G, else lane j-(lanes-G) of this one.")
	idx2Mem := g.loc.Offset(2 * vb)
	hiMem := g.loc.Offset(3 * vb)
	g.joinTables(G, idx2Mem, hiMem, "groupsIdx")
	idx2 := g.vec()
	g.movdqu(idx2Mem, idx2)
	var hi VecVirtual
	if !g.avx512 {
		hi = g.vec()
		g.movdqu(hiMem, hi)
	}

	// group emits one group: pass 1, the scan, pass 2; returns the results.
	group := func(steps int) VecVirtual {
		pv, dv, x := g.vec(), g.vec(), g.vec()
		g.dt.mov(Mem{Base: g.p}, pv)
		g.dt.mov(Mem{Base: g.dp}, dv)
		if g.avx512 {
			if g.dt.size == 4 {
				VMULPS_Z(pv, dv, kG, x)
			} else {
				VMULPD_Z(pv, dv, kG, x)
			}
		} else {
			g.dt.mul(pv, dv, x)
			VANDPS(vG, x, x)
		}
		for st := 0; st < steps; st++ {
			sh := g.vec()
			if g.dt.size == 4 || pairs {
				VPERMPS(x, shIdx[st], sh)
			} else {
				VPERMPD(x, shIdx[st], sh)
			}
			if g.avx512 {
				g.dt.add(sh, x, kMasks[st], x)
			} else {
				VANDPS(vMasks[st], sh, sh)
				g.dt.add(sh, x, x)
			}
		}
		e := g.vec()
		if g.dt.size == 4 || pairs {
			VPERMPS(x, bidx, e)
		} else {
			VPERMPD(x, bidx, e)
		}
		t := g.vec()
		g.dt.sub(e, dv, t) // dp - e
		r := t
		if g.add {
			r = g.vec()
			g.dt.mov(Mem{Base: g.ds}, r)
			g.dt.fma231(pv, t, r)
		} else {
			g.dt.mul(pv, t, r)
		}
		return r
	}
	storeW := func() {
		g.dt.mov(w, Mem{Base: g.ds, Index: gBytes, Scale: 1, Disp: -vb})
		ADDQ(gBytes, g.p)
		ADDQ(gBytes, g.dp)
		ADDQ(gBytes, g.ds)
	}

	// One copy of the loops per scan length, 2^steps >= cols.
	for st := 0; st < steps; st++ {
		CMPQ(cols, U32(1<<st))
		JBE(LabelRef(fmt.Sprintf("groupsFirst%d", st)))
	}
	JMP(LabelRef(fmt.Sprintf("groupsFirst%d", steps)))
	for st := 0; st <= steps; st++ {
		g.groupLoops(st, group, storeW, last, w, gIdx, idx2, vG, hi)
	}
	Label("groupsDone")
	CMPQ(g.p, end)
	JAE(LabelRef("done"))
}

// movdqu moves a whole vector of integers (the table entries).
func (g *gen) movdqu(a, b Op) {
	if g.avx512 {
		VMOVDQU64(a, b)
	} else {
		VMOVDQU(a, b)
	}
}

// groupLoops emits the first group and the loop of later groups for rows
// of at most 2^steps columns.
func (g *gen) groupLoops(steps int, group func(int) VecVirtual, storeW func(), last Register, w, gIdx, idx2, vG, hi VecVirtual) {
	Label(fmt.Sprintf("groupsFirst%d", steps))
	Comment("First group: its vector joins w. A whole vector from p must end inside the slices.")
	CMPQ(g.p, last)
	JA(LabelRef("groupsDone"))
	r := group(steps)
	if g.avx512 {
		if g.dt.size == 4 {
			VPERMT2PS(r, gIdx, w)
		} else {
			VPERMT2PD(r, gIdx, w)
		}
	} else {
		VBLENDVPS(vG, r, w, w)
		VPERMPS(w, gIdx, w)
	}
	prev := g.vec()
	g.dt.mov(r, prev)
	storeW()

	Label(fmt.Sprintf("groups%d", steps))
	Comment("Later groups: the vector from this group and the one before; no chain through w.")
	CMPQ(g.p, last)
	JA(LabelRef("groupsDone"))
	r = group(steps)
	if g.avx512 {
		g.dt.mov(prev, w)
		if g.dt.size == 4 {
			VPERMT2PS(r, idx2, w)
		} else {
			VPERMT2PD(r, idx2, w)
		}
	} else {
		b := g.vec()
		VPERMPS(prev, idx2, w)
		VPERMPS(r, idx2, b)
		VBLENDVPS(hi, b, w, w)
	}
	g.dt.mov(r, prev)
	storeW()
	JMP(LabelRef(fmt.Sprintf("groups%d", steps)))
}

// joinTables writes to the frame the index (idx2Mem) and, on AVX2, the
// blend mask (hiMem, lanes from lanes-G on) that assemble the vector ending
// at the end of G new elements from the vector of the G elements before
// them (lanes 0..G-1 of one register) and the new ones (lanes 0..G-1 of
// another), for 2G >= lanes: lane j is lane j+2G-lanes of the first for
// j < lanes-G, else lane j-(lanes-G) of the second (index j+G, the second
// table). AVX2 permutes float64 as pairs of float32 (VPERMPS), so there
// each lane gets two int32 indexes.
func (g *gen) joinTables(G Register, idx2Mem, hiMem Mem, label string) {
	L := g.lanes
	pairs := !g.avx512 && g.dt.size == 8
	a, off2, j := GP64(), GP64(), GP64()
	MOVQ(U32(L), a)
	SUBQ(G, a) // lanes - G
	LEAQ(Mem{Base: G, Index: G, Scale: 1, Disp: -L}, off2)
	XORQ(j, j)
	Label(label)
	v := GP64()
	LEAQ(Mem{Base: j, Index: off2, Scale: 1}, v)
	hiAt := func(d int) Mem {
		if pairs {
			return Mem{Base: hiMem.Base, Index: j, Scale: 8, Disp: hiMem.Disp + d}
		}
		return Mem{Base: hiMem.Base, Index: j, Scale: 4, Disp: hiMem.Disp}
	}
	setHi := func(x uint32) {
		if g.avx512 {
			return
		}
		MOVL(U32(x), hiAt(0))
		if pairs {
			MOVL(U32(x), hiAt(4))
		}
	}
	CMPQ(j, a)
	setHi(0)
	JB(LabelRef(label + "Store"))
	LEAQ(Mem{Base: j, Index: G, Scale: 1}, v)
	setHi(0xffffffff)
	Label(label + "Store")
	switch {
	case pairs:
		SHLQ(U8(1), v)
		MOVL(v.As32(), Mem{Base: idx2Mem.Base, Index: j, Scale: 8, Disp: idx2Mem.Disp})
		INCQ(v)
		MOVL(v.As32(), Mem{Base: idx2Mem.Base, Index: j, Scale: 8, Disp: idx2Mem.Disp + 4})
	case g.dt.size == 4:
		MOVL(v.As32(), Mem{Base: idx2Mem.Base, Index: j, Scale: 4, Disp: idx2Mem.Disp})
	default:
		MOVQ(v, Mem{Base: idx2Mem.Base, Index: j, Scale: 8, Disp: idx2Mem.Disp})
	}
	INCQ(j)
	CMPQ(j, U32(L))
	JB(LabelRef(label))
}
