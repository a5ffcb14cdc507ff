//go:build amd64 && !purego

package kernels

import "github.com/rowwise/softmax/asm"

// setBackwardAVX2 plugs the AVX2 SoftmaxBackward and SoftmaxBackwardAdd
// kernels into t.
func setBackwardAVX2(t *tier) {
	t.softmaxBackwardF32 = asm.SoftmaxBackwardF32AVX2
	t.softmaxBackwardF64 = asm.SoftmaxBackwardF64AVX2
	t.softmaxBackwardAddF32 = asm.SoftmaxBackwardAddF32AVX2
	t.softmaxBackwardAddF64 = asm.SoftmaxBackwardAddF64AVX2
}

// setBackwardAVX512 plugs the AVX-512 SoftmaxBackward and SoftmaxBackwardAdd
// kernels into t.
func setBackwardAVX512(t *tier) {
	t.softmaxBackwardF32 = asm.SoftmaxBackwardF32AVX512
	t.softmaxBackwardF64 = asm.SoftmaxBackwardF64AVX512
	t.softmaxBackwardAddF32 = asm.SoftmaxBackwardAddF32AVX512
	t.softmaxBackwardAddF64 = asm.SoftmaxBackwardAddF64AVX512
}
