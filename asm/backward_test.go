//go:build amd64 && !purego

package asm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/internal/guard"
	"github.com/rowwise/softmax/internal/ref"
)

type bwdKernel[F float32 | float64] struct {
	name string
	add  bool
	ok   bool
	fn   func(ds, p, dp []F, cols int)
	// The streaming kernels take rows of at least minCols and a ds that
	// is neither p nor dp.
	minCols int
	noAlias bool
	// scale is the scale the SoftmaxBackwardScaled kernels run with (fn
	// binds it); 0 for the others.
	scale float64
}

// testScale is the scale the scaled kernels are tested with: 1/sqrt(96),
// not a power of two, so that it rounds.
const testScale = 0.10206207261596575

// scaledF32 and scaledF64 bind testScale to a scaled kernel.
func scaledF32(fn func(ds, p, dp []float32, cols int, scale float32)) func(ds, p, dp []float32, cols int) {
	return func(ds, p, dp []float32, cols int) { fn(ds, p, dp, cols, testScale) }
}

func scaledF64(fn func(ds, p, dp []float64, cols int, scale float64)) func(ds, p, dp []float64, cols int) {
	return func(ds, p, dp []float64, cols int) { fn(ds, p, dp, cols, testScale) }
}

var (
	hasAVX2   = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3)
	hasAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX2, cpuid.FMA3)
)

func bwdKernelsF32() []bwdKernel[float32] {
	return []bwdKernel[float32]{
		{"SoftmaxBackwardF32AVX2", false, hasAVX2, SoftmaxBackwardF32AVX2, 1, false, 0},
		{"SoftmaxBackwardAddF32AVX2", true, hasAVX2, SoftmaxBackwardAddF32AVX2, 1, false, 0},
		{"SoftmaxBackwardF32AVX512", false, hasAVX512, SoftmaxBackwardF32AVX512, 1, false, 0},
		{"SoftmaxBackwardAddF32AVX512", true, hasAVX512, SoftmaxBackwardAddF32AVX512, 1, false, 0},
		{"SoftmaxBackwardStreamF32AVX2", false, hasAVX2, SoftmaxBackwardStreamF32AVX2, 8, true, 0},
		{"SoftmaxBackwardStreamF32AVX512", false, hasAVX512, SoftmaxBackwardStreamF32AVX512, 16, true, 0},
		{"SoftmaxBackwardScaledF32AVX2", false, hasAVX2, scaledF32(SoftmaxBackwardScaledF32AVX2), 1, false, float64(float32(testScale))},
		{"SoftmaxBackwardScaledF32AVX512", false, hasAVX512, scaledF32(SoftmaxBackwardScaledF32AVX512), 1, false, float64(float32(testScale))},
		{"SoftmaxBackwardScaledStreamF32AVX2", false, hasAVX2, scaledF32(SoftmaxBackwardScaledStreamF32AVX2), 8, true, float64(float32(testScale))},
		{"SoftmaxBackwardScaledStreamF32AVX512", false, hasAVX512, scaledF32(SoftmaxBackwardScaledStreamF32AVX512), 16, true, float64(float32(testScale))},
	}
}

func bwdKernelsF64() []bwdKernel[float64] {
	return []bwdKernel[float64]{
		{"SoftmaxBackwardF64AVX2", false, hasAVX2, SoftmaxBackwardF64AVX2, 1, false, 0},
		{"SoftmaxBackwardAddF64AVX2", true, hasAVX2, SoftmaxBackwardAddF64AVX2, 1, false, 0},
		{"SoftmaxBackwardF64AVX512", false, hasAVX512, SoftmaxBackwardF64AVX512, 1, false, 0},
		{"SoftmaxBackwardAddF64AVX512", true, hasAVX512, SoftmaxBackwardAddF64AVX512, 1, false, 0},
		{"SoftmaxBackwardStreamF64AVX2", false, hasAVX2, SoftmaxBackwardStreamF64AVX2, 4, true, 0},
		{"SoftmaxBackwardStreamF64AVX512", false, hasAVX512, SoftmaxBackwardStreamF64AVX512, 8, true, 0},
		{"SoftmaxBackwardScaledF64AVX2", false, hasAVX2, scaledF64(SoftmaxBackwardScaledF64AVX2), 1, false, testScale},
		{"SoftmaxBackwardScaledF64AVX512", false, hasAVX512, scaledF64(SoftmaxBackwardScaledF64AVX512), 1, false, testScale},
		{"SoftmaxBackwardScaledStreamF64AVX2", false, hasAVX2, scaledF64(SoftmaxBackwardScaledStreamF64AVX2), 4, true, testScale},
		{"SoftmaxBackwardScaledStreamF64AVX512", false, hasAVX512, scaledF64(SoftmaxBackwardScaledStreamF64AVX512), 8, true, testScale},
	}
}

