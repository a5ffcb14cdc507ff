package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// forwardShapes are the anchors: rows x cols.
var forwardShapes = [][2]int{{4096, 128}, {1024, 1024}, {256, 4096}, {64, 32000}, {8, 128256}, {1000, 37}, {2048, 10}}

func benchForward[F Float](b *testing.B, dtype string) {
	ops := []struct {
		name string
		run  func(dst, src []F, cols int)
	}{
		{"Softmax", Softmax[F]},
		{"LogSoftmax", LogSoftmax[F]},
		{"LogSoftmaxBackward", func(dst, src []F, cols int) { LogSoftmaxBackward(dst, src, dst, cols) }},
		{"Exp", func(dst, src []F, cols int) { Exp(dst, src) }},
	}
	for _, tr := range tiers {
		for _, op := range ops {
			for _, sh := range forwardShapes {
				rows, cols := sh[0], sh[1]
				n := rows * cols
				src, dst := make([]F, n), make([]F, n)
				r := rand.New(rand.NewPCG(1, 2))
				for i := range src {
					src[i] = F(4 * r.NormFloat64())
				}
				if op.name == "LogSoftmaxBackward" {
					LogSoftmax(src, src, cols)
				}
				b.Run(fmt.Sprintf("impl=%s/op=%s/dtype=%s/shape=%dx%d", tr.name, op.name, dtype, rows, cols), func(b *testing.B) {
					defer useTier(tr)()
					b.SetBytes(int64(2 * n * int(sizeOf[F]())))
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						op.run(dst, src, cols)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
				})
			}
		}
	}
}

func sizeOf[F Float]() uintptr {
	var z F
	if _, ok := any(z).(float32); ok {
		return 4
	}
	return 8
}

func BenchmarkForwardF32(b *testing.B) { benchForward[float32](b, "f32") }
func BenchmarkForwardF64(b *testing.B) { benchForward[float64](b, "f64") }
