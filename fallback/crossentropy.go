package fallback

import "math"

// LogSumExp sets dst[r] = log(sum_j exp(src[r,j])) for each row r of src:
// max + log(sum exp(s - max)), so no finite row overflows. A NaN row gives
// NaN, an all -Inf row -Inf, a row holding +Inf +Inf. len(dst) is the
// number of rows.
func LogSumExp[F Float](dst, src []F, cols int) {
	f32 := isF32[F]()
	for r := range dst {
		s := src[r*cols : (r+1)*cols]
		m, kind := rowMax(s)
		switch kind {
		case hasNaN:
			dst[r] = F(math.NaN())
			continue
		case hasInf, allMask:
			dst[r] = F(m)
			continue
		}
		var z accum
		for _, v := range s {
			z = z.plus(expAcc(f32, float64(v)-m))
		}
		dst[r] = F(m + log64(z.sum()))
	}
}

// CrossEntropy sets, for each row r of logits with target t = labels[r],
// loss[r] = -LogSoftmax(row)[t] and, unless ds is nil, the ds row to
// gradScale * (Softmax(row) - onehot(t)). A negative label marks an ignored
// row: it is not read, its loss is 0 and its ds row zeros. ds may be
// logits. labels must lie below cols (kernels checks).
//
// A confident row (p_t near 1) keeps its loss and its gradient at the
// target relative to their true, small values: both come from the other
// entries' share O/Z (O = sum of e_j over j != t), the loss as log1p(O/e_t)
// and ds_t as -gradScale*O/Z, where the textbook log Z - s_t and p_t - 1
// would cancel.
func CrossEntropy[F Float](loss, ds, logits []F, labels []int32, cols int, gradScale F) {
	f32 := isF32[F]()
	g := float64(gradScale)
	for r, label := range labels {
		s := logits[r*cols : (r+1)*cols]
		var d []F
		if ds != nil {
			d = ds[r*cols : (r+1)*cols]
		}
		if label < 0 {
			loss[r] = 0
			fill(d, 0)
			continue
		}
		t := int(label)
		m, kind := rowMax(s)
		if xentSpecial(loss, d, s, r, t, kind, g) {
			continue
		}
		// Z = e_t + O, summed with O apart so that it keeps its bits.
		et := expAcc(f32, float64(s[t])-m)
		var o accum
		for j, v := range s {
			if j != t {
				o = o.plus(expAcc(f32, float64(v)-m))
			}
		}
		other := o.sum()
		z := et + other
		if et >= 0.5 {
			// p_t >= 1/(1 + 2 O): the loss may be tiny
			loss[r] = F(log1p64(other / et))
		} else {
			// p_t < 1/2: the loss exceeds ln 2 and log Z - (s_t - m) adds
			// two positive terms.
			loss[r] = F(log64(z) - (float64(s[t]) - m))
		}
		if d == nil {
			continue
		}
		inv := 1 / z
		// d may be s: entry j is read just before it is written, and the
		// target's input has been read above.
		for j, v := range s {
			if j == t {
				continue
			}
			d[j] = F(float64(g * float64(expAcc(f32, float64(v)-m)*inv)))
		}
		d[t] = F(float64(-g * float64(other*inv)))
	}
}

// xentSpecial writes the loss and ds row of a row that needs no exp (NaN,
// +Inf entries, all masked) and reports whether it did. Softmax's limits
// carry over: k entries equal to +Inf take 1/k each.
func xentSpecial[F Float](loss, d, s []F, r, t int, kind rowSpecial, g float64) bool {
	switch kind {
	case hasNaN:
		loss[r] = F(math.NaN())
		fill(d, F(math.NaN()))
	case allMask:
		loss[r] = F(math.Inf(1))
		if d != nil {
			fill(d, 0)
			d[t] = F(-g)
		}
	case hasInf:
		k := 0.0
		for _, v := range s {
			if math.IsInf(float64(v), 1) {
				k++
			}
		}
		targetInf := math.IsInf(float64(s[t]), 1)
		if targetInf {
			loss[r] = F(log64(k))
		} else {
			loss[r] = F(math.Inf(1))
		}
		if d == nil {
			return true
		}
		for j, v := range s {
			p := 0.0
			if math.IsInf(float64(v), 1) {
				p = 1 / k
			}
			if j == t {
				p -= 1
			}
			d[j] = F(float64(g * p))
		}
	default:
		return false
	}
	return true
}

// log1p64 returns ln(1 + x) for x >= 0 with an error of a few ulp, relative
// to the result even for tiny x; like log64 it is plain Go (math.Log1p is
// assembly on s390x).
func log1p64(x float64) float64 {
	if x > 0.4 {
		return log64(1 + x)
	}
	// ln(1+x) = 2 atanh(f), f = x/(2+x) <= 1/6
	f := x / (2 + x)
	f2 := float64(f * f)
	s := 1.0 / 25
	for d := 23.0; d >= 3; d -= 2 {
		s = float64(s*f2) + 1/d
	}
	return 2*f + float64(2*f*float64(f2*s))
}

// CrossEntropyComposed is CrossEntropy as a framework composes it today:
// LogSoftmax into tmp, the loss gathered from it, a one-hot gradient built
// in ds and LogSoftmaxBackward over it: four passes over the matrix and a
// temporary (len(tmp) = len(logits)). It is the reference the fused call is
// tested against and the baseline it is measured against. ds must not be
// nil; ignored rows (negative labels) get loss 0 and a zero ds row.
func CrossEntropyComposed[F Float](loss, ds, logits []F, labels []int32, cols int, gradScale F, tmp []F) {
	LogSoftmax(tmp, logits, cols)
	for r, label := range labels {
		d := ds[r*cols : (r+1)*cols]
		fill(d, 0)
		if label < 0 {
			loss[r] = 0
			fill(tmp[r*cols:(r+1)*cols], F(math.Inf(-1))) // no gradient flows
			continue
		}
		loss[r] = -tmp[r*cols+int(label)]
		d[label] = -gradScale
	}
	LogSoftmaxBackward(ds, tmp, ds, cols)
}