func fillRow[F float32 | float64](rng *rand.Rand, p, dp []F, kind int) {
	switch kind {
	case 0: // softmax-like p, normal dp
		var s float64
		w := make([]float64, len(p))
		for j := range w {
			w[j] = math.Exp(3 * rng.NormFloat64())
			s += w[j]
		}
		for j := range p {
			p[j] = F(w[j] / s)
			dp[j] = F(rng.NormFloat64())
		}
	case 1: // cancelling dot product, wide range of magnitudes
		for j := range p {
			p[j] = F(rng.Float64())
			dp[j] = F(math.Ldexp(rng.NormFloat64(), rng.Intn(40)-20))
		}
	default: // arbitrary signs and scales
		for j := range p {
			p[j] = F(rng.NormFloat64())
			dp[j] = F(rng.NormFloat64() * 1e3)
		}
	}
}

const (
	aliasNone = iota
	aliasP
	aliasDP
)

func checkBwd[F float32 | float64](t *testing.T, k bwdKernel[F], rows, cols, kind, alias int, atEnd bool, rng *rand.Rand) (worst float64) {
	t.Helper()
	n := rows * cols
	p := guard.Slice[F](t, n, atEnd)
	dp := guard.Slice[F](t, n, atEnd)
	ds := guard.Slice[F](t, n, atEnd)
	for r := 0; r < rows; r++ {
		fillRow(rng, p[r*cols:(r+1)*cols], dp[r*cols:(r+1)*cols], kind)
	}
	for j := range ds {
		ds[j] = F(rng.NormFloat64())
	}
	switch alias {
	case aliasP:
		copy(ds, p)
	case aliasDP:
		copy(ds, dp)
	}
	ds0 := append([]F(nil), ds...)
	p0 := append([]F(nil), p...)
	dp0 := append([]F(nil), dp...)
	switch alias {
	case aliasP:
		k.fn(p, p, dp, cols)
		ds = p
	case aliasDP:
		k.fn(dp, p, dp, cols)
		ds = dp
	default:
		k.fn(ds, p, dp, cols)
	}
	var z F
	eps, tiny, u := math.Ldexp(1, -20), math.Ldexp(1, -126), math.Ldexp(1, -24)
	if unsafe.Sizeof(z) == 8 {
		eps, tiny, u = math.Ldexp(1, -46), math.Ldexp(1, -1022), math.Ldexp(1, -53)
	}
	for r := 0; r < rows; r++ {
		lo, hi := r*cols, (r+1)*cols
		var add []float64
		if k.add {
			add = ref.Float64s(ds0[lo:hi])
		}
		want, size := ref.SoftmaxBackward(add, ref.Float64s(p0[lo:hi]), ref.Float64s(dp0[lo:hi]), cols)
		for j := range want {
			got := float64(ds[lo+j])
			bound := eps*size[j] + tiny
			if k.add {
				bound += eps * math.Abs(want[j]) // rounding of the sum with ds
			}
			if k.scale != 0 {
				// The bound times scale, plus one rounding of the result.
				want[j] *= k.scale
				bound = k.scale*eps*size[j] + tiny + u*math.Abs(want[j])
			}
			worst = math.Max(worst, math.Abs(got-want[j])/bound)
			if !(math.Abs(got-want[j]) <= bound) {
				t.Fatalf("%s rows=%d cols=%d kind=%d alias=%d: ds[%d][%d] = %g, want %g (bound %g, p=%g dp=%g)",
					k.name, rows, cols, kind, alias, r, j, got, want[j], bound, p0[lo+j], dp0[lo+j])
			}
		}
	}
	if alias != aliasP {
		for j := range p {
			if math.Float64bits(float64(p[j])) != math.Float64bits(float64(p0[j])) {
				t.Fatalf("%s: p[%d] changed", k.name, j)
			}
		}
	}
	if alias != aliasDP {
		for j := range dp {
			if math.Float64bits(float64(dp[j])) != math.Float64bits(float64(dp0[j])) {
				t.Fatalf("%s: dp[%d] changed", k.name, j)
			}
		}
	}
	return worst
}

