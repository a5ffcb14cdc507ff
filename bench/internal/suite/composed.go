package suite

import (
	"math"

	"github.com/rowwise/softmax/kernels"
)

// composedSet is what a user of this package writes today for each fused
// operation without the fused call, on the dispatched tier: the baselines
// the fused calls are measured against (issues 18 and 19). LogSumExp has
// none.
//
//	xent, xent_loss     LogSoftmax into a temporary, the loss gathered from it;
//	                    with ds, a one-hot gradient and LogSoftmaxBackward
//	                    (fallback.CrossEntropyComposed on kernels' calls)
//	softmax_scaled      a scaling pass into dst, then Softmax in place
//	softmax_causal      a pass that scales the entries a row sees and writes
//	                    -Inf over the others, then Softmax in place
//	softmax_bwd_scaled  SoftmaxBackward, then a scaling pass over ds
//	softmax_causal_bwd  the same (the masked p are 0, so their ds are 0)
func composedSet[F kernels.Float]() *Set[F] {
	return &Set[F]{
		Prepared: map[Op]func(d *Data[F]) Call{
			Xent: func(d *Data[F]) Call {
				n, rows := d.Shape.N(), d.Shape.Rows
				out, tmp := make([]F, n+rows), make([]F, n)
				ds, loss, g := out[:n], out[n:], 1/F(rows)
				return Call{Out: out, Run: func() { composedCrossEntropy(loss, ds, d.X, d.Labels, d.Shape.Cols, g, tmp) }}
			},
			XentLoss: func(d *Data[F]) Call {
				loss, tmp := make([]F, d.Shape.Rows), make([]F, d.Shape.N())
				return Call{Out: loss, Run: func() { composedCrossEntropy(loss, nil, d.X, d.Labels, d.Shape.Cols, 0, tmp) }}
			},
		},
		SoftmaxScaled:         composedSoftmaxScaled[F],
		SoftmaxCausal:         composedSoftmaxCausal[F],
		SoftmaxBackwardScaled: composedSoftmaxBackwardScaled[F],
		SoftmaxCausalBackward: func(ds, p, dp []F, cols, _ int, scale F) {
			composedSoftmaxBackwardScaled(ds, p, dp, cols, scale)
		},
	}
}

func composedCrossEntropy[F kernels.Float](loss, ds, logits []F, labels []int32, cols int, gradScale F, tmp []F) {
	kernels.LogSoftmax(tmp, logits, cols)
	for r, t := range labels {
		loss[r] = -tmp[r*cols+int(t)]
	}
	if ds == nil {
		return
	}
	clear(ds)
	for r, t := range labels {
		ds[r*cols+int(t)] = -gradScale
	}
	kernels.LogSoftmaxBackward(ds, tmp, ds, cols)
}

func composedSoftmaxScaled[F kernels.Float](dst, src []F, cols int, scale F) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = scale * v
	}
	kernels.Softmax(dst, dst, cols)
}

func composedSoftmaxCausal[F kernels.Float](dst, src []F, cols, q int, scale F) {
	dst = dst[:len(src)]
	inf := F(math.Inf(-1))
	for r := 0; r*cols < len(src); r++ {
		row, out := src[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		see := cols - q + r%q + 1
		for j, v := range row[:see] {
			out[j] = scale * v
		}
		for j := see; j < cols; j++ {
			out[j] = inf
		}
	}
	kernels.Softmax(dst, dst, cols)
}

func composedSoftmaxBackwardScaled[F kernels.Float](ds, p, dp []F, cols int, scale F) {
	kernels.SoftmaxBackward(ds, p, dp, cols)
	ds = ds[:len(p)]
	for i := range ds {
		ds[i] *= scale
	}
}
