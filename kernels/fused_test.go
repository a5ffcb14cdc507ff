package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// The operations of training and attention (CrossEntropy, LogSumExp,
// SoftmaxScaled, SoftmaxCausal and the scaled backward passes) on every
// tier, held to the contract's bounds against internal/ref.

func sameNaN(a, b float64) bool { return a == b || (a != a && b != b) }

// expectCrossEntropy holds loss (and ds, unless nil) to the contract: the loss
// within 2^-20 (1 + G) of its value, the target's gradient within 2^-20
// (1 + G) |g| of its value, the others within the Softmax bound times |g|.
func expectCrossEntropy[F Float](t *testing.T, loss, ds, s []F, labels []int32, cols int, g F) {
	t.Helper()
	b := boundsOf[F]()
	wl, wd, spread := ref.CrossEntropy(ref.Float64s(s), labels, cols, float64(g), b.tiny)
	ag := math.Abs(float64(g))
	for i := range loss {
		G := spread[i]
		got, want := float64(loss[i]), wl[i]
		if !sameNaN(got, want) && math.Abs(got-want) > b.other*(1+G)*math.Abs(want)+b.tiny {
			t.Fatalf("%d cols, row %d (label %d): loss %v, want %v", cols, i, labels[i], got, want)
		}
		if ds == nil {
			continue
		}
		for j := i * cols; j < (i+1)*cols; j++ {
			got, want := float64(ds[j]), wd[j]
			tol := b.softmax*(1+G)*math.Abs(want) + ag*b.tiny
			if j-i*cols == int(labels[i]) {
				tol = b.other*(1+G)*math.Abs(want) + b.tiny
			}
			if !sameNaN(got, want) && math.Abs(got-want) > tol {
				t.Fatalf("%d cols, row %d col %d (label %d): ds %v, want %v", cols, i, j-i*cols, labels[i], got, want)
			}
		}
	}
}

func expectLogSumExp[F Float](t *testing.T, got, s []F, cols int) {
	t.Helper()
	b := boundsOf[F]()
	want := ref.LogSumExp(ref.Float64s(s), cols)
	for i := range got {
		g, w := float64(got[i]), want[i]
		if !sameNaN(g, w) && math.Abs(g-w) > b.other*(1+math.Abs(w)) {
			t.Fatalf("%d cols row %d: logsumexp %v, want %v", cols, i, g, w)
		}
	}
}

// expectCausal holds SoftmaxCausal's output (q = 0: SoftmaxScaled's) to the
// Softmax bound with |scale (s - max)| on the entries each row sees, and
// requires +0 on the others.
func expectCausal[F Float](t *testing.T, got, s []F, cols, q int, scale F) {
	t.Helper()
	b := boundsOf[F]()
	for r := 0; r < len(s)/cols; r++ {
		see := cols
		if q > 0 {
			see = cols - q + r%q + 1
		}
		row, out := s[r*cols:r*cols+see], got[r*cols:(r+1)*cols]
		want := ref.SoftmaxScaled(ref.Float64s(row), see, float64(scale))
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		for j, w := range want {
			g := float64(out[j])
			if math.IsNaN(w) || math.IsNaN(g) {
				if !(math.IsNaN(w) && math.IsNaN(g)) {
					t.Fatalf("row %d col %d: %v, want %v", r, j, g, w)
				}
				continue
			}
			gap := float64(scale) * math.Abs(float64(row[j])-m)
			if math.IsInf(gap, 0) || math.IsNaN(gap) {
				gap = 0
			}
			if math.Abs(g-w) > b.softmax*(1+gap)*w+b.tiny || (g != 0 && g < b.tiny) || math.Signbit(g) {
				t.Fatalf("%d cols q %d row %d col %d: %v, want %v", cols, q, r, j, g, w)
			}
		}
		for j := see; j < cols; j++ {
			if out[j] != 0 || math.Signbit(float64(out[j])) {
				t.Fatalf("%d cols q %d row %d col %d (masked): %v, want +0", cols, q, r, j, out[j])
			}
		}
	}
}

