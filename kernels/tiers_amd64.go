//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// The CPU features each tier needs: exactly the union of the "// Requires:"
// lines of its generated functions in asm/*.s (TestTierFeaturesMatchAsm
// checks this); the avx512 tier runs AVX2 backward kernels on long rows, so
// it needs theirs too. avo lists PREFETCHT0 as MMX+ (AMD's name); Intel
// has it from SSE, so the tiers check SSE (cpuid's MMXEXT is AMD-only).
var (
	avx512Features = []cpuid.FeatureID{cpuid.AVX, cpuid.AVX2, cpuid.AVX512F, cpuid.AVX512DQ, cpuid.FMA3, cpuid.SSE, cpuid.SSE2}
	avx2Features   = []cpuid.FeatureID{cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.SSE, cpuid.SSE2}
)

// platformTiers returns the assembly tiers this CPU supports, best first.
// cpuid also checks that the OS saves the YMM/ZMM state.
func platformTiers() []*tier {
	var ts []*tier
	if cpuid.CPU.Supports(avx512Features...) {
		t := &tier{name: "avx512"}
		setForwardAVX512(t)
		setBackwardAVX512(t)
		ts = append(ts, t)
	}
	if cpuid.CPU.Supports(avx2Features...) {
		t := &tier{name: "avx2"}
		setForwardAVX2(t)
		setBackwardAVX2(t)
		ts = append(ts, t)
	}
	return ts
}
