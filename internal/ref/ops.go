package ref

import "math"

// The references below take float64 rows (float32 inputs convert exactly),
// follow CONTRACT.md's rules for NaN, +Inf and masked rows, and return the exact
// result rounded to float64. Softmax's reference does not flush subnormals:
// tests allow for that with their absolute term.

// rowKind classifies a row: 0 finite maximum, or the special case it is.
func rowKind(row []float64) (max float64, nan, inf, masked bool) {
	max = math.Inf(-1)
	for _, v := range row {
		if math.IsNaN(v) {
			nan = true
		}
		max = math.Max(max, v)
	}
	if nan {
		return 0, true, false, false
	}
	return max, false, math.IsInf(max, 1), math.IsInf(max, -1)
}

func countPosInf(row []float64) float64 {
	k := 0.0
	for _, v := range row {
		if math.IsInf(v, 1) {
			k++
		}
	}
	return k
}

// expRow returns e^(s_j - max) for each j and their sum.
func expRow(row []float64, max float64) ([]DD, DD) {
	e := make([]DD, len(row))
	var sum DD
	for j, v := range row {
		if v-max < -1500 { // masked, or e^(v-max) below every float64
			continue
		}
		m, k := ExpScaled(Diff(v, max))
		e[j] = Scale(m, k)
		sum = Add(sum, e[j])
	}
	return e, sum
}

// Softmax returns exp(s - max) / sum exp(s - max) for each row.
func Softmax(s []float64, cols int) []float64 {
	out := make([]float64, len(s))
	for r := 0; r < len(s); r += cols {
		row, o := s[r:r+cols], out[r:r+cols]
		max, nan, inf, masked := rowKind(row)
		for j, v := range row {
			switch {
			case nan:
				o[j] = math.NaN()
			case masked:
				o[j] = 0
			case inf:
				if math.IsInf(v, 1) {
					o[j] = 1 / countPosInf(row)
				}
			}
		}
		if nan || masked || inf {
			continue
		}
		e, sum := expRow(row, max)
		for j := range row {
			o[j] = Div(e[j], sum).Float()
		}
	}
	return out
}

// LogSoftmax returns s - max - log(sum exp(s - max)) for each row.
func LogSoftmax(s []float64, cols int) []float64 {
	out := make([]float64, len(s))
	for r := 0; r < len(s); r += cols {
		row, o := s[r:r+cols], out[r:r+cols]
		max, nan, inf, masked := rowKind(row)
		for j, v := range row {
			switch {
			case nan:
				o[j] = math.NaN()
			case masked:
				o[j] = math.Inf(-1)
			case inf:
				o[j] = math.Inf(-1)
				if math.IsInf(v, 1) {
					o[j] = -math.Log(countPosInf(row))
				}
			}
		}
		if nan || masked || inf {
			continue
		}
		_, sum := expRow(row, max)
		lse := Log(sum)
		for j, v := range row {
			o[j] = math.Inf(-1)
			if !math.IsInf(v, -1) {
				o[j] = Add(Diff(v, max), Neg(lse)).Float()
			}
		}
	}
	return out
}

// SoftmaxBackward returns ds0 + p (dp - sum_j p dp) for each row (ds0 may be
// nil: zeros), and the scale |p| (|dp| + sum_j |p dp|) of CONTRACT.md's
// bound (p is a probability there; the assembly's tests also feed any sign).
func SoftmaxBackward(ds0, p, dp []float64, cols int) (ds, scale []float64) {
	ds, scale = make([]float64, len(p)), make([]float64, len(p))
	for r := 0; r < len(p); r += cols {
		var dot DD
		abs := 0.0
		for j := r; j < r+cols; j++ {
			dot = Add(dot, Prod(p[j], dp[j]))
			abs += math.Abs(p[j] * dp[j])
		}
		for j := r; j < r+cols; j++ {
			g := Mul(Of(p[j]), Add(Of(dp[j]), Neg(dot)))
			if ds0 != nil {
				g = Add(g, Of(ds0[j]))
			}
			ds[j] = g.Float()
			scale[j] = math.Abs(p[j]) * (math.Abs(dp[j]) + abs)
		}
	}
	return ds, scale
}

// LogSoftmaxBackward returns dy - exp(y) sum_j dy for each row, 0 where
// y = -Inf (those dy stay out of the sum), and the scale
// |dy| + exp(y) sum_j |dy| of CONTRACT.md's bound.
func LogSoftmaxBackward(y, dy []float64, cols int) (ds, scale []float64) {
	ds, scale = make([]float64, len(y)), make([]float64, len(y))
	for r := 0; r < len(y); r += cols {
		var sum DD
		abs := 0.0
		for j := r; j < r+cols; j++ {
			if !math.IsInf(y[j], -1) {
				sum = Add(sum, Of(dy[j]))
				abs += math.Abs(dy[j])
			}
		}
		for j := r; j < r+cols; j++ {
			if math.IsInf(y[j], -1) {
				continue
			}
			if math.IsNaN(y[j]) {
				ds[j] = math.NaN()
				continue
			}
			p := Exp(Of(y[j]))
			ds[j] = Add(Of(dy[j]), Neg(Mul(p, sum))).Float()
			scale[j] = math.Abs(dy[j]) + p.Hi*abs
		}
	}
	return ds, scale
}

// Float64s returns s converted to float64, the type the references take.
func Float64s[F float32 | float64](s []F) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
