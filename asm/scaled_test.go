//go:build amd64 && !purego

package asm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// The SoftmaxScaled kernels: Softmax's kernels with every s - max
// multiplied by scale. Held to CONTRACT.md's bound against internal/ref,
// and, where the scaling is exact (a power of two), to Softmax's own bits.

type scaledKernel[F float32 | float64] struct {
	name    string
	ok      bool
	scaled  func(dst, src []F, cols int, scale F)
	softmax func(dst, src []F, cols int)
}

func scaledKernels32() []scaledKernel[float32] {
	return []scaledKernel[float32]{
		{"SoftmaxScaledF32AVX2", fwdAVX2, SoftmaxScaledF32AVX2, SoftmaxF32AVX2},
		{"SoftmaxScaledF32AVX512", fwdAVX512, SoftmaxScaledF32AVX512, SoftmaxF32AVX512},
	}
}

func scaledKernels64() []scaledKernel[float64] {
	return []scaledKernel[float64]{
		{"SoftmaxScaledF64AVX2", fwdAVX2, SoftmaxScaledF64AVX2, SoftmaxF64AVX2},
		{"SoftmaxScaledF64AVX512", fwdAVX512, SoftmaxScaledF64AVX512, SoftmaxF64AVX512},
	}
}

func eachScaled(t *testing.T, f32 func(*testing.T, scaledKernel[float32]), f64 func(*testing.T, scaledKernel[float64])) {
	for _, k := range scaledKernels32() {
		if k.ok {
			t.Run(k.name, func(t *testing.T) { f32(t, k) })
		}
	}
	for _, k := range scaledKernels64() {
		if k.ok {
			t.Run(k.name, func(t *testing.T) { f64(t, k) })
		}
	}
}

// scaledCols: every length to 300 (every tail, group, register-held and
// solo path of both widths), then single rows of every kind.
func scaledCols() []int {
	var cs []int
	for c := 1; c <= 300; c++ {
		cs = append(cs, c)
	}
	return append(cs, 511, 512, 513, 1000, 4099)
}

// scaledRows fills rows x cols: logits, rows of one spread (some under
// fastSpan only before scaling), and special rows (NaN, +Inf, all -Inf,
// huge values) among them.
func scaledRows[F float32 | float64](r *rand.Rand, rows, cols int) []F {
	s := make([]F, rows*cols)
	for i := 0; i < rows; i++ {
		row := s[i*cols : (i+1)*cols]
		for j := range row {
			row[j] = F(8 * r.NormFloat64())
		}
		switch i % 11 {
		case 3:
			for j := range row {
				row[j] = F(-50 * r.Float64())
			}
		case 5:
			row[r.Intn(cols)] = F(math.NaN())
		case 7:
			row[r.Intn(cols)] = F(math.Inf(1))
		case 8:
			for j := range row {
				row[j] = F(math.Inf(-1))
			}
		case 9:
			row[r.Intn(cols)] = F(math.Inf(-1))
			row[0] = 1e30
		}
	}
	return s
}

// expectScaled checks got against Softmax(scale*s) within u*(1 +
// |scale*(s - max)|)*p + tiny, and that it holds no subnormal and no -0.
func expectScaled[F float32 | float64](t *testing.T, how string, got, src []F, cols int, scale F) {
	t.Helper()
	u := 0x1p-21
	if _, ok := any(scale).(float64); ok {
		u = 0x1p-46
	}
	expectScaledWithin(t, how, got, src, cols, scale, u)
}

