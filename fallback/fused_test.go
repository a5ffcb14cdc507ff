package fallback

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

// Accuracy constants of the contract for F: the Softmax bound's 2^-21 (2^-46),
// the others' 2^-20 (2^-46), the smallest normal number.
func fusedBounds[F Float]() (soft, other, tiny float64) {
	if isF32[F]() {
		return 0x1p-21, 0x1p-20, 0x1p-126
	}
	return 0x1p-46, 0x1p-46, 0x1p-1022
}

func toF64[F Float](s []F) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func sameNaN(a, b float64) bool { return a == b || (a != a && b != b) }

// logitRows fills rows x cols logits: random rows, confident rows (the target
// far above the rest, so p_t nears 1), rows with -Inf, +Inf and NaN, and
// labels (some negative: ignored rows).
func logitRows[F Float](r *rand.Rand, rows, cols int) ([]F, []int32) {
	s, labels := make([]F, rows*cols), make([]int32, rows)
	for i := range labels {
		row := s[i*cols : (i+1)*cols]
		for j := range row {
			row[j] = F(4 * r.NormFloat64())
		}
		t := r.IntN(cols)
		labels[i] = int32(t)
		switch i % 8 {
		case 1: // confident: margin 10..70 (float32 keeps the share above 2^-126)
			row[t] = F(float64(slicesMax(row)) + 10 + 60*r.Float64())
		case 2:
			labels[i] = -1
		case 3:
			row[r.IntN(cols)] = F(math.Inf(-1))
		case 4:
			row[r.IntN(cols)] = F(math.Inf(1))
		case 5:
			if i%16 == 5 {
				row[r.IntN(cols)] = F(math.NaN())
			}
		case 6:
			for j := range row {
				row[j] = F(math.Inf(-1))
			}
		case 7:
			row[t] = F(math.Inf(-1))
		}
	}
	return s, labels
}

func slicesMax[F Float](s []F) F {
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

func TestCrossEntropy(t *testing.T) {
	t.Run("f32", testCrossEntropy[float32])
	t.Run("f64", testCrossEntropy[float64])
}

func testCrossEntropy[F Float](t *testing.T) {
	soft, other, tiny := fusedBounds[F]()
	r := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 2, 3, 7, 16, 37, 100, 1000} {
		rows := 48
		s, labels := logitRows[F](r, rows, cols)
		g := F(0.75)
		loss, ds := make([]F, rows), make([]F, len(s))
		CrossEntropy(loss, ds, s, labels, cols, g)
		wl, wd, spread := ref.CrossEntropy(toF64(s), labels, cols, float64(g), tiny)
		for i := range loss {
			G := spread[i]
			got, want := float64(loss[i]), wl[i]
			if !sameNaN(got, want) && math.Abs(got-want) > other*(1+G)*math.Abs(want)+tiny {
				t.Fatalf("%d cols, row %d (label %d): loss %v, want %v", cols, i, labels[i], got, want)
			}
			for j := i * cols; j < (i+1)*cols; j++ {
				got, want := float64(ds[j]), wd[j]
				tol := math.Abs(float64(g)) * (soft*(1+G)*math.Abs(want)/math.Abs(float64(g)) + tiny)
				if j-i*cols == int(labels[i]) {
					tol = math.Abs(float64(g))*other*(1+G)*math.Abs(want)/math.Abs(float64(g)) + tiny
				}
				if !sameNaN(got, want) && math.Abs(got-want) > tol {
					t.Fatalf("%d cols, row %d col %d (label %d): ds %v, want %v", cols, i, j-i*cols, labels[i], got, want)
				}
			}
		}
		// the loss keeps its bits without ds; ds may be the logits
		loss2 := make([]F, rows)
		CrossEntropy(loss2, nil, s, labels, cols, g)
		in := append([]F(nil), s...)
		loss3 := make([]F, rows)
		CrossEntropy(loss3, in, in, labels, cols, g)
		for i := range loss {
			if math.Float64bits(float64(loss[i])) != math.Float64bits(float64(loss2[i])) && !(loss[i] != loss[i]) {
				t.Fatalf("%d cols, row %d: loss %v with ds, %v without", cols, i, loss[i], loss2[i])
			}
			if !sameNaN(float64(loss[i]), float64(loss3[i])) {
				t.Fatalf("%d cols, row %d: loss %v, in place %v", cols, i, loss[i], loss3[i])
			}
		}
		for j := range ds {
			if !sameNaN(float64(ds[j]), float64(in[j])) {
				t.Fatalf("%d cols: ds[%d] = %v, in place %v", cols, j, ds[j], in[j])
			}
		}
	}
}

