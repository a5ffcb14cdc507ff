//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestBackwardTunedRowsStandAlone: the backward kernel a row gets may depend
// on cols and the tier, never on the size of the matrix. With each vendor's
// tuning forced, a row computed alone must keep its bits inside matrices
// that cross the size thresholds dispatch once had or still has: ds of 16
// MiB and more (the stream threshold of both tunings) on rows of 1024
// columns and more, and ds either side of 16 KiB (where Intel's choice
// between the AVX2 and AVX-512 kernels once changed) on rows of 32 and of
// 68 to 160 bytes.
//
// The "tiled" checks see dispatch alone: a matrix is compared with four
// copies of itself stacked, so each row keeps its place in any group of
// rows a kernel takes together. The "alone" checks also demand that a row
// in a group gets the bits it gets alone.
func TestBackwardTunedRowsStandAlone(t *testing.T) {
	forEachType(t, testTunedRowsStandAlone[float32], testTunedRowsStandAlone[float64])
}

// tunedCase is a matrix of rows that repeat a few distinct ones: p, dp and
// the initial ds (for Add).
type tunedCase[F Float] struct {
	cols, distinct, rows int
	p, dp, ds0           []F
}

// newTunedCase repeats distinct random rows (masked and one-hot ones
// among them, as backwardCase makes) up to rows rows.
func newTunedCase[F Float](r *rand.Rand, distinct, rows, cols int) *tunedCase[F] {
	p, dp := backwardCase[F](r, distinct, cols, false)
	ds0 := make([]F, distinct*cols)
	fillRandom(ds0, r, valueRanges[0].gen)
	c := &tunedCase[F]{cols: cols, distinct: distinct, rows: rows}
	c.p, c.dp, c.ds0 = tile(p, rows*cols), tile(dp, rows*cols), tile(ds0, rows*cols)
	return c
}

// tile repeats s up to n elements.
func tile[F Float](s []F, n int) []F {
	out := make([]F, n)
	for i := 0; i < n; i += len(s) {
		copy(out[i:], s)
	}
	return out
}

// run computes the whole matrix: SoftmaxBackward, the same with ds aliasing
// dp, and SoftmaxBackwardAdd.
func (c *tunedCase[F]) run() (plain, aliased, add []F) {
	plain = make([]F, len(c.p))
	SoftmaxBackward(plain, c.p, c.dp, c.cols)
	aliased = append([]F(nil), c.dp...)
	SoftmaxBackward(aliased, c.p, aliased, c.cols)
	add = append([]F(nil), c.ds0...)
	SoftmaxBackwardAdd(add, c.p, c.dp, c.cols)
	return plain, aliased, add
}

// alone computes each distinct row in a call of its own.
func (c *tunedCase[F]) alone() (plain, add []F) {
	n := c.distinct * c.cols
	plain, add = make([]F, n), append([]F(nil), c.ds0[:n]...)
	for i := 0; i < n; i += c.cols {
		row := func(s []F) []F { return append([]F(nil), s[i:i+c.cols]...) }
		ds, p, dp, ds0 := make([]F, c.cols), row(c.p), row(c.dp), row(c.ds0)
		SoftmaxBackward(ds, p, dp, c.cols)
		copy(plain[i:], ds)
		SoftmaxBackwardAdd(ds0, p, dp, c.cols)
		copy(add[i:], ds0)
	}
	return plain, add
}

// expectRows demands that every row of got have the bits of the row of want
// it repeats (want holds whole periods of the repetition).
func expectRows[F Float](t *testing.T, what string, cols int, got, want []F) {
	t.Helper()
	for i := range got {
		w := want[i%len(want)]
		if !isNaNBits(got[i], w) {
			t.Fatalf("%s: rows of %d columns, %d rows: row %d col %d = %v (%#x), want %v (%#x)",
				what, cols, len(got)/cols, i/cols, i%cols, got[i], bitsOf(got[i]), w, bitsOf(w))
		}
	}
}

func testTunedRowsStandAlone[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	size := int(unsafe.Sizeof(F(0)))
	const streamed = 16 << 20 // both tunings stream from here (Zen from 6 MiB)

	var long []*tunedCase[F]
	colsLong := []int{streamCols, 4099}
	if !testing.Short() {
		colsLong = append(colsLong, streamCols+3)
	}
	for _, cols := range colsLong {
		rows := (streamed/size + cols - 1) / cols
		long = append(long, newTunedCase[F](r, 8, rows, cols))
	}
	// Short rows: 32 bytes and 68 to 160 bytes; a matrix of 12 KiB and
	// the same stacked four times (48 KiB).
	var short, shortX4 []*tunedCase[F]
	for b := 32; b <= 160; b += size {
		if b > 32 && b < 68 {
			continue
		}
		cols := b / size
		rows := (12<<10/b + 3) &^ 3
		c := newTunedCase[F](r, rows, rows, cols)
		short = append(short, c)
		shortX4 = append(shortX4, &tunedCase[F]{cols: cols, distinct: rows, rows: 4 * rows,
			p: tile(c.p, 4*len(c.p)), dp: tile(c.dp, 4*len(c.dp)), ds0: tile(c.ds0, 4*len(c.ds0))})
	}

	forEachTuning(t, func(t *testing.T) {
		forEachTier(t, func(t *testing.T) {
			t.Run("long", func(t *testing.T) {
				for _, c := range long {
					wantPlain, wantAdd := c.alone()
					plain, aliased, add := c.run()
					expectRows(t, "SoftmaxBackward, ds of 16 MiB, against rows alone", c.cols, plain, wantPlain)
					expectRows(t, "SoftmaxBackward in place (ds = dp), ds of 16 MiB, against rows alone", c.cols, aliased, wantPlain)
					expectRows(t, "SoftmaxBackwardAdd, ds of 16 MiB, against rows alone", c.cols, add, wantAdd)
				}
			})
			t.Run("short/tiled", func(t *testing.T) {
				for i, c := range short {
					plain, aliased, add := c.run()
					plain4, aliased4, add4 := shortX4[i].run()
					expectRows(t, "SoftmaxBackward, 48 KiB against 12 KiB", c.cols, plain4, plain)
					expectRows(t, "SoftmaxBackward in place, 48 KiB against 12 KiB", c.cols, aliased4, aliased)
					expectRows(t, "SoftmaxBackwardAdd, 48 KiB against 12 KiB", c.cols, add4, add)
				}
			})
			t.Run("short/alone", func(t *testing.T) {
				for i, c := range short {
					wantPlain, wantAdd := c.alone()
					for _, m := range []*tunedCase[F]{c, shortX4[i]} {
						plain, _, add := m.run()
						what := fmt.Sprintf("%d KiB against rows alone", len(m.p)*size>>10)
						expectRows(t, "SoftmaxBackward, "+what, c.cols, plain, wantPlain)
						expectRows(t, "SoftmaxBackwardAdd, "+what, c.cols, add, wantAdd)
					}
				}
			})
		})
	})
}
