package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestForwardRowGroups covers the kernels' row grouping (one, two or four
// rows at a time, and the fall back to one row when a group holds a row
// with a non-finite max): many row counts, special rows at every position,
// in place as well.
func TestForwardRowGroups(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testForwardRowGroups[float32], testForwardRowGroups[float64])
	})
}

func testForwardRowGroups[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	nan, inf := F(math.NaN()), F(math.Inf(1))
	specials := []func(row []F){
		nil,
		func(row []F) { row[len(row)/2] = nan },
		func(row []F) { row[len(row)-1] = inf },
		func(row []F) {
			for j := range row {
				row[j] = -inf
			}
		},
		func(row []F) { row[0] = -inf },
	}
	colsList := []int{1, 2, 3, 5, 7, 8, 9, 10, 15, 16, 17, 31, 33, 37, 64, 65, 100}
	for _, op := range forwardOps[F]() {
		for _, rows := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13} {
			for _, cols := range colsList {
				for si, sp := range specials {
					n := rows * cols
					src := make([]F, n)
					fillRandom(src, r, valueRanges[3].gen)
					at := -1
					if sp != nil {
						at = r.IntN(rows)
						sp(src[at*cols : (at+1)*cols])
					}
					dst, check := guarded[F](n, (rows+cols)%16)
					op.run(dst, src, cols)
					check(t)
					name := fmt.Sprintf("%s/%dx%d/special%d@%d", op.name, rows, cols, si, at)
					if !t.Run(name, func(t *testing.T) { op.check(t, dst, src, cols) }) {
						return
					}
					op.run(src, src, cols)
					for i := range src {
						if !isNaNBits(src[i], dst[i]) && !(src[i] != src[i] && dst[i] != dst[i]) {
							t.Fatalf("%s: in place [%d] = %v, not %v", name, i, src[i], dst[i])
						}
					}
				}
			}
		}
	}
}