// TestCrossEntropyConfident: rows the model already gets right keep a loss
// and a target gradient relative to their tiny true values, where
// LogSumExp - s_t and p_t - 1 would give 0.
func TestCrossEntropyConfident(t *testing.T) {
	for _, margin := range []float64{5, 17, 30, 60, 80} {
		s := []float32{0, 1, float32(1 + margin), -2}
		loss, ds := make([]float32, 1), make([]float32, 4)
		CrossEntropy(loss, ds, s, []int32{2}, 4, 1)
		wl, wd, _ := ref.CrossEntropy(toF64(s), []int32{2}, 4, 1, 0x1p-126)
		if wl[0] < 0x1p-126 {
			continue
		}
		if loss[0] == 0 || math.Abs(float64(loss[0])-wl[0]) > 0x1p-20*wl[0] {
			t.Errorf("margin %v: loss %v, want %v", margin, loss[0], wl[0])
		}
		if ds[2] == 0 || math.Abs(float64(ds[2])-wd[2]) > 0x1p-20*math.Abs(wd[2]) {
			t.Errorf("margin %v: ds at the target %v, want %v", margin, ds[2], wd[2])
		}
	}
}

// TestCrossEntropyComposed: the fused call gives what the four-pass
// composition of LogSoftmax, gather and LogSoftmaxBackward gives, within
// the bounds (both are accurate where the rows are not confident).
func TestCrossEntropyComposed(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, cols := range []int{1, 5, 64, 300} {
		rows := 16
		s, labels := make([]float64, rows*cols), make([]int32, rows)
		for i := range s {
			s[i] = 3 * r.NormFloat64()
		}
		for i := range labels {
			labels[i] = int32(r.IntN(cols))
		}
		labels[3] = -1
		l1, d1 := make([]float64, rows), make([]float64, len(s))
		l2, d2 := make([]float64, rows), make([]float64, len(s))
		CrossEntropy(l1, d1, s, labels, cols, 0.5)
		CrossEntropyComposed(l2, d2, s, labels, cols, 0.5, make([]float64, len(s)))
		for i := range l1 {
			if math.Abs(l1[i]-l2[i]) > 1e-13*(1+math.Abs(l1[i])) {
				t.Fatalf("%d cols row %d: loss fused %v, composed %v", cols, i, l1[i], l2[i])
			}
		}
		for j := range d1 {
			if math.Abs(d1[j]-d2[j]) > 1e-14 {
				t.Fatalf("%d cols [%d]: ds fused %v, composed %v", cols, j, d1[j], d2[j])
			}
		}
	}
}

func TestLogSumExp(t *testing.T) {
	t.Run("f32", testLogSumExp[float32])
	t.Run("f64", testLogSumExp[float64])
}

func testLogSumExp[F Float](t *testing.T) {
	_, other, _ := fusedBounds[F]()
	r := rand.New(rand.NewPCG(7, 8))
	for _, cols := range []int{1, 2, 9, 33, 1000} {
		s, _ := logitRows[F](r, 32, cols)
		got := make([]F, 32)
		LogSumExp(got, s, cols)
		want := ref.LogSumExp(toF64(s), cols)
		for i := range got {
			g, w := float64(got[i]), want[i]
			if !sameNaN(g, w) && math.Abs(g-w) > other*(1+math.Abs(w)) {
				t.Fatalf("%d cols row %d: %v, want %v", cols, i, g, w)
			}
		}
	}
}

func TestSoftmaxScaledAndCausal(t *testing.T) {
	t.Run("f32", testScaledCausal[float32])
	t.Run("f64", testScaledCausal[float64])
}

func testScaledCausal[F Float](t *testing.T) {
	soft, _, tiny := fusedBounds[F]()
	r := rand.New(rand.NewPCG(11, 12))
	for _, cols := range []int{1, 4, 17, 128} {
		for _, q := range []int{1, 2, cols} {
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
			checkScaled(t, dst, s, cols, cols, float64(scale), soft, tiny)
			// causal: masked inputs hold NaN, never read
			for i := 0; i < rows; i++ {
				see := cols - q + i%q + 1
				for j := see; j < cols; j++ {
					s[i*cols+j] = F(math.NaN())
				}
			}
			SoftmaxCausal(dst, s, cols, q, scale)
			for i := 0; i < rows; i++ {
				see := cols - q + i%q + 1
				row := dst[i*cols : (i+1)*cols]
				checkScaled(t, row[:see], s[i*cols:i*cols+see], see, see, float64(scale), soft, tiny)
				for j := see; j < cols; j++ {
					if row[j] != 0 || math.Signbit(float64(row[j])) {
						t.Fatalf("causal %d cols q %d row %d col %d: %v, want +0", cols, q, i, j, row[j])
					}
				}
			}
		}
	}
}

