//go:build amd64 && !purego

package suite

import (
	"github.com/klauspost/cpuid/v2"
	"github.com/rowwise/softmax/asm"
)

// asmImpls returns the assembly tiers this CPU runs, called directly (not
// through kernels' checks and dispatch), best first. The features checked
// are those kernels checks (kernels/tiers_amd64.go).
func asmImpls() []*Impl {
	var ims []*Impl
	if cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.AVX512F, cpuid.AVX512DQ, cpuid.FMA3, cpuid.SSE, cpuid.SSE2) {
		ims = append(ims, &Impl{Name: "rowwise_avx512_asm", Short: "avx512", ISA: "avx512", Kind: Ours,
			F32: &Set[float32]{
				Exp:                asm.ExpF32AVX512,
				Softmax:            asm.SoftmaxF32AVX512,
				LogSoftmax:         asm.LogSoftmaxF32AVX512,
				SoftmaxBackward:    asm.SoftmaxBackwardF32AVX512,
				SoftmaxBackwardAdd: asm.SoftmaxBackwardAddF32AVX512,
				LogSoftmaxBackward: asm.LogSoftmaxBackwardF32AVX512,
			},
			F64: &Set[float64]{
				Exp:                asm.ExpF64AVX512,
				Softmax:            asm.SoftmaxF64AVX512,
				LogSoftmax:         asm.LogSoftmaxF64AVX512,
				SoftmaxBackward:    asm.SoftmaxBackwardF64AVX512,
				SoftmaxBackwardAdd: asm.SoftmaxBackwardAddF64AVX512,
				LogSoftmaxBackward: asm.LogSoftmaxBackwardF64AVX512,
			}})
	}
	if cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.SSE, cpuid.SSE2) {
		ims = append(ims, &Impl{Name: "rowwise_avx2_asm", Short: "avx2", ISA: "avx2", Kind: Ours,
			F32: &Set[float32]{
				Exp:                asm.ExpF32AVX2,
				Softmax:            asm.SoftmaxF32AVX2,
				LogSoftmax:         asm.LogSoftmaxF32AVX2,
				SoftmaxBackward:    asm.SoftmaxBackwardF32AVX2,
				SoftmaxBackwardAdd: asm.SoftmaxBackwardAddF32AVX2,
				LogSoftmaxBackward: asm.LogSoftmaxBackwardF32AVX2,
			},
			F64: &Set[float64]{
				Exp:                asm.ExpF64AVX2,
				Softmax:            asm.SoftmaxF64AVX2,
				LogSoftmax:         asm.LogSoftmaxF64AVX2,
				SoftmaxBackward:    asm.SoftmaxBackwardF64AVX2,
				SoftmaxBackwardAdd: asm.SoftmaxBackwardAddF64AVX2,
				LogSoftmaxBackward: asm.LogSoftmaxBackwardF64AVX2,
			}})
	}
	return ims
}
