package kernels

// causalOf returns SoftmaxCausal built on a SoftmaxScaled kernel: each row
// is that kernel's row of cols = the columns it sees, so a row's bits are
// a function of its values, cols, q and scale only (rows stand alone), and
// the entries it does not see are never read. q = 1 (every row sees every
// column) is one call over the matrix. With strided (nil if the tier has
// none) and more than one block, the rows at one place of every block
// (which see as many columns) go in one call: a stack of blocks of short
// rows then goes in groups as SoftmaxScaled's rows do, rather than a row a
// call; strided gives scaled's bits. A single block keeps a call a row:
// strided would place its rows a block apart, beyond the next-row
// prefetch of the kernels' long rows.
func causalOf[F Float](scaled func(dst, src []F, cols int, scale F), strided func(dst, src []F, cols, stride int, scale F)) func(dst, src []F, cols, q int, scale F) {
	return func(dst, src []F, cols, q int, scale F) {
		if q == 1 {
			scaled(dst, src, cols, scale)
			return
		}
		if strided != nil && len(src) > q*cols {
			block := q * cols
			for i := 0; i < q; i++ {
				see := cols - q + i + 1
				r, end := i*cols, len(src)-block+i*cols+see
				strided(dst[r:end], src[r:end], see, block, scale)
			}
			for r, i := 0, 0; r < len(src); r += cols {
				clear(dst[r+cols-q+i+1 : r+cols])
				if i++; i == q {
					i = 0
				}
			}
			return
		}
		for r, i := 0, 0; r < len(src); r += cols {
			see := cols - q + i + 1
			scaled(dst[r:r+see], src[r:r+see], see, scale)
			clear(dst[r+see : r+cols])
			if i++; i == q {
				i = 0
			}
		}
	}
}
