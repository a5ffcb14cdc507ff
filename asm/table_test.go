//go:build amd64 && !purego

package asm

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/rowwise/softmax/internal/asmtext"
)

// TestTableNamesEveryKernel: the generated table (gen/table) holds every
// exported function of the .s files once, as the entry its name gives
// (Op, element type, ISA), and nothing else. go generate keeps it in sync;
// this is the backstop when it was not run.
func TestTableNamesEveryKernel(t *testing.T) {
	lines, err := asmtext.Lines("*_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, l := range lines {
		if sym, ok := strings.CutPrefix(l.Text, "TEXT ·"); ok {
			name, _, _ := strings.Cut(sym, "(")
			if name[0] >= 'A' && name[0] <= 'Z' {
				want[name] = true
			}
		}
	}
	got := map[string]bool{}
	for _, tier := range Tiers {
		for dt, k := range map[string]any{"F32": tier.F32, "F64": tier.F64} {
			v := reflect.ValueOf(k)
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				if f.IsNil() {
					continue
				}
				entry := v.Type().Field(i).Name + dt + strings.ToUpper(tier.Name)
				fn := runtime.FuncForPC(f.Pointer()).Name()
				name := fn[strings.LastIndex(fn, ".")+1:]
				if name != entry {
					t.Errorf("table entry %s holds %s", entry, fn)
				}
				if got[name] {
					t.Errorf("%s is in the table twice", name)
				}
				got[name] = true
			}
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("%s is not in the table: run go generate ./asm", name)
		}
	}
	for name := range got {
		if !want[name] {
			t.Errorf("the table holds %s, which no .s file defines", name)
		}
	}
}
