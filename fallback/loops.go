package fallback

// The literal loops: softmax and its backward pass as a framework writes them
// when it differentiates the forward loops term by term. Every statement is
// its own pass over the matrix, in F arithmetic, with an exp wherever the
// forward value is needed again. They are the baseline the fused backward
// pass (SoftmaxBackwardAdd) is measured against, and must give the same
// numbers for finite rows of moderate range (no max is subtracted).

// exp returns e^x in F.
func exp[F Float](x F) F {
	if isF32[F]() {
		return F(Exp32(float32(x)))
	}
	return F(Exp64(float64(x)))
}

// SoftmaxLoops is the literal forward pass, rows = len(s)/cols:
//
//	for b,j  Z[b] += exp(s[b,j])
//	for b,j  p[b,j] += exp(s[b,j]) / Z[b]
//
// Z (one entry per row) and p start from zero.
func SoftmaxLoops[F Float](p, Z, s []F, cols int) {
	rows := len(s) / cols
	p, Z = p[:len(s)], Z[:rows]
	clear(Z)
	clear(p)
	for b := range rows {
		for j := range cols {
			Z[b] += exp(s[b*cols+j])
		}
	}
	for b := range rows {
		for j := range cols {
			p[b*cols+j] += exp(s[b*cols+j]) / Z[b]
		}
	}
}

// SoftmaxBackwardLoops is the literal backward pass of SoftmaxLoops: it adds
// the gradient reaching s to sgrad, given the forward s and Z and the
// gradient pgrad arriving at p. Zgrad (one entry per row) is the temporary a
// framework allocates; it starts from zero.
//
//	for b,j  sgrad[b,j] += pgrad[b,j] * exp(s[b,j]) / Z[b]
//	for b,j  Zgrad[b]   -= pgrad[b,j] * exp(s[b,j]) / Z[b]^2
//	for b,j  sgrad[b,j] += Zgrad[b] * exp(s[b,j])
func SoftmaxBackwardLoops[F Float](sgrad, s, pgrad, Z, Zgrad []F, cols int) {
	rows := len(s) / cols
	sgrad, pgrad, Z, Zgrad = sgrad[:len(s)], pgrad[:len(s)], Z[:rows], Zgrad[:rows]
	clear(Zgrad)
	for b := range rows {
		for j := range cols {
			i := b*cols + j
			sgrad[i] += pgrad[i] * exp(s[i]) / Z[b]
		}
	}
	for b := range rows {
		for j := range cols {
			i := b*cols + j
			Zgrad[b] -= pgrad[i] * exp(s[i]) / (Z[b] * Z[b])
		}
	}
	for b := range rows {
		for j := range cols {
			i := b*cols + j
			sgrad[i] += Zgrad[b] * exp(s[i])
		}
	}
}
