// Command xent generates asm/xent_amd64.s: LogSumExp and CrossEntropy over
// a whole row-major matrix in one call, float32 and float64, AVX2 and
// AVX-512.
//
// One row at a time, in the passes of the reference (fallback/crossentropy.go):
//
//	max pass:   m = max_j s[j]                     (maxAccs accumulators)
//	exp pass:   e[j] = exp(s[j] - m), summed as Softmax sums (float32: e in
//	            float32 lanes, summed in float64 lanes; float64:
//	            Kahan-compensated), stored into ds when there is one.
//	per row:    LogSumExp: m + log(sum). CrossEntropy: e_t = exp(s_t - m),
//	            loss = log1p(O/e_t) when e_t >= 1/2, else log(e_t + O) -
//	            (s_t - m), in float64 scalar code.
//	scale pass: ds[j] = e[j] * g/Z, then ds[t] = -g*O/Z (Z = e_t + O).
//
// CrossEntropy leaves the target out of O = sum_{j != t} e[j] inside the
// exp pass, so that O keeps its bits however large e_t is: the pass splits
// at the target's vector, whose target lane alone is zeroed (a lane-index
// compare), and the max pass splits the same way to see the other entries'
// max (see confidentMargin). Float64 rows of up to shortVecs vectors go
// two at a time through steps that find the target's lane in every vector
// (short.go). LogSumExp takes rows of up to groupBytes a float64 vector's
// worth at a time instead (8 rows AVX-512, 4 AVX2): one transposing tree
// for their maxima, one for their sums, and their logs in one vector
// (lse.go); a row left over, or beside a row left to the caller, runs that
// code solo. AVX2 float32 groups of rows of 64 columns or more take their
// exp pass one row after another (lse_rowexp.go). LogSumExp's longer rows take an exp pass of their own
// (lse_exp.go: 16 vectors an iteration, float32 e added pairwise before
// one widening; float64 four vectors to a compensated add).
//
// Float32 CrossEntropy (AVX-512 and AVX2) takes rows of up to xquadBytes
// four at a time the same way (xquad.go; AVX2's YMM forms in xquad2.go),
// each row's target lane found by a compare in every vector, and a group's
// losses finished after the next group's passes. On AVX-512, rows of up to
// xresVecs vectors go eight at a time instead, as LogSumExp's resident
// rows (xres.go): row i's values in lane i after the trees, the losses and
// ds's factors taken once for the eight, the e held in registers for ds
// (rows of three vectors keep their tails in a stack block: xres3.go);
// longer rows of up to xgroupVecs vectors go eight at a time too, read
// twice by loops over their vectors as LogSumExp's group rows (xgroup.go).
// On AVX2 the resident code takes rows of up to xres2ReloadVecs vectors
// four at a time (xres2.go: held in registers up to xres2Vecs; xres2r.go:
// longer ones read twice, through a stack block).
// Float64 rows of up to xres64Vecs vectors (AVX-512, eight rows a group:
// xres64.go) or xres64yVecs (AVX2, four: xres64y.go) take the same
// scheme, ahead of the short path; their rows of more than two vectors
// pass through a stack block (res64LoadScratch, res64ExpScratch).
//
// Each CrossEntropy is a dispatcher with no frame that tail-jumps, by cols
// and by whether there is ds, to one function a part of these paths
// (rowsPart): avo allocates a function's registers in time quadratic in
// its length, and one function of every path took over 20 s to generate.
//
// A row's path and arithmetic depend on cols (and its own label) only, so
// its bits depend on its own values (rows stand alone). A row whose max is
// not finite (NaN, +Inf, all -Inf), or whose other entries all lie more
// than confidentMargin below its target, is left to the caller: the kernel
// writes NaN as its result (loss or LogSumExp) and touches nothing else of
// it, and the Go wrapper (kernels) recomputes every row whose result is
// NaN with the fallback, which follows the definitions. A NaN the max pass
// misses makes the row's sums, and so its results, NaN: such a row is
// recomputed as well and comes out NaN either way.
package main

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/ir"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	. "github.com/rowwise/softmax/gen/internal"
)

func main() {
	ConstraintExpr("amd64")
	ConstraintExpr("!purego")
	p := NewPool()
	for _, isa := range []ISA{AVX2, AVX512} {
		for _, d := range []DType{Float32, Float64} {
			logSumExp(p, isa, d)
			crossEntropy(p, isa, d)
		}
	}
	p.Flush()
	Generate()
}

// maxAccs is the number of independent accumulators of the max pass: one
// VMAXPS a vector is bound by its latency with fewer.
const maxAccs = 4

// scaleUnroll is the number of vectors an iteration of the scale and zero
// passes takes (a load, a multiply and a store each).
const scaleUnroll = 4

// expUnroll is the number of vectors an iteration of the exp pass takes:
// independent exp chains in flight. float32 adds them in pairs before
// widening, so it takes an even number; AVX-512 float32 has the registers
// for four beside the exp's held constants, the others for two.
func expUnroll(isa ISA, d DType) int {
	if d.Size == 4 && isa.AVX512 {
		return 4
	}
	return 2
}

// logTerms is the number of series terms of LogPD: relative error 2^-29
// (5 terms) for float32 results, 2^-55 (10) for float64.
func logTerms(d DType) int {
	if d.Size == 4 {
		return 5
	}
	return 10
}

// row holds what the passes over one row share.
type row struct {
	p      *Pool
	isa    ISA
	d      DType
	lanes  int
	vb     int
	cols   Register
	mask   Mask // the row tail: cols % lanes elements
	negInf Mem
}

// newRow emits the per-call set-up: the row-tail mask, which depends only
// on cols.
func newRow(p *Pool, isa ISA, d DType, cols Register) *row {
	r := &row{p: p, isa: isa, d: d, lanes: d.Lanes(isa.VB), vb: isa.VB, cols: cols}
	Comment("The row-tail mask depends only on cols.")
	tc := GP64()
	MOVQ(cols, tc)
	ANDQ(U32(r.lanes-1), tc)
	r.mask = NewMask(p, isa, d, tc)
	r.negInf = p.Of(d, "neginf", math.Inf(-1))
	return r
}