func bwdCols() []int {
	var cs []int
	for c := 1; c <= 80; c++ {
		cs = append(cs, c)
	}
	return append(cs, 95, 96, 97, 127, 128, 129, 255, 256, 257, 300, 1000, 1023, 4099)
}

func testBwd[F float32 | float64](t *testing.T, ks []bwdKernel[F]) {
	rng := rand.New(rand.NewSource(1))
	for _, k := range ks {
		if !k.ok {
			t.Logf("%s: CPU lacks the features; skipped", k.name)
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			worst := 0.0
			for _, cols := range bwdCols() {
				if cols < k.minCols {
					continue
				}
				rowsList := []int{0, 1, 2, 3, 7, 19, 40}
				if cols <= 16 {
					// Short rows go in groups of several rows per vector:
					// many groups, ending anywhere in one.
					rowsList = append(rowsList, 101, 256)
				}
				for _, rows := range rowsList {
					for alias := aliasNone; alias <= aliasDP; alias++ {
						if k.noAlias && alias != aliasNone {
							continue
						}
						w := checkBwd(t, k, rows, cols, (cols+rows+alias)%3, alias, (rows+cols)%2 == 0, rng)
						worst = math.Max(worst, w)
					}
				}
			}
			t.Logf("worst |ds-ref|/bound = %.3g", worst)
		})
	}
}

func TestSoftmaxBackwardF32(t *testing.T) { testBwd(t, bwdKernelsF32()) }
func TestSoftmaxBackwardF64(t *testing.T) { testBwd(t, bwdKernelsF64()) }

// TestSoftmaxBackwardLongRows checks the accuracy bound at 2^17 columns with
// data whose dot product cancels.
func TestSoftmaxBackwardLongRows(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, k := range bwdKernelsF32() {
		if k.ok {
			for kind := 0; kind < 3; kind++ {
				w := checkBwd(t, k, 2, 1<<17, kind, aliasNone, true, rng)
				t.Logf("%s cols=2^17 kind=%d: worst |ds-ref|/bound = %.3g", k.name, kind, w)
			}
			if !k.noAlias {
				checkBwd(t, k, 1, 1<<17+5, 1, aliasDP, false, rng)
			}
		}
	}
	for _, k := range bwdKernelsF64() {
		if k.ok {
			for kind := 0; kind < 3; kind++ {
				w := checkBwd(t, k, 2, 1<<17, kind, aliasNone, true, rng)
				t.Logf("%s cols=2^17 kind=%d: worst |ds-ref|/bound = %.3g", k.name, kind, w)
			}
			if !k.noAlias {
				checkBwd(t, k, 1, 1<<17+5, 1, aliasDP, false, rng)
			}
		}
	}
}

// TestSoftmaxBackwardSpecials: masked (p = 0) entries, all-zero rows, NaN
// rows that stay in their row.
func TestSoftmaxBackwardSpecials(t *testing.T) {
	for _, k := range bwdKernelsF32() {
		if !k.ok {
			continue
		}
		for _, cols := range []int{3, 10, 16, 37, 64} {
			if cols < k.minCols {
				continue
			}
			n := 3 * cols
			p, dp, ds := make([]float32, n), make([]float32, n), make([]float32, n)
			for j := range dp {
				dp[j] = float32(j%7) - 3
				ds[j] = 5
			}
			// row 0: all masked; row 1: NaN in dp; row 2: one-hot p.
			dp[cols+cols/2] = float32(math.NaN())
			for j := cols; j < 2*cols; j++ {
				p[j] = 0.5
			}
			p[2*cols+1%cols] = 1
			k.fn(ds, p, dp, cols)
			for j := 0; j < cols; j++ {
				want := float32(0)
				if k.add {
					want = 5
				}
				if ds[j] != want {
					t.Fatalf("%s cols=%d: masked row ds[%d] = %g, want %g", k.name, cols, j, ds[j], want)
				}
				if !math.IsNaN(float64(ds[cols+j])) {
					t.Fatalf("%s cols=%d: NaN row ds[%d] = %g", k.name, cols, j, ds[cols+j])
				}
				if math.IsNaN(float64(ds[2*cols+j])) {
					t.Fatalf("%s cols=%d: row 2 got NaN", k.name, cols)
				}
			}
		}
	}
}

