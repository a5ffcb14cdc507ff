// Package kernels computes the row-wise softmax family — exp, softmax,
// log-softmax and their fused backward passes, and the fused calls of
// training (CrossEntropy, LogSumExp) and attention (SoftmaxScaled,
// SoftmaxCausal and their backward passes) — over row-major matrices of
// float32 or float64, with the fastest code the CPU supports.
//
// The contract, in brief (CONTRACT.md in the repository states it in full):
//
// A matrix is a contiguous slice holding rows of cols elements;
// rows = len/cols. Rows stand alone: each row is computed on its own, and
// its output bits depend only on its values, cols, the call's scalar
// arguments and the tier in use (under SoftmaxCausal, also its place in its
// block): never on the other rows or what they hold, on how the matrix is
// split into calls or goroutines, on where the slices start or on aliasing.
//
// Values: rows are computed with their maximum subtracted, so no finite
// input overflows. -Inf is a mask and contributes nothing; a row of only
// -Inf gives Softmax zeros, LogSoftmax -Inf and backward passes zeros. The k
// entries of a row equal to +Inf share it equally (Softmax 1/k, LogSoftmax
// -log k; 0 and -Inf elsewhere). A NaN makes its whole row NaN and leaves the
// other rows alone. Softmax writes +0 for probabilities below the smallest
// normal number, never a subnormal.
//
// Accuracy: Exp is within 1 ulp of the correctly rounded result; Softmax
// float32 within 2^-21 (1 + |s - max|) relative at any row length; the
// other operations within bounds of 2^-20 relative (float64: 2^-46 for
// all), which CONTRACT.md states exactly.
//
// Aliasing: dst may be src, and ds may be p or dp (or y or dy); partial
// overlap is not supported. No call allocates.
//
// Misuse (lengths that differ, cols < 1, a length that is not a multiple of
// cols) panics with a message that starts "kernels: " and names the
// function. Empty slices with cols >= 1 do nothing.
//
// The implementation (tier) is picked once at start-up from the CPU's
// features: avx512, avx2 or generic (pure Go, and the only one on other
// GOARCHes or with the purego build tag). The environment variable
// SOFTMAX_ISA=generic|avx2|avx512 forces a lower one. On some row lengths
// the avx512 tier runs AVX2 backward kernels, where those are faster on the
// CPU's vendor: the choice depends on cols and the tier only. SoftmaxBackward
// writes a large ds with non-temporal stores, which changes where ds ends up
// (memory, not cache), never its bits.
package kernels

// Float is the element type of every operation.
type Float interface{ float32 | float64 }

// Exp sets dst[i] = e^src[i]: within 1 ulp of the correctly rounded result,
// subnormal results computed, exp(NaN) = NaN, exp(+Inf) = +Inf,
// exp(-Inf) = 0, overflow to +Inf.
func Exp[F Float](dst, src []F) {
	checkLen("Exp", "dst", "src", len(dst), len(src))
	raceWrite(dst)
	raceRead(src)
	opsOf[F](active).exp(dst, src)
}

// Softmax sets each row of dst to exp(s - max) / sum(exp(s - max)) of the
// same row of src.
func Softmax[F Float](dst, src []F, cols int) {
	checkMatrix("Softmax", "dst", "src", len(dst), len(src), cols)
	raceWrite(dst)
	raceRead(src)
	opsOf[F](active).softmax(dst, src, cols)
}

// LogSoftmax sets each row of dst to s - max - log(sum(exp(s - max))) of the
// same row of src.
func LogSoftmax[F Float](dst, src []F, cols int) {
	checkMatrix("LogSoftmax", "dst", "src", len(dst), len(src), cols)
	raceWrite(dst)
	raceRead(src)
	opsOf[F](active).logSoftmax(dst, src, cols)
}

// SoftmaxBackward sets ds = p * (dp - sum_j p*dp) per row, where p is
// Softmax's output and dp the gradient arriving at it.
func SoftmaxBackward[F Float](ds, p, dp []F, cols int) {
	checkBackward("SoftmaxBackward", "p", "dp", len(ds), len(p), len(dp), cols)
	raceWrite(ds)
	raceRead(p)
	raceRead(dp)
	opsOf[F](active).softmaxBackward(ds, p, dp, cols)
}

// SoftmaxBackwardAdd adds p * (dp - sum_j p*dp) to ds, per row: the gradient
// accumulated into ds, as a framework does for a tensor used twice.
func SoftmaxBackwardAdd[F Float](ds, p, dp []F, cols int) {
	checkBackward("SoftmaxBackwardAdd", "p", "dp", len(ds), len(p), len(dp), cols)
	raceRead(ds)
	raceWrite(ds)
	raceRead(p)
	raceRead(dp)
	opsOf[F](active).softmaxBackwardAdd(ds, p, dp, cols)
}

// LogSoftmaxBackward sets ds = dy - exp(y) * sum_j dy per row, where y is
// LogSoftmax's output and dy the gradient arriving at it. Masked entries
// (y = -Inf) receive 0 and their dy is left out of the sum, so a row of only
// -Inf gives zeros.
func LogSoftmaxBackward[F Float](ds, y, dy []F, cols int) {
	checkBackward("LogSoftmaxBackward", "y", "dy", len(ds), len(y), len(dy), cols)
	raceWrite(ds)
	raceRead(y)
	raceRead(dy)
	opsOf[F](active).logSoftmaxBackward(ds, y, dy, cols)
}
