//go:build amd64 && !purego

package suite

import (
	"github.com/klauspost/cpuid/v2"
	"github.com/rowwise/softmax/asm"
)

// asmImpls returns the assembly tiers this CPU runs, called directly (not
// through kernels' checks and dispatch), best first: asm's generated table,
// each tier where the CPU has the features its kernels require.
func asmImpls() []*Impl {
	var ims []*Impl
	for i := len(asm.Tiers) - 1; i >= 0; i-- {
		t := asm.Tiers[i]
		if !cpuid.CPU.Supports(t.Features...) {
			continue
		}
		ims = append(ims, &Impl{Name: "rowwise_" + t.Name + "_asm", Short: t.Name, ISA: t.Name, Kind: Ours,
			F32: asmSet(&t.F32), F64: asmSet(&t.F64)})
	}
	return ims
}

// asmSet is one tier's kernels for F as a Set.
func asmSet[F Float](k *asm.Kernels[F]) *Set[F] {
	return &Set[F]{
		Exp:                k.Exp,
		Softmax:            k.Softmax,
		LogSoftmax:         k.LogSoftmax,
		SoftmaxBackward:    k.SoftmaxBackward,
		SoftmaxBackwardAdd: k.SoftmaxBackwardAdd,
		LogSoftmaxBackward: k.LogSoftmaxBackward,
	}
}
