package fallback

import "math"

// SoftmaxBackward sets ds = p * (dp - sum_j p*dp) per row: the fused
// backward pass of softmax, two passes and no exp. ds may be p or dp.
func SoftmaxBackward[F Float](ds, p, dp []F, cols int) {
	softmaxBackward(ds, p, dp, cols, false)
}

// SoftmaxBackwardAdd adds p * (dp - sum_j p*dp) to ds per row. ds may be p
// or dp.
func SoftmaxBackwardAdd[F Float](ds, p, dp []F, cols int) {
	softmaxBackward(ds, p, dp, cols, true)
}

func softmaxBackward[F Float](ds, p, dp []F, cols int, add bool) {
	for r := 0; r < len(p); r += cols {
		pr, dpr, dsr := p[r:r+cols], dp[r:r+cols], ds[r:r+cols]
		var e accum
		for j, v := range pr {
			e = e.plus(float64(float64(v) * float64(dpr[j])))
		}
		dot := e.sum()
		for j, v := range pr {
			g := float64(float64(v) * (float64(dpr[j]) - dot))
			if add {
				g += float64(dsr[j])
			}
			dsr[j] = F(g)
		}
	}
}

// LogSoftmaxBackward sets ds = dy - exp(y) * sum_j dy per row. Masked
// entries (y = -Inf) get 0 and their dy stays out of the sum, so a row of
// only -Inf gives zeros. ds may be y or dy.
func LogSoftmaxBackward[F Float](ds, y, dy []F, cols int) {
	f32 := isF32[F]()
	for r := 0; r < len(y); r += cols {
		yr, dyr, dsr := y[r:r+cols], dy[r:r+cols], ds[r:r+cols]
		var t accum
		for j, v := range yr {
			if !math.IsInf(float64(v), -1) {
				t = t.plus(float64(dyr[j]))
			}
		}
		sum := t.sum()
		for j, v := range yr {
			if math.IsInf(float64(v), -1) {
				dsr[j] = 0
				continue
			}
			dsr[j] = F(float64(dyr[j]) - float64(expAcc(f32, float64(v))*sum))
		}
	}
}
