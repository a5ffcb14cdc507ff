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
