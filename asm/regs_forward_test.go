//go:build amd64 && !purego

package asm

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rowwise/softmax/internal/asmtext"
)

func asmLines(t *testing.T) []asmtext.Line {
	t.Helper()
	lines, err := asmtext.Lines("*_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestAVX2UsesNoHighRegisters: avo's allocator may hand out X16-X31 when
// more than 16 vectors are live, and the Go assembler then emits EVEX
// encodings, which need AVX-512. An AVX2 function must stay below 16.
func TestAVX2UsesNoHighRegisters(t *testing.T) {
	high := regexp.MustCompile(`\b[XYZ](1[6-9]|2[0-9]|3[01])\b`)
	checked := 0
	for _, l := range asmLines(t) {
		if !strings.HasSuffix(l.Func, "AVX2") {
			continue
		}
		checked++
		if high.MatchString(l.Text) {
			t.Errorf("%s:%d: %s uses a register above 15: %s", l.File, l.Num, l.Func, l.Text)
		}
	}
	if checked == 0 {
		t.Fatal("found no AVX2 functions")
	}
}

// TestAVX512NeedsNoVL: in AVX-512 code the Go assembler EVEX-encodes an
// instruction on X16-X31 or Y16-Y31, and EVEX at 128 or 256 bits needs
// AVX512VL, which the tier does not check (VEX-only ones, VEXTRACTF128,
// fail to assemble). High registers may appear only beside a ZMM operand
// (a 512-bit form: AVX512F), as in VEXTRACTF64X4 $1, Z14, Y16. Holding
// constants in registers (Pool.Hold) raises the pressure that leads avo
// there.
func TestAVX512NeedsNoVL(t *testing.T) {
	high := regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b`)
	zmm := regexp.MustCompile(`\bZ([0-9]|[12][0-9]|3[01])\b`)
	checked := 0
	for _, l := range asmLines(t) {
		if !strings.HasSuffix(l.Func, "AVX512") {
			continue
		}
		checked++
		if high.MatchString(l.Text) && !zmm.MatchString(l.Text) {
			t.Errorf("%s:%d: %s needs AVX512VL: %s", l.File, l.Num, l.Func, l.Text)
		}
	}
	if checked == 0 {
		t.Fatal("found no AVX-512 functions")
	}
}

// TestAVX512LoopsReadNoUnalignedConstants: the Go linker aligns the
// constant table to 32 bytes only, so a 64-byte read of it by symbol splits
// a cache line in about half of all links (measured: AVX-512 Exp twice as
// slow). Inside AVX-512 loops, ZMM constants must come through the aligned
// base register (Pool.Begin / Pool.Within), never as pool<>+N(SB).
func TestAVX512LoopsReadNoUnalignedConstants(t *testing.T) {
	label := regexp.MustCompile(`^(\w+_(loop|one)):$`)
	checked := 0
	fn, loop := "", ""
	for _, l := range asmLines(t) {
		line := l.Text
		if l.Func != fn {
			fn, loop = l.Func, ""
		}
		switch {
		case label.MatchString(line):
			loop = label.FindStringSubmatch(line)[1]
		case loop != "" && strings.HasPrefix(line, "JMP") && strings.HasSuffix(line, " "+loop):
			loop = ""
		case loop != "" && strings.HasSuffix(fn, "AVX512"):
			checked++
			if strings.Contains(line, "pool<>+") && strings.Contains(line, ", Z") {
				t.Errorf("%s:%d: %s reads a ZMM constant by symbol in loop %s: %s", l.File, l.Num, fn, loop, line)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no AVX-512 loop bodies")
	}
}
