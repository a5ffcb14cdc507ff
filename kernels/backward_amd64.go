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
// whose own kernels are k, with below the kernels of the tier below (nil
// for none) and scaled its SoftmaxBackwardScaled entry. Each row is
// SoftmaxBackwardScaled on the columns the row sees, with the kernel that
// entry chooses for rows that long (so with its bits: the strided kernels
// give a row the scaled kernel's bits), and ds is cleared beyond, where p
// and dp are not read:
//
//	row i of a block of q: n = cols-q+i+1;  SoftmaxBackwardScaled on [0, n);  ds[j] = 0 for j >= n
//
// q = 1 (every row sees every column) is one call of scaled. With more
// than one block, the blocks go in chunks of at most causalChunkBytes (one
// block at least), and in each chunk the rows at one place of every block,
// which see as many columns, go in one call of the strided kernel (a block
// apart): rows of a few columns then go through the kernels' grouped
// paths, and the calls, each with its per-call set-up, are fewer. A single
// block keeps a call a row: there a strided call would hold one row.
func softmaxCausalBackward[F Float](k, below *asm.Kernels[F], scaled func(ds, p, dp []F, cols int, scale F)) func(ds, p, dp []F, cols, q int, scale F) {
	if below != nil && below.SoftmaxBackwardScaled == nil {
		below = nil
	}
	strided := k.SoftmaxBackwardScaledStrided
	if below != nil && below.SoftmaxBackwardScaledStrided == nil {
		// Rows the tuning hands down would have no strided kernel.
		strided = nil
	}
	return func(ds, p, dp []F, cols, q int, scale F) {
		if q == 1 {
			scaled(ds, p, dp, cols, scale)
			return
		}
		if strided == nil || len(ds) == q*cols {
			for r, i := 0, 0; r < len(ds); r += cols {
				n := cols - q + i + 1
				scaled(ds[r:r+n], p[r:r+n], dp[r:r+n], n, scale)
				clear(ds[r+n : r+cols])
				if i++; i == q {
					i = 0
				}
			}
			return
		}
		size := int(unsafe.Sizeof(scale))
		block := q * cols
		chunk := max(1, causalChunkBytes/(block*size)) * block
		for c := 0; c < len(ds); c += chunk {
			last := min(c+chunk, len(ds)) - block // the chunk's last block
			for i := 0; i < q; i++ {
				n := cols - q + i + 1
				use := strided
				if below != nil && backwardTuned.ymmRow(n*size) {
					use = below.SoftmaxBackwardScaledStrided
				}
				r, end := c+i*cols, last+i*cols+n
				use(ds[r:end], p[r:end], dp[r:end], n, block, scale)
			}
			// The chunk's ds is still in cache.
			for r, i := c, 0; r < last+block; r += cols {
				clear(ds[r+cols-q+i+1 : r+cols])
				if i++; i == q {
					i = 0
				}
			}
		}
	}
}

// causalChunkBytes bounds the bytes of a slice that SoftmaxCausalBackward
// goes through at a time. The rows of one strided call lie a block apart,
// and blocks are often a power of two in size: the lines of the rows of
// all the blocks then fall in the same sets of L1 and L2, and each slice
// of each block is a stream of its own for the hardware prefetchers. A
// chunk of ds, p and dp that fits in L2 (three slices of 256 KiB in the 1
// MiB of Zen; Intel's is larger) spreads over all the sets: going through
// the whole matrix at once, or a block at a time, ran slower
// (bench/TUNING.md).
const causalChunkBytes = 256 << 10

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
