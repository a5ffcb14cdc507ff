package fallback

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFusedEqualsLiteralLoops checks the identity the package rests on: the
// two-pass fused backward (SoftmaxBackwardAdd) adds to s.grad what the four
// literal loops add, because Z.grad[b] = e[b] / Z[b].
func TestFusedEqualsLiteralLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, cols := range []int{1, 2, 7, 37, 128, 1000} {
		rows := 5
		n := rows * cols
		s, pgrad, sgrad0 := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range s {
			s[i] = 10*r.Float64() - 5
			pgrad[i] = 2*r.Float64() - 1
			sgrad0[i] = r.Float64()
		}
		p, Z, Zgrad := make([]float64, n), make([]float64, rows), make([]float64, rows)
		SoftmaxLoops(p, Z, s, cols)

		pFused := make([]float64, n)
		Softmax(pFused, s, cols)
		for i := range p {
			if math.Abs(p[i]-pFused[i]) > 1e-14*pFused[i] {
				t.Fatalf("cols %d: literal p[%d] = %v, Softmax %v", cols, i, p[i], pFused[i])
			}
		}

		literal := append([]float64(nil), sgrad0...)
		SoftmaxBackwardLoops(literal, s, pgrad, Z, Zgrad, cols)
		fused := append([]float64(nil), sgrad0...)
		SoftmaxBackwardAdd(fused, pFused, pgrad, cols)
		for i := range fused {
			if math.Abs(literal[i]-fused[i]) > 1e-12*(1+math.Abs(fused[i])) {
				t.Fatalf("cols %d: literal s.grad[%d] = %v, fused %v", cols, i, literal[i], fused[i])
			}
		}
		// and the two really did something
		if literal[0] == sgrad0[0] && literal[n-1] == sgrad0[n-1] {
			t.Fatalf("cols %d: no gradient was added", cols)
		}
		// Z.grad[b] = e[b]/Z[b] with e[b] = -sum_j p*pgrad
		for b := range rows {
			e := 0.0
			for j := range cols {
				e -= pFused[b*cols+j] * pgrad[b*cols+j]
			}
			if want := e / Z[b]; math.Abs(Zgrad[b]-want) > 1e-12*math.Abs(want)+1e-300 {
				t.Fatalf("cols %d: Z.grad[%d] = %v, want e/Z = %v", cols, b, Zgrad[b], want)
			}
		}
	}
}
