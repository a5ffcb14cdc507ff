package ref

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigExp is a slow, independent e^x: the Taylor series in math/big at 300
// bits after halving x until it is small, then squaring back.
func bigExp(x float64) *big.Float {
	const prec = 300
	h := 0
	for math.Abs(x)/math.Ldexp(1, h) > 1e-3 {
		h++
	}
	r := new(big.Float).SetPrec(prec).SetMantExp(new(big.Float).SetFloat64(x), -h)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for n := int64(1); n < 60; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
	}
	for range h {
		sum.Mul(sum, sum)
	}
	return sum
}

// relErr returns |m 2^k - want| / want.
func relErr(m DD, k int, want *big.Float) float64 {
	d := new(big.Float).SetPrec(300).Set(bigOf(m, k))
	d.Sub(d, want)
	d.Quo(d, want)
	f, _ := d.Float64()
	return math.Abs(f)
}

func TestExpAgainstBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 300; i++ {
		x := 1400*r.Float64() - 700
		if i < 100 {
			x = 4*r.Float64() - 2
		}
		m, k := ExpScaled(Of(x))
		if e := relErr(m, k, bigExp(x)); e > 1e-28 {
			t.Fatalf("Exp(%v): relative error %g", x, e)
		}
	}
}

func TestLogInvertsExp(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 1000; i++ {
		x := math.Ldexp(1+r.Float64(), r.IntN(200)-100)
		l := Log(Of(x))
		back := Exp(l)
		if d := Add(back, Of(-x)); math.Abs(d.Hi) > 1e-28*x {
			t.Fatalf("exp(log(%v)) - x = %g", x, d.Hi)
		}
	}
}

func TestCorrectRounding(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{1, math.E}, {0, 1}, {-745.1332191019411, 5e-324}, {-745.1332191019412, 0}, {-1, 1 / math.E},
	} {
		if got := Exp64CR(c.x); got != c.want {
			t.Errorf("Exp64CR(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	// around the overflow threshold ln(MaxFloat64) = 709.78271289338397
	for x := 709.7827128933838; x < 709.782712893385; x = math.Nextafter(x, 800) {
		want, _ := bigExp(x).Float64()
		if got := Exp64CR(x); got != want {
			t.Errorf("Exp64CR(%v) = %v, want %v", x, got, want)
		}
	}
	if got := Exp32CR(1); got != float32(math.E) {
		t.Errorf("Exp32CR(1) = %v", got)
	}
	if got := Exp32CR(-103.3); got != math.SmallestNonzeroFloat32 {
		t.Errorf("Exp32CR(-103.3) = %v, want the smallest subnormal", got)
	}
	if ULPs32(1, math.Nextafter32(1, 2)) != 1 || ULPs64(0, math.Copysign(0, -1)) != 0 ||
		ULPs64(-5e-324, 5e-324) != 2 || ULPs64(math.NaN(), 1) != math.MaxInt64 {
		t.Error("ULPs counts wrong")
	}
}