// next moves the row pointers past one row: ptrs by a row of F, one by a
// result of F (loss or dst), labels by an int32.
func (r *row) next(ptrs []Register, result, labels Register) {
	for _, b := range ptrs {
		LEAQ(Mem{Base: b, Index: r.cols, Scale: uint8(r.d.Size)}, b)
	}
	ADDQ(U32(r.d.Size), result)
	if labels != nil {
		ADDQ(U32(4), labels)
	}
}

// maxTarget is what CrossEntropy's max pass needs besides the row.
type maxTarget struct {
	t  Register // the target's column
	st Mem      // where s_t goes, read before ds (maybe logits) is written
}

// confidentMargin: a CrossEntropy row whose other entries all lie more
// than this below the target (float32; float64: confidentMargin64) goes to
// the caller's slow path. Its O is at most cols * e^-margin and may be made
// mostly of entries below the smallest normal number, which the exp zeroes
// (SoftmaxF32Lo, SoftmaxF64Lo): each is below tiny, but the contract holds
// the loss relative to O. Above the margin O >= e^-margin, and the zeroed
// entries (at most 2^31 of them, each below tiny) stay under 2^-23 of it
// (float64: 2^-49).
const (
	confidentMargin   = 50
	confidentMargin64 = 650
)

// maxPass emits the row maximum of the row at src, broadcast to a vector.
// A max that is not finite (NaN, +Inf, or -Inf: all masked) jumps to
// special. With a target (CrossEntropy), the pass also stores s_t and
// jumps to special when the other entries' max lies more than
// confidentMargin below the row's: the target's lane is left out of the
// accumulators, as the exp pass leaves it out of the sum (the same split
// at the target's vector), and joins the max at the end.
func (r *row) maxPass(pre string, src Register, special string, tg *maxTarget) (m, span VecVirtual) {
	d, isa := r.d, r.isa
	Comment("Max pass (float32: and min, see fastSpan).")
	n, ptr := GP64(), GP64()
	MOVQ(src, ptr)
	acc := make([]VecVirtual, maxAccs)
	for i := range acc {
		acc[i] = isa.Vec()
		d.MOVU(r.negInf, acc[i])
	}
	var mins []VecVirtual
	if d.Size == 4 {
		mins = make([]VecVirtual, maxAccs)
		for i := range mins {
			mins[i] = isa.Vec()
			d.MOVU(r.p.Of(d, "posinf", math.Inf(1)), mins[i])
		}
	}
	body := func(u int) {
		for i := 0; i < u; i++ {
			if mins == nil {
				d.MAX(Mem{Base: ptr, Disp: r.vb * i}, acc[i], acc[i])
				continue
			}
			v := isa.Vec()
			d.MOVU(Mem{Base: ptr, Disp: r.vb * i}, v)
			d.MIN(v, mins[i], mins[i])
			d.MAX(v, acc[i], acc[i])
		}
		ADDQ(U32(r.vb*u), ptr)
	}
	tail := func() {
		x := isa.Vec()
		r.mask.LoadFill(Mem{Base: ptr}, x, r.negInf)
		d.MAX(x, acc[0], acc[0])
		if mins != nil {
			// AVX2: the -Inf fill makes the row take the guards.
			r.mask.MergeMin(x, mins[0])
		}
	}
	if tg == nil {
		MOVQ(r.cols, n)
		Loop(pre+"max", n, r.lanes, maxAccs, body, tail)
	} else {
		Comment("The vectors before the target's.")
		r.beforeTarget(tg.t, n)
		Loop(pre+"maxa", n, r.lanes, maxAccs, body, nil)
		Comment("The target's vector (a whole one, or the tail), its target lane -Inf.")
		r.fromTarget(tg.t, n)
		x := isa.Vec()
		CMPQ(n, U32(r.lanes))
		JL(LabelRef(pre + "max_tpart"))
		d.MOVU(Mem{Base: ptr}, x)
		if mins != nil {
			d.MIN(x, mins[0], mins[0])
		}
		ADDQ(U32(r.vb), ptr)
		SUBQ(U32(r.lanes), n)
		JMP(LabelRef(pre + "max_t"))
		Label(pre + "max_tpart")
		r.mask.LoadFill(Mem{Base: ptr}, x, r.negInf)
		if mins != nil {
			r.mask.MergeMin(x, mins[0])
		}
		XORQ(n, n)
		Label(pre + "max_t")
		r.targetLane(tg.t, x, true)
		d.MAX(x, acc[0], acc[0])
		Comment("The vectors after it.")
		Loop(pre+"maxb", n, r.lanes, maxAccs, body, tail)
	}
	for i := 1; i < maxAccs; i++ {
		d.MAX(acc[i], acc[0], acc[0])
		if mins != nil {
			d.MIN(mins[i], mins[0], mins[0])
		}
	}
	HMax(d, acc[0])
	if mins != nil {
		HMin(d, mins[0])
	}
	mx := acc[0].AsX()
	if tg != nil {
		Comment("max = max(others' max, s_t), a NaN s_t kept; others' max more than",
			"confidentMargin below it: the caller's slow path.")
		st, m := XMM(), XMM()
		d.MOVS(Mem{Base: src, Index: tg.t, Scale: uint8(d.Size)}, st)
		d.MOVS(st, tg.st)
		gap := XMM()
		if d.Size == 4 {
			VMAXSS(st, mx, m)
			VSUBSS(m, mx, gap)
			VUCOMISS(r.p.F32("margin32", -confidentMargin), gap)
		} else {
			VMAXSD(st, mx, m)
			VSUBSD(m, mx, gap)
			VUCOMISD(r.p.F64("margin64", -confidentMargin64), gap)
		}
		JCS(LabelRef(special)) // gap < -margin, or NaN
		mx = m
	}
	Comment("A NaN, +Inf or all -Inf max: the caller's slow path.")
	r.finiteOr(mx, special)
	m = isa.Vec()
	d.BCAST(mx, m)
	if mins != nil {
		span = XMM()
		VSUBSS(mins[0].AsX(), mx, span)
	}
	return m, span
}

