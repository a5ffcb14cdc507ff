//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// platformTiers returns the assembly tiers this CPU supports, best first.
// The features checked are those of the generated files' "// Requires:"
// lines; cpuid also checks that the OS saves the YMM/ZMM state.
func platformTiers() []*tier {
	var ts []*tier
	if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX2, cpuid.FMA3) {
		t := &tier{name: "avx512"}
		setForwardAVX512(t)
		setBackwardAVX512(t)
		ts = append(ts, t)
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		t := &tier{name: "avx2"}
		setForwardAVX2(t)
		setBackwardAVX2(t)
		ts = append(ts, t)
	}
	return ts
}
