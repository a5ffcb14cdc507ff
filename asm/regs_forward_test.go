//go:build amd64 && !purego

package asm

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAVX2UsesNoHighRegisters: avo's allocator may hand out X16-X31 when
// more than 16 vectors are live, and the Go assembler then emits EVEX
// encodings, which need AVX-512. An AVX2 function must stay below 16.
func TestAVX2UsesNoHighRegisters(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatal("no .s files", err)
	}
	high := regexp.MustCompile(`\b[XYZ](1[6-9]|2[0-9]|3[01])\b`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fn := ""
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "TEXT ") {
				fn = line
			}
			if strings.Contains(fn, "AVX2(SB)") && high.MatchString(line) {
				t.Errorf("%s:%d: %s uses a register above 15: %s", f, i+1, fn, strings.TrimSpace(line))
			}
		}
	}
}

// TestAVX512LoopsReadNoUnalignedConstants: the Go linker aligns the
// constant table to 32 bytes only, so a 64-byte read of it by symbol splits
// a cache line in about half of all links (measured: AVX-512 Exp twice as
// slow). Inside AVX-512 loops, ZMM constants must come through the aligned
// base register (Pool.Begin / Pool.Within), never as pool<>+N(SB).
func TestAVX512LoopsReadNoUnalignedConstants(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatal("no .s files", err)
	}
	label := regexp.MustCompile(`^(\w+_(loop|one)):$`)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fn, loop := "", ""
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(line, "TEXT "):
				fn, loop = line, ""
			case label.MatchString(line):
				loop = label.FindStringSubmatch(line)[1]
			case loop != "" && strings.HasPrefix(line, "JMP") && strings.HasSuffix(line, " "+loop):
				loop = ""
			case loop != "" && strings.Contains(fn, "AVX512(SB)"):
				checked++
				if strings.Contains(line, "pool<>+") && strings.Contains(line, ", Z") {
					t.Errorf("%s:%d: %s reads a ZMM constant by symbol in loop %s: %s", f, i+1, fn, loop, line)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no AVX-512 loop bodies")
	}
}