// fastSpan: when every value of a float32 row (target included) is within
// fastSpan of its max, every e^(s-max) is at least e^-60, normal: the exp
// pass's whole vectors skip the exp's clamp and zeroing (two or three
// operations a vector), which change no lane of such a row, as Softmax's
// fast rows. The tail keeps them (its -Inf fill).
const fastSpan = 60

// ifFast jumps to fast when span (lane 0, float32, max - min) is at most
// fastSpan; a NaN span does not.
func (r *row) ifFast(span VecVirtual, fast string) {
	c := XMM()
	VMOVSS(r.p.F32("fastspan32", fastSpan), c)
	VUCOMISS(span, c)
	JCC(LabelRef(fast)) // fastSpan >= span, ordered
}

// expPasses emits the exp pass, in its guarded and (float32, rows within
// fastSpan) its fast version, and returns the sum (as emit).
func (r *row) expPasses(pre string, src Register, m, span VecVirtual, e expPass) VecVirtual {
	if span == nil {
		return r.emit(pre, src, m, e)
	}
	sum := XMM()
	r.ifFast(span, pre+"fast")
	VMOVAPD(r.emit(pre, src, m, e).AsX(), sum)
	JMP(LabelRef(pre + "expsdone"))
	Label(pre + "fast")
	e.fast = true
	VMOVAPD(r.emit(pre+"f", src, m, e).AsX(), sum)
	Label(pre + "expsdone")
	return sum
}

// targetLane sets the lane of x that holds column t, in the vector that
// holds it: to -Inf (inf) or 0.
func (r *row) targetLane(t Register, x VecVirtual, inf bool) {
	d, isa := r.d, r.isa
	l := GP64()
	MOVQ(t, l)
	ANDQ(U32(r.lanes-1), l)
	lv := isa.Vec()
	idx := r.p.LaneIndex(d, isa.VB)
	broadcastGP(isa, d, l, lv)
	if isa.AVX512 {
		k := K()
		pred := cmpNE
		if inf {
			pred = cmpEQ
		}
		if d.Size == 4 {
			VPCMPD(U8(pred), idx, lv, k)
		} else {
			VPCMPQ(U8(pred), idx, lv, k)
		}
		switch {
		case inf:
			d.MOVU(r.negInf, k, x) // merge: -Inf in the target's lane
		case d.Size == 4:
			VMOVAPS_Z(x, k, x) // 0 in the target's lane
		default:
			VMOVAPD_Z(x, k, x)
		}
		return
	}
	if d.Size == 4 {
		VPCMPEQD(idx, lv, lv)
	} else {
		VPCMPEQQ(idx, lv, lv)
	}
	if inf {
		d.BLENDV(lv, r.negInf, x, x)
	} else {
		d.ANDN(x, lv, x)
	}
}

// expPass describes one exp pass: what it stores and what it leaves out.
type expPass struct {
	// out, if not nil, is where e goes (ds); the tail's e goes to etail
	// instead, with a full-width store, for the scale pass to reload (a
	// load from a masked store would not be forwarded).
	out   Register
	etail Mem
	// etv, with a target, is where the target's vector's e goes before its
	// target lane is zeroed: e_t, whatever path the pass takes, with the
	// bits a separate exp of s_t - max would give (the exp works lane by
	// lane, and its guards change no lane of a fast row).
	etv Mem
	// target, if not nil, is the target's column t. The pass runs in
	// three parts: the vectors before the target's, the target's vector,
	// whose target lane is zeroed (a lane-index compare), and the rest, so
	// that the target's e stays out of the sum (and out of ds until its
	// own value is written) at no cost in the other vectors.
	target Register
	// zero: float32 lanes below SoftmaxF32Lo give 0 (CrossEntropy, whose
	// e are stored and whose O must not take e^lo for each tiny lane);
	// else e^lo (LogSumExp, whose sum is at least 1).
	zero bool
	// fast: the row is within fastSpan: whole vectors skip the exp's
	// guards.
	fast bool
	// next is the offset from the row to the one whose lines the pass
	// prefetches (see nextOffset).
	next Register
}

// prefetchRowBytes is the longest row whose exp pass prefetches the next
// row: the exp pass is bound by compute and leaves the memory idle, and
// the next row's max pass then reads from cache. Longer rows do without,
// as Softmax's: two of them no longer fit in L2 together.
const prefetchRowBytes = 256 << 10

// nextOffset returns a register holding the offset from a row to the
// next one that the exp pass prefetches: the row's bytes, or 0 (the lines
// being read anyway) for rows over prefetchRowBytes.
func (r *row) nextOffset() GPVirtual {
	Comment("The next row's data, prefetched by the exp pass (see prefetchRowBytes).")
	off := GP64()
	MOVQ(r.cols, off)
	SHLQ(U8(r.d.Shift), off)
	CMPQ(off, U32(prefetchRowBytes))
	JBE(LabelRef("pfnext"))
	XORQ(off, off)
	Label("pfnext")
	return off
}

