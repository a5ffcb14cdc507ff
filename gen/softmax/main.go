// Command softmax generates asm/softmax_amd64.s: Softmax, LogSoftmax,
// SoftmaxScaled and LogSoftmaxBackward over a whole row-major matrix in one
// call, float32 and float64, and SoftmaxCausal, SoftmaxScaled of the
// columns each row of a stack of causal blocks sees (causal.go).
// SoftmaxScaled is Softmax with every s - max multiplied by scale before
// its exp (rowGen.scaled), on every path; float32 folds the scale into
// the exp's constants instead (rowGen.fold; AVX2 in SoftmaxScaled, not
// SoftmaxCausal), and so does float64 in SoftmaxScaled (rowGen.fold64),
// for the scales that allow it.
//
// Per row: a max pass, an exp pass that sums (float32: e in float32 lanes,
// summed in float64 lanes; float64: Kahan-compensated) and, for Softmax,
// stores e^(s-max) in dst, then a scale pass (Softmax) or s - max - log(sum)
// (LogSoftmax, one scalar log per row). Rows of up to groupMaxCols columns
// go four (float32) or two at a time through each pass, so the latency
// chains of short rows overlap; longer rows one at a time. Rows stand alone
// (CONTRACT.md): the path, and so the arithmetic, is a function of cols, and a
// row with fewer than a group left, or in a group with a non-finite max,
// runs the group code alone (see rowGen.solo) rather than a one-row path
// that would sum in another order. The row tail is a masked load (the mask
// depends only on cols, so it is built once); masked stores only write the
// tail. A NaN that the max pass misses makes the sum, and so the whole row,
// NaN. Rows whose max is not finite (NaN, +Inf, all -Inf) take a scalar
// slow path that follows CONTRACT.md.
//
// Short rows are bound by the latency of the per-row reductions, so the
// float32 groups of four reduce their maxima and sums together
// (transpose-style trees: log2 shuffle+op steps give one vector of four
// results), take 1/sum (or log sum) of the four in one vector, and compute
// the next group's maxima while the current group's sums, division and
// scaling finish. On AVX-512, float32 rows of up to three vectors with a
// partial last one skip the loops: four rows held in registers through
// all three passes (resident.go). LogSoftmaxBackward float32 also goes
// four rows at a time with one sum tree. No float32 exp lane is ever computed as a subnormal
// (see SoftmaxF32Lo): the -Inf lanes that fill every row tail used to cost
// a microcode assist per vector.
//
// The files: main.go lists the kernels (kernels) and emits each one's loop
// over its rows (rowLoop); passes.go the passes of one row or group
// (rowGen.body, rowGroup); resident.go the short rows held in registers;
// special.go the slow path of rows whose max is not finite; causal.go
// SoftmaxCausal's loop over its rows and blocks; logbackward.go
// LogSoftmaxBackward; budget.go the register budgets.
package main

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

// kernels lists every function the command writes, in the order of the
// .s file. generate checks each name against the one the generator
// builds, so the list and the file cannot drift.
var kernels = []kernel{
	{"SoftmaxF32AVX2", AVX2, Float32, plainSoftmax},
	{"SoftmaxF64AVX2", AVX2, Float64, plainSoftmax},
	{"LogSoftmaxF32AVX2", AVX2, Float32, logSoftmax},
	{"LogSoftmaxF64AVX2", AVX2, Float64, logSoftmax},
	{"SoftmaxScaledF32AVX2", AVX2, Float32, scaledSoftmax},
	{"SoftmaxScaledF64AVX2", AVX2, Float64, scaledSoftmax},
	{"SoftmaxCausalF32AVX2", AVX2, Float32, causalSoftmax},
	{"SoftmaxCausalF64AVX2", AVX2, Float64, causalSoftmax},
	{"LogSoftmaxBackwardF32AVX2", AVX2, Float32, logSoftmaxBackward},
	{"LogSoftmaxBackwardF64AVX2", AVX2, Float64, logSoftmaxBackward},
	{"SoftmaxF32AVX512", AVX512, Float32, plainSoftmax},
	{"SoftmaxF64AVX512", AVX512, Float64, plainSoftmax},
	{"LogSoftmaxF32AVX512", AVX512, Float32, logSoftmax},
	{"LogSoftmaxF64AVX512", AVX512, Float64, logSoftmax},
	{"SoftmaxScaledF32AVX512", AVX512, Float32, scaledSoftmax},
	{"SoftmaxScaledF64AVX512", AVX512, Float64, scaledSoftmax},
	{"SoftmaxCausalF32AVX512", AVX512, Float32, causalSoftmax},
	{"SoftmaxCausalF64AVX512", AVX512, Float64, causalSoftmax},
	{"LogSoftmaxBackwardF32AVX512", AVX512, Float32, logSoftmaxBackward},
	{"LogSoftmaxBackwardF64AVX512", AVX512, Float64, logSoftmaxBackward},
}

