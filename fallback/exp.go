package fallback

import "math"

// The products in this file are wrapped in float64(...) so that no compiler
// fuses them into an FMA: every GOARCH then rounds the same way and returns
// the same bits.

const (
	log2e = 1.44269504088896338700e+00
	// ln 2 split so that k*ln2Hi is exact for |k| < 2^20: ln2Hi keeps only
	// the top 32 bits of ln 2.
	ln2Hi = 6.93147180369123816490e-01
	ln2Lo = 1.90821492927058770002e-10
	ln2   = 6.93147180559945286227e-01
)

// roundInt returns x rounded to the nearest integer (ties to even) for
// |x| < 2^51: adding 1.5*2^52 leaves no fraction bits. math.Round is a call;
// this is two adds.
func roundInt(x float64) float64 {
	const shifter = 0x1.8p52
	return (x + shifter) - shifter
}

// pow2 returns 2^k for -1022 <= k <= 1023.
func pow2(k int) float64 { return math.Float64frombits(uint64(k+1023) << 52) }

// Exp32 returns e^x within 1 ulp of the correctly rounded float32 result
// (subnormal results included), exp(NaN) = NaN, exp(+Inf) = +Inf,
// exp(-Inf) = 0. Values above 88.7228317 overflow to +Inf.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283172607421875: // the largest float32 whose e^x is finite
		return float32(math.Inf(1))
	case x < -104: // e^x < 2^-150: rounds to 0
		return 0
	}
	return float32(exp32Core(float64(x)))
}

// exp32Core returns e^x for finite -104 <= x <= 89 with a relative error
// below 6e-9 (a tenth of a float32 ulp), so that a single rounding to
// float32 stays within 0.6 ulp. It is Exp32 before that rounding, for the
// kernels that go on computing in float64.
func exp32Core(x float64) float64 {
	k := roundInt(float64(x * log2e))
	r := x - float64(k*ln2) // |r| <= 0.3466; the rounding of k*ln2 is < 2^-46 for |k| <= 150
	// e^r by its Taylor series to r^7 (the remainder is below 5.2e-9 e^r),
	// in Estrin's scheme: short dependency chains.
	r2 := float64(r * r)
	lo := (1 + r) + float64(r2*(float64(r*(1.0/6))+0.5))
	hi := float64(r*(1.0/120)) + 1.0/24 + float64(r2*(float64(r*(1.0/5040))+1.0/720))
	p := lo + float64(float64(r2*r2)*hi)
	return float64(p * pow2(int(k))) // exact: 2^k is normal for |k| <= 150
}

// Exp64 returns e^x within 1 ulp of the correctly rounded result over the
// whole float64 domain, subnormal results included; exp(NaN) = NaN,
// exp(+Inf) = +Inf, exp(-Inf) = 0, overflow (x > 709.78) gives +Inf.
//
// Unlike math.Exp on amd64 (up to 2 ulp, and +Inf from 709.44 on), it is
// accurate up to the true overflow threshold.
func Exp64(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > 710:
		return math.Inf(1)
	case x < -746: // e^x < 2^-1076: rounds to 0
		return 0
	}
	k := roundInt(float64(x * log2e))
	hi := x - float64(k*ln2Hi) // exact: k*ln2Hi is exact and close to x
	lo := float64(k * ln2Lo)
	r := hi - lo // |r| <= 0.3466
	// e^r - 1 - r = r^2 (1/2! + r/3! + ... + r^11/13!): the remainder after
	// r^13 is below 5e-18, a twentieth of an ulp.
	q := 1.0 / 6227020800
	for _, c := range [...]float64{
		1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880,
		1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5,
	} {
		q = float64(q*r) + c
	}
	q = float64(float64(q*r) * r)
	// 1 + (hi + (q - lo)) adds the parts from small to large: with the
	// final rounding the error stays below 0.9 ulp.
	y := 1 + (hi + (q - lo))
	n := int(k)
	switch {
	case n < -1020: // subnormal result: round once, at the last multiply
		return float64(y*pow2(n+1000)) * 0x1p-1000
	case n > 1023:
		return float64(y*pow2(n-1)) * 2
	}
	return float64(y * pow2(n))
}
