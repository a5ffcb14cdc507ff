package fallback

// SoftmaxScaled sets each row of dst to Softmax(scale * s) of the same row of
// src: exp(scale*(s - max)) / sum exp(scale*(s - max)), with Softmax's rules
// for NaN, +Inf and masked rows and +0 in place of subnormal results. scale
// is finite and > 0 (kernels checks). dst may be src.
func SoftmaxScaled[F Float](dst, src []F, cols int, scale F) {
	for r := 0; r < len(src); r += cols {
		softmaxRow(dst[r:r+cols], src[r:r+cols], float64(scale))
	}
}

// softmaxRow writes Softmax(scale * s) of one row into d.
func softmaxRow[F Float](d, s []F, scale float64) {
	f32 := isF32[F]()
	tiny := minNormal[F]()
	m, kind := rowMax(s)
	if special(d, s, kind, 0, func(k float64) F { return F(1 / k) }) {
		return
	}
	var z accum
	for j, v := range s {
		e := expAcc(f32, float64(scale*(float64(v)-m)))
		d[j] = F(e)
		z = z.plus(e)
	}
	inv := 1 / z.sum()
	for j, e := range d {
		p := F(float64(e) * inv)
		if p < tiny {
			p = 0
		}
		d[j] = p
	}
}

// SoftmaxCausal is SoftmaxScaled under a causal mask aligned to the bottom
// right: src is a stack of blocks of q rows, and row i of a block
// (0 <= i < q) sees the columns j <= cols - q + i. The entries a row does
// not see are written +0 and never read. q = cols is a prefill (a lower
// triangle), q = 1 sees every column. 1 <= q <= cols and len(src) is a
// multiple of q*cols (kernels checks).
func SoftmaxCausal[F Float](dst, src []F, cols, q int, scale F) {
	for r, i := 0, 0; r < len(src); r += cols {
		see := cols - q + i + 1
		softmaxRow(dst[r:r+see], src[r:r+see], float64(scale))
		fill(dst[r+see:r+cols], 0)
		if i++; i == q {
			i = 0
		}
	}
}

// SoftmaxBackwardScaled sets ds = scale * p * (dp - sum_j p*dp) per row: the
// backward pass of SoftmaxScaled. ds may be p or dp.
func SoftmaxBackwardScaled[F Float](ds, p, dp []F, cols int, scale F) {
	for r := 0; r < len(p); r += cols {
		backwardRow(ds[r:r+cols], p[r:r+cols], dp[r:r+cols], float64(scale))
	}
}

// backwardRow writes scale * p * (dp - sum_j p*dp) of one row into ds.
func backwardRow[F Float](ds, p, dp []F, scale float64) {
	var e accum
	for j, v := range p {
		e = e.plus(float64(float64(v) * float64(dp[j])))
	}
	dot := e.sum()
	for j, v := range p {
		ds[j] = F(float64(scale * float64(float64(v)*(float64(dp[j])-dot))))
	}
}

// SoftmaxCausalBackward is the backward pass of SoftmaxCausal: per row,
// SoftmaxBackwardScaled over the entries the row sees (p and dp elsewhere
// are never read) and ds = 0 on the others. ds may be p or dp.
func SoftmaxCausalBackward[F Float](ds, p, dp []F, cols, q int, scale F) {
	for r, i := 0, 0; r < len(p); r += cols {
		see := cols - q + i + 1
		backwardRow(ds[r:r+see], p[r:r+see], dp[r:r+see], float64(scale))
		fill(ds[r+see:r+cols], 0)
		if i++; i == q {
			i = 0
		}
	}
}
