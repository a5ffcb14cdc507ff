package internal

import (
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The generators' entry points to the exp holds, the four-row tree, the
// table exp and the pool's base, their options named so that a call says
// what it asks for. Each wraps the unexported function that takes them as
// flags and emits exactly what it emits.

// ExpF64Splats names the float64 exp cores whose splats HoldExpF64Of
// holds; or them together for both.
type ExpF64Splats int

const (
	ExpF64CoreSplats    ExpF64Splats = 1 << iota // ExpF64Core's (holdExpF64's full)
	ExpSoftmaxF64Splats                          // ExpSoftmaxF64Core's (holdExpF64's softmax)
)

// HoldAll is the room of a hold that keeps every splat it names.
const HoldAll = -1

// HoldExpF64Of keeps the splats of the cores in set in registers (holdExpF64), at most room splats
// (HoldAll: every one).
func HoldExpF64Of(p *Pool, set ExpF64Splats, room int) {
	holdExpF64(p, set&ExpF64CoreSplats != 0, set&ExpSoftmaxF64Splats != 0, room)
}

// Ln2Form is how the float32 table exp reduces r = x - k*ln2 (see
// expF32Table's oneLn2).
type Ln2Form int

const (
	Ln2HiLo Ln2Form = iota // two FMAs, ln2 split in hi and lo parts (holdExpF32's oneLn2 false)
	Ln2One                 // one FMA, ln2 rounded to float32: the softmax cores' (oneLn2 true)
)

// HoldExpF32For keeps the table and splats of the float32 exp whose
// reduction takes form in registers (holdExpF32).
func HoldExpF32For(p *Pool, isa ISA, form Ln2Form) {
	holdExpF32(p, isa, form == Ln2One)
}

// Tree4Of is tree4 over lanes of type d: Float32 (tree4's f32) or Float64.
func Tree4Of(d DType, rows []VecVirtual, op func(...Op)) VecVirtual {
	return tree4(rows, op, d.Size == 4)
}

// SplatBase is how a function reads the pool's splats (see Pool.BeginWith).
type SplatBase int

const (
	SymbolBase  SplatBase = iota // from the symbol: no register (begin's zmm false)
	AlignedBase                  // through a base register rounded up to 64 bytes, for ZMM loads (zmm true)
)

// BeginWith must follow every TEXT whose body uses the pool's splats: it
// sets up base b (Pool.begin).
func (p *Pool) BeginWith(b SplatBase) { p.begin(b == AlignedBase) }

// WithinBase emits body with the splats read through base b (Pool.within).
func (p *Pool) WithinBase(b SplatBase, body func()) { p.within(b == AlignedBase, body) }

// BaseFor is the base isa's vectors read splats through: AlignedBase for
// ZMM, SymbolBase for YMM.
func BaseFor(isa ISA) SplatBase {
	if isa.AVX512 {
		return AlignedBase
	}
	return SymbolBase
}

// ExpTableFor loads the table of the float32 table exp for isa into one
// vector (expTable): 16 entries for ZMM, 8 for YMM.
func ExpTableFor(p *Pool, isa ISA) VecVirtual { return expTable(p, isa.AVX512) }
