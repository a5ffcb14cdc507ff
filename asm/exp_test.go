//go:build amd64 && !purego

package asm

import (
	"math"
	"math/rand"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/rowwise/softmax/internal/guard"
	"github.com/rowwise/softmax/internal/ref"
)

var (
	fwdAVX2   = cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3)
	fwdAVX512 = cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX512F, cpuid.AVX512DQ, cpuid.FMA3)
)

type fwdFn[T any] struct {
	name string
	ok   bool
	fn   T
}

func exp32Kernels() []fwdFn[func(dst, src []float32)] {
	return []fwdFn[func(dst, src []float32)]{
		{"ExpF32AVX2", fwdAVX2, ExpF32AVX2},
		{"ExpF32AVX512", fwdAVX512, ExpF32AVX512},
	}
}

func exp64Kernels() []fwdFn[func(dst, src []float64)] {
	return []fwdFn[func(dst, src []float64)]{
		{"ExpF64AVX2", fwdAVX2, ExpF64AVX2},
		{"ExpF64AVX512", fwdAVX512, ExpF64AVX512},
	}
}

// eachExp runs f for every exp kernel this CPU has.
func eachExp(t *testing.T, f32 func(t *testing.T, exp func(dst, src []float32)), f64 func(t *testing.T, exp func(dst, src []float64))) {
	for _, k := range exp32Kernels() {
		if k.ok && f32 != nil {
			t.Run(k.name, func(t *testing.T) { f32(t, k.fn) })
		}
	}
	for _, k := range exp64Kernels() {
		if k.ok && f64 != nil {
			t.Run(k.name, func(t *testing.T) { f64(t, k.fn) })
		}
	}
}

// within1ulp32 reports whether y is within 1 ulp of the correctly rounded
// e^x, CONTRACT.md's bound. float32(math.Exp(x)) is that value unless e^x lies
// within 2^-40 of a rounding boundary, where the exact reference decides.
func within1ulp32(x, y float32) bool {
	if x != x {
		return y != y
	}
	e := math.Exp(float64(x))
	cr := float32(e)
	if !math.IsInf(float64(cr), 0) && cr != 0 {
		nb := math.Nextafter32(cr, float32(math.Copysign(math.Inf(1), e-float64(cr))))
		mid := (float64(cr) + float64(nb)) / 2
		if math.Abs(e-mid) <= e*0x1p-40 {
			cr = ref.Exp32CR(x)
		}
	}
	return ref.ULPs32(y, cr) <= 1
}

func TestExpF32Sweep(t *testing.T) { eachExp(t, testExpF32Sweep, nil) }

func testExpF32Sweep(t *testing.T, exp func(dst, src []float32)) {
	const chunk = 1 << 16
	src := make([]float32, chunk)
	dst := make([]float32, chunk)
	stride := uint64(61)
	if testing.Short() {
		stride = 4099
	}
	bad := 0
	for b := uint64(0); b < 1<<32; {
		n := 0
		for ; n < chunk && b < 1<<32; n++ {
			src[n] = math.Float32frombits(uint32(b))
			b += stride
		}
		exp(dst[:n], src[:n])
		for i := 0; i < n; i++ {
			if !within1ulp32(src[i], dst[i]) {
				if bad++; bad < 10 {
					t.Errorf("exp(%g [%#x]) = %g [%#x], want %g", src[i], math.Float32bits(src[i]), dst[i], math.Float32bits(dst[i]), ref.Exp32CR(src[i]))
				}
			}
		}
	}
}

func TestExpF32Specials(t *testing.T) { eachExp(t, testExpF32Specials, nil) }

func testExpF32Specials(t *testing.T, exp func(dst, src []float32)) {
	inf := float32(math.Inf(1))
	cases := [][2]float32{{0, 1}, {float32(math.Copysign(0, -1)), 1}, {inf, inf}, {-inf, 0}, {89, inf}, {88.8, inf}, {-104, 0}, {-1e30, 0}, {1e30, inf}}
	for _, c := range cases {
		d := []float32{0}
		exp(d, []float32{c[0]})
		if d[0] != c[1] {
			t.Errorf("exp(%g) = %g, want %g", c[0], d[0], c[1])
		}
	}
	d := []float32{0}
	exp(d, []float32{float32(math.NaN())})
	if d[0] == d[0] {
		t.Errorf("exp(NaN) = %g", d[0])
	}
	// Subnormal results against the correctly rounded reference.
	for x := float32(-87.5); x > -104; x -= 0.0137 {
		exp(d, []float32{x})
		if u := ref.ULPs32(d[0], ref.Exp32CR(x)); u > 1 {
			t.Errorf("exp(%g) = %g, %d ulp from %g", x, d[0], u, ref.Exp32CR(x))
		}
	}
}

