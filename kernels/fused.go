package kernels

// LogSumExp sets dst[r] = log(sum_j exp(src[r,j])) for each row r of src:
// max + log(sum exp(s - max)), so no finite row overflows. len(dst) is the
// number of rows. A row holding NaN gives NaN, a row holding +Inf gives
// +Inf, an all -Inf row gives -Inf.
func LogSumExp[F Float](dst, src []F, cols int) {
	checkCols("LogSumExp", "src", len(src), cols)
	if len(dst) != len(src)/cols {
		panicRows("LogSumExp", "dst", len(dst), len(src), cols)
	}
	raceWrite(dst)
	raceRead(src)
	opsOf[F](active).logSumExp(dst, src, cols)
}

// CrossEntropy computes the loss and gradient of a softmax classifier from
// its logits in one call: for each row r with target t = labels[r],
//
//	loss[r] = -LogSoftmax(row)[t]                         (= LogSumExp(row) - row[t])
//	ds row  = gradScale * (Softmax(row) - onehot(t))      unless ds is nil
//
// len(loss) = len(labels) = rows; ds is nil (the loss alone, with the same
// bits) or as long as logits, and may be logits itself. A negative label
// marks an ignored row (padding): it is not read, its loss is 0 and its ds
// row zeros. For the mean loss over n rows, pass gradScale = 1/n.
//
// Rows the model already gets right keep their small loss and gradient:
// both are computed from the other entries' share of the row rather than
// as LogSumExp - s_t and p_t - 1, which cancel when p_t nears 1. A masked
// target (-Inf) gives loss +Inf; a NaN makes the row's loss and ds NaN.
// A label >= cols panics.
func CrossEntropy[F Float](loss, ds, logits []F, labels []int32, cols int, gradScale F) {
	checkCrossEntropy(len(loss), len(ds), len(logits), labels, cols, ds == nil)
	raceWrite(loss)
	raceRead(logits)
	raceRead(labels)
	if ds != nil {
		raceWrite(ds)
	}
	opsOf[F](active).crossEntropy(loss, ds, logits, labels, cols, gradScale)
}

// SoftmaxScaled sets each row of dst to Softmax(scale * s) of the same row of
// src, as attention does with scale = 1/sqrt(d) (or 1/temperature), in one
// pass where a scaling pass and Softmax would take two. scale must be
// finite and > 0.
func SoftmaxScaled[F Float](dst, src []F, cols int, scale F) {
	checkMatrix("SoftmaxScaled", "dst", "src", len(dst), len(src), cols)
	checkScale("SoftmaxScaled", scale)
	raceWrite(dst)
	raceRead(src)
	opsOf[F](active).softmaxScaled(dst, src, cols, scale)
}

// SoftmaxCausal is SoftmaxScaled under a causal mask: src is a stack of
// blocks of q rows, q queries against cols keys whose last q are the
// queries' own positions (the mask aligned to the bottom right). Row i of a
// block (0 <= i < q) sees the columns j <= cols - q + i; its other entries
// are written +0 and never read. q = cols is a prefill, q = 1 a decoding
// step that sees every column. 1 <= q <= cols, and len(src) must be a
// multiple of q*cols.
func SoftmaxCausal[F Float](dst, src []F, cols, q int, scale F) {
	checkMatrix("SoftmaxCausal", "dst", "src", len(dst), len(src), cols)
	checkCausal("SoftmaxCausal", len(src), cols, q)
	checkScale("SoftmaxCausal", scale)
	raceWrite(dst)
	raceRead(src)
	opsOf[F](active).softmaxCausal(dst, src, cols, q, scale)
}

// SoftmaxBackwardScaled sets ds = scale * p * (dp - sum_j p*dp) per row: the
// backward pass of SoftmaxScaled, where p is its output and dp the
// gradient arriving at it.
func SoftmaxBackwardScaled[F Float](ds, p, dp []F, cols int, scale F) {
	checkBackward("SoftmaxBackwardScaled", "p", "dp", len(ds), len(p), len(dp), cols)
	checkScale("SoftmaxBackwardScaled", scale)
	raceWrite(ds)
	raceRead(p)
	raceRead(dp)
	opsOf[F](active).softmaxBackwardScaled(ds, p, dp, cols, scale)
}

// SoftmaxCausalBackward is the backward pass of SoftmaxCausal: per row,
// SoftmaxBackwardScaled over the entries the row sees (p and dp elsewhere
// are never read) and ds = 0 on the masked ones.
func SoftmaxCausalBackward[F Float](ds, p, dp []F, cols, q int, scale F) {
	checkBackward("SoftmaxCausalBackward", "p", "dp", len(ds), len(p), len(dp), cols)
	checkCausal("SoftmaxCausalBackward", len(ds), cols, q)
	checkScale("SoftmaxCausalBackward", scale)
	raceWrite(ds)
	raceRead(p)
	raceRead(dp)
	opsOf[F](active).softmaxCausalBackward(ds, p, dp, cols, q, scale)
}
