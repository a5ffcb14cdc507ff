//go:build amd64 && !purego

package kernels

import "github.com/rowwise/softmax/fallback"

// The assembly LogSumExp and CrossEntropy leave the rows whose max is not
// finite (NaN, +Inf, all -Inf) to these wrappers: the kernel writes NaN as
// the row's result and nothing else of it, and the wrapper recomputes every
// row whose result is NaN with the fallback, which follows the definitions.
// A row whose NaN the max pass missed comes out NaN from the kernel and
// from the fallback alike (with ds == logits the kernel has made the row
// NaN). A row's result depends on that row alone, and nothing allocates.

func logSumExpAsm[F Float](k func(dst, src []F, cols int)) func(dst, src []F, cols int) {
	return func(dst, src []F, cols int) {
		k(dst, src, cols)
		for r, v := range dst {
			if v != v {
				fallback.LogSumExp(dst[r:r+1], src[r*cols:(r+1)*cols], cols)
			}
		}
	}
}

func crossEntropyAsm[F Float](k func(loss, ds, logits []F, labels []int32, cols int, g F)) func(loss, ds, logits []F, labels []int32, cols int, g F) {
	return func(loss, ds, logits []F, labels []int32, cols int, g F) {
		k(loss, ds, logits, labels, cols, g)
		for r, v := range loss {
			if v != v {
				var d []F
				if ds != nil {
					d = ds[r*cols : (r+1)*cols]
				}
				fallback.CrossEntropy(loss[r:r+1], d, logits[r*cols:(r+1)*cols], labels[r:r+1], cols, g)
			}
		}
	}
}
