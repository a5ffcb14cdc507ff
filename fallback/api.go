// Package fallback is the pure-Go implementation of every operation, for
// float32 and float64: the path for CPUs without the assembly, and the
// reference the assembly is tested against. It computes in float64 with
// compensated sums, rounds every product explicitly (no FMA fusion) and so
// returns the same bits on every GOARCH.
//
// The functions trust their arguments (kernels checks them): slices of equal
// length that is a multiple of cols >= 1.
//
// It also keeps the literal loops a framework generates when it
// differentiates softmax mechanically (SoftmaxLoops, SoftmaxBackwardLoops),
// the baseline that the fused backward pass is measured against.
package fallback

// Float is the element type of every operation.
type Float interface{ float32 | float64 }

// Exp sets dst[i] = e^src[i]; see Exp32 and Exp64.
func Exp[F Float](dst, src []F) {
	dst = dst[:len(src)]
	if isF32[F]() {
		for i, x := range src {
			dst[i] = F(Exp32(float32(x)))
		}
		return
	}
	for i, x := range src {
		dst[i] = F(Exp64(float64(x)))
	}
}

// isF32 reports whether F is float32.
func isF32[F Float]() bool {
	var z F
	_, ok := any(z).(float32)
	return ok
}

// expAcc returns e^x in float64, as accurately as F needs before its final
// rounding: to 6e-9 for float32 (the cheaper polynomial, where it applies),
// within 1 ulp for float64.
func expAcc(f32 bool, x float64) float64 {
	if f32 && x >= -104 && x <= 89 {
		return exp32Core(x)
	}
	return Exp64(x)
}

// minNormal returns the smallest positive normal number of F.
func minNormal[F Float]() F {
	if isF32[F]() {
		return F(0x1p-126)
	}
	return F(0x1p-1022)
}
