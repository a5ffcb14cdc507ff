//go:build amd64 && !purego

package kernels

import (
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/rowwise/softmax/internal/asmtext"
)

// TestTierFeaturesMatchAsm: each tier's cpuid list must be exactly the union
// of avo's "// Requires:" lines of the functions named for it (…AVX2,
// …AVX512), so a tier is never picked on a CPU that lacks an instruction.
func TestTierFeaturesMatchAsm(t *testing.T) {
	lines, err := asmtext.Lines("../asm/*_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{"AVX2": {}, "AVX512": {}}
	for _, l := range lines {
		req, ok := strings.CutPrefix(l.Text, "// Requires: ")
		if !ok {
			continue
		}
		for isa, set := range want {
			if strings.HasSuffix(l.Func, isa) {
				for _, r := range strings.Split(req, ", ") {
					if r == "MMX+" { // PREFETCHT0: SSE on Intel, see tiers_amd64.go
						r = "SSE"
					}
					set[r] = true
				}
			}
		}
	}
	if len(want["AVX2"]) == 0 || len(want["AVX512"]) == 0 {
		t.Fatal("no Requires lines found", want)
	}
	// The avx512 tier also runs AVX2 kernels (backwardTuning).
	for f := range want["AVX2"] {
		want["AVX512"][f] = true
	}
	for isa, got := range map[string][]cpuid.FeatureID{"AVX2": avx2Features, "AVX512": avx512Features} {
		var g, w []string
		for _, f := range got {
			g = append(g, f.String())
		}
		for f := range want[isa] {
			w = append(w, f)
		}
		sort.Strings(g)
		sort.Strings(w)
		if strings.Join(g, ",") != strings.Join(w, ",") {
			t.Errorf("%s tier checks %v; the asm requires %v", isa, g, w)
		}
	}
}