// emit emits the exp pass over the row at src with maximum m and returns
// the sum of its e, in float64, in lane 0 of the returned vector.
func (r *row) emit(pre string, src Register, m VecVirtual, e expPass) VecVirtual {
	d, isa, p := r.d, r.isa, r.p
	Comment("Exp pass: e = exp(s - max), summed in float64.")
	n, ptr := GP64(), GP64()
	MOVQ(src, ptr)
	var out GPVirtual
	if e.out != nil {
		out = GP64()
		MOVQ(e.out, out)
	}
	un := expUnroll(isa, d)
	exclude := func(x VecVirtual) {
		if e.etv.Base != nil {
			d.MOVU(x, e.etv)
		}
		r.targetLane(e.target, x, false)
	}
	store := func(x VecVirtual, i int) {
		if out != nil {
			d.MOVU(x, Mem{Base: out, Disp: r.vb * i})
		}
	}
	prefetch := func(i int) {
		if e.next != nil && (r.vb*i)%64 == 0 {
			PREFETCHT0(Mem{Base: ptr, Index: e.next, Scale: 1, Disp: r.vb * i})
		}
	}
	advance := func(u int) {
		ADDQ(U32(r.vb*u), ptr)
		if out != nil {
			ADDQ(U32(r.vb*u), out)
		}
	}
	sum := isa.Vec()
	VXORPD(sum, sum, sum)
	// exp takes the exp of xs in place, add adds xs into the sum.
	var exp, add func(xs []VecVirtual)
	tailing := false // emitting the tail, which keeps the guards
	if d.Size == 4 {
		if isa.AVX512 {
			HoldExpF32For(p, isa, Ln2One)
			defer p.Release()
		}
		lo := isa.Vec()
		VMOVUPS(p.F32("sm32_lo", SoftmaxF32Lo), lo)
		exp = func(xs []VecVirtual) {
			l := lo
			if e.fast && len(xs) > 0 && !tailing {
				l = nil
			}
			if e.zero {
				ExpSoftmaxF32Core(p, xs, l)
			} else {
				ExpSumF32Core(p, xs, l)
			}
		}
		// add sums xs: pairs are added in float32 first (one rounding,
		// 2^-24, inside the contract's budget), then widened and summed
		// in float64, as Softmax does.
		add = func(xs []VecVirtual) {
			for i := 0; i < len(xs); i += 2 {
				x := xs[i]
				if i+1 < len(xs) {
					x = isa.Vec()
					VADDPS(xs[i+1], xs[i], x)
				}
				lo, hi := Widen2(x)
				VADDPD(hi, lo, lo)
				VADDPD(lo, sum, sum)
			}
		}
	} else {
		// float64: xentExpF64, Kahan-compensated as Softmax. AVX-512
		// holds lseLongHeld of the exp's constants and takes
		// lseLongUnroll vectors an iteration, as LogSumExp's long rows.
		xe := newXentExpF64(p, isa)
		if isa.AVX512 {
			p.Hold(isa, lseExpF64Splats()[:lseLongHeld]...)
			defer p.Release()
			un = lseLongUnroll
		}
		comp := isa.Vec()
		VXORPD(comp, comp, comp)
		defer func() {
			VSUBPD(comp, sum, sum)
			HSumPD(sum)
		}()
		exp = xe.exp
		// The vectors are added pairwise first.
		add = func(xs []VecVirtual) {
			for len(xs) > 1 {
				for h := 0; h < len(xs)/2; h++ {
					VADDPD(xs[2*h+1], xs[2*h], xs[2*h])
					xs[h] = xs[2*h]
				}
				xs = xs[:len(xs)/2]
			}
			kahanAdd(sum, comp, xs[0])
		}
	}
	// vecs emits u full vectors, tail the masked last one (its e to etail);
	// excl: the target's lane is zeroed.
	vecs := func(u int, excl bool) {
		xs := make([]VecVirtual, u)
		for i := range xs {
			xs[i] = isa.Vec()
			d.MOVU(Mem{Base: ptr, Disp: r.vb * i}, xs[i])
			d.SUB(m, xs[i], xs[i])
			prefetch(i)
		}
		exp(xs)
		for i, x := range xs {
			if excl {
				exclude(x)
			}
			store(x, i)
		}
		add(xs)
		advance(u)
	}
	tail := func(excl bool) {
		x := isa.Vec()
		r.mask.LoadFill(Mem{Base: ptr}, x, r.negInf)
		d.SUB(m, x, x)
		tailing = true
		exp([]VecVirtual{x})
		tailing = false
		if excl {
			exclude(x)
		}
		if out != nil {
			d.MOVU(x, e.etail)
		}
		add([]VecVirtual{x})
	}
	plain := func(u int) { vecs(u, false) }
	if e.target == nil {
		MOVQ(r.cols, n)
		Loop(pre+"exp", n, r.lanes, un, plain, func() { tail(false) })
	} else {
		Comment("The vectors before the target's.")
		r.beforeTarget(e.target, n)
		Loop(pre+"expa", n, r.lanes, un, plain, nil)
		Comment("The target's vector: a whole one, or the row's tail.")
		r.fromTarget(e.target, n)
		CMPQ(n, U32(r.lanes))
		JL(LabelRef(pre + "exp_tpart"))
		vecs(1, true)
		SUBQ(U32(r.lanes), n)
		Comment("The vectors after it.")
		Loop(pre+"expb", n, r.lanes, un, plain, func() { tail(false) })
		JMP(LabelRef(pre + "exp_end"))
		Label(pre + "exp_tpart")
		tail(true)
		Label(pre + "exp_end")
	}
	if d.Size == 4 {
		HSumPD(sum)
	}
	return sum
}

// VPCMPD's predicates "equal" and "not equal".
const (
	cmpEQ = 0
	cmpNE = 4
)

// finiteOr jumps to bail unless lane 0 of x (type d) is finite.
func (r *row) finiteOr(x Op, bail string) {
	bits := GP64()
	if r.d.Size == 4 {
		VMOVD(x, bits.As32())
		ANDL(U32(0x7f800000), bits.As32())
		CMPL(bits.As32(), U32(0x7f800000))
	} else {
		VMOVQ(x, bits)
		SHRQ(U8(52), bits)
		ANDL(U32(0x7ff), bits.As32())
		CMPL(bits.As32(), U32(0x7ff))
	}
	JE(LabelRef(bail))
}

