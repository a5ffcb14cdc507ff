// Package asmtext reads the generated assembly as text, for the tests that
// check what the generators wrote (registers, constants, cpuid features).
package asmtext

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Line is one line of a generated .s file, with the function it belongs to.
type Line struct {
	File string
	Num  int    // 1-based
	Func string // from avo's "// func Name(" comment; "" before the first
	Text string // trimmed
}

// Lines returns every line of the files that match glob, in order. It fails
// when no file matches, so a test that walks them cannot pass on nothing.
func Lines(glob string) ([]Line, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("asmtext: no file matches %s", glob)
	}
	var out []Line
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		fn := ""
		for i, text := range strings.Split(string(b), "\n") {
			text = strings.TrimSpace(text)
			if decl, ok := strings.CutPrefix(text, "// func "); ok {
				fn, _, _ = strings.Cut(decl, "(")
			}
			out = append(out, Line{File: f, Num: i + 1, Func: fn, Text: text})
		}
	}
	return out, nil
}
