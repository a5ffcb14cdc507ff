package ref

import "math"

// ULPs64 returns how many float64 values lie between a and b, counting one
// end: 0 when equal (or both NaN), 1 for neighbours; MaxInt64 when exactly
// one is NaN. +0 and -0 are equal.
func ULPs64(a, b float64) int64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		if math.IsNaN(a) && math.IsNaN(b) {
			return 0
		}
		return math.MaxInt64
	}
	d := ordered64(a) - ordered64(b)
	if d < 0 {
		d = -d
	}
	return d
}

// ULPs32 is ULPs64 for float32.
func ULPs32(a, b float32) int64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.MaxInt64
	}
	d := ordered32(a) - ordered32(b)
	if d < 0 {
		d = -d
	}
	return d
}

// ordered maps a float's bits to an integer that grows with the value.
func ordered64(x float64) int64 {
	i := int64(math.Float64bits(x))
	if i < 0 {
		i = math.MinInt64 - i
	}
	return i
}

func ordered32(x float32) int64 {
	i := int64(int32(math.Float32bits(x)))
	if i < 0 {
		i = math.MinInt32 - i
	}
	return i
}
