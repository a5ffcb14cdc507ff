package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The contract's "rows stand alone": a row's output bits depend only on its
// own values, cols and the tier, never on the other rows of the call, its
// index, the number of rows, where the slices start or whether they alias.
// Each row is computed alone (one call of one row, slices at offset 0) and
// then compared, bit for bit, with the same row computed in every other
// way.

// rowOp is an operation seen as a function of whole rows: in holds one
// input (forward) or two (backward), out may be read too (Add).
type rowOp[F Float] struct {
	name string
	ins  int
	// prepare turns random values into realistic inputs: backward inputs
	// are the forward outputs.
	prepare func(in [][]F, cols int)
	run     func(out []F, in [][]F, cols int)
}

func rowOps[F Float]() []rowOp[F] {
	none := func([][]F, int) {}
	probs := func(in [][]F, cols int) { Softmax(in[0], in[0], cols) }
	logs := func(in [][]F, cols int) { LogSoftmax(in[0], in[0], cols) }
	return []rowOp[F]{
		{"Softmax", 1, none, func(o []F, in [][]F, c int) { Softmax(o, in[0], c) }},
		{"LogSoftmax", 1, none, func(o []F, in [][]F, c int) { LogSoftmax(o, in[0], c) }},
		{"SoftmaxBackward", 2, probs, func(o []F, in [][]F, c int) { SoftmaxBackward(o, in[0], in[1], c) }},
		{"SoftmaxBackwardAdd", 2, probs, func(o []F, in [][]F, c int) { SoftmaxBackwardAdd(o, in[0], in[1], c) }},
		{"LogSoftmaxBackward", 2, logs, func(o []F, in [][]F, c int) { LogSoftmaxBackward(o, in[0], in[1], c) }},
	}
}

// aloneCols are the row lengths the test walks: every length up to 70
// (around every vector width, group and register-held path), both sides of
// 128, and two long rows.
func aloneCols(short bool) []int {
	var cs []int
	for c := 1; c <= 70; c++ {
		cs = append(cs, c)
	}
	cs = append(cs, 127, 128, 129, 130, 131, 255, 256, 257, 511, 512, 513, 1000)
	if !short {
		cs = append(cs, 4099)
	}
	return cs
}

// rowCase is a matrix of rows rows, its inputs and the initial output (read
// by Add), with each row's result computed alone.
type rowCase[F Float] struct {
	op         rowOp[F]
	rows, cols int
	in         [][]F
	out0       []F
	alone      []F
}

func newRowCase[F Float](r *rand.Rand, op rowOp[F], rows, cols int) *rowCase[F] {
	n := rows * cols
	c := &rowCase[F]{op: op, rows: rows, cols: cols, in: make([][]F, op.ins), out0: make([]F, n)}
	for k := range c.in {
		c.in[k] = make([]F, n)
		fillRandom(c.in[k], r, valueRanges[3].gen)
	}
	op.prepare(c.in, cols)
	fillRandom(c.out0, r, valueRanges[0].gen)
	c.alone = make([]F, n)
	for i := 0; i < rows; i++ {
		out := c.slice(c.out0, i, 1, 0)
		in := make([][]F, op.ins)
		for k := range in {
			in[k] = c.slice(c.in[k], i, 1, 0)
		}
		op.run(out, in, cols)
		copy(c.alone[i*cols:], out)
	}
	return c
}

// slice returns a copy of rows [i, i+k) of m placed off elements into a
// fresh buffer.
func (c *rowCase[F]) slice(m []F, i, k, off int) []F {
	buf := make([]F, off+k*c.cols)
	copy(buf[off:], m[i*c.cols:(i+k)*c.cols])
	return buf[off:]
}

// expect checks rows [i, i+k) of got (k rows) against the rows computed
// alone.
func (c *rowCase[F]) expect(t *testing.T, how string, got []F, i int) {
	t.Helper()
	for j := range got {
		w := c.alone[i*c.cols+j]
		if !isNaNBits(got[j], w) {
			row := i + j/c.cols
			t.Fatalf("%s %dx%d %s: row %d col %d = %v (%#x), alone %v (%#x)", c.op.name, c.rows, c.cols, how,
				row, j%c.cols, got[j], bitsOf(got[j]), w, bitsOf(w))
		}
	}
}

