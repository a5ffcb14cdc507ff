package fallback

import "math"

// log64 returns ln x for a finite x > 0 with an error of a few ulp at most:
// it stands in for math.Log, which is assembly on amd64 and s390x and so
// gives other bits on different GOARCHes.
func log64(x float64) float64 {
	m, e := math.Frexp(x) // x = m 2^e, 0.5 <= m < 1
	if m < math.Sqrt2/2 {
		m *= 2
		e--
	}
	// ln m = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), f = (m-1)/(m+1),
	// |f| <= 0.1716: terms past f^25 are below 1e-19 f.
	f := (m - 1) / (m + 1)
	f2 := float64(f * f)
	s := 1.0 / 25
	for d := 23.0; d >= 3; d -= 2 {
		s = float64(s*f2) + 1/d
	}
	lnm := 2*f + float64(2*f*float64(f2*s))
	fe := float64(e)
	return float64(fe*ln2Hi) + (float64(fe*ln2Lo) + lnm)
}
