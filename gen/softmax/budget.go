package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
)

// The vector registers of each ISA. AVX2 has 16 (a 17th would need an
// EVEX encoding, which AVX2 CPUs lack: TestAVX2UsesNoHighRegisters); of
// AVX-512's 32, code that reduces with VEX instructions (no AVX512VL, see
// TestAVX512NeedsNoVL) must keep its values in the first 16.
const (
	ymmRegs    = 16
	zmmRegs    = 32
	zmmVEXRegs = 16
)

// Register budgets of the softmax kernels, each a named number that a
// regBudget checks (take panics past it) and states in the .s.
const (
	// ymmMaxima is the number of broadcast row maxima AVX2 keeps in
	// registers through the exp loop: one row's. A group's live on the
	// stack: 16 registers do not hold them beside two vectors of two rows
	// (ymmExpRows) in the loop.
	ymmMaxima = 1
	// ymmExpRows is the number of rows of a group whose exps AVX2's exp
	// loop computes together once the maxima live on the stack.
	ymmExpRows = 2
	// zmmHoldRows is the most rows of an AVX-512 float32 group whose exp
	// loop holds the exp's constants in registers: four-row groups have no
	// registers to spare (and gained nothing from holding the table alone).
	zmmHoldRows = 2
	// f64HeldZMM is the number of exp constants an AVX-512 float64 single
	// row holds (of ExpSoftmaxF64Core's 17): with its sum and compensation
	// that is zmmVEXRegs; with more, avo puts the sums in Z16-Z31 and the
	// reductions after the loop would need AVX512VL.
	f64HeldZMM = 14
	// residentExpTemps is what the resident rows (resident.go) leave to the
	// exp's temporaries for four vectors at a time; the values, maxima,
	// clamp bound and table take the rest of the 32.
	residentExpTemps = 14
)

// regBudget counts the vector registers one part of a kernel takes against
// a named limit.
type regBudget struct {
	name  string
	limit int
	used  int
	parts []string
}

func newBudget(name string, limit int) *regBudget {
	return &regBudget{name: name, limit: limit}
}

// take counts n registers for what; it panics when the budget is exceeded.
func (b *regBudget) take(n int, what string) {
	b.used += n
	b.parts = append(b.parts, fmt.Sprintf("%d %s", n, what))
	if b.used > b.limit {
		panic(fmt.Sprintf("register budget %s: %s (%d) exceed %d",
			b.name, strings.Join(b.parts, " + "), b.used, b.limit))
	}
}

// state writes the budget and its use into the .s as a comment.
func (b *regBudget) state() {
	Comment(fmt.Sprintf("Register budget %s: %s, %d of %d.",
		b.name, strings.Join(b.parts, " + "), b.used, b.limit))
}
