// Rows of one to a few vectors: straight-line, software-pipelined code.

package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// rowTail says whether a medium row ends in a partial vector after its
// whole ones.
type rowTail int

const (
	noTail   rowTail = iota // nv whole vectors
	withTail                // nv whole vectors and a partial one
)

// mediumLabel is the label of mediumRows' loop for rows of nv whole
// vectors and tail.
func mediumLabel(nv int, tail rowTail) string {
	if tail == withTail {
		return fmt.Sprintf("medium%dTail", nv)
	}
	return fmt.Sprintf("medium%d", nv)
}

// medSet is the register set of one row in the medium path: -e broadcast,
// and the vectors of p and dp that pass 2 reuses (nil: reload from memory).
// The last entry of p and dp is the whole vector that ends the row.
type medSet struct {
	ne    VecVirtual
	p, dp []VecVirtual
}

// depth is the number of rows whose pass 1 runs ahead of pass 2 in the
// medium path: mediumDepth, or none where that is what lets p or dp stay
// in registers for pass 2 (on AVX2, rows of 2 to 4 vectors and a tail keep
// p; rows of 5 to 8 and a tail, or of 6 to 8 whole vectors, keep dp):
// rereading them cost more than the overlap of rows, which the core finds
// by itself across the loop (bench/TUNING.md).
func (g *gen) depth(nv int, tail rowTail) int {
	if !g.pipelined(nv, tail) {
		return 0
	}
	n := g.setVectors(nv, tail)
	if (!g.keepP(n, mediumDepth, tail) && g.keepP(n, 0, tail)) ||
		(!g.keepDP(n, mediumDepth) && g.keepDP(n, 0)) {
		return 0
	}
	return mediumDepth
}

// pipelined says whether the medium loop for rows of nv whole vectors (and
// a partial one, withTail) may be software-pipelined (see depth). Where
// the pipelined copy did not win a paired benchmark by more than 3% it is
// folded into the plain loop, a third of its code: AVX-512 SoftmaxBackward
// (and the scaled form) rows of more than pipelinedVecs whole vectors. The
// AVX2 kernels and the Add forms keep it (bench/TUNING.md).
func (g *gen) pipelined(nv int, tail rowTail) bool {
	if !g.AVX512 || g.adds() {
		return true
	}
	return nv <= pipelinedVecs
}

// setVectors is the number of vectors of p (and of dp) a row reads.
func (g *gen) setVectors(nv int, tail rowTail) int {
	if tail == withTail {
		return nv + 1
	}
	return nv
}

// Register budgets of the medium path: the vector registers its sets (p,
// dp and -e of the rows in flight) may take, the rest of the 16 (AVX2) or
// 32 (AVX-512) left to the temporaries of the lane sums and pass 2, and in
// a scaled kernel to the scale. newMedSet panics when a set would exceed
// it, and each medium loop states its use in the .s.
const (
	mediumSetRegsYMM = 16 - 4
	mediumSetRegsZMM = 32 - 6
)

// budget is the number of vector registers the sets of the medium path
// may take: mediumSetRegsYMM or mediumSetRegsZMM.
func (g *gen) budget() int {
	if g.AVX512 {
		return mediumSetRegsZMM
	}
	return mediumSetRegsYMM
}

// keepP says whether depth+1 sets of n vectors keep p (and dp) in
// registers: only for rows with a partial vector (saving a reload of the
// overlapping row-ending vector); for whole vectors the memory operands of
// pass 1 and 2 take fewer instructions, which was faster.
func (g *gen) keepP(n, depth int, tail rowTail) bool {
	return (g.AVX512 || tail == withTail) && (2*n+1)*(depth+1) <= g.budget()
}

// keepDP says whether depth+1 sets of n vectors keep dp in registers.
func (g *gen) keepDP(n, depth int) bool {
	return (n+1)*(depth+1) <= g.budget()
}