func bitsOf[F Float](v F) uint64 {
	if x, ok := any(v).(float32); ok {
		return uint64(math.Float32bits(x))
	}
	return math.Float64bits(float64(v))
}

// call runs the op on rows [i, i+k), every slice at its own offset.
func (c *rowCase[F]) call(i, k, offOut int, offIn []int) []F {
	out := c.slice(c.out0, i, k, offOut)
	in := make([][]F, c.op.ins)
	for x := range in {
		in[x] = c.slice(c.in[x], i, k, offIn[x])
	}
	c.op.run(out, in, c.cols)
	return out
}

func TestRowsStandAlone(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testRowsStandAlone[float32], testRowsStandAlone[float64])
	})
}

func testRowsStandAlone[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, op := range rowOps[F]() {
		t.Run(op.name, func(t *testing.T) { testOpRowsStandAlone(t, r, op) })
	}
}

func testOpRowsStandAlone[F Float](t *testing.T, r *rand.Rand, op rowOp[F]) {
	{
		for _, cols := range aloneCols(testing.Short()) {
			// nine rows: two groups of four and one left over, four pairs
			// and one, or nine single rows, whatever the kernel does.
			c := newRowCase(r, op, 9, cols)
			for off := 0; off < 16; off++ {
				got := c.call(0, c.rows, off, []int{(off * 7) % 16, (off * 11) % 16})
				c.expect(t, fmt.Sprintf("one call, offset %d", off), got, 0)
			}
			for try := 0; try < 4; try++ {
				// random splits into calls, run in a random order
				var cuts []int
				for i := 0; i < c.rows; {
					k := 1 + r.IntN(c.rows-i)
					cuts = append(cuts, i, k)
					i += k
				}
				for _, p := range r.Perm(len(cuts) / 2) {
					i, k := cuts[2*p], cuts[2*p+1]
					got := c.call(i, k, r.IntN(16), []int{r.IntN(16), r.IntN(16)})
					c.expect(t, fmt.Sprintf("rows %d..%d in a call", i, i+k-1), got, i)
				}
			}
			testInPlace(t, c)
			testAmidSpecials(t, r, c)
		}
	}
}

// testInPlace checks the aliasing the API allows: dst = src, ds = p, ds = dp.
func testInPlace[F Float](t *testing.T, c *rowCase[F]) {
	for alias := 0; alias < c.op.ins; alias++ {
		in := make([][]F, c.op.ins)
		for k := range in {
			in[k] = append([]F(nil), c.in[k]...)
		}
		if c.op.name == "SoftmaxBackwardAdd" {
			// ds is read too: start it from out0's values
			copy(in[alias], c.out0)
			want := append([]F(nil), c.alone...)
			c.expectAdd(t, in, alias, want)
			continue
		}
		c.op.run(in[alias], in, c.cols)
		c.expect(t, fmt.Sprintf("in place over input %d", alias), in[alias], 0)
	}
}

// expectAdd checks Add with ds aliasing input alias, which then also holds
// the initial ds: the rows alone, with the same aliasing.
func (c *rowCase[F]) expectAdd(t *testing.T, in [][]F, alias int, _ []F) {
	t.Helper()
	want := make([]F, len(c.out0))
	for i := 0; i < c.rows; i++ {
		row := make([][]F, len(in))
		for k := range in {
			row[k] = append([]F(nil), in[k][i*c.cols:(i+1)*c.cols]...)
		}
		c.op.run(row[alias], row, c.cols)
		copy(want[i*c.cols:], row[alias])
	}
	c.op.run(in[alias], in, c.cols)
	for j := range want {
		if !isNaNBits(in[alias][j], want[j]) {
			t.Fatalf("%s %dx%d in place over input %d: [%d] = %v, alone %v", c.op.name, c.rows, c.cols, alias, j, in[alias][j], want[j])
		}
	}
}

// specialRows fill a row with what the kernels treat apart: a NaN row, a
// row holding +Inf, an all -Inf row, a row partly -Inf, a row of huge
// values.
func specialRows[F Float]() []func(row []F) {
	nan, inf := F(math.NaN()), F(math.Inf(1))
	return []func(row []F){
		func(row []F) { fill(row, nan) },
		func(row []F) { row[len(row)/2] = nan },
		func(row []F) { row[len(row)-1] = inf },
		func(row []F) { fill(row, -inf) },
		func(row []F) {
			for j := 0; j < len(row); j += 2 {
				row[j] = -inf
			}
		},
		func(row []F) { fill(row, F(1e30)) },
	}
}

