// Package ref computes the exact answers tests compare against: double-double
// arithmetic (about 106 bits), an exp and a log good to about 1e-30, correct
// rounding to float32 and float64, and references for every operation.
// Products are wrapped in float64(...) and split with math.FMA, so the
// results are the same on every GOARCH.
package ref

import "math"

// DD is the unevaluated sum Hi + Lo with |Lo| <= ulp(Hi)/2.
type DD struct{ Hi, Lo float64 }

// twoSum returns s = fl(a+b) and the exact error e = a + b - s.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	z := s - a
	e = (a - (s - z)) + (b - z)
	return
}

// twoProd returns p = fl(a*b) and the exact error e = a*b - p.
func twoProd(a, b float64) (p, e float64) {
	p = float64(a * b)
	e = math.FMA(a, b, -p)
	return
}

func norm(s, e float64) DD {
	hi := s + e
	return DD{hi, e - (hi - s)}
}

// Of returns x as a DD.
func Of(x float64) DD { return DD{x, 0} }

// Diff returns a - b exactly.
func Diff(a, b float64) DD { return norm(twoSum(a, -b)) }

// Prod returns a * b exactly.
func Prod(a, b float64) DD { return norm(twoProd(a, b)) }

// Add returns x + y.
func Add(x, y DD) DD {
	s, e := twoSum(x.Hi, y.Hi)
	t, f := twoSum(x.Lo, y.Lo)
	e += t
	r := norm(s, e)
	return norm(r.Hi, r.Lo+f)
}

// Neg returns -x.
func Neg(x DD) DD { return DD{-x.Hi, -x.Lo} }

// Mul returns x * y.
func Mul(x, y DD) DD {
	p, e := twoProd(x.Hi, y.Hi)
	e += float64(x.Hi*y.Lo) + float64(x.Lo*y.Hi)
	return norm(p, e)
}

// Div returns x / y.
func Div(x, y DD) DD {
	q1 := x.Hi / y.Hi
	r := Add(x, Neg(Mul(Of(q1), y)))
	q2 := r.Hi / y.Hi
	r = Add(r, Neg(Mul(Of(q2), y)))
	q3 := r.Hi / y.Hi
	return Add(norm(q1, q2), Of(q3))
}

// Float returns x rounded to the nearest float64.
func (x DD) Float() float64 { return x.Hi + x.Lo }

// Scale returns x * 2^k; exact unless the result leaves the normal range.
func Scale(x DD, k int) DD { return DD{math.Ldexp(x.Hi, k), math.Ldexp(x.Lo, k)} }
