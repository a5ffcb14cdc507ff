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
// kernels into t, with the AVX2 ones for rows of backwardYMMCols or more.
func setBackwardAVX512(t *tier) {
	t.softmaxBackwardF32 = byRowLength(asm.SoftmaxBackwardF32AVX512, asm.SoftmaxBackwardF32AVX2)
	t.softmaxBackwardF64 = byRowLength(asm.SoftmaxBackwardF64AVX512, asm.SoftmaxBackwardF64AVX2)
	t.softmaxBackwardAddF32 = byRowLength(asm.SoftmaxBackwardAddF32AVX512, asm.SoftmaxBackwardAddF32AVX2)
	t.softmaxBackwardAddF64 = byRowLength(asm.SoftmaxBackwardAddF64AVX512, asm.SoftmaxBackwardAddF64AVX2)
}

// backwardYMMCols is the row length from which the AVX-512 tier runs the
// AVX2 backward kernels. Such rows leave L1 between the two passes and the
// loops are bound by L2/L3 bandwidth, where the YMM loops measured 1-10%
// faster than the ZMM ones on Zen 5 (1024x1024, 64x32000, 8x128256, float32
// and float64); below it AVX-512 wins (4096x128: 11%, short rows more).
// asm's own tests cover the AVX-512 long-row code.
const backwardYMMCols = 1024

func byRowLength[F Float](short, long func(ds, p, dp []F, cols int)) func(ds, p, dp []F, cols int) {
	return func(ds, p, dp []F, cols int) {
		if cols >= backwardYMMCols {
			long(ds, p, dp, cols)
			return
		}
		short(ds, p, dp, cols)
	}
}
