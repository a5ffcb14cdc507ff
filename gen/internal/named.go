package internal

import (
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Named forms of the flag arguments of HoldExpF64, HoldExpF32, Tree4 and
// Pool.Begin/Within, so that a call says what it asks for. Each wraps the
// function it names and emits exactly what that function emits.

// ExpF64Splats names the float64 exp cores whose splats HoldExpF64Of
// holds; or them together for both.
type ExpF64Splats int

const (
	ExpF64CoreSplats    ExpF64Splats = 1 << iota // ExpF64Core's (HoldExpF64's full)
	ExpSoftmaxF64Splats                          // ExpSoftmaxF64Core's (HoldExpF64's softmax)
)

// HoldAll is the room of a hold that keeps every splat it names.
const HoldAll = -1

// HoldExpF64Of is HoldExpF64 for the cores in set, at most room splats
// (HoldAll: every one).
func HoldExpF64Of(p *Pool, set ExpF64Splats, room int) {
	HoldExpF64(p, set&ExpF64CoreSplats != 0, set&ExpSoftmaxF64Splats != 0, room)
}

// Ln2Form is how the float32 table exp reduces r = x - k*ln2 (see
// expF32Table's oneLn2).
type Ln2Form int

const (
	Ln2HiLo Ln2Form = iota // two FMAs, ln2 split in hi and lo parts (HoldExpF32's oneLn2 false)
	Ln2One                 // one FMA, ln2 rounded to float32: the softmax cores' (oneLn2 true)
)

// HoldExpF32For is HoldExpF32 for the exp whose reduction takes form.
func HoldExpF32For(p *Pool, isa ISA, form Ln2Form) {
	HoldExpF32(p, isa, form == Ln2One)
}

// Tree4Of is Tree4 over lanes of type d: Float32 (Tree4's f32) or Float64.
func Tree4Of(d DType, rows []VecVirtual, op func(...Op)) VecVirtual {
	return Tree4(rows, op, d.Size == 4)
}

// SplatBase is how a function reads the pool's splats (see Pool.Begin).
type SplatBase int

const (
	SymbolBase  SplatBase = iota // from the symbol: no register (Begin's zmm false)
	AlignedBase                  // through a base register rounded up to 64 bytes, for ZMM loads (zmm true)
)

// BeginWith is Begin with the base named.
func (p *Pool) BeginWith(b SplatBase) { p.Begin(b == AlignedBase) }

// WithinBase is Within with the base named.
func (p *Pool) WithinBase(b SplatBase, body func()) { p.Within(b == AlignedBase, body) }

// BaseFor is the base isa's vectors read splats through: AlignedBase for
// ZMM, SymbolBase for YMM.
func BaseFor(isa ISA) SplatBase {
	if isa.AVX512 {
		return AlignedBase
	}
	return SymbolBase
}