// kahanAdd adds v into the compensated sum (s, c): true sum = s - c.
func kahanAdd(s, c, v VecVirtual) {
	VSUBPD(c, v, v) // y = v - c
	t := like(s)
	VADDPD(v, s, t) // t = s + y
	VSUBPD(s, t, c) // c = (t - s)
	VSUBPD(v, c, c) // c = (t - s) - y
	VMOVAPD(t, s)
}

func like(v VecVirtual) VecVirtual {
	if v.Size() == 64 {
		return ZMM()
	}
	return YMM()
}

// scalePass emits ds[j] *= k over the row at out whose tail's e waits in
// etail.
func (r *row) scalePass(pre string, out Register, k VecVirtual, etail Mem) {
	d := r.d
	Comment("Scale pass: ds = e * g/Z.")
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(out, ptr)
	Loop(pre+"scale", n, r.lanes, scaleUnroll, func(u int) {
		for i := 0; i < u; i++ {
			x := r.isa.Vec()
			d.MUL(Mem{Base: ptr, Disp: r.vb * i}, k, x)
			d.MOVU(x, Mem{Base: ptr, Disp: r.vb * i})
		}
		ADDQ(U32(r.vb*u), ptr)
	}, func() {
		x := r.isa.Vec()
		d.MUL(etail, k, x)
		r.mask.Store(x, Mem{Base: ptr})
	})
}

// zeroRow emits ds = 0 over the row at out.
func (r *row) zeroRow(pre string, out Register) {
	n, ptr := GP64(), GP64()
	MOVQ(r.cols, n)
	MOVQ(out, ptr)
	z := r.isa.Vec()
	VXORPS(z, z, z)
	Loop(pre+"zero", n, r.lanes, scaleUnroll, func(u int) {
		for i := 0; i < u; i++ {
			r.d.MOVU(z, Mem{Base: ptr, Disp: r.vb * i})
		}
		ADDQ(U32(r.vb*u), ptr)
	}, func() {
		r.mask.Store(z, Mem{Base: ptr})
	})
}

// storeNaN writes NaN to the result at mem: the row for the caller's slow
// path.
func (r *row) storeNaN(mem Mem) {
	x := XMM()
	r.d.MOVS(r.p.Of(r.d, "nan", math.NaN()), x)
	r.d.MOVS(x, mem)
}

// storeResult writes the float64 in lane 0 of x to mem as F.
func (r *row) storeResult(x VecVirtual, mem Mem) {
	if r.d.Size == 4 {
		VCVTSD2SS(x, x, x)
		VMOVSS(x, mem)
		return
	}
	VMOVSD(x, mem)
}

// toF64 returns lane 0 of x (type F) as a float64 in a new XMM.
func (r *row) toF64(x Op) VecVirtual {
	y := XMM()
	switch {
	case r.d.Size == 4:
		VXORPD(y, y, y)
		VCVTSS2SD(x, y, y)
	case IsMem(x):
		VMOVSD(x, y)
	default:
		VMOVAPD(x, y)
	}
	return y
}

func logSumExp(p *Pool, isa ISA, d DType) {
	name := "LogSumExp" + d.Name + isa.Name
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src []%s, cols int)", d.Go))
	Pragma("noescape")
	Doc(name+" sets dst[r] = log(sum_j exp(src[r,j])) for each row r;",
		"len(dst) is the number of rows, cols >= 1. A row whose max is not",
		"finite, or that holds a NaN, gets NaN: the caller's to redo.")
	p.BeginWith(BaseFor(isa))
	dstp := Load(Param("dst").Base(), GP64())
	srcp := Load(Param("src").Base(), GP64())
	rows := Load(Param("dst").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	r := newRow(p, isa, d, cols)
	next := r.nextOffset()
	CMPQ(cols, U32(r.groupCols()))
	JA(LabelRef("row"))
	r.groupLogSumExpRows(srcp, dstp, rows, "done")

	Label("row")
	TESTQ(rows, rows)
	JE(LabelRef("done"))
	m, span := r.maxPass("", srcp, "special", nil)
	var sum VecVirtual
	if d.Size == 8 {
		sum = r.lseLongExpF64("", srcp, m, next)
	} else {
		sum = r.lseLongExpF32("", srcp, m, span, next)
	}
	Comment("max + log(sum); a NaN sum stays NaN.")
	s := XMM()
	VMOVAPD(sum.AsX(), s)
	LogPD(p, s, logTerms(d))
	VADDSD(r.toF64(m.AsX()), s, s)
	r.storeResult(s, Mem{Base: dstp})
	Label("next")
	r.next([]Register{srcp}, dstp, nil)
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("special")
	r.storeNaN(Mem{Base: dstp})
	JMP(LabelRef("next"))

	Label("done")
	VZEROUPPER()
	RET()
}

func crossEntropy(p *Pool, isa ISA, d DType) {
	name := "CrossEntropy" + d.Name + isa.Name
	sig := fmt.Sprintf("func(loss, ds, logits []%s, labels []int32, cols int, gradScale %s)", d.Go, d.Go)
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" computes the loss -LogSoftmax(row)[t] of each row of logits",
		"with target t = labels[r] and, unless ds is empty, ds = gradScale *",
		"(Softmax(row) - onehot(t)); ds may be logits. A negative label: loss 0",
		"and a zero ds row. A row whose max is not finite, or that holds a NaN,",
		"gets loss NaN and its ds row untouched or NaN: the caller's to redo.")
	Comment("A function for each part of the row paths (rowsPart, by cols),",
		"with ds or the loss alone (the same arithmetic), entered by a tail",
		"jump with the arguments where they are: avo's register allocation",
		"takes time quadratic in a function's length.")
	cols := Load(Param("cols"), GP64())
	dsn := Load(Param("ds").Len(), GP64())
	r := &row{isa: isa, d: d, lanes: d.Lanes(isa.VB)}
	parts := r.rowsParts()
	for i, part := range parts {
		next := fmt.Sprintf("part%d", i+1)
		if i < len(parts)-1 {
			CMPQ(cols, U32(part.cols(r)))
			JA(LabelRef(next))
		}
		grad, loss := "crossEntropyGrad"+part.name()+d.Name+isa.Name, "crossEntropyLoss"+part.name()+d.Name+isa.Name
		TESTQ(dsn, dsn)
		JE(LabelRef("loss" + part.name()))
		tailJump(grad)
		Label("loss" + part.name())
		tailJump(loss)
		if i < len(parts)-1 {
			Label(next)
		}
	}
	for _, part := range parts {
		for _, withDS := range []bool{true, false} {
			crossEntropyRows(p, isa, d, sig, part, withDS)
		}
	}
}

