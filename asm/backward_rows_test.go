//go:build amd64 && !purego

package asm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// The contract's "rows stand alone", kernel by kernel: a row's bits depend
// only on its own values and cols, never on the rows around it in the call
// (groups of rows, leftovers, special values next door), its index, the
// number of rows, the slices' start offsets or aliasing. Each row is first
// computed alone (a call of one row, slices at offset 0), then compared bit
// for bit with the same row in every other setting. Every failing row
// length is reported, not just the first.

// rowsAloneCols are the row lengths: every length up to 80 (the short,
// grouped and quad paths of both widths), the edges of the medium and long
// paths, a few long rows.
func rowsAloneCols() []int {
	var cs []int
	for c := 1; c <= 80; c++ {
		cs = append(cs, c)
	}
	cs = append(cs, 95, 96, 97, 100, 127, 128, 129, 150, 191, 192, 193, 200, 207, 208, 209, 255, 256, 257, 300, 513, 1000, 1023, 1031)
	if !testing.Short() {
		cs = append(cs, 4099)
	}
	return cs
}

// fillRowKind is fillRow with one more kind: rows rich in zeros of both
// signs (p = 0 entries, dp = ±0), whose sums may be zeros of either sign.
func fillRowKind[F float32 | float64](rng *rand.Rand, p, dp []F, kind int) {
	if kind < 3 {
		fillRow(rng, p, dp, kind)
		return
	}
	negZero := F(math.Copysign(0, -1))
	for j := range p {
		switch rng.Intn(4) {
		case 0:
			p[j], dp[j] = 0, F(rng.NormFloat64())
		case 1:
			p[j], dp[j] = F(rng.Float64()), negZero
		case 2:
			p[j], dp[j] = F(rng.Float64()), 0
		default:
			p[j], dp[j] = 0, negZero
		}
	}
	if rng.Intn(2) == 0 {
		for j := range p {
			p[j] = 0
		}
	}
}

// rowsCase is one matrix: inputs, the initial ds, and each row's results
// computed alone (unaliased, and with ds = p or ds = dp, where ds starts as
// a copy of that input).
type rowsCase[F float32 | float64] struct {
	k               bwdKernel[F]
	rows, cols      int
	p, dp, ds0      []F
	alone           []F
	aloneP, aloneDP []F
	failed          bool
	failure         string
}

// at returns a copy of rows [i, i+n) of m, starting off elements into a
// fresh buffer.
func (c *rowsCase[F]) at(m []F, i, n, off int) []F {
	buf := make([]F, off+n*c.cols)
	copy(buf[off:], m[i*c.cols:(i+n)*c.cols])
	return buf[off:]
}

func newRowsCase[F float32 | float64](rng *rand.Rand, k bwdKernel[F], rows, cols int) *rowsCase[F] {
	n := rows * cols
	c := &rowsCase[F]{k: k, rows: rows, cols: cols, p: make([]F, n), dp: make([]F, n), ds0: make([]F, n)}
	for r := 0; r < rows; r++ {
		fillRowKind(rng, c.p[r*cols:(r+1)*cols], c.dp[r*cols:(r+1)*cols], rng.Intn(4))
	}
	for j := range c.ds0 {
		c.ds0[j] = F(rng.NormFloat64())
	}
	c.alone = make([]F, n)
	if !k.noAlias {
		c.aloneP, c.aloneDP = make([]F, n), make([]F, n)
	}
	for r := 0; r < rows; r++ {
		ds, p, dp := c.at(c.ds0, r, 1, 0), c.at(c.p, r, 1, 0), c.at(c.dp, r, 1, 0)
		k.fn(ds, p, dp, cols)
		copy(c.alone[r*cols:], ds)
		if k.noAlias {
			continue
		}
		k.fn(p, p, dp, cols)
		copy(c.aloneP[r*cols:], p)
		p = c.at(c.p, r, 1, 0)
		k.fn(dp, p, dp, cols)
		copy(c.aloneDP[r*cols:], dp)
	}
	return c
}

// expect compares got, rows [i, i+len(got)/cols), with want; the first
// difference is kept as the case's failure.
func (c *rowsCase[F]) expect(how string, got, want []F, i int) {
	if c.failed {
		return
	}
	for j := range got {
		w := want[i*c.cols+j]
		if math.Float64bits(float64(got[j])) != math.Float64bits(float64(w)) && !(got[j] != got[j] && w != w) {
			c.failed = true
			c.failure = fmt.Sprintf("%s: row %d col %d = %g (%#x), alone %g (%#x)", how, i+j/c.cols, j%c.cols,
				got[j], math.Float64bits(float64(got[j])), w, math.Float64bits(float64(w)))
			return
		}
	}
}