func benchBwd[F float32 | float64](b *testing.B, fn func(ds, p, dp []F, cols int), rows, cols int) {
	n := rows * cols
	p, dp, ds := make([]F, n), make([]F, n), make([]F, n)
	rng := rand.New(rand.NewSource(3))
	for r := 0; r < rows; r++ {
		fillRow(rng, p[r*cols:(r+1)*cols], dp[r*cols:(r+1)*cols], 0)
	}
	var z F
	b.SetBytes(int64(3 * n * int(unsafe.Sizeof(z))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn(ds, p, dp, cols)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
}

var bwdShapes = [][2]int{{4096, 128}, {1024, 1024}, {256, 4096}, {1000, 37}, {2048, 10}}

func memLoopAVX2(ds, p, dp []float32, cols int)   { backwardMemLoopF32AVX2(ds, p, dp) }
func memLoopAVX512(ds, p, dp []float32, cols int) { backwardMemLoopF32AVX512(ds, p, dp) }

func BenchmarkSoftmaxBackward(b *testing.B) {
	for _, sh := range bwdShapes {
		shape := fmt.Sprintf("%dx%d", sh[0], sh[1])
		b.Run("impl=fallbackF32/shape="+shape, func(b *testing.B) { benchBwd(b, fallback.SoftmaxBackward[float32], sh[0], sh[1]) })
		b.Run("impl=fallbackF64/shape="+shape, func(b *testing.B) { benchBwd(b, fallback.SoftmaxBackward[float64], sh[0], sh[1]) })
		if hasAVX2 {
			b.Run("impl=memloopAVX2/shape="+shape, func(b *testing.B) { benchBwd(b, memLoopAVX2, sh[0], sh[1]) })
		}
		if hasAVX512 {
			b.Run("impl=memloopAVX512/shape="+shape, func(b *testing.B) { benchBwd(b, memLoopAVX512, sh[0], sh[1]) })
		}
		for _, k := range bwdKernelsF32() {
			if k.ok {
				b.Run("impl="+k.name+"/shape="+shape, func(b *testing.B) { benchBwd(b, k.fn, sh[0], sh[1]) })
			}
		}
		for _, k := range bwdKernelsF64() {
			if k.ok {
				b.Run("impl="+k.name+"/shape="+shape, func(b *testing.B) { benchBwd(b, k.fn, sh[0], sh[1]) })
			}
		}
	}
}

// TestSoftmaxBackwardStreamOffsets: a row the streaming kernel takes must
// get the bits the plain kernel of its ISA gives it (the dispatch streams
// by the size of ds, which must not change a row's bits). The streaming
// kernels run the plain kernels' long-row arithmetic, so every long row
// length (more than 8 whole vectors, AVX-512 12) is checked: each length
// from the first long one through two unrolled blocks more (every split
// into blocks, vectors and tail), lengths around the prefetch threshold and
// 1024 columns, a few longer ones; and every start offset of ds (the
// stores align to it), with p and dp at other offsets.
func TestSoftmaxBackwardStreamOffsets(t *testing.T) {
	if !hasAVX2 {
		t.Skip("CPU lacks AVX2")
	}
	t.Run("AVX2", func(t *testing.T) {
		testStreamOffsets(t, SoftmaxBackwardStreamF32AVX2, SoftmaxBackwardF32AVX2, 32, 8)
		testStreamOffsets(t, SoftmaxBackwardStreamF64AVX2, SoftmaxBackwardF64AVX2, 32, 8)
		testStreamOffsets(t, scaledF32(SoftmaxBackwardScaledStreamF32AVX2), scaledF32(SoftmaxBackwardScaledF32AVX2), 32, 8)
		testStreamOffsets(t, scaledF64(SoftmaxBackwardScaledStreamF64AVX2), scaledF64(SoftmaxBackwardScaledF64AVX2), 32, 8)
	})
	if !hasAVX512 {
		t.Log("CPU lacks AVX-512: its streaming kernels not checked")
		return
	}
	t.Run("AVX512", func(t *testing.T) {
		testStreamOffsets(t, SoftmaxBackwardStreamF32AVX512, SoftmaxBackwardF32AVX512, 64, 12)
		testStreamOffsets(t, SoftmaxBackwardStreamF64AVX512, SoftmaxBackwardF64AVX512, 64, 12)
		testStreamOffsets(t, scaledF32(SoftmaxBackwardScaledStreamF32AVX512), scaledF32(SoftmaxBackwardScaledF32AVX512), 64, 12)
		testStreamOffsets(t, scaledF64(SoftmaxBackwardScaledStreamF64AVX512), scaledF64(SoftmaxBackwardScaledF64AVX512), 64, 12)
	})
}

// streamCols are the long row lengths testStreamOffsets walks for vectors
// of vb bytes, rows of more than maxVecs whole vectors.
func streamCols(size, vb, maxVecs int) []int {
	lanes := vb / size
	first := (maxVecs + 1) * lanes
	var cs []int
	for c := first; c <= first+2*4*lanes+1; c++ {
		cs = append(cs, c)
	}
	for _, c := range []int{1024 / size, 1024/size + 1, 2048/size - 1, 2048 / size, 1000, 1023, 1024, 1025, 1027, 2049, 4099, 32000} {
		if c > cs[len(cs)-1] {
			cs = append(cs, c)
		}
	}
	return cs
}

func testStreamOffsets[F float32 | float64](t *testing.T, stream, plain func(ds, p, dp []F, cols int), vb, maxVecs int) {
	rng := rand.New(rand.NewSource(4))
	var z F
	size := int(unsafe.Sizeof(z))
	for _, cols := range streamCols(size, vb, maxVecs) {
		rows := 3
		if cols > 4096 {
			rows = 1
		}
		n := rows * cols
		for off := 0; off < 16; off++ {
			p := make([]F, n+16)[(off*5)%16:][:n]
			dp := make([]F, n+16)[(off*3)%16:][:n]
			for r := 0; r < rows; r++ {
				fillRow(rng, p[r*cols:(r+1)*cols], dp[r*cols:(r+1)*cols], r)
			}
			got := make([]F, n+16)
			want := make([]F, n)
			plain(want, p, dp, cols)
			stream(got[off:off+n], p, dp, cols)
			for j := range want {
				if math.Float64bits(float64(got[off+j])) != math.Float64bits(float64(want[j])) {
					t.Fatalf("cols=%d off=%d: ds[%d] = %g, want %g", cols, off, j, got[off+j], want[j])
				}
			}
			for j := range got {
				if (j < off || j >= off+n) && got[j] != 0 {
					t.Fatalf("cols=%d off=%d: wrote outside ds at %d", cols, off, j-off)
				}
			}
		}
	}
}

// TestSoftmaxBackwardBitsIgnoreAddress: the same inputs give the same bits
// wherever the three slices start (a kernel may align its vectors to one
// of them, as the AVX-512 long rows do to ds, but must not let that change
// the order of a sum). Rows of every path, every start offset of each
// slice against the others, compared with all three at offset 0.
func TestSoftmaxBackwardBitsIgnoreAddress(t *testing.T) {
	testBitsIgnoreAddress(t, bwdKernelsF32())
	testBitsIgnoreAddress(t, bwdKernelsF64())
}

func testBitsIgnoreAddress[F float32 | float64](t *testing.T, kernels []bwdKernel[F]) {
	rng := rand.New(rand.NewSource(5))
	for _, k := range kernels {
		if !k.ok {
			continue
		}
		for _, cols := range []int{10, 37, 100, 150, 200, 300, 1000, 1031} {
			if cols < k.minCols {
				continue
			}
			const rows = 3
			n := rows * cols
			p0, dp0, ds0 := make([]F, n), make([]F, n), make([]F, n)
			for r := 0; r < rows; r++ {
				fillRow(rng, p0[r*cols:(r+1)*cols], dp0[r*cols:(r+1)*cols], 0)
			}
			for j := range ds0 {
				ds0[j] = F(rng.NormFloat64())
			}
			want := append([]F(nil), ds0...)
			k.fn(want, p0, dp0, cols)
			for off := 1; off < 16; off++ {
				p := append(make([]F, off%16), p0...)[off%16:]
				dp := append(make([]F, (off*3)%16), dp0...)[(off*3)%16:]
				ds := append(make([]F, (off*7)%16), ds0...)[(off*7)%16:]
				k.fn(ds, p, dp, cols)
				for j := range want {
					if math.Float64bits(float64(ds[j])) != math.Float64bits(float64(want[j])) {
						t.Fatalf("%s cols=%d off=%d: ds[%d] = %g, want %g (the bits at offset 0)", k.name, cols, off, j, ds[j], want[j])
					}
				}
			}
		}
	}
}