// rowsPart is a part of CrossEntropy's row paths, by row length, one
// function each: a kind of path and, for the resident kinds, the row
// lengths it takes, in vectors (first to last).
type rowsPart struct {
	kind        partKind
	first, last int
}

// partKind is a kind of row path.
type partKind int

const (
	partResident partKind = iota // rows held in registers (float32: or a stack block)
	partScratch                  // float64: the resident rows through the scratch block
	partGroup                    // AVX-512 float32: eight at a time, read twice
	partMid                      // four (float32) or two (float64) at a time
	partLong                     // longer rows, one at a time
)

// rowsParts returns CrossEntropy's parts, shortest rows first. The
// float64 resident rows are split by length (resScratchParts), so that no
// function is long: avo's register allocation takes time quadratic in a
// function's length.
func (r *row) rowsParts() []rowsPart {
	switch {
	case r.xgroupOK():
		return []rowsPart{{kind: partResident, first: 1, last: r.resMaxVecs()}, {kind: partGroup}, {kind: partMid}, {kind: partLong}}
	case r.xres64OK():
		parts := []rowsPart{{kind: partResident, first: 1, last: r.resHeldVecs()}}
		for _, fl := range r.resScratchParts() {
			parts = append(parts, rowsPart{kind: partScratch, first: fl[0], last: fl[1]})
		}
		return append(parts, rowsPart{kind: partMid}, rowsPart{kind: partLong})
	}
	return []rowsPart{{kind: partResident, first: 1, last: r.resMaxVecs()}, {kind: partMid}, {kind: partLong}}
}

// name is the part's name in its functions' names.
func (p rowsPart) name() string {
	if p.kind == partScratch {
		return fmt.Sprintf("Scratch%d", p.first)
	}
	return [...]string{"Resident", "Scratch", "Group", "Mid", "Long"}[p.kind]
}

// what says which rows the part takes, for its functions' docs.
func (p rowsPart) what() string {
	switch p.kind {
	case partResident:
		return "the resident paths' rows"
	case partScratch:
		return fmt.Sprintf("the resident rows of %d to %d vectors, through the scratch block", p.first, p.last)
	case partGroup:
		return "the eight-row looped path's rows"
	case partMid:
		return "the four-row or the pair path's rows"
	}
	return "longer rows"
}

// cols is the longest row of the part.
func (p rowsPart) cols(r *row) int {
	switch p.kind {
	case partResident, partScratch:
		return p.last * r.lanes
	case partGroup:
		return xgroupVecs * r.lanes
	case partMid:
		if r.xquadOK() {
			return r.xquadCols()
		}
		return r.shortCols()
	}
	return math.MaxInt32
}

// tailJump emits a jump to the function name, which takes the same
// arguments: from a function without a frame, a tail call.
func tailJump(name string) {
	Instruction(&ir.Instruction{Opcode: "JMP", Operands: []Op{Mem{Symbol: Symbol{Name: "·" + name}, Base: StaticBase}}, IsTerminal: true})
}

