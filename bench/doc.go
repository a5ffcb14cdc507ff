// Package bench compares the kernels of github.com/rowwise/softmax with the
// seed's literal loops, the fused fallback, Go peers and memory rooflines.
// It is a nested module, so its dependencies (github.com/viterin/vek,
// gonum.org/v1/plot) stay out of the library's go.mod.
//
// The report command is the main entry point (see cmd/report):
//
//	go run -C bench ./cmd/report
//
// The go test benchmarks time every operation, float32 and float64, on the
// shapes of ../shared/anchors, under benchstat names:
//
//	go -C bench test -run='^$' -bench=. .
//	BenchmarkSoftmax/impl=avx2/dtype=f32/shape=64x32000
//
// impl is one of literal (fallback.SoftmaxLoops and SoftmaxBackwardLoops, the
// seed's literal loops), fallback (the fused pure-Go form), avx512 and avx2
// (the tier's assembly called directly; only those the CPU runs), dispatched
// (the public kernels API: the tier cpuid and SOFTMAX_ISA picked), plaingo
// (softmax as everyone writes it in Go: math.Exp, loops in the element type),
// vek (github.com/viterin/vek's float32 AVX2 vector functions composed into
// softmax; float32 only), composed (for the fused operations: what a user of
// the package writes without the fused call, on the dispatched tier), and
// for BenchmarkCopy, BenchmarkRead2Write1 and BenchmarkRead the rooflines
// copy (Go's copy), loop (c[i] = a[i]*b[i]) and read (bytes.Count over the
// slice). b.SetBytes counts the bytes an operation must move (8 per float32
// element forward and for exp, 12 backward, 4 for CrossEntropyLoss and
// LogSumExp, which only read; twice that for float64; the causal operations
// count the whole matrix, as the anchors do), so MB/s compares with the
// rooflines directly.
//
// The fused operations (BenchmarkCrossEntropy, BenchmarkCrossEntropyLoss,
// BenchmarkLogSumExp, BenchmarkSoftmaxScaled, BenchmarkSoftmaxCausal,
// BenchmarkSoftmaxBackwardScaled, BenchmarkSoftmaxCausalBackward) take the
// anchors' conventions (torch_softmax.py --fused): labels (r*7919) % cols,
// gradScale 1/rows, scale 0.125, causal blocks of q = cols rows on the
// shapes whose cols divide rows. Their ratios to Softmax come from the
// report: go run -C bench ./cmd/report -ops fused.
package bench
