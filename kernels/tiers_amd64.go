//go:build amd64 && !purego

package kernels

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/rowwise/softmax/asm"
)

// platformTiers returns the assembly tiers this CPU supports, best first.
// asm.Tiers (generated from the .s files) lists them lowest first, each
// with the features its kernels require; a tier here starts as a copy of
// the one below, so it needs the features of every tier below it too.
// cpuid also checks that the OS saves the YMM/ZMM state.
func platformTiers(generic *tier) []*tier {
	var ts []*tier
	below, belowAsm := generic, (*asm.Tier)(nil)
	for _, at := range asm.Tiers {
		if !cpuid.CPU.Supports(at.Features...) {
			break
		}
		t := &tier{name: at.Name, f32: below.f32, f64: below.f64}
		setAsm(&t.f32, kernelsOf[float32](at), kernelsOf[float32](belowAsm))
		setAsm(&t.f64, kernelsOf[float64](at), kernelsOf[float64](belowAsm))
		ts = append([]*tier{t}, ts...)
		below, belowAsm = t, at
	}
	return ts
}

// kernelsOf returns at's kernels for F; nil if at is.
func kernelsOf[F Float](at *asm.Tier) *asm.Kernels[F] {
	if at == nil {
		return nil
	}
	if k, ok := any(&at.F32).(*asm.Kernels[F]); ok {
		return k
	}
	return any(&at.F64).(*asm.Kernels[F])
}

// setAsm sets the entries of o that k has kernels for. The backward
// kernels of k and of the tier below (nil for the generic tier) are
// combined per row length as backwardTuned says (backward_amd64.go).
func setAsm[F Float](o *ops[F], k, below *asm.Kernels[F]) {
	if k.Exp != nil {
		o.exp = k.Exp
	}
	if k.Softmax != nil {
		o.softmax = k.Softmax
	}
	if k.LogSoftmax != nil {
		o.logSoftmax = k.LogSoftmax
	}
	if k.SoftmaxScaled != nil {
		o.softmaxScaled = k.SoftmaxScaled
		o.softmaxCausal = causalOf(k.SoftmaxScaled, k.SoftmaxCausal)
	}
	if k.LogSoftmaxBackward != nil {
		o.logSoftmaxBackward = k.LogSoftmaxBackward
	}
	if k.LogSumExp != nil {
		o.logSumExp = logSumExpAsm(k.LogSumExp)
	}
	if k.CrossEntropy != nil {
		o.crossEntropy = crossEntropyAsm(k.CrossEntropy)
	}
	if k.SoftmaxBackward != nil {
		o.softmaxBackward = softmaxBackward(k, below)
	}
	if k.SoftmaxBackwardAdd != nil {
		o.softmaxBackwardAdd = softmaxBackwardAdd(k, below)
	}
	if k.SoftmaxBackwardScaled != nil {
		o.softmaxBackwardScaled = softmaxBackwardScaled(k, below)
		if k.SoftmaxCausalBackward != nil {
			o.softmaxCausalBackward = softmaxCausalBackward(k, o.softmaxBackwardScaled)
		}
	}
}
