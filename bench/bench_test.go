package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/rowwise/softmax/fallback"
	"github.com/rowwise/softmax/kernels"
)

// shapes are the anchors' shapes this comparison runs on.
var shapes = [][2]int{{4096, 128}, {1024, 1024}, {1000, 37}}

func dtype[F kernels.Float]() string {
	if unsafe.Sizeof(F(0)) == 4 {
		return "f32"
	}
	return "f64"
}

func random[F kernels.Float](n int, lo, hi float64, seed uint64) []F {
	r := rand.New(rand.NewPCG(seed, seed))
	s := make([]F, n)
	for i := range s {
		s[i] = F(lo + (hi-lo)*r.Float64())
	}
	return s
}

// forEachShape runs f for every shape and both types under
// impl=name/dtype=.../shape=RxC.
func forEachShape(b *testing.B, name string, f32 func(b *testing.B, rows, cols int), f64 func(b *testing.B, rows, cols int)) {
	for _, sh := range shapes {
		for _, f := range []struct {
			dt  string
			run func(b *testing.B, rows, cols int)
		}{{"f32", f32}, {"f64", f64}} {
			b.Run(fmt.Sprintf("impl=%s/dtype=%s/shape=%dx%d", name, f.dt, sh[0], sh[1]), func(b *testing.B) {
				b.ReportAllocs()
				f.run(b, sh[0], sh[1])
			})
		}
	}
}

// BenchmarkSoftmaxBackward compares the literal backward loops (four passes,
// two extra exp per element) with the fused two-pass form, in the fallback
// and through the dispatched API. Bytes: read p and dp, write ds.
func BenchmarkSoftmaxBackward(b *testing.B) {
	forEachShape(b, "literal", backwardLiteral[float32], backwardLiteral[float64])
	forEachShape(b, "fallback", backwardFused[float32](fallback.SoftmaxBackwardAdd[float32]), backwardFused[float64](fallback.SoftmaxBackwardAdd[float64]))
	forEachShape(b, "kernels", backwardFused[float32](kernels.SoftmaxBackwardAdd[float32]), backwardFused[float64](kernels.SoftmaxBackwardAdd[float64]))
}

func backwardLiteral[F kernels.Float](b *testing.B, rows, cols int) {
	n := rows * cols
	s, pgrad, sgrad := random[F](n, -5, 5, 1), random[F](n, -1, 1, 2), make([]F, n)
	p, Z, Zgrad := make([]F, n), make([]F, rows), make([]F, rows)
	fallback.SoftmaxLoops(p, Z, s, cols)
	b.SetBytes(int64(3 * n * int(unsafe.Sizeof(F(0)))))
	b.ResetTimer()
	for range b.N {
		fallback.SoftmaxBackwardLoops(sgrad, s, pgrad, Z, Zgrad, cols)
	}
}

func backwardFused[F kernels.Float](op func(ds, p, dp []F, cols int)) func(b *testing.B, rows, cols int) {
	return func(b *testing.B, rows, cols int) {
		n := rows * cols
		s, dp, ds := random[F](n, -5, 5, 1), random[F](n, -1, 1, 2), make([]F, n)
		p := make([]F, n)
		fallback.Softmax(p, s, cols)
		b.SetBytes(int64(3 * n * int(unsafe.Sizeof(F(0)))))
		b.ResetTimer()
		for range b.N {
			op(ds, p, dp, cols)
		}
	}
}

// BenchmarkSoftmax compares the literal forward loops with the fallback and
// the dispatched API. Bytes: read s, write p.
func BenchmarkSoftmax(b *testing.B) {
	forEachShape(b, "literal", forwardLiteral[float32], forwardLiteral[float64])
	forEachShape(b, "fallback", forward[float32](fallback.Softmax[float32]), forward[float64](fallback.Softmax[float64]))
	forEachShape(b, "kernels", forward[float32](kernels.Softmax[float32]), forward[float64](kernels.Softmax[float64]))
}

func forwardLiteral[F kernels.Float](b *testing.B, rows, cols int) {
	n := rows * cols
	s, p, Z := random[F](n, -5, 5, 1), make([]F, n), make([]F, rows)
	b.SetBytes(int64(2 * n * int(unsafe.Sizeof(F(0)))))
	b.ResetTimer()
	for range b.N {
		fallback.SoftmaxLoops(p, Z, s, cols)
	}
}

func forward[F kernels.Float](op func(dst, src []F, cols int)) func(b *testing.B, rows, cols int) {
	return func(b *testing.B, rows, cols int) {
		n := rows * cols
		s, p := random[F](n, -5, 5, 1), make([]F, n)
		b.SetBytes(int64(2 * n * int(unsafe.Sizeof(F(0)))))
		b.ResetTimer()
		for range b.N {
			op(p, s, cols)
		}
	}
}