func checkScaled[F Float](t *testing.T, got, s []F, n, cols int, scale, soft, tiny float64) {
	t.Helper()
	want := ref.SoftmaxScaled(toF64(s[:n]), cols, scale)
	for j := range want {
		max := math.Inf(-1)
		row := j - j%cols
		for _, v := range s[row : row+cols] {
			max = math.Max(max, float64(v))
		}
		g, w := float64(got[j]), want[j]
		gap := scale * math.Abs(float64(s[j])-max)
		if math.Abs(g-w) > soft*(1+gap)*w+tiny || (g != 0 && g < tiny) {
			t.Fatalf("%d cols [%d]: %v, want %v", cols, j, g, w)
		}
	}
}

func TestSoftmaxBackwardScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, cols := range []int{1, 3, 40} {
		for _, q := range []int{1, cols} {
			rows := 2 * q
			s, dp := make([]float64, rows*cols), make([]float64, rows*cols)
			for i := range s {
				s[i], dp[i] = r.NormFloat64(), r.NormFloat64()
			}
			p := make([]float64, len(s))
			Softmax(p, s, cols)
			ds := make([]float64, len(s))
			SoftmaxBackwardScaled(ds, p, dp, cols, 0.5)
			want, scale := ref.SoftmaxBackward(nil, p, dp, cols)
			for j := range ds {
				if math.Abs(ds[j]-0.5*want[j]) > 0x1p-46*0.5*scale[j]+0x1p-53*math.Abs(ds[j])+0x1p-1022 {
					t.Fatalf("%d cols [%d]: %v, want %v", cols, j, ds[j], 0.5*want[j])
				}
			}
			// causal: only the entries a row sees, ds 0 elsewhere
			for i := 0; i < rows; i++ {
				see := cols - q + i%q + 1
				for j := see; j < cols; j++ {
					p[i*cols+j], dp[i*cols+j] = math.NaN(), math.NaN()
				}
			}
			SoftmaxCausalBackward(ds, p, dp, cols, q, 0.5)
			for i := 0; i < rows; i++ {
				see := cols - q + i%q + 1
				w, sc := ref.SoftmaxBackward(nil, p[i*cols:i*cols+see], dp[i*cols:i*cols+see], see)
				for j := 0; j < cols; j++ {
					got := ds[i*cols+j]
					if j >= see {
						if got != 0 {
							t.Fatalf("causal %d cols q %d row %d col %d: %v, want 0", cols, q, i, j, got)
						}
						continue
					}
					if math.Abs(got-0.5*w[j]) > 0x1p-46*0.5*sc[j]+0x1p-53*math.Abs(got)+0x1p-1022 {
						t.Fatalf("causal %d cols q %d row %d col %d: %v, want %v", cols, q, i, j, got, 0.5*w[j])
					}
				}
			}
		}
	}
}

// TestFusedSameBitsEverywhere is TestSameBitsEverywhere for the fused
// operations.
func TestFusedSameBitsEverywhere(t *testing.T) {
	const want32, want64 uint64 = 0x9d814adc04c99b95, 0x23d07a448471080
	got32, got64 := fusedHash[float32](), fusedHash[float64]()
	if got32 != want32 || got64 != want64 {
		t.Errorf("outputs hash to %#x, %#x; want %#x, %#x", got32, got64, want32, want64)
	}
}

func fusedHash[F Float]() uint64 {
	const rows, cols, q = 8, 37, 4
	r := rand.New(rand.NewPCG(6, 6))
	s, _ := logitRows[F](r, rows, cols)
	labels := []int32{0, 5, -1, 36, 2, 2, 7, 30}
	g := make([]F, len(s))
	for i := range g {
		g[i] = F(float64(2*r.Float64()) - 1)
	}
	h := fnv.New64a()
	write := func(v []F) {
		for _, x := range v {
			fmt.Fprintf(h, "%x;", math.Float64bits(float64(x)))
		}
	}
	out, ds, loss := make([]F, len(s)), make([]F, len(s)), make([]F, rows)
	LogSumExp(loss, s, cols)
	write(loss)
	CrossEntropy(loss, ds, s, labels, cols, 0.3)
	write(loss)
	write(ds)
	SoftmaxScaled(out, s, cols, 0.3)
	write(out)
	SoftmaxCausal(out, s, cols, q, 0.3)
	write(out)
	SoftmaxBackwardScaled(ds, out, g, cols, 0.3)
	write(ds)
	SoftmaxCausalBackward(ds, out, g, cols, q, 0.3)
	write(ds)
	return h.Sum64()
}
