//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/rowwise/softmax/asm"
)

// The SoftmaxBackward kernels of a tier are chosen per row length: the
// avx512 tier hands the rows where the AVX2 kernels run faster on this
// CPU's vendor to them (backwardTuned). The choice depends on cols and the
// tier only, never on the number of rows or the size of ds, because a
// row's bits must not depend on the matrix around it (rows stand alone,
// CONTRACT.md): the AVX2 and AVX-512 kernels round differently.
//
// A large ds is written with non-temporal stores by the stream kernel of
// the ISA the row length already chose: the same arithmetic as that ISA's
// plain kernel, so streaming changes the speed, never the bits. Where that
// ISA has no stream kernel in asm's table, nothing streams.

// softmaxBackward returns the SoftmaxBackward entry of a tier whose own
// kernels are k, with below the kernels of the tier below (nil for none):
//
//	for each row:  e = sum_j p[j]*dp[j];  ds[j] = p[j]*(dp[j] - e)
func softmaxBackward[F Float](k, below *asm.Kernels[F]) func(ds, p, dp []F, cols int) {
	if below != nil && below.SoftmaxBackward == nil {
		below = nil
	}
	return func(ds, p, dp []F, cols int) {
		size := int(unsafe.Sizeof(ds[0]))
		use := k
		if below != nil && backwardTuned.ymmRow(cols*size) {
			use = below
		}
		if use.SoftmaxBackwardStream != nil && cols >= streamCols && len(ds)*size >= backwardTuned.streamBytes &&
			&ds[0] != &p[0] && &ds[0] != &dp[0] {
			use.SoftmaxBackwardStream(ds, p, dp, cols)
			return
		}
		use.SoftmaxBackward(ds, p, dp, cols)
	}
}

// softmaxBackwardScaled returns the SoftmaxBackwardScaled entry, with the
// kernel, and the stream kernel, chosen as softmaxBackward chooses them:
//
//	for each row:  e = sum_j p[j]*dp[j];  ds[j] = p[j]*(scale*dp[j] - scale*e)
func softmaxBackwardScaled[F Float](k, below *asm.Kernels[F]) func(ds, p, dp []F, cols int, scale F) {
	if below != nil && below.SoftmaxBackwardScaled == nil {
		below = nil
	}
	return func(ds, p, dp []F, cols int, scale F) {
		size := int(unsafe.Sizeof(scale))
		use := k
		if below != nil && backwardTuned.ymmRow(cols*size) {
			use = below
		}
		if use.SoftmaxBackwardScaledStream != nil && cols >= streamCols && len(ds)*size >= backwardTuned.streamBytes &&
			&ds[0] != &p[0] && &ds[0] != &dp[0] {
			use.SoftmaxBackwardScaledStream(ds, p, dp, cols, scale)
			return
		}
		use.SoftmaxBackwardScaled(ds, p, dp, cols, scale)
	}
}

// softmaxCausalBackward returns the SoftmaxCausalBackward entry of a tier
// whose own kernels are k, with scaled its SoftmaxBackwardScaled entry. The
// causal kernel runs the whole stack of blocks in one call, the visible
// length stepping by one column a row, and writes the zeros beyond it
// itself:
//
//	row i of a block of q: n = cols-q+i+1;  e = sum_{j<n} p[j]*dp[j];  ds[j] = scale*p[j]*(dp[j] - e) for j < n, +0 beyond
//
// q = 1 (every row sees every column) is one call of scaled. Each row
// takes code chosen by n alone, so its bits depend on its visible values,
// n and scale, never on the block or the rows around it (the AVX2 and
// AVX-512 kernels round differently, so the avx512 tier hands no rows
// down).
func softmaxCausalBackward[F Float](k *asm.Kernels[F], scaled func(ds, p, dp []F, cols int, scale F)) func(ds, p, dp []F, cols, q int, scale F) {
	causal := k.SoftmaxCausalBackward
	return func(ds, p, dp []F, cols, q int, scale F) {
		if q == 1 {
			scaled(ds, p, dp, cols, scale)
			return
		}
		causal(ds, p, dp, cols, q, scale)
	}
}

// softmaxBackwardAdd returns the SoftmaxBackwardAdd entry, as
// softmaxBackward does:
//
//	for each row:  e = sum_j p[j]*dp[j];  ds[j] += p[j]*(dp[j] - e)
func softmaxBackwardAdd[F Float](k, below *asm.Kernels[F]) func(ds, p, dp []F, cols int) {
	if below == nil || below.SoftmaxBackwardAdd == nil {
		return k.SoftmaxBackwardAdd
	}
	return func(ds, p, dp []F, cols int) {
		if backwardTuned.ymmRowAdd(cols * int(unsafe.Sizeof(ds[0]))) {
			below.SoftmaxBackwardAdd(ds, p, dp, cols)
			return
		}
		k.SoftmaxBackwardAdd(ds, p, dp, cols)
	}
}

// backwardTuning says where the backward kernels hand over to others; the
// best places depend on the core, so they are set per vendor. The figures
// behind them are in bench/TUNING.md.
type backwardTuning struct {
	// ymmRow and ymmRowAdd report, by the row length in bytes, where the
	// avx512 tier runs the AVX2 SoftmaxBackward and SoftmaxBackwardAdd
	// kernels.
	ymmRow, ymmRowAdd func(rowBytes int) bool
	// streamBytes is the size of ds from which SoftmaxBackward, on rows of
	// streamCols or more, writes ds with non-temporal stores (unless ds is
	// p or dp, whose lines are read anyway): an output that large cannot
	// stay in cache beside the inputs, and streaming it skips the read for
	// ownership of each line and leaves the cache to p and dp. Smaller
	// outputs stay in cache for whoever reads them next.
	streamBytes int
}

// streamCols is the shortest row that is streamed.
const streamCols = 1024

// zenBackward, for AMD Zen (1 MiB of L2 a core). Rows of 4 KiB or more
// leave L1 between the two passes and the loops are bound by L2/L3
// bandwidth, where the YMM loops run faster than the ZMM ones; shorter rows
// are faster with AVX-512. Streaming pays once ds is too large for L3 to
// keep it for the next call.
var zenBackward = backwardTuning{
	ymmRow:      func(b int) bool { return b >= 4096 },
	ymmRowAdd:   func(b int) bool { return b >= 4096 },
	streamBytes: 6 << 20,
}

// intelBackward, for Intel cores with AVX-512 (2 MiB of L2 a core). Every
// unaligned 64-byte load or store there spans two cache lines, and the
// AVX2 kernels win on rows of whole AVX2 vectors: 32, 96, 128 and 160
// bytes (Add: 32 and 96). AVX-512 wins on other rows: from L2 on, since it
// takes rows of one or two whole vectors and a partial one four at a time
// and prefetches ds, and on long rows. (On other rows of 68 to 160 bytes
// AVX2 was faster while ds stayed in L1; a choice by the size of ds would
// break rows standing alone.) Streaming pays from a larger ds than on Zen.
var intelBackward = backwardTuning{
	ymmRow:      func(b int) bool { return b == 32 || b == 96 || b == 128 || b == 160 },
	ymmRowAdd:   func(b int) bool { return b == 32 || b == 96 },
	streamBytes: 16 << 20,
}

// backwardTuned is this CPU's tuning: Intel's on Intel, Zen's elsewhere.
var backwardTuned = func() backwardTuning {
	if cpuid.CPU.VendorID == cpuid.Intel {
		return intelBackward
	}
	return zenBackward
}()
