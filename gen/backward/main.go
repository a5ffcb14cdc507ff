// Command backward generates the fused softmax backward kernels
//
//	SoftmaxBackward:    ds  = p * (dp - e)
//	SoftmaxBackwardAdd: ds += p * (dp - e)
//
// with e = sum_j p[j]*dp[j] per row, for float32 and float64, as AVX2+FMA and
// AVX-512 assembly. One call covers the whole matrix (rows = len/cols).
//
// Each row takes two passes and no exp:
//
//   - pass 1 sums the products p*dp. float32 forms the products of a block of
//     U vectors in float32 (at most three roundings per element) and adds the
//     block into float64 lanes; float64 adds each block with TwoSum into a
//     (hi, lo) pair. Either way the error in e stays a few ulps of
//     sum_j |p*dp| at any row length.
//   - pass 2 writes ds once: t = dp + (-e), then ds = p*t or ds = fma(p, t, ds).
//
// Tails: pass 1 reads the last partial vector with a masked load. Pass 2, on a
// row at least one vector long, computes the vector that ends at the row's end
// before it stores anything in the row, and stores it last: it overlaps
// elements the loop has already written with the very same values (computed
// from the same, original inputs), so it is safe when ds is p or dp and in
// the Add form. A row shorter than one vector is read and written with masks.
// Nothing outside the slices is read or written.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// unroll is the number of vectors per iteration of the unrolled loops.
const unroll = 4

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
	bcast  func(...Op)
}

var (
	f32 = dtype{name: "F32", goType: "float32", size: 4,
		mov: VMOVUPS, movZ: VMOVUPS_Z, mask: VMASKMOVPS,
		add: VADDPS, sub: VSUBPS, mul: VMULPS, fma231: VFMADD231PS, bcast: VBROADCASTSS}
	f64 = dtype{name: "F64", goType: "float64", size: 8,
		mov: VMOVUPD, movZ: VMOVUPD_Z, mask: VMASKMOVPD,
		add: VADDPD, sub: VSUBPD, mul: VMULPD, fma231: VFMADD231PD, bcast: VBROADCASTSD}
)

var (
	maskTable Mem // AVX2: 32 bytes of 0xff then 32 of 0x00
	kTable    Mem // AVX-512: uint16 (1<<r)-1 for r = 0..16
	iota32    Mem // int32 0..31
	iota64    Mem // int64 0..15
	rot8      Mem // int32 0..7, 0..7
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

	lanes int // elements per vector

	p, dp, ds Register // row pointers
	i         Register // byte offset in the row

	kTail Op // AVX-512 tail mask
	vTail Op // AVX2 tail mask

	// pass-1 accumulators: float32 lo/hi float64 halves; float64 hi/lo TwoSum pair.
	acc [2]VecVirtual
	ne  VecVirtual // -e broadcast
}

func (g *gen) name() string {
	n := "SoftmaxBackward"
	if g.add {
		n += "Add"
	}
	return n + g.dt.name + g.isa.name
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

	Label("short")
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
		VADDPD(lo, g.acc[0], g.acc[0])
		VADDPD(hi, g.acc[1], g.acc[1])
		return
	}
	// float64: TwoSum of acc[0] (hi) and t, the rounding error into acc[1] (lo).
	hi, lo := g.acc[0], g.acc[1]
	s, b, e1 := g.vec(), g.vec(), g.vec()
	VADDPD(t, hi, s)   // s = hi + t
	VSUBPD(hi, s, b)   // b = s - hi
	VSUBPD(b, s, e1)   // e1 = s - b
	VSUBPD(e1, hi, e1) // e1 = hi - (s - b)
	VSUBPD(b, t, t)    // t = t - b
	VADDPD(t, e1, e1)  // error of s
	VADDPD(e1, lo, lo) // lo += error
	VMOVAPD(s, hi)     // hi = s
}

// reduce sums the accumulators across lanes and broadcasts -e into g.ne.
func (g *gen) reduce() {
	a := g.acc[0]
	VADDPD(g.acc[1], a, a)
	x := g.hsum(a)
	z := XMM()
	VXORPD(z, z, z)
	VSUBSD(x, z, z) // -e
	if g.dt.size == 4 {
		VCVTSD2SS(z, z, z)
	}
	g.dt.bcast(z, g.ne)
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
		if masked {
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
// the lane mask of one row. Each row is read with masked loads at its start.
// Rows that start within the first vector of the matrix are written with a
// masked store. After them, a register w carries the last vector written
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
	Label("window")
	{
		pv, dv := g.vec(), g.vec()
		g.loadTail(Mem{Base: g.p}, pv)
		g.loadTail(Mem{Base: g.dp}, dv)
		g.shortSum(pv, dv)
		r := g.out(pv, dv, Mem{Base: g.ds}, true, false)
		ADDQ(rowBytes, g.p)
		ADDQ(rowBytes, g.dp)
		ADDQ(rowBytes, g.ds)
		if g.avx512 {
			if g.dt.size == 4 {
				VPERMT2PS(r, idx, w)
			} else {
				VPERMT2PD(r, idx, w)
			}
		} else {
			if g.dt.size == 4 {
				VBLENDVPS(g.vTail, r, w, w)
			} else {
				VBLENDVPD(g.vTail, r, w, w)
			}
			VPERMPS(w, idx, w)
		}
		g.dt.mov(w, Mem{Base: g.ds, Disp: -vb})
		CMPQ(g.p, end)
		JB(LabelRef("window"))
	}
}

// shortSum sums the products of one masked row (fewer than one vector of
// elements) in registers and leaves +e in every lane of g.ne; pass 2 then
// subtracts it from dp, which is in a register. The sum is taken in the
// element type: at most 16 products, so e is off by at most 5 ulps of
// sum_j |p*dp| (product rounding and a 4-level tree), well inside the bound.
// Every step adds a lane-permuted copy, so all lanes end with the same sum
// (addition commutes exactly) and no broadcast is needed.
func (g *gen) shortSum(pv, dv VecVirtual) {
	m := g.ne
	g.dt.mul(pv, dv, m)
	sw := g.vec()
	step := func() { g.dt.add(sw, m, m) }
	f32 := g.dt.size == 4
	if g.avx512 {
		if f32 {
			VSHUFF32X4(U8(0x4e), m, m, sw)
			step()
			VSHUFF32X4(U8(0xb1), m, m, sw)
			step()
		} else {
			VSHUFF64X2(U8(0x4e), m, m, sw)
			step()
			VSHUFF64X2(U8(0xb1), m, m, sw)
			step()
		}
	} else {
		VPERM2F128(U8(0x01), m, m, sw)
		step()
	}
	if f32 {
		VPERMILPS(U8(0x4e), m, sw)
		step()
		VPERMILPS(U8(0xb1), m, sw)
		step()
	} else {
		VPERMILPD(U8(0x55), m, sw)
		step()
	}
}

// hsum adds the float64 lanes of a; the sum is in the low lane of the result.
func (g *gen) hsum(a VecVirtual) VecVirtual {
	x := XMM()
	if g.avx512 {
		y := YMM()
		VEXTRACTF64X4(U8(1), a, y)
		VADDPD(y, a.AsY(), y)
		VEXTRACTF128(U8(1), y, x)
		VADDPD(x, y.AsX(), x)
	} else {
		VEXTRACTF128(U8(1), a, x)
		VADDPD(x, a.AsX(), x)
	}
	sw := XMM()
	VPERMILPD(U8(1), x, sw)
	VADDSD(sw, x, x)
	return x
}