// expectScaledWithin is expectScaled with u given.
func expectScaledWithin[F float32 | float64](t *testing.T, how string, got, src []F, cols int, scale F, u float64) {
	t.Helper()
	tiny := 0x1p-126
	if _, ok := any(scale).(float64); ok {
		tiny = 0x1p-1022
	}
	want := ref.SoftmaxScaled(ref.Float64s(src), cols, float64(scale))
	for r := 0; r < len(src); r += cols {
		m := math.Inf(-1)
		for _, v := range src[r : r+cols] {
			m = math.Max(m, float64(v))
		}
		for j := r; j < r+cols; j++ {
			g, w := float64(got[j]), want[j]
			if math.IsNaN(w) || math.IsNaN(g) {
				if !(math.IsNaN(w) && math.IsNaN(g)) {
					t.Fatalf("%s: row %d col %d: %v, want %v", how, r/cols, j-r, g, w)
				}
				continue
			}
			gap := float64(scale) * math.Abs(float64(src[j])-m)
			if math.IsInf(gap, 0) || math.IsNaN(gap) {
				gap = 0
			}
			if math.Abs(g-w) > u*(1+gap)*w+tiny {
				t.Fatalf("%s: row %d col %d of %d: %v, want %v (rel err %.3g)", how, r/cols, j-r, cols, g, w, (g-w)/w)
			}
			if g < 0 || (g != 0 && g < tiny) || math.Signbit(g) {
				t.Fatalf("%s: row %d col %d: %v: negative or subnormal", how, r/cols, j-r, g)
			}
		}
	}
}

func TestSoftmaxScaledAccuracy(t *testing.T) {
	eachScaled(t, testScaledAccuracy[float32], testScaledAccuracy[float64])
}

func testScaledAccuracy[F float32 | float64](t *testing.T, k scaledKernel[F]) {
	r := rand.New(rand.NewSource(31))
	for _, cols := range scaledCols() {
		// nine rows: two groups of four and a row left over
		rows := 9
		if cols > 1000 {
			rows = 2
		}
		src := scaledRows[F](r, rows, cols)
		// AVX-512 float32 folds scales within 2^-20..2^20 into the exp
		// and multiplies by the others: both versions, and the edges.
		for _, scale := range []F{0.125, 3, 0x1p-20, 0x1p20, 0.9e-6, 1.1e6} {
			// dst and src at their own offsets (the tails' masked loads and
			// stores), then in place
			offD, offS := cols%4, (cols*3+1)%4
			dst := make([]F, offD+len(src))[offD:]
			in := append(make([]F, offS), src...)[offS:]
			k.scaled(dst, in, cols, scale)
			expectScaled(t, fmt.Sprintf("%d cols scale %v", cols, scale), dst, src, cols, scale)
			k.scaled(in, in, cols, scale)
			for i := range in {
				if math.Float64bits(float64(in[i])) != math.Float64bits(float64(dst[i])) && !(in[i] != in[i] && dst[i] != dst[i]) {
					t.Fatalf("%d cols scale %v: in place [%d] = %v, not %v", cols, scale, i, in[i], dst[i])
				}
			}
		}
	}
}

// TestSoftmaxScaledPowersOfTwo: with scale 2^k, scale*(s - max) is exact,
// and so is 2^k*s - 2^k*max: SoftmaxScaled(s, 2^k) must have the bits of
// Softmax(2^k*s) on every path (groups, solo rows, register-held rows,
// single rows, the guards or not, special rows), scale 1 those of
// Softmax(s). The folded float32 scale scales each constant of the exp by
// a power of two too, so it keeps the bits as well. The folded float64
// scale (ExpScale64, within FoldScaleMin..FoldScaleMax) reduces with one
// part of ln2/s where Softmax's exp has two, and ends its polynomial in
// another order: not Softmax's bits, so there it is held to the bound.
func TestSoftmaxScaledPowersOfTwo(t *testing.T) {
	eachScaled(t, testScaledPowersOfTwo[float32], testScaledPowersOfTwo[float64])
}

func testScaledPowersOfTwo[F float32 | float64](t *testing.T, k scaledKernel[F]) {
	r := rand.New(rand.NewSource(37))
	for _, cols := range scaledCols() {
		src := scaledRows[F](r, 11, cols)
		for _, scale := range []F{1, 0.25, 8, 0x1p-24, 0x1p24} {
			pre := make([]F, len(src))
			for i, v := range src {
				pre[i] = v * scale
			}
			want, got := make([]F, len(src)), make([]F, len(src))
			k.softmax(want, pre, cols)
			k.scaled(got, src, cols, scale)
			if _, ok := any(scale).(float64); ok && scale >= foldScaleMin && scale <= foldScaleMax {
				expectScaled(t, fmt.Sprintf("%d cols scale %v", cols, scale), got, src, cols, scale)
				continue
			}
			for i := range got {
				if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%d cols scale %v: row %d col %d = %v, Softmax of the scaled row %v", cols, scale, i/cols, i%cols, got[i], want[i])
				}
			}
		}
	}
}