func TestExpF64(t *testing.T) { eachExp(t, nil, testExpF64) }

func testExpF64(t *testing.T, exp func(dst, src []float64)) {
	rng := rand.New(rand.NewSource(1))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	src := make([]float64, n)
	for i := range src {
		switch i % 4 {
		case 0:
			src[i] = (rng.Float64()*2 - 1) * 750
		case 1:
			src[i] = (rng.Float64()*2 - 1) * 2
		case 2:
			src[i] = -708 - rng.Float64()*38 // subnormal results
		default:
			src[i] = math.Ldexp(rng.Float64()-0.5, -rng.Intn(60))
		}
	}
	dst := make([]float64, n)
	exp(dst, src)
	worst := int64(0)
	for i, x := range src {
		u := ref.ULPs64(dst[i], ref.Exp64CR(x))
		if u > worst {
			worst = u
		}
		if u > 1 {
			t.Errorf("exp(%v) = %v, %d ulp from %v", x, dst[i], u, ref.Exp64CR(x))
		}
	}
	inf := math.Inf(1)
	cases := [][2]float64{{0, 1}, {math.Copysign(0, -1), 1}, {inf, inf}, {-inf, 0}, {709.8, inf}, {1e300, inf}, {-746, 0}, {-1e300, 0}, {-745.2, 0}, {-745.1, 5e-324}}
	for _, c := range cases {
		d := []float64{0}
		exp(d, []float64{c[0]})
		if d[0] != c[1] {
			t.Errorf("exp(%g) = %g, want %g", c[0], d[0], c[1])
		}
	}
	for _, bits := range []uint64{0x7ff8000000000000, 0x7ff0000000000001, 0xfff8000000000abc, 0x7ff8000000000fff} {
		d := []float64{0}
		exp(d, []float64{math.Float64frombits(bits)})
		if d[0] == d[0] {
			t.Errorf("exp(NaN %#x) = %g", bits, d[0])
		}
	}
}

func TestExpGuarded(t *testing.T) {
	for _, k := range exp32Kernels() {
		if !k.ok {
			continue
		}
		for n := 0; n <= 70; n++ {
			for _, atEnd := range []bool{false, true} {
				s := guard.Slice[float32](t, n, atEnd)
				d := guard.Slice[float32](t, n, !atEnd)
				for i := range s {
					s[i] = float32(i%7) - 3
				}
				k.fn(d, s)
				for i := range s {
					if ref.ULPs32(d[i], ref.Exp32CR(s[i])) > 1 {
						t.Fatalf("%s n=%d i=%d: exp(%g) = %g", k.name, n, i, s[i], d[i])
					}
				}
				k.fn(s, s) // in place
			}
		}
	}
	for _, k := range exp64Kernels() {
		if !k.ok {
			continue
		}
		for n := 0; n <= 40; n++ {
			for _, atEnd := range []bool{false, true} {
				s := guard.Slice[float64](t, n, atEnd)
				d := guard.Slice[float64](t, n, !atEnd)
				for i := range s {
					s[i] = float64(i%7) - 3
				}
				k.fn(d, s)
				for i := range s {
					if ref.ULPs64(d[i], ref.Exp64CR(s[i])) > 1 {
						t.Fatalf("%s n=%d i=%d: exp(%g) = %g", k.name, n, i, s[i], d[i])
					}
				}
			}
		}
	}
}

func BenchmarkExp(b *testing.B) {
	const n = 1 << 14
	s32, d32 := make([]float32, n), make([]float32, n)
	s64, d64 := make([]float64, n), make([]float64, n)
	for i := range s32 {
		s32[i] = float32(i%200) - 100
		s64[i] = float64(i%200) - 100
	}
	for _, k := range exp32Kernels() {
		if k.ok {
			b.Run(k.name, func(b *testing.B) {
				b.SetBytes(8 * n)
				for i := 0; i < b.N; i++ {
					k.fn(d32, s32)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		}
	}
	for _, k := range exp64Kernels() {
		if k.ok {
			b.Run(k.name, func(b *testing.B) {
				b.SetBytes(16 * n)
				for i := 0; i < b.N; i++ {
					k.fn(d64, s64)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		}
	}
}