func main() {
	ConstraintExpr("amd64")
	ConstraintExpr("!purego")
	p := NewPool()
	for _, k := range kernels {
		k.generate(p)
	}
	p.Flush()
	Generate()
}

// kernel is one function of the .s file: op on rows of type d with isa.
type kernel struct {
	name string
	isa  ISA
	d    DType
	op   variant
}

func (k kernel) generate(p *Pool) {
	if name := k.op.String() + k.d.Name + k.isa.Name; name != k.name {
		panic(fmt.Sprintf("kernels lists %s, the generator writes %s", k.name, name))
	}
	if k.op == logSoftmaxBackward {
		logBackward(p, k.isa, k.d)
		return
	}
	softmax(p, k.isa, k.d, k.op)
}

// groupMaxCols is the longest row that goes in groups of two or four: the
// group's rows must stay in L1 from one pass to the next, and long rows
// have no latency to hide.
const groupMaxCols = 512

// Prefetches. Pass 2, the exp pass, is bound by compute and leaves the
// memory idle, so it prefetches what the passes bound by memory touch next
// (the figures: bench/TUNING.md, "gen/softmax"):
//
//   - LogSoftmax's pass 2, which stores nothing, prefetches the lines of dst
//     that pass 3 (a load, two subtractions and a store a vector) will
//     write, so that pass 3 stores into lines already in cache; most of all
//     where dst is not 64-byte aligned (every store spans two lines). Rows
//     over logPrefetchBytes do without: their dst lines leave the cache
//     before pass 3 comes back to them.
//   - Single rows (longer than groupMaxCols) prefetch the next row's src;
//     pass 1 of the next row, a pure stream of loads, then reads from
//     cache. Rows over prefetchRowBytes do without: the two rows no longer
//     fit in L2 together.
//   - Groups of rows prefetch the next group's src, a group's worth of
//     lines for each row's worth of the loop; the next group's max pass,
//     which runs before this group's pass 3, then reads from cache.
//     AVX-512 Softmax, whose pass 2 also stores, lost with it on long rows
//     that are not a multiple of 64 bytes (every store spans two lines) and
//     gained on shorter ones: it skips the prefetch on such rows over
//     groupPrefetchSplitBytes.

// groupPrefetchSplitBytes is the longest row not a multiple of 64 bytes on
// which AVX-512 Softmax prefetches the next group.
const groupPrefetchSplitBytes = 1536

// prefetchRowBytes is the longest single row whose successor pass 2
// prefetches.
const prefetchRowBytes = 256 << 10

// logPrefetchBytes is the longest row whose dst pass 2 prefetches.
const logPrefetchBytes = 512 << 10

// fastSpan: when every value of a row is within fastSpan of its max, every
// e^(s-max) is at least e^-60 (no lane is clamped or zeroed in the exp) and
// every probability at least e^-60/cols, normal for any cols below 7e11 (no
// flush): passes 2 and 3 then skip those guards, three to five operations
// a vector (AVX2 Softmax: bench/TUNING.md). The guards change no
// lane of such a row and both versions sum in the same order, so a row's
// bits do not depend on whether the other rows of its group qualify.
const fastSpan = 60

// guards says whether passes 2 and 3 keep the guards for tiny e (the
// clamp before the exp, the flush of tiny probabilities); see fastSpan.
type guards int

const (
	withGuards guards = iota
	noGuards          // every value of the group's rows within fastSpan of its max
)

