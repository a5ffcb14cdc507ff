//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/rowwise/softmax/asm"
)

// setBackwardAVX2 plugs the AVX2 SoftmaxBackward and SoftmaxBackwardAdd
// kernels into t.
func setBackwardAVX2(t *tier) {
	t.softmaxBackwardF32 = streamLarge(asm.SoftmaxBackwardStreamF32AVX2, asm.SoftmaxBackwardF32AVX2)
	t.softmaxBackwardF64 = streamLarge(asm.SoftmaxBackwardStreamF64AVX2, asm.SoftmaxBackwardF64AVX2)
	t.softmaxBackwardAddF32 = asm.SoftmaxBackwardAddF32AVX2
	t.softmaxBackwardAddF64 = asm.SoftmaxBackwardAddF64AVX2
}

// setBackwardAVX512 plugs the AVX-512 SoftmaxBackward and SoftmaxBackwardAdd
// kernels into t, with the AVX2 ones for rows of backwardYMMCols or more.
func setBackwardAVX512(t *tier) {
	t.softmaxBackwardF32 = streamLarge(asm.SoftmaxBackwardStreamF32AVX2, byRowLength(asm.SoftmaxBackwardF32AVX512, asm.SoftmaxBackwardF32AVX2))
	t.softmaxBackwardF64 = streamLarge(asm.SoftmaxBackwardStreamF64AVX2, byRowLength(asm.SoftmaxBackwardF64AVX512, asm.SoftmaxBackwardF64AVX2))
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

// streamBytes is the size of ds from which SoftmaxBackward, on rows of
// backwardYMMCols or more, writes ds with non-temporal stores (unless ds is
// p or dp). With p, dp and ds together 18 MiB or more, the output cannot
// stay in cache with the inputs; streaming it skips the read for ownership
// of each line and leaves the cache to p and dp: 64x32000 float32 (7.8 MiB)
// 24% faster on Zen 5. At 4 MiB (1024x1024, 256x4096, 8x128256) it was
// 0-15% slower: there ds still fits in L3 for the next call.
const streamBytes = 6 << 20

func streamLarge[F Float](stream, plain func(ds, p, dp []F, cols int)) func(ds, p, dp []F, cols int) {
	return func(ds, p, dp []F, cols int) {
		if cols >= backwardYMMCols && len(ds)*int(unsafe.Sizeof(ds[0])) >= streamBytes &&
			&ds[0] != &p[0] && &ds[0] != &dp[0] {
			stream(ds, p, dp, cols)
			return
		}
		plain(ds, p, dp, cols)
	}
}
