package kernels

// tier is one implementation of every operation, for both element types.
// A tier may leave an entry nil; fill then takes it from the tier below, so a
// tier can be built up one kernel at a time without changing the API.
type tier struct {
	name string

	expF32 func(dst, src []float32)
	expF64 func(dst, src []float64)

	softmaxF32    func(dst, src []float32, cols int)
	softmaxF64    func(dst, src []float64, cols int)
	logSoftmaxF32 func(dst, src []float32, cols int)
	logSoftmaxF64 func(dst, src []float64, cols int)

	softmaxBackwardF32    func(ds, p, dp []float32, cols int)
	softmaxBackwardF64    func(ds, p, dp []float64, cols int)
	softmaxBackwardAddF32 func(ds, p, dp []float32, cols int)
	softmaxBackwardAddF64 func(ds, p, dp []float64, cols int)
	logSoftmaxBackwardF32 func(ds, y, dy []float32, cols int)
	logSoftmaxBackwardF64 func(ds, y, dy []float64, cols int)
}

// fill copies every nil entry of t from below.
func (t *tier) fill(below *tier) {
	if t.expF32 == nil {
		t.expF32 = below.expF32
	}
	if t.expF64 == nil {
		t.expF64 = below.expF64
	}
	if t.softmaxF32 == nil {
		t.softmaxF32 = below.softmaxF32
	}
	if t.softmaxF64 == nil {
		t.softmaxF64 = below.softmaxF64
	}
	if t.logSoftmaxF32 == nil {
		t.logSoftmaxF32 = below.logSoftmaxF32
	}
	if t.logSoftmaxF64 == nil {
		t.logSoftmaxF64 = below.logSoftmaxF64
	}
	if t.softmaxBackwardF32 == nil {
		t.softmaxBackwardF32 = below.softmaxBackwardF32
	}
	if t.softmaxBackwardF64 == nil {
		t.softmaxBackwardF64 = below.softmaxBackwardF64
	}
	if t.softmaxBackwardAddF32 == nil {
		t.softmaxBackwardAddF32 = below.softmaxBackwardAddF32
	}
	if t.softmaxBackwardAddF64 == nil {
		t.softmaxBackwardAddF64 = below.softmaxBackwardAddF64
	}
	if t.logSoftmaxBackwardF32 == nil {
		t.logSoftmaxBackwardF32 = below.logSoftmaxBackwardF32
	}
	if t.logSoftmaxBackwardF64 == nil {
		t.logSoftmaxBackwardF64 = below.logSoftmaxBackwardF64
	}
}