// The terms of LogPD for float32 sums (relative error < 2^-29) and float64
// (< 2^-55).
const (
	logTermsF32 = 5
	logTermsF64 = 10
)

// logTerms is LogPD's terms for sums of rows of type d.
func logTerms(d DType) int {
	if d.Size == 4 {
		return logTermsF32
	}
	return logTermsF64
}

// kahanAdd adds v into the compensated sum (s, c): true sum = s - c.
func kahanAdd(s, c, v VecVirtual) {
	VSUBPD(c, v, v) // y = v - c
	var t VecVirtual
	if s.Size() == 64 {
		t = ZMM()
	} else {
		t = YMM()
	}
	VADDPD(v, s, t) // t = s + y
	VSUBPD(s, t, c) // c = (t - s)
	VSUBPD(v, c, c) // c = (t - s) - y
	VMOVAPD(t, s)
}

// widenSum returns float32 vector s widened to float64 and its two halves
// added: the row sums' step from float32 to float64 lanes.
func widenSum(s VecVirtual) VecVirtual {
	lo, hi := Widen2(s)
	VADDPD(hi, lo, lo)
	return lo
}

// variant is the operation a kernel of softmax computes.
type variant int

const (
	plainSoftmax  variant = iota // Softmax
	logSoftmax                   // LogSoftmax
	scaledSoftmax                // SoftmaxScaled: Softmax of scale*s
	// SoftmaxCausal: SoftmaxScaled of the columns each row of a stack of
	// causal blocks sees, +0 over the rest (causal.go).
	causalSoftmax
	logSoftmaxBackward // LogSoftmaxBackward: ds = dy - exp(y)*sum dy (logbackward.go)
)

func (v variant) String() string {
	return [...]string{"Softmax", "LogSoftmax", "SoftmaxScaled", "SoftmaxCausal", "LogSoftmaxBackward"}[v]
}

// softmax writes the kernel of op v for rows of type d with isa: its
// declaration, the loop over the rows and the slow path.
func softmax(p *Pool, isa ISA, d DType, v variant) {
	declare(isa, d, v)
	p.BeginWith(SymbolBase) // no general register to spare
	document(isa, d, v)
	var r *rowGen
	if v == causalSoftmax {
		r = loadCausalArgs(p, isa, d)
		r.causalLoop()
	} else {
		r = loadArgs(p, isa, d, v)
		r.rowLoop()
	}
	special(p, d, r.log, r.srcp, r.dstp, r.cols)
	Label("done")
	VZEROUPPER()
	RET()
}

// scaledAttr is SoftmaxScaled's TEXT attribute: NOSPLIT, but for AVX2,
// whose folded scale (ExpScale8From, ExpScale64From: YMM vectors) takes
// the frame past NOSPLIT's limit: those kernels check the stack on entry.
func scaledAttr(isa ISA, d DType) attr.Attribute {
	if !isa.AVX512 {
		return 0
	}
	return NOSPLIT
}

// declare emits the TEXT of the kernel of op v and its noescape pragma.
func declare(isa ISA, d DType, v variant) {
	name := v.String() + d.Name + isa.Name
	switch v {
	case scaledSoftmax:
		TEXT(name, scaledAttr(isa, d), fmt.Sprintf("func(dst, src []%s, cols int, scale %s)", d.Go, d.Go))
	case causalSoftmax:
		TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src []%s, cols, q int, scale %s)", d.Go, d.Go))
	default:
		TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src []%s, cols int)", d.Go))
	}
	Pragma("noescape")
}

// document writes the doc comment of the stub: the reference loop and the
// arguments' conditions.
func document(isa ISA, d DType, v variant) {
	kind := v.String()
	name := kind + d.Name + isa.Name
	switch v {
	case scaledSoftmax:
		Doc(name+" computes Softmax of scale times every row of src into dst:",
			"exp(scale*(s - max)) / sum exp(scale*(s - max)).",
			"len(dst) == len(src), cols >= 1, len(src) % cols == 0, scale finite and > 0.")
	case causalSoftmax:
		Doc(name+" computes SoftmaxScaled"+d.Name+isa.Name+"'s function (in its own",
			"rounding, a function of the columns the row sees) of the columns each",
			"row sees, src being a stack of blocks of q rows: row i of a block sees",
			"the columns j <= cols-q+i, the others are written +0 and never read.",
			"len(dst) == len(src), a multiple of q*cols, 1 <= q <= cols, scale",
			"finite and > 0.")
	default:
		Doc(name+" computes "+kind+" of every row of src into dst.",
			"len(dst) == len(src), cols >= 1 and len(src) % cols == 0.")
	}
}

