package ref

import "math"

// LogSumExp returns log(sum_j exp(s_j)) for each row: +Inf for a row holding
// +Inf, -Inf for an all -Inf row, NaN for a row holding NaN.
func LogSumExp(s []float64, cols int) []float64 {
	out := make([]float64, len(s)/cols)
	for r := range out {
		row := s[r*cols : (r+1)*cols]
		max, nan, inf, masked := rowKind(row)
		switch {
		case nan:
			out[r] = math.NaN()
		case inf, masked:
			out[r] = max
		default:
			_, sum := expRow(row, max)
			out[r] = Add(Of(max), Log(sum)).Float()
		}
	}
	return out
}

// SoftmaxScaled returns Softmax(scale * s) for each row, scale*s taken
// exactly.
func SoftmaxScaled(s []float64, cols int, scale float64) []float64 {
	out := make([]float64, len(s))
	for r := 0; r < len(s); r += cols {
		row := s[r : r+cols]
		max, nan, inf, masked := rowKind(row)
		if nan || inf || masked {
			copy(out[r:], Softmax(row, cols))
			continue
		}
		e := make([]DD, cols)
		var sum DD
		for j, v := range row {
			if scale*(v-max) < -1500 { // masked, or below every float64
				continue
			}
			x := Mul(Of(scale), Diff(v, max))
			m, k := ExpScaled(x)
			e[j] = Scale(m, k)
			sum = Add(sum, e[j])
		}
		for j := range row {
			out[r+j] = Div(e[j], sum).Float()
		}
	}
	return out
}

// CrossEntropy returns, for each row r with target t = labels[r] >= 0, the
// loss -log p_t and the row gradient g (p - onehot(t)); ignored rows
// (negative labels) give 0 and zeros. The loss and the target's gradient
// come from the other entries' share O/Z, so they stay exact when p_t
// nears 1. spread[r] is the largest |s_j - max| over the entries whose
// probability is at least tiny (the contract's G).
func CrossEntropy(s []float64, labels []int32, cols int, g, tiny float64) (loss, ds, spread []float64) {
	loss, ds, spread = make([]float64, len(labels)), make([]float64, len(s)), make([]float64, len(labels))
	for r, label := range labels {
		if label < 0 {
			continue
		}
		t := int(label)
		row, d := s[r*cols:(r+1)*cols], ds[r*cols:(r+1)*cols]
		max, nan, inf, masked := rowKind(row)
		switch {
		case nan:
			loss[r] = math.NaN()
			for j := range d {
				d[j] = math.NaN()
			}
			continue
		case inf || masked:
			p := Softmax(row, cols)
			loss[r] = -math.Log(p[t])
			if p[t] == 1 {
				loss[r] = 0
			}
			for j := range d {
				d[j] = p[j] * g
			}
			d[t] = (p[t] - 1) * g
			continue
		}
		e, z := expRow(row, max)
		var o DD
		for j := range row {
			if j != t {
				o = Add(o, e[j])
			}
			if p := Div(e[j], z).Float(); p >= tiny {
				spread[r] = math.Max(spread[r], math.Abs(row[j]-max))
			}
		}
		if e[t].Hi == 0 {
			loss[r] = math.Inf(1)
		} else {
			loss[r] = log1p(Div(o, e[t])).Float()
		}
		for j := range row {
			d[j] = Mul(Of(g), Div(e[j], z)).Float()
		}
		d[t] = Mul(Of(-g), Div(o, z)).Float()
	}
	return loss, ds, spread
}

// log1p returns ln(1 + x) for x >= 0, relative to the result even where x
// is below the precision of 1 + x.
func log1p(x DD) DD {
	if x.Hi > 1e-6 {
		return Log(Add(Of(1), x))
	}
	// x - x^2/2 + x^3/3 - ...: ten terms leave an error below x^11
	var sum DD
	pow := x
	for k := 1; k <= 10; k++ {
		term := Div(pow, Of(float64(k)))
		if k%2 == 0 {
			term = Neg(term)
		}
		sum = Add(sum, term)
		pow = Mul(pow, x)
	}
	return sum
}