// crossEntropyRows emits the function (signature sig) that runs the part
// of CrossEntropy's row paths with ds (withDS) or for the loss alone.
func crossEntropyRows(p *Pool, isa ISA, d DType, sig string, part rowsPart, withDS bool) {
	name, what := "crossEntropyLoss"+part.name()+d.Name+isa.Name, "the loss alone"
	if withDS {
		name, what = "crossEntropyGrad"+part.name()+d.Name+isa.Name, "the loss and ds"
	}
	// The four-row path's two blocks (xquadVals), and the float64
	// resident path's scratch block, take more stack than a NOSPLIT
	// function may: those grow the stack when they must.
	var flags attr.Attribute = NOSPLIT
	if xquadFor(isa, d) || xres64ScratchFor(d) {
		flags = 0
	}
	TEXT(name, flags, sig)
	Pragma("noescape")
	Doc(name + " is CrossEntropy" + d.Name + isa.Name + " for " + what + ", " + part.what() + ".")
	p.BeginWith(BaseFor(isa))
	lossp := Load(Param("loss").Base(), GP64())
	dsp := Load(Param("ds").Base(), GP64())
	srcp := Load(Param("logits").Base(), GP64())
	labp := Load(Param("labels").Base(), GP64())
	rows := Load(Param("labels").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	r := newRow(p, isa, d, cols)
	et := AllocLocal(8) // e_t, in float64
	st := AllocLocal(8) // s_t, read before ds (maybe logits) is written
	var etail Mem       // the tail's e (see expPass.out)
	var loc xquadLocals
	if r.xquadOK() {
		loc = xquadLocals{bufs: AllocLocal(2 * xquadValsBytes), cur: AllocLocal(8), pend: AllocLocal(8), pending: AllocLocal(8), tmp: AllocLocal(16)}
		if !isa.AVX512 {
			loc.bc = AllocLocal(xquadBcBytes)
		}
		etail = loc.bufs // the paths never run at once
	} else {
		etail = AllocLocal(isa.VB)
	}
	next := r.nextOffset()

	x := xentRows{row: r, part: part, pre: "d_", withDS: true, next: next, lossp: lossp, dsp: dsp, srcp: srcp, labp: labp, rows: rows, st: st, et: et, etail: etail}
	if part.kind == partLong {
		x.etv = AllocLocal(isa.VB)
	}
	if r.xresOK() {
		if isa.AVX512 {
			x.resLoc = xresLocals{tmp: AllocLocal(32), left: AllocLocal(8), pend: AllocLocal(3 * 64), pending: AllocLocal(8), scratch: AllocLocal(xresRows*xresVecs*64 + 64),
				hold: AllocLocal(2 * 64), sums: AllocLocal(xresRows * 64)}
		} else {
			x.resLoc = xresLocals{tmp: AllocLocal(32), left: AllocLocal(8), pend: AllocLocal(3 * 64), pending: AllocLocal(8), hold: AllocLocal(64), scratch: AllocLocal(xres2Rows*xres2ReloadVecs*32 + 64)}
		}
	}
	if r.xres64OK() {
		x.resLoc = xresLocals{tmp: AllocLocal(64), left: AllocLocal(8), hold: AllocLocal(3 * isa.VB)}
		if !isa.AVX512 {
			x.resLoc.pend, x.resLoc.pending = AllocLocal(3*64), AllocLocal(8)
		}
		x.resLoc.scratch = AllocLocal(r.groupRows()*r.resMaxVecs()*isa.VB + 64)
	}
	if r.xquadOK() {
		x.quadLoc = loc
	} else if r.shortXentOK() {
		x.sts = []Mem{st, AllocLocal(8)}
		x.ets = []Mem{et, AllocLocal(8)}
		x.etails = []Mem{etail, AllocLocal(isa.VB)}
		if !isa.AVX512 {
			x.mtmp = AllocLocal(2 * isa.VB)
		}
	}
	if !withDS {
		x.pre, x.withDS = "l_", false
	}
	x.emit()

	Label("done")
	VZEROUPPER()
	RET()
}

// xentRows emits CrossEntropy's row loop, with ds or without.
type xentRows struct {
	*row
	part                         rowsPart
	pre                          string
	withDS                       bool
	lossp, dsp, srcp, labp, rows Register
	st, et, etail                Mem
	etv                          Mem   // the long rows' target vector's e (expPass.etv)
	block                        Mem   // the resident rows' scratch block, aligned (resScratch)
	sts, ets, etails             []Mem // the short path's, by slot
	mtmp                         Mem   // the short path's maxima (AVX2)
	quadLoc                      xquadLocals
	resLoc                       xresLocals
	next                         Register
}

func (x *xentRows) emit() {
	r, d, pre := x.row, x.d, x.pre
	Label(pre + "start")
	switch x.part.kind {
	case partResident, partScratch:
		x.resRows(pre+"r", x.resLoc, "done")
	case partGroup:
		x.xgroupRows(pre+"x", x.resLoc, "done")
	case partMid:
		x.midRows()
	}
	if x.part.kind != partLong {
		Comment("Longer rows are not this function's (see rowsPart.cols).")
		JMP(LabelRef("done"))
		return
	}
	Label(pre + "row")
	TESTQ(x.rows, x.rows)
	JE(LabelRef("done"))
	t := GP64()
	MOVLQSX(Mem{Base: x.labp}, t)
	TESTQ(t, t)
	JS(LabelRef(pre + "ignored"))

	m, span := r.maxPass(pre, x.srcp, pre+"special", &maxTarget{t: t, st: x.st})
	e := expPass{target: t, zero: true, next: x.next, etv: x.etv}
	if x.withDS {
		e.out, e.etail = x.dsp, x.etail
	}
	o := XMM() // O
	VMOVAPD(r.expPasses(pre, x.srcp, m, span, e).AsX(), o)
	Comment("e_t = exp(s_t - max): the target's lane of its vector's e, as the",
		"exp pass left it.")
	l := GP64()
	MOVQ(t, l)
	ANDQ(U32(r.lanes-1), l)
	et := x.etv
	et.Index, et.Scale = l, uint8(d.Size)
	VMOVSD(r.toF64(et), x.et)
	z := r.xentLoss(pre, o, x.et, x.st, m.AsX(), Mem{Base: x.lossp})
	if x.withDS {
		kv, dt := r.dsScale(o, z)
		r.scalePass(pre, x.dsp, kv, x.etail)
		r.storeResult(dt, Mem{Base: x.dsp, Index: t, Scale: uint8(d.Size)})
	}
	Label(pre + "next")
	ptrs := x.rowPtrs()
	r.next(ptrs, x.lossp, x.labp)
	DECQ(x.rows)
	JMP(LabelRef(pre + "row"))

	x.rowExits(pre, "An ignored row: loss 0, ds 0, the logits not read.")
}

// midRows emits the rows of partMid: float32 four at a time (xquad.go),
// float64 two at a time (short.go).
func (x *xentRows) midRows() {
	r, pre := x.row, x.pre
	if !r.xquadOK() {
		x.shortRows(pre+"s", "done")
		return
	}
	Comment("Rows of up to xquadSpanVecs vectors: no fast exp pass, so no min.")
	CMPQ(r.cols, U32(xquadSpanVecs*r.lanes))
	JA(LabelRef(pre + "wide"))
	x.quadRows(pre+"n", false, x.quadLoc, "done")
	Label(pre + "wide")
	x.quadRows(pre+"w", true, x.quadLoc, "done")
}

// rowPtrs returns the pointers that move on a row at a time with the
// losses and labels: the logits and, with ds, ds.
func (x *xentRows) rowPtrs() []Register {
	ptrs := []Register{x.srcp}
	if x.withDS {
		ptrs = append(ptrs, x.dsp)
	}
	return ptrs
}

// rowExits emits where a row jumps when it is ignored (pre+"ignored":
// loss 0, ds 0; comment, if any, said there) or the caller's
// (pre+"special": loss NaN); both go on at pre+"next".
func (x *xentRows) rowExits(pre string, comment ...string) {
	r, d := x.row, x.d
	Label(pre + "ignored")
	if len(comment) > 0 {
		Comment(comment...)
	}
	if d.Size == 4 {
		MOVL(U32(0), Mem{Base: x.lossp})
	} else {
		MOVQ(U32(0), Mem{Base: x.lossp})
	}
	if x.withDS {
		r.zeroRow(pre, x.dsp)
	}
	JMP(LabelRef(pre + "next"))
	Label(pre + "special")
	r.storeNaN(Mem{Base: x.lossp})
	JMP(LabelRef(pre + "next"))
}

// log1p emits x = ln(1 + x) for x >= 0 (NaN: NaN) in lane 0, relative to
// the result even for tiny x, as fallback's log1p64: above 0.4 the log of
// 1 + x, else 2 atanh(f) with f = x/(2 + x) <= 1/6, an odd series up to
// f^25.
func log1p(p *Pool, pre string, x VecVirtual, d DType) {
	VUCOMISD(p.F64("l1p_04", 0.4), x)
	JHI(LabelRef(pre + "l1p_big"))
	f, f2, s := XMM(), XMM(), XMM()
	VADDSD(p.F64("two64", 2), x, f)
	VDIVSD(f, x, f) // f = x/(2+x)
	VMULSD(f, f, f2)
	VMOVSD(p.F64("l1p_c25", 1.0/25), s)
	for k := 23; k >= 3; k -= 2 {
		VFMADD213SD(p.F64(fmt.Sprintf("l1p_c%d", k), 1/float64(k)), f2, s)
	}
	VMULSD(f2, s, s)
	VADDSD(f, f, f)      // 2f
	VFMADD213SD(f, f, s) // 2f + 2f*f2*s
	VMOVAPD(s, x)
	JMP(LabelRef(pre + "l1p_done"))
	Label(pre + "l1p_big")
	VADDSD(p.F64("one64", 1), x, x)
	LogPD(p, x, logTerms(d))
	Label(pre + "l1p_done")
}

// xentLoss emits the loss of a row from O (o, float64), e_t (et, float64)
// s_t (st, F) and the max (lane 0 of m, F), stores it to loss as F, and
// returns Z = e_t + O.
func (r *row) xentLoss(pre string, o VecVirtual, etm, st Mem, m Op, loss Mem) VecVirtual {
	p, d := r.p, r.d
	et := XMM()
	VMOVSD(etm, et)
	z := XMM()
	VADDSD(o, et, z) // Z = e_t + O
	Comment("loss = log1p(O/e_t) when e_t >= 1/2 (p_t near 1: the loss may be",
		"tiny), else log(Z) - (s_t - max), two positive terms. NaN takes the",
		"second.")
	l := XMM()
	VUCOMISD(p.F64("half64", 0.5), et)
	JCS(LabelRef(pre + "logz"))
	q := XMM()
	VDIVSD(et, o, q)
	log1p(p, pre, q, d)
	VMOVAPD(q, l)
	JMP(LabelRef(pre + "lossdone"))
	Label(pre + "logz")
	lz := XMM()
	VMOVAPD(z, lz)
	LogPD(p, lz, logTerms(d))
	dt := r.toF64(st) // s_t - max exactly, in float64
	VSUBSD(r.toF64(m), dt, dt)
	VSUBSD(dt, lz, l)
	Label(pre + "lossdone")
	r.storeResult(l, loss)
	return z
}

// dsScale returns g/Z in F, broadcast (the scale pass's factor), and
// ds[t] = -g * (O/Z) in lane 0 of an XMM (float64, for storeResult):
// minus the other entries' share.
func (r *row) dsScale(o, z VecVirtual) (kv, dt VecVirtual) {
	p, d := r.p, r.d
	inv, g := XMM(), XMM()
	VMOVSD(p.F64("one64", 1), inv)
	VDIVSD(z, inv, inv) // 1/Z
	gs := Load(Param("gradScale"), XMM())
	if d.Size == 4 {
		VXORPD(g, g, g)
		VCVTSS2SD(gs, g, g)
	} else {
		VMOVAPD(gs, g)
	}
	k := XMM()
	VMULSD(inv, g, k) // g/Z
	if d.Size == 4 {
		VCVTSD2SS(k, k, k)
	}
	kv = r.isa.Vec()
	d.BCAST(k, kv)
	dt = XMM()
	VMULSD(inv, o, dt)
	VMULSD(g, dt, dt)
	VXORPD(p.F64("signbit64", math.Copysign(0, -1)), dt, dt)
	return kv, dt
}

// broadcastGP sets every lane of v (d's lane width) to the integer in g.
// Only AVX-512 broadcasts from a general register (an EVEX form); AVX2
// goes through an XMM register.
func broadcastGP(isa ISA, d DType, g GPVirtual, v VecVirtual) {
	var from Op = g.As32()
	if !isa.AVX512 {
		x := XMM()
		VMOVQ(g, x)
		from = x
	} else if d.Size == 8 {
		from = g
	}
	if d.Size == 4 {
		VPBROADCASTD(from, v)
	} else {
		VPBROADCASTQ(from, v)
	}
}

// beforeTarget sets n to the columns before the vector that holds column t:
// the count of the loop that runs up to it.
func (r *row) beforeTarget(t, n Register) {
	MOVQ(t, n)
	ANDQ(I32(-r.lanes), n)
}

// fromTarget sets n to the columns from the start of that vector to the
// row's end: a whole vector or more, or only the row's tail.
func (r *row) fromTarget(t, n Register) {
	r.beforeTarget(t, n)
	NEGQ(n)
	ADDQ(r.cols, n)
}