// expectScaledBackward holds SoftmaxCausalBackward's ds (q = 0:
// SoftmaxBackwardScaled's) to the backward bound times scale plus one
// rounding, and requires 0 on the masked entries.
func expectScaledBackward[F Float](t *testing.T, ds, p, dp []F, cols, q int, scale F) {
	t.Helper()
	b := boundsOf[F]()
	sc := float64(scale)
	for r := 0; r < len(p)/cols; r++ {
		see := cols
		if q > 0 {
			see = cols - q + r%q + 1
		}
		lo := r * cols
		want, bound := ref.SoftmaxBackward(nil, ref.Float64s(p[lo:lo+see]), ref.Float64s(dp[lo:lo+see]), see)
		for j := 0; j < cols; j++ {
			g := float64(ds[lo+j])
			if j >= see {
				if g != 0 {
					t.Fatalf("%d cols q %d row %d col %d (masked): %v, want 0", cols, q, r, j, g)
				}
				continue
			}
			w := sc * want[j]
			if !sameNaN(g, w) && math.Abs(g-w) > sc*(b.other*bound[j]+b.tiny)+b.ulp*math.Abs(w) {
				t.Fatalf("%d cols q %d row %d col %d: %v, want %v", cols, q, r, j, g, w)
			}
		}
	}
}

func TestCrossEntropy(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testCrossEntropy[float32], testCrossEntropy[float64])
	})
}

func testCrossEntropy[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 2, 3, 7, 8, 15, 16, 17, 37, 100, 1000, 4099} {
		rows := 48
		s, labels := ref.LogitRows[F](r, rows, cols)
		g := F(0.75)
		loss, ds := make([]F, rows), make([]F, len(s))
		CrossEntropy(loss, ds, s, labels, cols, g)
		expectCrossEntropy(t, loss, ds, s, labels, cols, g)
		// the loss has the same bits without ds; ds may be the logits
		loss2 := make([]F, rows)
		CrossEntropy(loss2, nil, s, labels, cols, g)
		in := append([]F(nil), s...)
		loss3 := make([]F, rows)
		CrossEntropy(loss3, in, in, labels, cols, g)
		for i := range loss {
			if !isNaNBits(loss[i], loss2[i]) || !isNaNBits(loss[i], loss3[i]) {
				t.Fatalf("%d cols, row %d: loss %v with ds, %v without, %v in place", cols, i, loss[i], loss2[i], loss3[i])
			}
		}
		for j := range ds {
			if !isNaNBits(ds[j], in[j]) {
				t.Fatalf("%d cols: ds[%d] = %v, in place %v", cols, j, ds[j], in[j])
			}
		}
	}
}

// TestCrossEntropyConfident: rows the model already gets right keep a loss
// and a target gradient relative to their tiny true values, where
// LogSumExp - s_t and p_t - 1 would give 0.
func TestCrossEntropyConfident(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		for _, margin := range []float64{5, 17, 30, 60, 80} {
			for _, cols := range []int{4, 37, 300} {
				s := make([]float32, cols)
				for j := range s {
					s[j] = float32(j%5) - 2
				}
				s[cols/2] = float32(2 + margin)
				loss, ds := make([]float32, 1), make([]float32, cols)
				CrossEntropy(loss, ds, s, []int32{int32(cols / 2)}, cols, 1)
				wl, wd, _ := ref.CrossEntropy(ref.Float64s(s), []int32{int32(cols / 2)}, cols, 1, 0x1p-126)
				if wl[0] < 0x1p-120 {
					continue
				}
				if loss[0] == 0 || math.Abs(float64(loss[0])-wl[0]) > 0x1p-20*wl[0] {
					t.Errorf("margin %v, %d cols: loss %v, want %v", margin, cols, loss[0], wl[0])
				}
				if got := ds[cols/2]; got == 0 || math.Abs(float64(got)-wd[cols/2]) > 0x1p-20*math.Abs(wd[cols/2]) {
					t.Errorf("margin %v, %d cols: ds at the target %v, want %v", margin, cols, got, wd[cols/2])
				}
			}
		}
	})
}

