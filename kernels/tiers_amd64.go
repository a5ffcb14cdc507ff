//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// platformTiers returns the assembly tiers this CPU supports, best first.
// The features checked are exactly the union of the "// Requires:" lines of
// the tier's generated functions (asm/*.s); cpuid also checks that the OS
// saves the YMM/ZMM state.
func platformTiers() []*tier {
	var ts []*tier
	if cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX512F, cpuid.AVX512DQ, cpuid.FMA3) {
		t := &tier{name: "avx512"}
		setForwardAVX512(t)
		setBackwardAVX512(t)
		ts = append(ts, t)
	}
	if cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3) {
		t := &tier{name: "avx2"}
		setForwardAVX2(t)
		setBackwardAVX2(t)
		ts = append(ts, t)
	}
	return ts
}
