package kernels

import "github.com/rowwise/softmax/fallback"

// ops is one implementation of every operation for one element type: the
// table a call looks its kernel up in.
type ops[F Float] struct {
	exp                func(dst, src []F)
	softmax            func(dst, src []F, cols int)
	logSoftmax         func(dst, src []F, cols int)
	softmaxBackward    func(ds, p, dp []F, cols int)
	softmaxBackwardAdd func(ds, p, dp []F, cols int)
	logSoftmaxBackward func(ds, y, dy []F, cols int)

	logSumExp             func(dst, src []F, cols int)
	crossEntropy          func(loss, ds, logits []F, labels []int32, cols int, gradScale F)
	softmaxScaled         func(dst, src []F, cols int, scale F)
	softmaxCausal         func(dst, src []F, cols, q int, scale F)
	softmaxBackwardScaled func(ds, p, dp []F, cols int, scale F)
	softmaxCausalBackward func(ds, p, dp []F, cols, q int, scale F)
}

// tier is one implementation of every operation for both element types.
// Each tier starts as a copy of the tier below it and sets the entries it
// has its own kernels for, so every entry is set.
type tier struct {
	name string
	f32  ops[float32]
	f64  ops[float64]
}

// opsOf returns t's table for F. It is the one lookup each call makes; it
// allocates nothing (a pointer fits in an interface).
func opsOf[F Float](t *tier) *ops[F] {
	if o, ok := any(&t.f32).(*ops[F]); ok {
		return o
	}
	return any(&t.f64).(*ops[F])
}

// fallbackOps is the generic tier's table: the pure-Go reference.
func fallbackOps[F Float]() ops[F] {
	return ops[F]{
		exp:                fallback.Exp[F],
		softmax:            fallback.Softmax[F],
		logSoftmax:         fallback.LogSoftmax[F],
		softmaxBackward:    fallback.SoftmaxBackward[F],
		softmaxBackwardAdd: fallback.SoftmaxBackwardAdd[F],
		logSoftmaxBackward: fallback.LogSoftmaxBackward[F],

		logSumExp:             fallback.LogSumExp[F],
		crossEntropy:          fallback.CrossEntropy[F],
		softmaxScaled:         fallback.SoftmaxScaled[F],
		softmaxCausal:         fallback.SoftmaxCausal[F],
		softmaxBackwardScaled: fallback.SoftmaxBackwardScaled[F],
		softmaxCausalBackward: fallback.SoftmaxCausalBackward[F],
	}
}
