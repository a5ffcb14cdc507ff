package fallback

// accum is a compensated (Kahan-Babuska-Neumaier) sum: its error does not
// grow with the number of terms, which CONTRACT.md's long-row bounds need. The
// caller rounds any product it passes with an explicit float64(...) so that
// no FMA is fused across the call. It is a value (a = a.plus(x)) so the
// compiler keeps both parts in registers.
type accum struct{ s, c float64 }

func (a accum) plus(x float64) accum {
	t := a.s + x
	// TwoSum: the exact rounding error of s + x, without a branch.
	z := t - a.s
	return accum{t, a.c + ((a.s - (t - z)) + (x - z))}
}

func (a accum) sum() float64 { return a.s + a.c }
