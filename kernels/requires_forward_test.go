//go:build amd64 && !purego

package kernels

import (
	"sort"
	"strings"
	"testing"

	"github.com/rowwise/softmax/asm"
	"github.com/rowwise/softmax/internal/asmtext"
)

// TestTierFeaturesMatchAsm: the features a tier is picked on (those of its
// asm.Tiers entry and of every entry below it, which platformTiers checks)
// must be exactly the union of avo's "// Requires:" lines of the functions
// it can run, read here from the .s files on their own: its ISA's (…AVX2,
// …AVX512) and those of the ISAs below (the avx512 tier starts as a copy
// of the avx2 one and hands it rows). So a tier is never picked on a CPU
// that lacks an instruction, and never refused on one that has them all.
func TestTierFeaturesMatchAsm(t *testing.T) {
	lines, err := asmtext.Lines("../asm/*_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	byISA := map[string]map[string]bool{}
	for _, at := range asm.Tiers {
		byISA[strings.ToUpper(at.Name)] = map[string]bool{}
	}
	for _, l := range lines {
		req, ok := strings.CutPrefix(l.Text, "// Requires: ")
		if !ok {
			continue
		}
		for isa, set := range byISA {
			if strings.HasSuffix(l.Func, isa) {
				for _, r := range strings.Split(req, ", ") {
					if r == "MMX+" { // PREFETCHT0: SSE on Intel, see gen/table
						r = "SSE"
					}
					set[r] = true
				}
			}
		}
	}
	want, got := map[string]bool{}, map[string]bool{}
	for _, at := range asm.Tiers {
		set := byISA[strings.ToUpper(at.Name)]
		if len(set) == 0 {
			t.Fatalf("no Requires lines found for %s", at.Name)
		}
		for f := range set {
			want[f] = true
		}
		for _, f := range at.Features {
			got[f.String()] = true
		}
		g, w := keys(got), keys(want)
		if strings.Join(g, ",") != strings.Join(w, ",") {
			t.Errorf("%s tier checks %v; the asm it runs requires %v", at.Name, g, w)
		}
	}
}

func keys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
