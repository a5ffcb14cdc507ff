package fallback

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

func TestExp32Sampled(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n := 400000
	if testing.Short() {
		n = 40000
	}
	worst, at := int64(0), float32(0)
	for i := 0; i < n; i++ {
		var x float32
		if i%2 == 0 {
			x = math.Float32frombits(r.Uint32()) // every exponent, both signs
		} else {
			x = float32(-110 + 200*r.Float64()) // the finite, nonzero range
		}
		if d := ref.ULPs32(Exp32(x), ref.Exp32CR(x)); d > worst {
			worst, at = d, x
		}
	}
	if worst > 1 {
		t.Fatalf("Exp32(%v) = %v is %d ulp from %v", at, Exp32(at), worst, ref.Exp32CR(at))
	}
}

func TestExp64Sampled(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	ranges := [][2]float64{
		{-746, 710},                              // the whole domain
		{-745.2, -708},                           // subnormal results
		{709, 709.8},                             // near overflow
		{-0.5, 0.5},                              // around the reduction's edges
		{-1e-6, 1e-6},                            // tiny arguments
		{709.782712893383, 709.78271289338400},   // the last finite results
		{-745.1332191019412, -745.1332191019411}, // the last nonzero result
	}
	for i := 0; i < n; i++ {
		rg := ranges[i%len(ranges)]
		x := rg[0] + (rg[1]-rg[0])*r.Float64()
		if got, want := Exp64(x), ref.Exp64CR(x); ref.ULPs64(got, want) > 1 {
			t.Fatalf("Exp64(%v) = %v, want %v (%d ulp)", x, got, want, ref.ULPs64(got, want))
		}
	}
}

func TestExpSpecialValues(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct{ x, want float64 }{
		{math.NaN(), math.NaN()}, {inf, inf}, {-inf, 0}, {0, 1}, {math.Copysign(0, -1), 1},
		{710, inf}, {1000, inf}, {-746, 0}, {-1e300, 0},
		{709.78, 1.7928227943945155e308}, {-745, 5e-324},
	} {
		if got := Exp64(c.x); ref.ULPs64(got, c.want) > 1 {
			t.Errorf("Exp64(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	for _, c := range []struct{ x, want float32 }{
		{float32(math.NaN()), float32(math.NaN())}, {float32(inf), float32(inf)}, {float32(-inf), 0},
		{0, 1}, {float32(math.Copysign(0, -1)), 1}, {88.72284, float32(inf)}, {89, float32(inf)},
		{-103.9, 1e-45}, {-104.5, 0},
		{88.72283, ref.Exp32CR(88.72283)}, {-87.5, ref.Exp32CR(-87.5)},
	} {
		if got := Exp32(c.x); ref.ULPs32(got, c.want) > 1 {
			t.Errorf("Exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

// TestMathExpIsNotTheReference documents why Exp64 exists: on amd64
// math.Exp overflows early. It guards the reference from being swapped back.
func TestExp64BeyondMathExp(t *testing.T) {
	x := 709.7
	if got := Exp64(x); math.IsInf(got, 0) || ref.ULPs64(got, ref.Exp64CR(x)) > 1 {
		t.Fatalf("Exp64(%v) = %v, want %v", x, got, ref.Exp64CR(x))
	}
}

func TestLog64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 20000; i++ {
		x := math.Ldexp(0.5+r.Float64(), r.IntN(2000)-1000)
		want := ref.Log(ref.Of(x)).Float()
		if d := ref.ULPs64(log64(x), want); d > 2 {
			t.Fatalf("log64(%v) = %v, want %v (%d ulp)", x, log64(x), want, d)
		}
	}
}
