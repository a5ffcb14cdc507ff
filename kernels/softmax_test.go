package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// shapes returns the cols to test with how many rows: every width around the
// vector lengths and unroll factors, and long rows up to 2^17. Short rows
// come five at a time: a group of four (the kernels' grouped and
// register-held paths) and one alone.
func shapes(short bool) [][2]int {
	var s [][2]int
	for c := 1; c <= 70; c++ {
		s = append(s, [2]int{5, c})
	}
	for _, c := range []int{127, 128, 129, 255, 256, 257, 300, 1000, 1031} {
		s = append(s, [2]int{2, c})
	}
	if !short {
		s = append(s, [2]int{2, 32000}, [2]int{1, 1 << 17})
	}
	return s
}

type forwardOp[F Float] struct {
	name  string
	run   func(dst, src []F, cols int)
	check func(t *testing.T, got, src []F, cols int)
}

func forwardOps[F Float]() []forwardOp[F] {
	return []forwardOp[F]{
		{"Softmax", Softmax[F], checkSoftmax[F]},
		{"LogSoftmax", LogSoftmax[F], checkLogSoftmax[F]},
	}
}

func TestForward(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testForward[float32], testForward[float64])
	})
}

func testForward[F Float](t *testing.T) {
	for _, op := range forwardOps[F]() {
		t.Run(op.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			for _, vr := range valueRanges {
				for _, sh := range shapes(testing.Short()) {
					rows, cols := sh[0], sh[1]
					if cols > 1000 && vr.name != "unit" && vr.name != "logits" {
						continue
					}
					n := rows * cols
					src := make([]F, n)
					fillRandom(src, r, vr.gen)
					off := (cols * 5) % 16
					dst, check := guarded[F](n, off)
					op.run(dst, src, cols)
					check(t)
					t.Run(fmt.Sprintf("%s/%dx%d", vr.name, rows, cols), func(t *testing.T) {
						op.check(t, dst, src, cols)
					})
					// in place gives the same bits
					op.run(src, src, cols)
					for i := range src {
						if !isNaNBits(src[i], dst[i]) {
							t.Fatalf("%dx%d: in place [%d] = %v, not %v", rows, cols, i, src[i], dst[i])
						}
					}
				}
			}
		})
	}
}

// TestForwardOffsets runs short rows, five (a group of four and one), from
// every start offset 0..15 on both sides, with canaries around dst.
func TestForwardOffsets(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testForwardOffsets[float32], testForwardOffsets[float64])
	})
}

func testForwardOffsets[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, op := range forwardOps[F]() {
		for cols := 1; cols <= 40; cols++ {
			for off := 0; off < 16; off++ {
				n := 5 * cols
				src, _ := guarded[F](n, (off*3+1)%16)
				fillRandom(src, r, valueRanges[1].gen)
				dst, check := guarded[F](n, off)
				op.run(dst, src, cols)
				check(t)
				op.check(t, dst, src, cols)
			}
		}
	}
}

// TestForwardSpecial puts NaN, +Inf and -Inf at every position of the second
// of five rows (in a group of four), and masks whole rows: that row follows
// CONTRACT.md's rules and its neighbours are untouched.
func TestForwardSpecial(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testForwardSpecial[float32], testForwardSpecial[float64])
	})
}

func testForwardSpecial[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	nan, inf := F(math.NaN()), F(math.Inf(1))
	colsList := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 63, 64, 65, 127, 128, 129}
	for _, op := range forwardOps[F]() {
		for _, cols := range colsList {
			for pos := 0; pos < cols; pos++ {
				for _, mark := range []struct {
					name string
					set  func(row []F)
				}{
					{"nan", func(row []F) { row[pos] = nan }},
					{"+inf", func(row []F) { row[pos] = inf }},
					{"two +inf", func(row []F) { row[pos], row[(pos*7+3)%cols] = inf, inf }},
					{"nan and +inf", func(row []F) { row[pos], row[(pos+1)%cols] = inf, nan }},
					{"mask", func(row []F) { row[pos] = -inf }},
					{"all but one masked", func(row []F) {
						for j := range row {
							if j != pos {
								row[j] = -inf
							}
						}
					}},
					{"all masked", func(row []F) {
						for j := range row {
							row[j] = -inf
						}
					}},
				} {
					src := make([]F, 5*cols)
					fillRandom(src, r, valueRanges[1].gen)
					mark.set(src[cols : 2*cols])
					dst := make([]F, len(src))
					op.run(dst, src, cols)
					if !t.Run(fmt.Sprintf("%s/cols=%d/%s@%d", op.name, cols, mark.name, pos), func(t *testing.T) {
						op.check(t, dst, src, cols)
					}) {
						return
					}
				}
			}
		}
	}
}

// TestSoftmaxFlushesSubnormals builds rows whose exact probabilities are
// mostly subnormal: Softmax must write +0 there, never a subnormal.
func TestSoftmaxFlushesSubnormals(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testFlush[float32], testFlush[float64])
	})
}

func testFlush[F Float](t *testing.T) {
	lo, hi := -103.5, -87.5 // e^x subnormal in float32
	if _, ok := any(F(0)).(float64); ok {
		lo, hi = -745.0, -708.5
	}
	r := rand.New(rand.NewPCG(13, 14))
	for cols := 2; cols <= 80; cols++ {
		src := make([]F, 5*cols) // a group of four rows and one alone
		for i := range src {
			src[i] = F(lo + (hi-lo)*r.Float64())
		}
		for row := 0; row < 5; row++ {
			src[row*cols+r.IntN(cols)] = 0
		}
		dst := make([]F, len(src))
		Softmax(dst, src, cols)
		checkSoftmax(t, dst, src, cols)
	}
}