// TestSoftmaxScaledSpanAhead: every row spans under fastSpan before
// scaling and beyond it after, so every group's span test must see the
// scale, the groups whose maxima are taken ahead, inside the group
// before's folded version (AVX2 float32), too. Scales inside the fold's
// range and beyond it on both sides.
func TestSoftmaxScaledSpanAhead(t *testing.T) {
	eachScaled(t, testScaledSpanAhead[float32], testScaledSpanAhead[float64])
}

func testScaledSpanAhead[F float32 | float64](t *testing.T, k scaledKernel[F]) {
	r := rand.New(rand.NewSource(41))
	for _, cols := range []int{1, 3, 7, 8, 9, 16, 17, 31, 64, 100, 129, 257, 300} {
		src := make([]F, 13*cols)
		for i := range src {
			src[i] = F(-50 * r.Float64())
		}
		for _, scale := range []F{1.5, 3, 0x1p-20 * 80, 0x1p20, 0.9e-6 * 80, 1.1e6} {
			dst := make([]F, len(src))
			k.scaled(dst, src, cols, scale)
			expectScaled(t, fmt.Sprintf("%d cols scale %v", cols, scale), dst, src, cols, scale)
		}
	}
}

// The range of scales the float64 kernels fold into the exp
// (gen/internal's FoldScaleMin and FoldScaleMax); the others multiply.
const (
	foldScaleMin = 0x1p-20
	foldScaleMax = 0x1p20
)

// TestSoftmaxScaledExtremes: the scales at the ends of the fold's range
// and next to them on both sides, and far beyond, down to the smallest
// subnormal and up to the largest finite (each finite and > 0, so
// allowed), on rows whose scale*(s - max) spans 0 to past SoftmaxF64Lo
// (e^(scale*(s - max)) from 1 to under 2^-1022, so the zeroing bound
// too), every length of the groups and single rows. float64 within the
// fold's range is held to 2^-50, a sixteenth of CONTRACT.md's 2^-46: its
// reduction must be as exact at large |scale*(s - max)| as the multiply's
// (with ln2/s short of full precision it is not).
func TestSoftmaxScaledExtremes(t *testing.T) {
	eachScaled(t, testScaledExtremes[float32], testScaledExtremes[float64])
}

func testScaledExtremes[F float32 | float64](t *testing.T, k scaledKernel[F]) {
	r := rand.New(rand.NewSource(43))
	var scales []float64
	for _, b := range []float64{foldScaleMin, foldScaleMax} {
		scales = append(scales, b, math.Nextafter(b, 0), math.Nextafter(b, math.Inf(1)))
	}
	scales = append(scales, 0.0883883476, 0.125, 3, 1e-7, 1e5)
	u, huge := 0x1p-21, math.MaxFloat32
	if _, ok := any(F(0)).(float64); ok {
		u, huge = 0x1p-46, math.MaxFloat64
		scales = append(scales, 5e-324, 0x1p-1022, 1e-300, 1e300, math.MaxFloat64)
	} else {
		scales = append(scales, 1e-45, 0x1p-126, 1e-30, 1e30, math.MaxFloat32)
	}
	for _, cols := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 511, 512, 513, 1000} {
		for _, s64 := range scales {
			scale := F(s64)
			// scale*(s - max) from 0 to -800: the rows' values -800*x/scale
			// (clipped to the type's range), the max 0 or far from it.
			src := make([]F, 9*cols)
			for i := range src {
				v := -800 * r.Float64() / float64(scale)
				src[i] = F(math.Max(v, -huge/2))
			}
			for row := 0; row < 9; row++ {
				src[row*cols+r.Intn(cols)] = F(math.Min(float64(row%3)/float64(scale), huge/2))
			}
			dst := make([]F, len(src))
			k.scaled(dst, src, cols, scale)
			how := fmt.Sprintf("%d cols scale %v", cols, scale)
			if _, ok := any(scale).(float64); ok && s64 >= foldScaleMin && s64 <= foldScaleMax {
				expectScaledWithin(t, how, dst, src, cols, scale, 0x1p-50)
				continue
			}
			expectScaledWithin(t, how, dst, src, cols, scale, u)
		}
	}
}