// call runs the kernel on rows [i, i+n) with the slices at the offsets
// given and returns ds.
func (c *rowsCase[F]) call(i, n, offDS, offP, offDP int) []F {
	ds, p, dp := c.at(c.ds0, i, n, offDS), c.at(c.p, i, n, offP), c.at(c.dp, i, n, offDP)
	c.k.fn(ds, p, dp, c.cols)
	return ds
}

func (c *rowsCase[F]) run(rng *rand.Rand) {
	for off := 0; off < 16; off++ {
		got := c.call(0, c.rows, off, (off*7)%16, (off*11)%16)
		c.expect(fmt.Sprintf("one call, offsets %d %d %d", off, (off*7)%16, (off*11)%16), got, c.alone, 0)
	}
	for try := 0; try < 3; try++ {
		for i := 0; i < c.rows; {
			n := 1 + rng.Intn(c.rows-i)
			got := c.call(i, n, rng.Intn(16), rng.Intn(16), rng.Intn(16))
			c.expect(fmt.Sprintf("rows %d..%d in a call", i, i+n-1), got, c.alone, i)
			i += n
		}
	}
	if !c.k.noAlias {
		p, dp := c.at(c.p, 0, c.rows, 0), c.at(c.dp, 0, c.rows, 0)
		c.k.fn(p, p, dp, c.cols)
		c.expect("ds = p", p, c.aloneP, 0)
		p, dp = c.at(c.p, 0, c.rows, 0), c.at(c.dp, 0, c.rows, 0)
		c.k.fn(dp, p, dp, c.cols)
		c.expect("ds = dp", dp, c.aloneDP, 0)
	}
	c.amidSpecials(rng)
}

// amidSpecials puts each row at its own place among rows of special values
// (NaN, +Inf, -Inf, zeros, huge values, in p, dp or both) and checks that
// it kept its bits.
func (c *rowsCase[F]) amidSpecials(rng *rand.Rand) {
	nan, inf := F(math.NaN()), F(math.Inf(1))
	specials := []func(p, dp []F){
		func(p, dp []F) { fillWith(p, nan) },
		func(p, dp []F) { fillWith(dp, nan) },
		func(p, dp []F) { p[len(p)-1] = inf },
		func(p, dp []F) { fillWith(dp, -inf) },
		func(p, dp []F) { fillWith(p, 0); fillWith(dp, F(math.Copysign(0, -1))) },
		func(p, dp []F) { fillWith(p, 1e30); fillWith(dp, -1e30) },
	}
	for i := 0; i < c.rows; i++ {
		p, dp := c.at(c.p, 0, c.rows, 0), c.at(c.dp, 0, c.rows, 0)
		ds := c.at(c.ds0, 0, c.rows, 0)
		for r := 0; r < c.rows; r++ {
			if r != i {
				specials[rng.Intn(len(specials))](p[r*c.cols:(r+1)*c.cols], dp[r*c.cols:(r+1)*c.cols])
			}
		}
		c.k.fn(ds, p, dp, c.cols)
		c.expect(fmt.Sprintf("row %d among special rows", i), ds[i*c.cols:(i+1)*c.cols], c.alone, i)
	}
}

func fillWith[F float32 | float64](s []F, v F) {
	for j := range s {
		s[j] = v
	}
}

func testRowsAlone[F float32 | float64](t *testing.T, ks []bwdKernel[F]) {
	rng := rand.New(rand.NewSource(6))
	for _, k := range ks {
		if !k.ok {
			t.Logf("%s: CPU lacks the features; skipped", k.name)
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			var bad []int
			for _, cols := range rowsAloneCols() {
				if cols < k.minCols {
					continue
				}
				// Enough rows for several groups of the shortest rows,
				// and groups of four with one left over.
				rows := 9 + 48/cols
				c := newRowsCase(rng, k, rows, cols)
				c.run(rng)
				if c.failed {
					bad = append(bad, cols)
					t.Errorf("cols=%d rows=%d %s", cols, rows, c.failure)
				}
			}
			if bad != nil {
				t.Logf("failing row lengths: %v", bad)
			}
		})
	}
}

func TestSoftmaxBackwardRowsStandAlone(t *testing.T) {
	testRowsAlone(t, bwdKernelsF32())
	testRowsAlone(t, bwdKernelsF64())
}