func (g *gen) newMedSet(nv int, tail rowTail, depth int) *medSet {
	n := g.setVectors(nv, tail)
	s := &medSet{ne: g.Vec(), p: make([]VecVirtual, n), dp: make([]VecVirtual, n)}
	// Keep inputs in registers for pass 2 where the depth+1 sets fit beside
	// a few temporaries: dp and p, else dp alone, else neither (reload).
	keepP := g.keepP(n, depth, tail)
	keepDP := g.keepDP(n, depth)
	used := 1
	if keepP {
		used += n
	}
	if keepDP {
		used += n
	}
	if used*(depth+1) > g.budget() {
		panic(fmt.Sprintf("%s: medium rows of %d vectors: %d sets of %d registers exceed the budget of %d",
			g.name(), n, depth+1, used, g.budget()))
	}
	g.setRegs = used * (depth + 1)
	for k := 0; k < n; k++ {
		if keepP {
			s.p[k] = g.Vec()
		}
		if keepDP {
			s.dp[k] = g.Vec()
		}
	}
	return s
}

// mediumRows handles rows of nv whole vectors, plus a partial one withTail,
// in straight-line code, software-pipelined: each iteration runs
// pass 1 of the next row and pass 2 of the current one, so the pass-2
// instructions enter the scheduler when their e is nearly ready, and pass 2
// works on the registers pass 1 loaded (two register sets, alternating, so
// the loop is unrolled twice); at depth 0 (see depth) each iteration runs
// both passes of one row. The products of a row are summed in one vector,
// or more from 6 vectors on (at most five products per lane in a chain: a
// few ulps of sum_j |p*dp|), and then across lanes (float32 in float32). The partial vector is read as the whole vector that ends the
// row, its lanes already counted masked off in pass 1; pass 2 computes it
// before storing anything of the row and stores it after the vectors it
// overlaps, with the same values. A row only touches its own elements, so
// pass 1 of a row may run before pass 2 of the previous one with aliasing.
// The AVX-512 SoftmaxBackward prefetches the ds of the row after next, as
// quadMedium does: stores to lines not in L1 stall the loop (the AVX2
// kernels gained nothing, the Add forms read ds anyway; bench/TUNING.md).
func (g *gen) mediumRows(nv int, tail rowTail, rowBytes, tailOff, end Register) {
	name := mediumLabel(nv, tail)
	D := g.depth(nv, tail)
	sets := make([]*medSet, D+1)
	for k := range sets {
		sets[k] = g.newMedSet(nv, tail, D)
	}
	Label(name)
	Comment(fmt.Sprintf("Register budget: %d sets take %d of the %d vector registers the medium path allows.",
		D+1, g.setRegs, g.budget()))
	g.rowOff = make([]Register, D+2)
	g.rowOff[1] = g.step
	for k := 2; k <= D+1; k++ {
		r := GP64()
		LEAQ(Mem{Base: g.rowOff[k-1], Index: g.step, Scale: 1}, r)
		g.rowOff[k] = r
	}
	// endOff[k]: from the row at p to the end of the row k on, where the
	// next one starts.
	g.endOff = g.rowOff[1:]
	advance := func() { g.nextRow() }
	if D == 0 {
		Label(name + "Loop")
		g.mediumSum(nv, tail, 0, sets[0])
		g.mediumStore(nv, tail, tailOff, sets[0])
		advance()
		CMPQ(g.p, end)
		JB(LabelRef(name + "Loop"))
		JMP(LabelRef("done"))
		return
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
func (g *gen) mediumSum(nv int, tail rowTail, ahead int, set *medSet) {
	at := func(b Register, k int) Mem {
		m := Mem{Base: b, Disp: k * g.VB}
		if ahead > 0 {
			m.Index, m.Scale = g.rowOff[ahead], 1
		}
		return m
	}
	fnmadd := VFNMADD231PS
	if g.dt.Size == 8 {
		fnmadd = VFNMADD231PD
	}
	// A scaled kernel sums +e, the first product of each accumulator by a
	// plain product rather than into a zeroed register: that saves an
	// instruction (these rows are bound by the instruction count), and
	// pass 2 takes the +e form with p scaled (mediumStore).
	first := map[VecVirtual]bool{}
	if g.form == scaled {
		fnmadd = g.dt.FMA231
	}
	// operand returns the register of set (loaded) or the memory operand.
	operand := func(r VecVirtual, m Mem) Op {
		if r == nil {
			return m
		}
		g.dt.MOVU(m, r)
		return r
	}
	m := set.ne // summed in place: a copy into set.ne became a self-move
	zero := func(m VecVirtual) {
		if g.form == scaled {
			first[m] = true
			return
		}
		VXORPS(m, m, m)
	}
	zero(m)
	// Rows of more than 5 vectors take turns between accumulators, so no
	// lane adds more than 5 products in a chain (see the error bound).
	acc := []VecVirtual{m}
	for len(acc)*5 < g.setVectors(nv, tail) {
		m2 := g.Vec()
		zero(m2)
		acc = append(acc, m2)
	}
	for k := 0; k < nv; k++ {
		m := acc[k%len(acc)]
		pk := operand(set.p[k], at(g.p, k))
		d := set.dp[k]
		if d == nil {
			d = g.Vec()
		}
		g.dt.MOVU(at(g.dp, k), d)
		if first[m] {
			g.dt.MUL(pk, d, m)
			first[m] = false
			continue
		}
		fnmadd(pk, d, m) // m -= p*dp
	}
	if tail == withTail {
		m := acc[nv%len(acc)]
		if first[m] {
			panic("medium rows: the partial vector would start a sum")
		}
		// The whole vector that ends the row, less the lanes counted above.
		win := func(b Register) Mem { return Mem{Base: b, Index: g.endOff[ahead], Scale: 1, Disp: -g.VB} }
		pw := operand(set.p[nv], win(g.p))
		d := set.dp[nv]
		if d == nil {
			d = g.Vec()
		}
		g.dt.MOVU(win(g.dp), d)
		if g.AVX512 {
			fnmadd(pw, d, g.kLast, m)
		} else {
			// Zero both factors, so that an Inf or NaN already counted
			// does not come back as Inf*0.
			dm, pm := g.Vec(), g.Vec()
			andn := VANDNPS
			if g.dt.Size == 8 {
				andn = VANDNPD
			}
			andn(d, g.vFirst, dm)
			andn(pw, g.vFirst, pm)
			fnmadd(pm, dm, m)
		}
	}
	g.addTree(acc) // into acc[0], which is m
	// Across lanes in the element type: float64 lane sums cost more than
	// the bound needs (bench/TUNING.md).
	g.allSum(m, g.elemLanes())
}

// mediumStore runs pass 2 of the row at p with the registers of set.
func (g *gen) mediumStore(nv int, tail rowTail, tailOff Register, set *medSet) {
	saved := g.ne
	g.ne = set.ne
	defer func() { g.ne = saved }()
	at := func(b Register, k int) Mem { return Mem{Base: b, Disp: k * g.VB} }
	last := func(b Register) Mem { return Mem{Base: b, Index: tailOff, Scale: 1} }
	pick := func(r VecVirtual, m Mem) Op {
		if r == nil {
			return m
		}
		return r
	}
	if g.AVX512 && !g.adds() {
		Comment("ds of the row after next into L1 (see mediumRows).")
		for off := 0; off < g.setVectors(nv, tail)*g.VB; off += 64 {
			PREFETCHT0(Mem{Base: g.ds, Index: g.step, Scale: 2, Disp: off})
		}
	}
	// A scaled kernel's set holds +e (mediumSum): out's short-row form
	// with p scaled, (scale*p)*(dp - e) (it reads no ds), whose product by
	// scale waits only on p, off the chain from e to the store.
	sign := negE
	if g.form == scaled {
		sign = posE
	}
	var held VecVirtual
	if tail == withTail {
		held = g.out(pick(set.p[nv], last(g.p)), pick(set.dp[nv], last(g.dp)), last(g.ds), sign, keep)
	}
	rs := make([]VecVirtual, nv)
	for k := range rs {
		rs[k] = g.out(pick(set.p[k], at(g.p, k)), pick(set.dp[k], at(g.dp, k)), at(g.ds, k), sign, keep)
	}
	for k := range rs {
		g.dt.MOVU(rs[k], at(g.ds, k))
	}
	if tail == withTail {
		g.dt.MOVU(held, last(g.ds))
	}
}
