package kernels

// causalOf returns SoftmaxCausal from a tier's kernels: causal (the
// SoftmaxCausal kernel) runs the whole stack in one call, each row through
// one-row code over the columns it sees, so a row's bits are a function of
// its values, cols, q, its place in its block and scale only (rows stand
// alone); the entries it does not see are never read and are written +0.
// q = 1 (every row sees every column) is SoftmaxScaled over the matrix,
// whose short rows go in groups.
func causalOf[F Float](scaled func(dst, src []F, cols int, scale F), causal func(dst, src []F, cols, q int, scale F)) func(dst, src []F, cols, q int, scale F) {
	return func(dst, src []F, cols, q int, scale F) {
		if q == 1 {
			scaled(dst, src, cols, scale)
			return
		}
		causal(dst, src, cols, q, scale)
	}
}
