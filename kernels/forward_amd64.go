//go:build amd64 && !purego

package kernels

import "github.com/rowwise/softmax/asm"

// setForwardAVX2 plugs the AVX2 Exp, Softmax, LogSoftmax and
// LogSoftmaxBackward kernels into t.
func setForwardAVX2(t *tier) {
	t.expF32 = asm.ExpF32AVX2
	t.expF64 = asm.ExpF64AVX2
	t.softmaxF32 = asm.SoftmaxF32AVX2
	t.softmaxF64 = asm.SoftmaxF64AVX2
	t.logSoftmaxF32 = asm.LogSoftmaxF32AVX2
	t.logSoftmaxF64 = asm.LogSoftmaxF64AVX2
	t.logSoftmaxBackwardF32 = asm.LogSoftmaxBackwardF32AVX2
	t.logSoftmaxBackwardF64 = asm.LogSoftmaxBackwardF64AVX2
}

// setForwardAVX512 plugs the AVX-512 Exp, Softmax, LogSoftmax and
// LogSoftmaxBackward kernels into t.
func setForwardAVX512(t *tier) {
	t.expF32 = asm.ExpF32AVX512
	t.expF64 = asm.ExpF64AVX512
	t.softmaxF32 = asm.SoftmaxF32AVX512
	t.softmaxF64 = asm.SoftmaxF64AVX512
	t.logSoftmaxF32 = asm.LogSoftmaxF32AVX512
	t.logSoftmaxF64 = asm.LogSoftmaxF64AVX512
	t.logSoftmaxBackwardF32 = asm.LogSoftmaxBackwardF32AVX512
	t.logSoftmaxBackwardF64 = asm.LogSoftmaxBackwardF64AVX512
}
