//go:build amd64 && !purego

package kernels

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// TestTierFeaturesMatchAsm: each tier's cpuid list must be exactly the union
// of avo's "// Requires:" lines of the functions named for it (…AVX2,
// …AVX512), so a tier is never picked on a CPU that lacks an instruction.
func TestTierFeaturesMatchAsm(t *testing.T) {
	files, err := filepath.Glob("../asm/*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatal("no asm files", err)
	}
	want := map[string]map[string]bool{"AVX2": {}, "AVX512": {}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fn := ""
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "// func ") {
				fn, _, _ = strings.Cut(strings.TrimPrefix(line, "// func "), "(")
			}
			req, ok := strings.CutPrefix(line, "// Requires: ")
			if !ok {
				continue
			}
			for isa, set := range want {
				if strings.HasSuffix(fn, isa) {
					for _, r := range strings.Split(req, ", ") {
						set[r] = true
					}
				}
			}
		}
	}
	// The avx512 tier also runs AVX2 kernels (backwardYMMCols).
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
