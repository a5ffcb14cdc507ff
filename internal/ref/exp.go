package ref

import (
	"math"
	"math/big"
)

// ln2 as a DD, computed once with math/big: 2 atanh(1/3).
var ln2 = func() DD {
	const prec = 240
	third := new(big.Float).SetPrec(prec).Quo(big.NewFloat(1).SetPrec(prec), big.NewFloat(3))
	ninth := new(big.Float).SetPrec(prec).Mul(third, third)
	sum := new(big.Float).SetPrec(prec)
	pow := new(big.Float).SetPrec(prec).Set(third)
	for n := 1; n < 200; n += 2 {
		t := new(big.Float).SetPrec(prec).Quo(pow, big.NewFloat(float64(n)))
		sum.Add(sum, t)
		pow.Mul(pow, ninth)
	}
	sum.Mul(sum, big.NewFloat(2))
	hi, _ := sum.Float64()
	lo, _ := new(big.Float).SetPrec(prec).Sub(sum, big.NewFloat(hi)).Float64()
	return DD{hi, lo}
}()

// ExpScaled returns m and k with e^x = m 2^k, m within a factor 1.5 of 1 and
// a relative error near 1e-30, for finite x.
func ExpScaled(x DD) (DD, int) {
	k := math.Round(x.Hi / ln2.Hi)
	r := Add(x, Neg(Mul(Of(k), ln2))) // |r| <= 0.35
	// e^r = (e^(r/256))^256: the Taylor series of the small argument
	// converges fast, and 8 squarings lose only 8 bits of the ~106.
	r = Scale(r, -8)
	sum, term := Of(1), Of(1)
	for n := 1; n <= 14; n++ {
		term = Div(Mul(term, r), Of(float64(n)))
		sum = Add(sum, term)
	}
	for range 8 {
		sum = Mul(sum, sum)
	}
	return sum, int(k)
}

// Exp returns e^x as a DD: exact to about 1e-30 where it is a normal
// float64, 0 far below, +Inf far above.
func Exp(x DD) DD {
	switch {
	case x.Hi < -1500:
		return DD{}
	case x.Hi > 1500:
		return DD{math.Inf(1), 0}
	}
	m, k := ExpScaled(x)
	return Scale(m, k)
}

// Log returns ln x for a DD x > 0 with a relative error near 1e-30: one
// Newton step on math.Log.
func Log(x DD) DD {
	y := Of(math.Log(x.Hi))
	// y + x e^-y - 1
	return Add(y, Add(Mul(x, Exp(Neg(y))), Of(-1)))
}

// big returns m 2^k as a big.Float.
func bigOf(m DD, k int) *big.Float {
	f := new(big.Float).SetPrec(200).SetFloat64(m.Hi)
	f.Add(f, new(big.Float).SetPrec(200).SetFloat64(m.Lo))
	return f.SetMantExp(f, k)
}

// Exp64CR returns e^x correctly rounded to float64 (subnormals and overflow
// included).
func Exp64CR(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case x > 800:
		return math.Inf(1)
	case x < -800:
		return 0
	}
	f, _ := bigOf(ExpScaled(Of(x))).Float64()
	return f
}

// Exp32CR returns e^x correctly rounded to float32.
func Exp32CR(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 100:
		return float32(math.Inf(1))
	case x < -110:
		return 0
	}
	f, _ := bigOf(ExpScaled(Of(float64(x)))).Float32()
	return f
}
