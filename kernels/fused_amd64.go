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
		// Eight results at a time: their sum is NaN when one of them is
		// (or when +Inf meets -Inf, which the rows then checked one by one
		// tell apart), so a call of short rows, where this scan is a good
		// part of the time, pays one compare for eight.
		r := 0
		for ; r+8 <= len(dst); r += 8 {
			q := (*[8]F)(dst[r : r+8])
			if s := ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7])); s == s {
				continue
			}
			logSumExpRedo(dst, src, cols, r, r+8)
		}
		logSumExpRedo(dst, src, cols, r, len(dst))
	}
}

// logSumExpRedo recomputes with the fallback each row of lo..hi whose
// result the kernel left NaN.
func logSumExpRedo[F Float](dst, src []F, cols, lo, hi int) {
	for r := lo; r < hi; r++ {
		if v := dst[r]; v != v {
			fallback.LogSumExp(dst[r:r+1], src[r*cols:(r+1)*cols], cols)
		}
	}
}

func crossEntropyAsm[F Float](k func(loss, ds, logits []F, labels []int32, cols int, g F)) func(loss, ds, logits []F, labels []int32, cols int, g F) {
	return func(loss, ds, logits []F, labels []int32, cols int, g F) {
		k(loss, ds, logits, labels, cols, g)
		// Eight losses at a time, as logSumExpAsm's scan.
		r := 0
		for ; r+8 <= len(loss); r += 8 {
			q := (*[8]F)(loss[r : r+8])
			if s := ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7])); s == s {
				continue
			}
			crossEntropyRedo(loss, ds, logits, labels, cols, g, r, r+8)
		}
		crossEntropyRedo(loss, ds, logits, labels, cols, g, r, len(loss))
	}
}

// crossEntropyRedo recomputes with the fallback each row of lo..hi whose
// loss the kernel left NaN.
func crossEntropyRedo[F Float](loss, ds, logits []F, labels []int32, cols int, g F, lo, hi int) {
	for r := lo; r < hi; r++ {
		if v := loss[r]; v != v {
			var d []F
			if ds != nil {
				d = ds[r*cols : (r+1)*cols]
			}
			fallback.CrossEntropy(loss[r:r+1], d, logits[r*cols:(r+1)*cols], labels[r:r+1], cols, g)
		}
	}
}
