package fallback

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSameBitsEverywhere hashes the output of every operation on fixed
// inputs. The fallback rounds every product explicitly, so the hash is the
// same on every GOARCH; run under GOARCH=arm64, s390x, 386 or wasm it fails
// if some step (an FMA fused by the compiler, a math function in assembly)
// gives other bits there.
func TestSameBitsEverywhere(t *testing.T) {
	const want32, want64 uint64 = 0x165d80d4dad9866, 0x77b9668d8a00f519
	if got := outputHash[float32](); got != want32 {
		t.Errorf("float32 outputs hash to %#x, want %#x", got, want32)
	}
	if got := outputHash[float64](); got != want64 {
		t.Errorf("float64 outputs hash to %#x, want %#x", got, want64)
	}
}

func outputHash[F Float]() uint64 {
	const rows, cols = 9, 61
	r := rand.New(rand.NewPCG(5, 5))
	s, g := make([]F, rows*cols), make([]F, rows*cols)
	for i := range s {
		s[i] = F(float64(40*r.Float64()) - 20) // rounded: no FMA here either
		g[i] = F(float64(2*r.Float64()) - 1)
	}
	s[3] = F(math.Inf(-1))
	s[cols+4] = F(math.Inf(1))
	h := fnv.New64a()
	write := func(v []F) {
		for _, x := range v {
			var b [8]byte
			u := math.Float64bits(float64(x))
			for i := range b {
				b[i] = byte(u >> (8 * i))
			}
			h.Write(b[:])
		}
	}
	out, ds := make([]F, len(s)), make([]F, len(s))
	Exp(out, s)
	write(out)
	Softmax(out, s, cols)
	write(out)
	SoftmaxBackward(ds, out, g, cols)
	write(ds)
	SoftmaxBackwardAdd(ds, out, g, cols)
	write(ds)
	LogSoftmax(out, s, cols)
	write(out)
	LogSoftmaxBackward(ds, out, g, cols)
	write(ds)
	return h.Sum64()
}
