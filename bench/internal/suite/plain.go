package suite

import (
	"math"

	"github.com/rowwise/softmax/kernels"
)

// The plain pure-Go softmax as everyone writes it: math.Exp on each
// element, sums and products in the element type, one row at a time.

func plainSet[F kernels.Float]() *Set[F] {
	return &Set[F]{
		Exp:                plainExp[F],
		Softmax:            plainSoftmax[F],
		LogSoftmax:         plainLogSoftmax[F],
		SoftmaxBackward:    plainSoftmaxBackward[F],
		SoftmaxBackwardAdd: plainSoftmaxBackwardAdd[F],
		LogSoftmaxBackward: plainLogSoftmaxBackward[F],
	}
}

func plainExp[F kernels.Float](dst, src []F) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F(math.Exp(float64(v)))
	}
}

func plainSoftmax[F kernels.Float](dst, src []F, cols int) {
	for r := 0; r+cols <= len(src); r += cols {
		row, out := src[r:r+cols], dst[r:r+cols]
		max := row[0]
		for _, v := range row {
			if v > max {
				max = v
			}
		}
		var sum F
		for i, v := range row {
			e := F(math.Exp(float64(v - max)))
			out[i] = e
			sum += e
		}
		for i := range out {
			out[i] /= sum
		}
	}
}

func plainLogSoftmax[F kernels.Float](dst, src []F, cols int) {
	for r := 0; r+cols <= len(src); r += cols {
		row, out := src[r:r+cols], dst[r:r+cols]
		max := row[0]
		for _, v := range row {
			if v > max {
				max = v
			}
		}
		var sum F
		for _, v := range row {
			sum += F(math.Exp(float64(v - max)))
		}
		lse := max + F(math.Log(float64(sum)))
		for i, v := range row {
			out[i] = v - lse
		}
	}
}

func plainSoftmaxBackward[F kernels.Float](ds, p, dp []F, cols int) {
	for r := 0; r+cols <= len(p); r += cols {
		pr, dpr, dsr := p[r:r+cols], dp[r:r+cols], ds[r:r+cols]
		var dot F
		for i, v := range pr {
			dot += v * dpr[i]
		}
		for i, v := range pr {
			dsr[i] = v * (dpr[i] - dot)
		}
	}
}

func plainSoftmaxBackwardAdd[F kernels.Float](ds, p, dp []F, cols int) {
	for r := 0; r+cols <= len(p); r += cols {
		pr, dpr, dsr := p[r:r+cols], dp[r:r+cols], ds[r:r+cols]
		var dot F
		for i, v := range pr {
			dot += v * dpr[i]
		}
		for i, v := range pr {
			dsr[i] += v * (dpr[i] - dot)
		}
	}
}

func plainLogSoftmaxBackward[F kernels.Float](ds, y, dy []F, cols int) {
	for r := 0; r+cols <= len(y); r += cols {
		yr, dyr, dsr := y[r:r+cols], dy[r:r+cols], ds[r:r+cols]
		var sum F
		for _, v := range dyr {
			sum += v
		}
		for i, v := range yr {
			dsr[i] = dyr[i] - F(math.Exp(float64(v)))*sum
		}
	}
}
