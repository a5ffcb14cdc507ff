//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/rowwise/softmax/asm"
)

// setBackwardAVX2 plugs the AVX2 SoftmaxBackward and SoftmaxBackwardAdd
// kernels into t.
func setBackwardAVX2(t *tier) {
	t.softmaxBackwardF32 = streamLarge(asm.SoftmaxBackwardStreamF32AVX2, asm.SoftmaxBackwardF32AVX2, asm.SoftmaxBackwardF32AVX2)
	t.softmaxBackwardF64 = streamLarge(asm.SoftmaxBackwardStreamF64AVX2, asm.SoftmaxBackwardF64AVX2, asm.SoftmaxBackwardF64AVX2)
	t.softmaxBackwardAddF32 = asm.SoftmaxBackwardAddF32AVX2
	t.softmaxBackwardAddF64 = asm.SoftmaxBackwardAddF64AVX2
}

// setBackwardAVX512 plugs the AVX-512 SoftmaxBackward and SoftmaxBackwardAdd
// kernels into t, with the AVX2 ones for the rows where those run faster on
// this CPU (backwardTuned).
func setBackwardAVX512(t *tier) {
	t.softmaxBackwardF32 = streamLarge(asm.SoftmaxBackwardStreamF32AVX2, asm.SoftmaxBackwardF32AVX2,
		byRowLength(false, asm.SoftmaxBackwardF32AVX512, asm.SoftmaxBackwardF32AVX2))
	t.softmaxBackwardF64 = streamLarge(asm.SoftmaxBackwardStreamF64AVX2, asm.SoftmaxBackwardF64AVX2,
		byRowLength(false, asm.SoftmaxBackwardF64AVX512, asm.SoftmaxBackwardF64AVX2))
	t.softmaxBackwardAddF32 = byRowLength(true, asm.SoftmaxBackwardAddF32AVX512, asm.SoftmaxBackwardAddF32AVX2)
	t.softmaxBackwardAddF64 = byRowLength(true, asm.SoftmaxBackwardAddF64AVX512, asm.SoftmaxBackwardAddF64AVX2)
}

// backwardTuning says where the backward kernels hand over to others; the
// best places depend on the core, so they are measured per vendor.
type backwardTuning struct {
	// ymmRow and ymmRowAdd report, by the row length and the size of ds in
	// bytes, where the AVX-512 tier runs the AVX2 SoftmaxBackward and
	// SoftmaxBackwardAdd kernels.
	ymmRow, ymmRowAdd func(rowBytes, dsBytes int) bool
	// streamBytes is the size of ds from which SoftmaxBackward, on rows of
	// streamCols or more, writes ds with non-temporal stores (unless ds is
	// p or dp): with the output that large it cannot stay in cache beside
	// the inputs, and streaming it skips the read for ownership of each
	// line and leaves the cache to p and dp.
	streamBytes int
}

// streamCols is the shortest row that streamLarge streams.
const streamCols = 1024

// zenBackward, measured on AMD Zen 5 (1 MiB L2 a core). Rows of 1024 float32
// columns or more (4 KiB, 8 KiB for float64) leave L1 between the two passes
// and the loops are bound by L2/L3 bandwidth, where the YMM loops measured
// 1-10% faster than the ZMM ones (1024x1024, 64x32000, 8x128256, float32
// and float64); below it AVX-512 wins (4096x128: 11%, short rows more).
// Streaming from 6 MiB: 64x32000 float32 (7.8 MiB) 24% faster; at 4 MiB
// (1024x1024, 256x4096, 8x128256) it was 0-15% slower, ds still fitting in
// L3 for the next call.
var zenBackward = backwardTuning{
	ymmRow:      func(b, _ int) bool { return b >= 4096 },
	ymmRowAdd:   func(b, _ int) bool { return b >= 4096 },
	streamBytes: 6 << 20,
}

// intelBackward, measured on an Intel Xeon with AVX-512 and 2 MiB of L2 a
// core (asm's benchmarks, rows of 3 to 1024 columns, 36 KiB to 4.8 MB of
// data). Every unaligned 64-byte load or store there spans two cache lines,
// and the AVX2 kernels won on rows of 32 bytes (float32 8 columns, float64
// 4: 11-57%) and of 68 to 160 (float32 17-40 columns, float64 9-20: 4-35%),
// for the Add kernels 68 to 96 (float32 17-24, float64 9-12: 5-34%; at 44
// and 47 float32 columns AVX-512 won by 12-26%); AVX-512 won on longer rows
// (10-22% in L2, 1024 columns included) and tied where memory bound. Since
// the AVX-512 kernels take rows of one or two whole vectors and a partial
// one four at a time (and prefetch ds), they win on those rows as soon as
// the three slices outgrow L1 (ds over 16 KiB; 1000x37 float32 0.133 ->
// 0.116 ns/elem, rows of 17-47 float32 columns 5-23% and of 9-23 float64
// 1-30% faster in L2); below that, and where the row is whole AVX2 vectors
// (96, 128 or 160 bytes), the AVX2 kernels stay 4-20% faster. Streaming
// lost 4% at 8 MiB (64x32000), tied at 16 MiB and won from 24 MiB
// (192x32000 0.82 -> 0.57 ns/elem).
var intelBackward = backwardTuning{
	ymmRow: func(b, n int) bool {
		return b == 32 || (b > 64 && b <= 160 && (b%32 == 0 || n <= intelL1Bytes))
	},
	ymmRowAdd: func(b, n int) bool {
		return b == 32 || (b > 64 && b <= 96 && (b%32 == 0 || n <= intelL1Bytes))
	},
	streamBytes: 16 << 20,
}

// intelL1Bytes is the largest ds whose three slices fit in the Intel
// core's 48 KiB L1 together.
const intelL1Bytes = 16 << 10

// backwardTuned is this CPU's tuning: Intel's on Intel, Zen's elsewhere.
var backwardTuned = func() backwardTuning {
	if cpuid.CPU.VendorID == cpuid.Intel {
		return intelBackward
	}
	return zenBackward
}()

// byRowLength runs zmm, or ymm on the rows backwardTuned gives the AVX2
// kernels (those of ymmRowAdd when add is set).
func byRowLength[F Float](add bool, zmm, ymm func(ds, p, dp []F, cols int)) func(ds, p, dp []F, cols int) {
	return func(ds, p, dp []F, cols int) {
		toYMM := backwardTuned.ymmRow
		if add {
			toYMM = backwardTuned.ymmRowAdd
		}
		size := int(unsafe.Sizeof(ds[0]))
		if toYMM(cols*size, len(ds)*size) {
			ymm(ds, p, dp, cols)
			return
		}
		zmm(ds, p, dp, cols)
	}
}

// streamLarge runs stream on outputs of backwardTuned.streamBytes or more
// with rows of streamCols or more. Where such a ds aliases p or dp (its
// lines are read anyway, so streaming gains nothing) it runs streamPlain,
// the plain kernel with stream's arithmetic, so that aliasing never changes
// the bits. Everything else goes to plain.
func streamLarge[F Float](stream, streamPlain, plain func(ds, p, dp []F, cols int)) func(ds, p, dp []F, cols int) {
	return func(ds, p, dp []F, cols int) {
		if cols < streamCols || len(ds)*int(unsafe.Sizeof(ds[0])) < backwardTuned.streamBytes {
			plain(ds, p, dp, cols)
		} else if &ds[0] != &p[0] && &ds[0] != &dp[0] {
			stream(ds, p, dp, cols)
		} else {
			streamPlain(ds, p, dp, cols)
		}
	}
}