// testAmidSpecials places each row of c among rows of special values, at
// every position of a group of up to six rows, and checks it kept its bits.
func testAmidSpecials[F Float](t *testing.T, r *rand.Rand, c *rowCase[F]) {
	const rows = 6
	sps := specialRows[F]()
	for i := 0; i < c.rows; i++ {
		at := i % rows
		n := rows * c.cols
		in := make([][]F, c.op.ins)
		for k := range in {
			in[k] = make([]F, n)
			fillRandom(in[k], r, valueRanges[3].gen)
		}
		out := make([]F, n)
		fillRandom(out, r, valueRanges[0].gen)
		for row := 0; row < rows; row++ {
			if row == at {
				continue
			}
			sp := sps[(i+row)%len(sps)]
			sp(in[0][row*c.cols : (row+1)*c.cols])
			if c.op.ins == 2 {
				sp(in[1][row*c.cols : (row+1)*c.cols])
			}
		}
		for k := range in {
			copy(in[k][at*c.cols:], c.in[k][i*c.cols:(i+1)*c.cols])
		}
		copy(out[at*c.cols:], c.out0[i*c.cols:(i+1)*c.cols])
		c.op.run(out, in, c.cols)
		c.expect(t, fmt.Sprintf("at %d of %d rows among special rows", at, rows), out[at*c.cols:(at+1)*c.cols], i)
	}
}

// TestSoftmaxFlushEdge walks the probabilities across the smallest normal
// number: a probability at or above it must be computed within the bound
// (not flushed), one below it written as +0 (never a subnormal). Each row
// holds its maximum 0, one entry d below it and -1e4 elsewhere, so the
// probability of d is e^d/(1+e^d); d walks the band around ln(2^-126) and
// ln(2^-1022) in small steps and one ulp at a time across the threshold.
// SoftmaxScaled goes through the same band with scale 0.5 and 3.
func TestSoftmaxFlushEdge(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testFlushEdge[float32], testFlushEdge[float64])
	})
}

func testFlushEdge[F Float](t *testing.T) {
	lnTiny := math.Log(float64(minNormalOf[F]()))
	var ds []F
	for k := -50; k <= 500; k++ {
		ds = append(ds, F(lnTiny+float64(k)*0.002))
	}
	d := F(lnTiny)
	for i := 0; i < 64; i++ {
		d = F(math.Nextafter(float64(d), math.Inf(-1)))
		if _, ok := any(d).(float32); ok {
			d = F(math.Nextafter32(float32(d), float32(math.Inf(-1))))
		}
	}
	for i := 0; i < 128; i++ {
		ds = append(ds, d)
		if _, ok := any(d).(float32); ok {
			d = F(math.Nextafter32(float32(d), float32(math.Inf(1))))
		} else {
			d = F(math.Nextafter(float64(d), math.Inf(1)))
		}
	}
	for _, cols := range []int{2, 3, 8, 9, 16, 17, 37, 64, 100, 513, 1000} {
		src := make([]F, len(ds)*cols)
		for i, v := range ds {
			row := src[i*cols : (i+1)*cols]
			fill(row, F(-1e4))
			row[0], row[(i+1)%cols] = v, 0
			if cols == 1 {
				row[0] = 0
			}
		}
		dst := make([]F, len(src))
		Softmax(dst, src, cols)
		t.Run(fmt.Sprint(cols), func(t *testing.T) { checkSoftmax(t, dst, src, cols) })
		// SoftmaxScaled: scale*d walks the same band. The other entries
		// are -1e4, or d/scale too: then a row spans under fastSpan before
		// the scaling (scale 3, float32) and over it after, so a kernel that
		// skipped its guards on the unscaled span would write subnormals.
		for _, scale := range []F{0.5, 3} {
			for _, same := range []bool{false, true} {
				for i, v := range ds {
					row := src[i*cols : (i+1)*cols]
					fill(row, F(-1e4))
					if same {
						fill(row, v/scale)
					}
					row[0], row[(i+1)%cols] = v/scale, 0
				}
				SoftmaxScaled(dst, src, cols, scale)
				t.Run(fmt.Sprintf("%d/scaled(%v,%v)", cols, scale, same), func(t *testing.T) {
					expectCausal(t, dst, src, cols, 0, scale)
				})
			}
		}
	}
}
