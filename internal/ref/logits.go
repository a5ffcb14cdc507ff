package ref

import (
	"math"
	"math/rand/v2"
)

// LogitRows returns rows x cols logits and their labels for the
// cross-entropy tests: random rows, confident rows (the target 10..70 above
// the rest, so p_t nears 1 and the loss nears 0), ignored rows (label -1),
// rows holding -Inf, +Inf or NaN, all-masked rows and masked targets.
func LogitRows[F float32 | float64](r *rand.Rand, rows, cols int) ([]F, []int32) {
	s, labels := make([]F, rows*cols), make([]int32, rows)
	for i := range labels {
		row := s[i*cols : (i+1)*cols]
		for j := range row {
			row[j] = F(4 * r.NormFloat64())
		}
		t := r.IntN(cols)
		labels[i] = int32(t)
		switch i % 8 {
		case 1:
			m := row[0]
			for _, v := range row {
				m = max(m, v)
			}
			row[t] = F(float64(m) + 10 + 60*r.Float64())
		case 2:
			labels[i] = -1
		case 3:
			row[r.IntN(cols)] = F(math.Inf(-1))
		case 4:
			row[r.IntN(cols)] = F(math.Inf(1))
		case 5:
			if i%16 == 5 {
				row[r.IntN(cols)] = F(math.NaN())
			}
		case 6:
			for j := range row {
				row[j] = F(math.Inf(-1))
			}
		case 7:
			row[t] = F(math.Inf(-1))
		}
	}
	return s, labels
}
