package kernels

// causalOf returns SoftmaxCausal from a tier's kernels: causal (the
// SoftmaxCausal kernel) runs the whole stack in one call over the columns
// each row sees, with an arithmetic that is a function of that number of
// columns (gen/softmax/causal.go), so a row's bits depend on its values,
// cols, q, its place in its block and scale only (rows stand alone); the
// entries it does not see are never read and are written +0. q = 1 (every
// row sees every column) is SoftmaxScaled over the matrix.
func causalOf[F Float](scaled func(dst, src []F, cols int, scale F), causal func(dst, src []F, cols, q int, scale F)) func(dst, src []F, cols, q int, scale F) {
	return func(dst, src []F, cols, q int, scale F) {
		if q == 1 {
			scaled(dst, src, cols, scale)
			return
		}
		causal(dst, src, cols, q, scale)
	}
}
