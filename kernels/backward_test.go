package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/internal/ref"
)

// backwardCase builds the inputs of one backward test: the forward output
// (Softmax's p or LogSoftmax's y) of random logits, with some rows masked,
// one-hot or partly masked, and a random gradient.
func backwardCase[F Float](r *rand.Rand, rows, cols int, log bool) (out, grad []F) {
	n := rows * cols
	s := make([]F, n)
	fillRandom(s, r, valueRanges[3].gen)
	for b := 0; b < rows; b++ {
		row := s[b*cols : (b+1)*cols]
		switch b % 5 {
		case 1:
			row[r.IntN(cols)] = F(math.Inf(-1))
		case 2:
			if rows > 2 {
				fill(row, F(math.Inf(-1))) // all masked
			}
		case 3:
			row[r.IntN(cols)] = F(math.Inf(1)) // one-hot
		}
	}
	out = make([]F, n)
	if log {
		fallback.LogSoftmax(out, s, cols)
	} else {
		fallback.Softmax(out, s, cols)
	}
	grad = make([]F, n)
	fillRandom(grad, r, valueRanges[0].gen)
	return out, grad
}

func fill[F Float](s []F, v F) {
	for i := range s {
		s[i] = v
	}
}

func TestBackward(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testBackward[float32], testBackward[float64])
	})
}

func testBackward[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range shapes(testing.Short()) {
		rows, cols := sh[0]+2, sh[1]
		if cols > 1000 {
			rows = 1
		}
		n := rows * cols
		off := (cols * 3) % 16
		name := fmt.Sprintf("%dx%d", rows, cols)

		p, dp := backwardCase[F](r, rows, cols, false)
		want, scale := ref.SoftmaxBackward(nil, ref.Float64s(p), ref.Float64s(dp), cols)
		ds, check := guarded[F](n, off)
		SoftmaxBackward(ds, p, dp, cols)
		check(t)
		checkGrad(t, "SoftmaxBackward "+name, ds, want, scale, false)
		expectAliases(t, "SoftmaxBackward "+name, ds, p, dp, cols, SoftmaxBackward[F])

		ds0 := make([]F, n)
		fillRandom(ds0, r, valueRanges[0].gen)
		want, scale = ref.SoftmaxBackward(ref.Float64s(ds0), ref.Float64s(p), ref.Float64s(dp), cols)
		ds, check = guarded[F](n, off)
		copy(ds, ds0)
		SoftmaxBackwardAdd(ds, p, dp, cols)
		check(t)
		checkGrad(t, "SoftmaxBackwardAdd "+name, ds, want, scale, true)
		// aliased, ds starts as the slice it aliases
		for _, alias := range []string{"p", "dp"} {
			pc, dpc := append([]F(nil), p...), append([]F(nil), dp...)
			dsa := pc
			if alias == "dp" {
				dsa = dpc
			}
			want, scale := ref.SoftmaxBackward(ref.Float64s(dsa), ref.Float64s(p), ref.Float64s(dp), cols)
			SoftmaxBackwardAdd(dsa, pc, dpc, cols)
			checkGrad(t, "SoftmaxBackwardAdd ds=="+alias+" "+name, dsa, want, scale, true)
		}

		y, dy := backwardCase[F](r, rows, cols, true)
		want, scale = ref.LogSoftmaxBackward(ref.Float64s(y), ref.Float64s(dy), cols)
		ds, check = guarded[F](n, off)
		LogSoftmaxBackward(ds, y, dy, cols)
		check(t)
		checkGrad(t, "LogSoftmaxBackward "+name, ds, want, scale, false)
		for i, v := range y {
			if math.IsInf(float64(v), -1) && ds[i] != 0 {
				t.Fatalf("LogSoftmaxBackward %s: masked entry %d got %v, want 0", name, i, ds[i])
			}
		}
		expectAliases(t, "LogSoftmaxBackward "+name, ds, y, dy, cols, LogSoftmaxBackward[F])
	}
}

// expectAliases runs op with ds aliasing each input in turn and demands the
// bits of the unaliased result want.
func expectAliases[F Float](t *testing.T, name string, want, a, b []F, cols int, op func(ds, a, b []F, cols int)) {
	t.Helper()
	for _, which := range []string{"first", "second"} {
		ac, bc := append([]F(nil), a...), append([]F(nil), b...)
		ds := ac
		if which == "second" {
			ds = bc
		}
		op(ds, ac, bc, cols)
		for i := range ds {
			if !isNaNBits(ds[i], want[i]) && !(isNaN(ds[i]) && isNaN(want[i])) {
				t.Fatalf("%s with ds aliasing its %s input: [%d] = %v, want %v", name, which, i, ds[i], want[i])
			}
		}
	}
}