// loadArgs loads the arguments and emits the per-call set-up: a rowGen
// for the rows and the scale.
func loadArgs(p *Pool, isa ISA, d DType, v variant) *rowGen {
	dstp := Load(Param("dst").Base(), GP64())
	srcp := Load(Param("src").Base(), GP64())
	total := Load(Param("src").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	r := newRowGen(p, isa, d, cols)
	if v == scaledSoftmax {
		r.scaleBy(Param("scale"))
	}
	r.log, r.srcp, r.dstp, r.total = v == logSoftmax, srcp, dstp, total
	return r
}

// rowLoop emits the loop over the rows: single rows of over groupMaxCols
// columns; the groups of shorter ones, and the solo run of a row left over
// or of a group with a non-finite max; on AVX-512 float32 the rows held in
// registers (resident.go).
func (r *rowGen) rowLoop() {
	isa, total, cols := r.isa, r.total, r.cols
	Comment("Rows stand alone (CONTRACT.md): the arithmetic depends on cols only.",
		"Rows of up to groupMaxCols columns all go through the group code, four",
		"(float32) or two at a time, whose independent chains overlap; a row with",
		"fewer than a group left, and each row of a group with a non-finite max,",
		"runs that same code alone (solo: slot 0 only, standing for every slot in",
		"the four-row trees), and only a row whose own max is not finite takes",
		"the slow path. Longer rows go one at a time.")
	quad := r.quad()
	if quad {
		ahead := GP64()
		r.ahead, r.mq = ahead, isa.Vec()
		XORQ(ahead, ahead)
	}
	r.fast = AllocLocal(8)
	resident := isa.AVX512 && quad
	k, group, kRows := 2, "p", r.two
	if quad {
		k, group, kRows = 4, "q", r.four
	}
	Label("row")
	TESTQ(total, total)
	JE(LabelRef("done"))
	CMPQ(cols, U32(groupMaxCols))
	JA(LabelRef("single"))
	if resident {
		r.dispatchResident()
	}
	Comment("The group loop: a group while one is left, else solo.")
	Label(group + "h")
	CMPQ(total, kRows)
	JGE(LabelRef(group))
	TESTQ(total, total)
	JE(LabelRef("done"))
	JMP(LabelRef("o" + group))

	Label("single")
	r.bail = "special"
	r.body(1, "s")
	Label("next1")
	r.step(1, total, r.srcp, r.dstp)
	JMP(LabelRef("row"))

	Label(group)
	r.bail = "o" + group
	r.body(k, group)
	r.step(k, total, r.srcp, r.dstp)
	JMP(LabelRef(group + "h"))

	Label("o" + group)
	if quad {
		XORQ(r.ahead, r.ahead) // a group that bailed out may have set it
	}
	r.solo, r.bail = true, "special"
	r.body(k, "o"+group)
	r.solo = false
	JMP(LabelRef("next1"))

	for v := 1; resident && v <= residentVecs; v++ {
		r.resident(v, fourRows)
		r.resident(v, soloRow)
	}
}

type rowGen struct {
	p                    *Pool
	isa                  ISA
	d                    DType
	log                  bool
	mask                 Mask
	rb, cols, srcp, dstp Register
	rb3                  Register // 3*rb, for four rows at a time
	total, two, four     Register // elements left; 2*cols; 4*cols
	one                  Op       // cols (SoftmaxCausal: see causal)
	// causal (SoftmaxCausal, causal.go): cols is the visible length of
	// the group's row 0 (row r sees r more), one (a stack slot) the rows'
	// whole length, first the visible length of a block's first row.
	causal bool
	first  Mem
	// maskedTails: SoftmaxCausal's group code, whose rows have tails of
	// different lengths, takes masked tails rather than overlap's. held:
	// their masks are in maskSlots (see holdMasks).
	maskedTails, held bool
	maskSlots         Mem
	ahead             Register // 1: mq holds the maxima of the next four rows
	mq                VecVirtual
	fast              Mem // int32: the group spans at most fastSpan
	// solo: the group code runs one row: only slot 0 is computed (see
	// slots), and the four-row trees take its values in every place, so
	// that the row gets exactly the arithmetic of a row in a group: every
	// step of the group code treats each slot's lanes alike. at and rowEnd
	// address row 0 whatever the slot.
	solo bool
	// bail is where a row or group whose max is not finite goes: the solo
	// run of a group's first row, or the slow path for one row.
	bail string
	// scaled (SoftmaxScaled): scale multiplies every s - max, after the
	// subtraction (scale*s - scale*max would round scale*s, an error
	// relative to |s| rather than to |s - max|). AVX-512 reads it
	// broadcast from the argument (no register, no line split), AVX2 as a
	// vector in a stack slot (no register either: the groups have none to
	// spare), or with the fold (float32 SoftmaxScaled) broadcast from the
	// argument into a register where it multiplies.
	scaled bool
	scale  Mem
	// fold (float32 SoftmaxScaled, and AVX-512 SoftmaxCausal): the scale folded into the
	// exp's constants, no multiply a vector; foldOK (int32) says whether
	// this call's scale allows it, folding whether the code being emitted
	// is that version.
	fold    *ExpScale
	foldOK  Mem
	folding bool
	// fold64: float64 SoftmaxScaled's folded scale (ExpScale64), with
	// foldOK and folding as fold's.
	fold64 *ExpScale64
}

// scaleBy sets g up for SoftmaxScaled with the scale parameter arg.
func (g *rowGen) scaleBy(arg gotypes.Component) {
	g.scaled = true
	if g.isa.AVX512 {
		b, err := arg.Resolve()
		if err != nil {
			panic(err)
		}
		g.scale = b.Addr
		switch {
		case g.d.Size == 4:
			g.foldScale()
		case !g.causal:
			g.foldScale64(arg)
		}
		return
	}
	if g.d.Size == 4 && !g.causal {
		// AVX2 float32 folds the scale too (ExpScale8From); the
		// multiply, for the scales outside the fold's range, broadcasts
		// it from the argument (mulScale), no stack vector. The frame
		// is past NOSPLIT's limit all the same (scaledAttr).
		// SoftmaxCausal (NOSPLIT, causal.go) has no room for the
		// folded constants: it multiplies.
		b, err := arg.Resolve()
		if err != nil {
			panic(err)
		}
		g.scale = b.Addr
		g.foldScale()
		return
	}
	x := Load(arg, XMM())
	v := g.isa.Vec()
	g.d.BCAST(x, v)
	g.scale = AllocLocal(g.isa.VB)
	g.d.MOVU(v, g.scale)
	if !g.causal {
		g.foldScale64(arg)
	}
}

// foldScale sets up the folded scale (float32, see ExpScale; AVX2's in
// YMM vectors, ExpScale8From): the constants, and g.foldOK, whether the
// scale is within FoldScaleMin..FoldScaleMax (compared as bits: the scale
// is positive and finite; lane 0 of AVX2's vector). A call's scale picks
// one of the two versions of pass 2 for all its rows.
func (g *rowGen) foldScale() {
	x := XMM()
	VMOVSS(g.scale, x)
	if g.isa.AVX512 {
		g.fold = ExpScaleFrom(x, AllocLocal(24))
	} else {
		g.fold = ExpScale8From(x, AllocLocal(ExpScale8Bytes))
	}
	g.foldOK = AllocLocal(8)
	bits, ok := GP32(), GP32()
	MOVL(g.scale, bits)
	XORL(ok, ok)
	CMPL(bits, U32(math.Float32bits(FoldScaleMin)))
	JB(LabelRef("foldset"))
	CMPL(bits, U32(math.Float32bits(FoldScaleMax)))
	JA(LabelRef("foldset"))
	MOVL(U32(1), ok)
	Label("foldset")
	MOVL(ok, g.foldOK)
}

// foldScale64 sets up the folded float64 scale (see ExpScale64) of
// SoftmaxScaled (SoftmaxCausal multiplies) and g.foldOK, as foldScale
// does: the scale's bits compared with FoldScaleMin..FoldScaleMax's.
func (g *rowGen) foldScale64(arg gotypes.Component) {
	b, err := arg.Resolve()
	if err != nil {
		panic(err)
	}
	x := XMM()
	VMOVSD(b.Addr, x)
	g.fold64 = ExpScale64From(x, AllocLocal(ExpScale64Bytes(g.isa.AVX512)), g.isa.AVX512)
	g.foldOK = AllocLocal(8)
	bits, bound, ok := GP64(), GP64(), GP32()
	MOVQ(b.Addr, bits)
	XORL(ok, ok)
	MOVQ(U64(math.Float64bits(FoldScaleMin)), bound)
	CMPQ(bits, bound)
	JB(LabelRef("foldset"))
	MOVQ(U64(math.Float64bits(FoldScaleMax)), bound)
	CMPQ(bits, bound)
	JA(LabelRef("foldset"))
	MOVL(U32(1), ok)
	Label("foldset")
	MOVL(ok, g.foldOK)
}

// mulScale multiplies x by the scale (SoftmaxScaled, but in the folded
// version; else nothing).
func (g *rowGen) mulScale(x VecVirtual) {
	if !g.folding {
		g.multiply(x)
	}
}

// multiply multiplies x by the scale (SoftmaxScaled; else nothing), in
// the folded version too: the span test, which may be emitted inside the
// folded version of the group before (rowGen.ahead).
func (g *rowGen) multiply(x VecVirtual) {
	switch {
	case !g.scaled:
	case g.isa.AVX512 && g.d.Size == 4:
		VMULPS_BCST(g.scale, x, x)
	case g.isa.AVX512:
		VMULPD_BCST(g.scale, x, x)
	case g.fold != nil:
		// AVX2 float32 with the fold: g.scale is the argument.
		s := g.isa.Vec()
		VBROADCASTSS(g.scale, s)
		VMULPS(s, x, x)
	default:
		g.d.MUL(g.scale, x, x)
	}
}

// newRowGen emits the per-call set-up both kernels share: the row-tail
// mask (it depends only on cols), the row length in bytes, 2*cols and, for
// float32 (groups of four rows), 3*rb and 4*cols.
func newRowGen(p *Pool, isa ISA, d DType, cols Register) *rowGen {
	Comment("The row-tail mask depends only on cols.")
	tc := GP64()
	MOVQ(cols, tc)
	ANDQ(U32(d.Lanes(isa.VB)-1), tc)
	g := &rowGen{p: p, isa: isa, d: d, mask: NewMask(p, isa, d, tc), cols: cols, one: cols}
	rb, two := GP64(), GP64()
	MOVQ(cols, rb)
	SHLQ(U8(d.Shift), rb)
	MOVQ(cols, two)
	SHLQ(U8(1), two)
	g.rb, g.two = rb, two
	if g.quad() {
		rb3, four := GP64(), GP64()
		LEAQ(Mem{Base: rb, Index: rb, Scale: 2}, rb3)
		LEAQ(Mem{Base: cols, Index: cols, Scale: 2}, four)
		ADDQ(cols, four)
		g.rb3, g.four = rb3, four
	}
	return g
}

// step moves ptrs past k rows (1, 2 or 4) and takes them off total.
func (g *rowGen) step(k int, total Register, ptrs ...Register) {
	for _, b := range ptrs {
		if k == 1 {
			ADDQ(g.rb, b)
		} else {
			LEAQ(Mem{Base: b, Index: g.rb, Scale: uint8(k)}, b)
		}
	}
	SUBQ(map[int]Op{1: g.one, 2: g.two, 4: g.four}[k], total)
}

// quad says whether rows go in groups of four (float32; float64 would need
// too many registers).
func (g *rowGen) quad() bool { return g.d.Size == 4 }

// expUnroll is how many vectors of each of k rows one iteration of an exp
// loop takes: one row alone needs several independent exp chains in flight,
// and AVX-512's 32 registers hold four.
func (g *rowGen) expUnroll(k int) int {
	if k > 1 {
		return 1
	}
	if g.isa.AVX512 {
		return 4
	}
	return 2
}

// overlap says whether float32 AVX2 row tails are done as one full vector
// that ends at the row's end (overlapping the last whole vector) instead of
// with VMASKMOVPS: a masked store is slow (bench/TUNING.md), once per row.
// The overlapped lanes are computed again from the same inputs, so they are
// written with the same bits; the code below keeps dst == src working.
// SoftmaxCausal's group code keeps the masked tails (maskedTails).
func (g *rowGen) overlap() bool { return !g.isa.AVX512 && g.d.Size == 4 && !g.maskedTails }

// rowEnd addresses the last full vector of row r (0..3) of the group at base.
func (g *rowGen) rowEnd(base Register, r int) Mem {
	if g.solo {
		r = 0
	}
	if g.causal {
		// One row (the group code keeps masked tails): cols columns on.
		if r != 0 {
			panic("SoftmaxCausal: rowEnd of a group's row")
		}
		return Mem{Base: base, Index: g.cols, Scale: uint8(g.d.Size), Disp: -g.isa.VB}
	}
	m := Mem{Base: base, Index: g.rb, Scale: uint8(r + 1), Disp: -g.isa.VB}
	if r == 2 {
		m = Mem{Base: base, Index: g.rb3, Scale: 1, Disp: -g.isa.VB}
	}
	return m
}

// ifOverlapTail jumps to skip unless the rows have a tail and at least one
// full vector (the overlapped tail applies); tc gets the tail length.
func (g *rowGen) ifOverlapTail(skip string) GPVirtual {
	tc := GP64()
	MOVQ(g.cols, tc)
	ANDQ(U32(g.d.Lanes(g.isa.VB)-1), tc)
	JZ(LabelRef(skip))
	CMPQ(g.cols, U32(g.d.Lanes(g.isa.VB)))
	JL(LabelRef(skip))
	return tc
}

// storeOverlapTails goes in the tail callback of loop name: when the
// overlapped tails apply (rows of at least one vector), it stores each row's
// vector from slot, passed through f (if any), as the vector that ends the
// row, and jumps to the loop's end; else it falls through to the masked
// tail.
func (g *rowGen) storeOverlapTails(name string, slot Mem, k int, f func(x VecVirtual, r int)) {
	if !g.overlap() {
		return
	}
	CMPQ(g.cols, U32(g.d.Lanes(g.isa.VB)))
	JL(LabelRef(name + "_mtail"))
	for _, r := range g.slots(k) {
		x := g.isa.Vec()
		g.d.MOVU(slot.Offset(g.isa.VB*r), x)
		if f != nil {
			f(x, r)
		}
		g.d.MOVU(x, g.rowEnd(g.dstp, r))
	}
	JMP(LabelRef(name + "_done"))
	Label(name + "_mtail")
}

// nextRowOffset returns a register holding the offset from a row's data to
// the next row's that its exp pass prefetches (see prefetchRowBytes): rb, or 0
// (the lines being read anyway) for rows over prefetchRowBytes.
func (g *rowGen) nextRowOffset(pre string) GPVirtual {
	Comment("The next row's data, prefetched (see prefetchRowBytes).")
	off := GP64()
	MOVQ(g.rb, off)
	CMPQ(g.rb, U32(prefetchRowBytes))
	JBE(LabelRef(pre + "pfnext"))
	XORQ(off, off)
	Label(pre + "pfnext")
	return off
}

// at addresses row r (0..3) of a group: row r is r*rb bytes after row 0
// (solo: every slot is row 0).
func (g *rowGen) at(base Register, disp, r int) Mem {
	if g.solo {
		r = 0
	}
	switch r {
	case 0:
		return Mem{Base: base, Disp: disp}
	case 1:
		return Mem{Base: base, Index: g.rb, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: base, Index: g.rb, Scale: 2, Disp: disp}
	}
	return Mem{Base: base, Index: g.rb3, Scale: 1, Disp: disp}
}

// slots lists the slots of a group of k rows that the code computes:
// every one, or solo only slot 0 (see rowGen.solo).
func (g *rowGen) slots(k int) []int {
	if g.solo {
		return []int{0}
	}
	rs := make([]int, k)
	for r := range rs {
		rs[r] = r
	}
	return rs
}