func TestLogSumExp(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testLogSumExp[float32], testLogSumExp[float64])
	})
}

func testLogSumExp[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	// The lengths cross the assembly's thresholds: whole vectors (4, 8,
	// 16 lanes), the resident rows (under two vectors), the float32 sums
	// (40 columns AVX2, 128 AVX-512), the group path's end (2048 bytes),
	// and the long rows' iterations of 16 vectors (128 and 256 columns).
	for _, cols := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 40, 41, 64, 100, 127, 128, 129, 255, 256, 257, 511, 512, 513, 639, 640, 641, 767, 768, 769, 1000, 4099} {
		s, _ := ref.LogitRows[F](r, 32, cols)
		got := make([]F, 32)
		LogSumExp(got, s, cols)
		expectLogSumExp(t, got, s, cols)
	}
}

func TestSoftmaxScaledAndCausal(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testScaledCausal[float32], testScaledCausal[float64])
	})
}

func testScaledCausal[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, cols := range []int{1, 2, 4, 7, 8, 16, 17, 33, 128, 300} {
		for _, q := range []int{1, 2, 5, cols} {
			if q > cols {
				continue
			}
			rows := 2 * q
			s := make([]F, rows*cols)
			for i := range s {
				s[i] = F(6 * r.NormFloat64())
			}
			scale := F(0.125)
			dst := make([]F, len(s))
			SoftmaxScaled(dst, s, cols, scale)
			expectCausal(t, dst, s, cols, 0, scale)
			// masked inputs hold NaN: they must never be read
			fillMasked(F(math.NaN()), cols, q, s)
			SoftmaxCausal(dst, s, cols, q, scale)
			expectCausal(t, dst, s, cols, q, scale)
			SoftmaxCausal(s, s, cols, q, scale) // in place
			for i := range s {
				if !isNaNBits(s[i], dst[i]) {
					t.Fatalf("%d cols q %d: in place [%d] = %v, not %v", cols, q, i, s[i], dst[i])
				}
			}
		}
	}
}

func TestSoftmaxBackwardScaled(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testBackwardScaled[float32], testBackwardScaled[float64])
	})
}

func testBackwardScaled[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, cols := range []int{1, 3, 8, 17, 40, 129, 1000} {
		for _, q := range []int{1, 3, cols} {
			if q > cols {
				continue
			}
			rows := 2 * q
			p, dp := make([]F, rows*cols), make([]F, rows*cols)
			for i := range p {
				p[i], dp[i] = F(2*r.NormFloat64()), F(r.NormFloat64())
			}
			Softmax(p, p, cols)
			ds := make([]F, len(p))
			SoftmaxBackwardScaled(ds, p, dp, cols, 0.5)
			expectScaledBackward(t, ds, p, dp, cols, 0, 0.5)
			fillMasked(F(math.NaN()), cols, q, p, dp)
			SoftmaxCausalBackward(ds, p, dp, cols, q, 0.5)
			expectScaledBackward(t, ds, p, dp, cols, q, 0.5)
		}
	}
}

