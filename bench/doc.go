// Package bench holds the benchmarks that compare the literal loops a
// framework generates, the fused fallback and the dispatched kernels:
//
//	go test -run=^$ -bench=. ./bench/
//
// Names follow benchstat's key=value form
// (BenchmarkSoftmaxBackward/impl=fused/dtype=f32/shape=1024x1024), and
// b.SetBytes counts the bytes an operation must move, so MB/s compares
// with a memory copy of the same data.
package bench
