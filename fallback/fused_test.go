package fallback

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/internal/ref"
)

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
	s, _ := ref.LogitRows[F](r, rows, cols)
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
