//go:build amd64 && !purego

package kernels

import "testing"

// TestCausalBackwardHandover: with each vendor's tuning, the avx512 tier's
// SoftmaxCausalBackward hands a row length to the AVX2 strided kernel
// exactly where SoftmaxBackwardScaled hands it to the AVX2 scaled one, so
// each row keeps SoftmaxBackwardScaled's bits (see
// testCausalBackwardManyBlocks).
func TestCausalBackwardHandover(t *testing.T) {
	var avx512 *tier
	for _, tr := range tiers {
		if tr.name == "avx512" {
			avx512 = tr
		}
	}
	if avx512 == nil {
		t.Skip("CPU lacks the avx512 tier")
	}
	defer useTier(avx512)()
	forEachTuning(t, func(t *testing.T) {
		forEachType(t, testCausalBackwardManyBlocks[float32], testCausalBackwardManyBlocks[float64])
	})
}