func TestFusedMisuse(t *testing.T) {
	f6, f3 := make([]float32, 6), make([]float32, 3)
	l2, l3 := []int32{0, 1}, []int32{0, 1, 2}
	for _, c := range []struct {
		call func()
		want string
	}{
		{func() { LogSumExp(f3, f6, 3) }, "kernels: LogSumExp: len(dst) = 3, but src holds 2 rows of 3"},
		{func() { LogSumExp(f3, f6, 0) }, "kernels: LogSumExp: cols = 0"},
		{func() { CrossEntropy(f3[:2], nil, f6, l3, 3, 1) }, "kernels: CrossEntropy: len(loss) = 2, len(labels) = 3"},
		{func() { CrossEntropy(f3, nil, f6, l3, 3, 1) }, "kernels: CrossEntropy: len(loss) = 3, but logits holds 2 rows of 3"},
		{func() { CrossEntropy(f3[:2], f3, f6, l2, 3, 1) }, "kernels: CrossEntropy: len(ds) = 3, len(logits) = 6"},
		{func() { CrossEntropy(f3[:2], nil, f6, []int32{0, 3}, 3, 1) }, "kernels: CrossEntropy: labels[1] = 3"},
		{func() { CrossEntropy(f3[:2], nil, f6, l2, 4, 1) }, "kernels: CrossEntropy: len(logits) = 6 is not a multiple of cols = 4"},
		{func() { SoftmaxScaled(f6, f6, 3, 0) }, "kernels: SoftmaxScaled: scale = 0"},
		{func() { SoftmaxScaled(f6, f6, 3, float32(math.Inf(1))) }, "kernels: SoftmaxScaled: scale = +Inf"},
		{func() { SoftmaxScaled(f6, f6, 3, float32(math.NaN())) }, "kernels: SoftmaxScaled: scale = NaN"},
		{func() { SoftmaxScaled(f3, f6, 3, 1) }, "kernels: SoftmaxScaled: len(dst) = 3, len(src) = 6"},
		{func() { SoftmaxCausal(f6, f6, 3, 0, 1) }, "kernels: SoftmaxCausal: q = 0"},
		{func() { SoftmaxCausal(f6, f6, 3, 4, 1) }, "kernels: SoftmaxCausal: q = 4"},
		{func() { SoftmaxCausal(f6, f6, 2, 2, 1) }, "kernels: SoftmaxCausal: length 6 is not a multiple of q*cols = 2*2"},
		{func() { SoftmaxCausal(f6, f6, 3, 1, -1) }, "kernels: SoftmaxCausal: scale = -1"},
		{func() { SoftmaxBackwardScaled(f6, f6, f3, 3, 1) }, "kernels: SoftmaxBackwardScaled: len(ds) = 6, len(dp) = 3"},
		{func() { SoftmaxBackwardScaled(f6, f6, f6, 3, -2) }, "kernels: SoftmaxBackwardScaled: scale = -2"},
		{func() { SoftmaxCausalBackward(f6, f6, f6, 2, 2, 1) }, "kernels: SoftmaxCausalBackward: length 6 is not a multiple of q*cols = 2*2"},
		{func() { SoftmaxCausalBackward(f6, f6, f6, 4, 1, 1) }, "kernels: SoftmaxCausalBackward: len(ds) = 6 is not a multiple of cols = 4"},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if len(msg) < len(c.want) || msg[:len(c.want)] != c.want {
					t.Errorf("panic %q, want one starting %q", msg, c.want)
				}
			}()
			c.call()
		}()
	}
}

func TestFusedEmptyAndNoAllocation(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		var e []float32
		LogSumExp(e, e, 3)
		CrossEntropy(e, e, e, nil, 3, 1)
		SoftmaxCausal(e, e, 3, 3, 1)
		SoftmaxCausalBackward(e, e, e, 3, 2, 1)
		const rows, cols = 16, 100
		a, b, c := make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows*cols)
		for i := range a {
			a[i], b[i] = float32(i%7)/7, float32(i%5)/5
		}
		loss, labels := make([]float32, rows), make([]int32, rows)
		for name, call := range map[string]func(){
			"LogSumExp":             func() { LogSumExp(loss, a, cols) },
			"CrossEntropy":          func() { CrossEntropy(loss, c, a, labels, cols, 0.1) },
			"SoftmaxScaled":         func() { SoftmaxScaled(c, a, cols, 0.1) },
			"SoftmaxCausal":         func() { SoftmaxCausal(c, a, cols, 4, 0.1) },
			"SoftmaxBackwardScaled": func() { SoftmaxBackwardScaled(c, a, b, cols, 0.1) },
			"SoftmaxCausalBackward": func() { SoftmaxCausalBackward(c, a, b, cols, 8, 0.1) },
		} {
			if n := testing.AllocsPerRun(10, call); n != 0 {
				t.Errorf("%s allocates %v times per call", name, n)
			}
		}
	})
}
