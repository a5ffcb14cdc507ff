package suite

import (
	"math"

	"github.com/viterin/vek/vek32"
)

// vekImpl composes softmax and its backward passes from
// github.com/viterin/vek's float32 vector functions (AVX2 where the CPU
// has it), as a user of that library would. vek has no float64 exp in
// its SIMD set, so only float32 is timed, and its exp is wrong for inputs
// in about (-104, -88); the benchmark inputs never reach that range.
func vekImpl() *Impl {
	return &Impl{Name: "vek", Short: "vek", ISA: "avx2", Kind: Peer, F32: &Set[float32]{
		Exp:                func(dst, src []float32) { vek32.Exp_Into(dst, src) },
		Softmax:            vekSoftmax,
		LogSoftmax:         vekLogSoftmax,
		SoftmaxBackward:    vekSoftmaxBackward,
		LogSoftmaxBackward: vekLogSoftmaxBackward,
	}}
}

func vekSoftmax(dst, src []float32, cols int) {
	for r := 0; r+cols <= len(src); r += cols {
		row, out := src[r:r+cols], dst[r:r+cols]
		vek32.AddNumber_Into(out, row, -vek32.Max(row))
		vek32.Exp_Inplace(out)
		vek32.MulNumber_Inplace(out, 1/vek32.Sum(out))
	}
}

func vekLogSoftmax(dst, src []float32, cols int) {
	for r := 0; r+cols <= len(src); r += cols {
		row, out := src[r:r+cols], dst[r:r+cols]
		m := vek32.Max(row)
		vek32.AddNumber_Into(out, row, -m)
		vek32.Exp_Inplace(out)
		lse := m + float32(math.Log(float64(vek32.Sum(out))))
		vek32.AddNumber_Into(out, row, -lse)
	}
}

func vekSoftmaxBackward(ds, p, dp []float32, cols int) {
	for r := 0; r+cols <= len(p); r += cols {
		pr, dpr, dsr := p[r:r+cols], dp[r:r+cols], ds[r:r+cols]
		vek32.SubNumber_Into(dsr, dpr, vek32.Dot(pr, dpr))
		vek32.Mul_Inplace(dsr, pr)
	}
}

func vekLogSoftmaxBackward(ds, y, dy []float32, cols int) {
	for r := 0; r+cols <= len(y); r += cols {
		yr, dyr, dsr := y[r:r+cols], dy[r:r+cols], ds[r:r+cols]
		sum := vek32.Sum(dyr)
		vek32.Exp_Into(dsr, yr)
		vek32.MulNumber_Inplace(dsr, -sum)
		vek32.Add_Inplace(dsr, dyr)
	}
}
