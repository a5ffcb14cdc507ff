package fallback

import "math"

// rowSpecial describes a row that needs no exp: one holding a NaN or +Inf,
// or masked entirely.
type rowSpecial int

const (
	finite  rowSpecial = iota // the row's maximum is finite
	hasNaN                    // some entry is NaN
	hasInf                    // the maximum is +Inf
	allMask                   // every entry is -Inf
)

// rowMax returns the maximum of row and what kind of row it is.
func rowMax[F Float](row []F) (float64, rowSpecial) {
	m := math.Inf(-1)
	for _, v := range row {
		x := float64(v)
		if x != x {
			return 0, hasNaN
		}
		if x > m {
			m = x
		}
	}
	switch {
	case math.IsInf(m, 1):
		return m, hasInf
	case math.IsInf(m, -1):
		return m, allMask
	}
	return m, finite
}

// special writes the result of a row that needs no exp and reports whether
// it did: NaN everywhere for a row with a NaN; for a row whose maximum is
// +Inf, share(k) at its k entries equal to +Inf and masked elsewhere;
// masked everywhere for an all -Inf row.
func special[F Float](d, s []F, kind rowSpecial, masked F, share func(k float64) F) bool {
	switch kind {
	case hasNaN:
		fill(d, F(math.NaN()))
	case allMask:
		fill(d, masked)
	case hasInf:
		k := 0.0
		for _, v := range s {
			if math.IsInf(float64(v), 1) {
				k++
			}
		}
		sh := share(k)
		for j, v := range s {
			d[j] = masked
			if math.IsInf(float64(v), 1) {
				d[j] = sh
			}
		}
	default:
		return false
	}
	return true
}

// Softmax sets each row of dst to exp(s - max) / sum(exp(s - max)) of the
// same row of src, with CONTRACT.md's rules for NaN, +Inf and masked rows, and
// +0 in place of subnormal results. dst may be src.
func Softmax[F Float](dst, src []F, cols int) {
	for r := 0; r < len(src); r += cols {
		softmaxRow(dst[r:r+cols], src[r:r+cols], 1) // 1*(s-max) is exact
	}
}

// LogSoftmax sets each row of dst to s - max - log(sum(exp(s - max))) of the
// same row of src, with CONTRACT.md's rules for NaN, +Inf and masked rows. dst
// may be src.
func LogSoftmax[F Float](dst, src []F, cols int) {
	f32 := isF32[F]()
	for r := 0; r < len(src); r += cols {
		s, d := src[r:r+cols], dst[r:r+cols]
		m, kind := rowMax(s)
		if special(d, s, kind, F(math.Inf(-1)), func(k float64) F { return F(-log64(k)) }) {
			continue
		}
		var z accum
		for _, v := range s {
			z = z.plus(expAcc(f32, float64(v)-m))
		}
		lse := log64(z.sum())
		for j, v := range s {
			d[j] = F(float64(v) - m - lse)
		}
	}
}

func fill[F Float](d []F, v F) {
	for j := range d {
		d[j] = v
	}
}
