//go:build amd64 && !purego

package asm

import (
	"math"
	"math/rand"
	"testing"
	"unsafe"

	"github.com/rowwise/softmax/internal/guard"
	"github.com/rowwise/softmax/internal/ref"
)

// The LogSumExp and CrossEntropy kernels on their own: accuracy against
// internal/ref at every row length up to 300 and a few long ones, the
// target at every position (first and last lane of a vector, the tail,
// ignored), the loss alone and ds == logits with the same bits, slices
// against guard pages, and the rows the kernels leave to the caller (max
// not finite: result NaN, ds untouched, the other rows unchanged).

type xentKernel[F float32 | float64] struct {
	name string
	ok   bool
	fn   func(loss, ds, logits []F, labels []int32, cols int, g F)
}

type lseKernel[F float32 | float64] struct {
	name string
	ok   bool
	fn   func(dst, src []F, cols int)
}

func xentKernelsF32() []xentKernel[float32] {
	return []xentKernel[float32]{
		{"CrossEntropyF32AVX2", hasAVX2, CrossEntropyF32AVX2},
		{"CrossEntropyF32AVX512", hasAVX512, CrossEntropyF32AVX512},
	}
}

func xentKernelsF64() []xentKernel[float64] {
	return []xentKernel[float64]{
		{"CrossEntropyF64AVX2", hasAVX2, CrossEntropyF64AVX2},
		{"CrossEntropyF64AVX512", hasAVX512, CrossEntropyF64AVX512},
	}
}

func lseKernelsF32() []lseKernel[float32] {
	return []lseKernel[float32]{
		{"LogSumExpF32AVX2", hasAVX2, LogSumExpF32AVX2},
		{"LogSumExpF32AVX512", hasAVX512, LogSumExpF32AVX512},
	}
}

func lseKernelsF64() []lseKernel[float64] {
	return []lseKernel[float64]{
		{"LogSumExpF64AVX2", hasAVX2, LogSumExpF64AVX2},
		{"LogSumExpF64AVX512", hasAVX512, LogSumExpF64AVX512},
	}
}

// xentBounds are the contract's: u (Softmax), v (loss, LogSumExp, ds at
// the target) and tiny.
func xentBounds[F float32 | float64]() (u, v, tiny float64) {
	var z F
	if unsafe.Sizeof(z) == 4 {
		return 0x1p-21, 0x1p-20, 0x1p-126
	}
	return 0x1p-46, 0x1p-46, 0x1p-1022
}

// xentCols are the row lengths: every one up to 300, then rows around
// the 512-column mark, long rows and one over the prefetch limit.
func xentCols(short bool) []int {
	var cs []int
	for c := 1; c <= 300; c++ {
		cs = append(cs, c)
	}
	cs = append(cs, 511, 512, 513, 1000, 4099)
	if !short {
		cs = append(cs, 40000, 70001)
	}
	return cs
}

// xentLabels returns a label for each of rows rows: the first and last
// lane of each vector, the tail, the row's first and last column, the
// middle, a random one and -1 (ignored); for short rows every column.
func xentLabels(rng *rand.Rand, rows, cols int) []int32 {
	var pos []int
	if cols <= 40 {
		for j := -1; j < cols; j++ {
			pos = append(pos, j)
		}
	} else {
		pos = []int{-1, 0, 7, 8, 15, 16, 31, cols / 2, cols - 1, cols - 2, cols &^ 15, cols &^ 7, rng.Intn(cols)}
	}
	labels := make([]int32, rows)
	for r := range labels {
		labels[r] = int32(min(pos[r%len(pos)], cols-1))
	}
	return labels
}

// fillLogits fills a row of one of several kinds: 0 normal (scale 4), 1
// confident (the target 10..70 above the rest), 2 wide (scale 30, most
// probabilities tiny), 3 a -Inf entry, 4 a masked target.
func fillLogits[F float32 | float64](rng *rand.Rand, row []F, t, kind int) {
	scale := 4.0
	if kind == 2 {
		scale = 30
	}
	for j := range row {
		row[j] = F(scale * rng.NormFloat64())
	}
	if t < 0 {
		return
	}
	switch kind {
	case 1:
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		row[t] = F(float64(m) + 10 + 60*rng.Float64())
	case 3:
		if j := rng.Intn(len(row)); j != t || len(row) == 1 {
			row[j] = F(math.Inf(-1))
			if j == t {
				row[j] = 0 // a one-column row keeps its target finite
			}
		}
	case 4:
		if len(row) > 1 {
			row[t] = F(math.Inf(-1))
		}
	}
}

// int32s returns n int32 against a guard page (atEnd) or after one.
func int32s(t *testing.T, n int, atEnd bool) []int32 {
	f := guard.Slice[float32](t, n, atEnd)
	if n == 0 {
		return []int32{}
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&f[0])), n)
}

func sameBits[F float32 | float64](a, b F) bool {
	if unsafe.Sizeof(a) == 4 {
		return math.Float32bits(float32(a)) == math.Float32bits(float32(b))
	}
	return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
}

func checkXent[F float32 | float64](t *testing.T, k xentKernel[F], rows, cols, kind int, atEnd bool, rng *rand.Rand) {
	t.Helper()
	n := rows * cols
	s := guard.Slice[F](t, n, atEnd)
	labels := int32s(t, rows, atEnd)
	copy(labels, xentLabels(rng, rows, cols))
	for r := 0; r < rows; r++ {
		fillLogits(rng, s[r*cols:(r+1)*cols], int(labels[r]), kind)
	}
	s0 := append([]F(nil), s...)
	loss, ds := guard.Slice[F](t, rows, atEnd), guard.Slice[F](t, n, atEnd)
	for j := range ds {
		ds[j] = F(rng.NormFloat64())
	}
	ds0 := append([]F(nil), ds...)
	g := F(0.75)
	k.fn(loss, ds, s, labels, cols, g)
	u, v, tiny := xentBounds[F]()
	wl, wd, spread := ref.CrossEntropy(ref.Float64s(s0), labels, cols, float64(g), tiny)
	left := make([]bool, rows) // rows left to the caller
	for r := 0; r < rows; r++ {
		if loss[r] != loss[r] && wl[r] == wl[r] {
			left[r] = true
			if !confident(s0[r*cols:(r+1)*cols], int(labels[r])) {
				t.Fatalf("%s rows=%d cols=%d kind=%d: row %d (label %d): loss NaN, want %g", k.name, rows, cols, kind, r, labels[r], wl[r])
			}
			for j := r * cols; j < (r+1)*cols; j++ {
				if !sameBits(ds[j], ds0[j]) {
					t.Fatalf("%s cols=%d: row %d left to the caller, but ds[%d] written", k.name, cols, r, j-r*cols)
				}
			}
			continue
		}
		G := spread[r]
		got, want := float64(loss[r]), wl[r]
		if !(got == want || math.Abs(got-want) <= v*(1+G)*math.Abs(want)+tiny) {
			t.Fatalf("%s rows=%d cols=%d kind=%d: row %d (label %d): loss %g, want %g", k.name, rows, cols, kind, r, labels[r], got, want)
		}
		for j := r * cols; j < (r+1)*cols; j++ {
			got, want := float64(ds[j]), wd[j]
			tol := u*(1+G)*math.Abs(want) + float64(g)*tiny
			if j-r*cols == int(labels[r]) {
				tol = v*(1+G)*math.Abs(want) + tiny
			}
			if labels[r] < 0 && (got != 0 || math.Signbit(got)) {
				t.Fatalf("%s cols=%d: ignored row %d: ds[%d] = %g, want +0", k.name, cols, r, j-r*cols, got)
			}
			if !(math.Abs(got-want) <= tol) {
				t.Fatalf("%s rows=%d cols=%d kind=%d: row %d (label %d) col %d: ds %g, want %g", k.name, rows, cols, kind, r, labels[r], j-r*cols, got, want)
			}
		}
	}
	for j := range s {
		if !sameBits(s[j], s0[j]) {
			t.Fatalf("%s: logits[%d] changed", k.name, j)
		}
	}
	// The loss alone, and ds == logits: the same bits.
	loss2 := guard.Slice[F](t, rows, !atEnd)
	k.fn(loss2, nil, s, labels, cols, g)
	loss3 := guard.Slice[F](t, rows, !atEnd)
	in := guard.Slice[F](t, n, !atEnd)
	copy(in, s0)
	k.fn(loss3, in, in, labels, cols, g)
	for r := range loss {
		if !sameBits(loss[r], loss2[r]) || !sameBits(loss[r], loss3[r]) {
			t.Fatalf("%s cols=%d row %d: loss %g with ds, %g alone, %g in place", k.name, cols, r, loss[r], loss2[r], loss3[r])
		}
	}
	for j := range ds {
		if !sameBits(ds[j], in[j]) && !left[j/cols] {
			t.Fatalf("%s cols=%d: ds[%d] = %g, in place %g", k.name, cols, j, ds[j], in[j])
		}
	}
}

// confident says whether a row's other entries all lie more than the
// kernels' margin (gen/xent's confidentMargin) below its target, which the
// kernels leave to the caller.
func confident[F float32 | float64](row []F, t int) bool {
	margin := 50.0
	if unsafe.Sizeof(row[0]) == 8 {
		margin = 650
	}
	m2 := math.Inf(-1)
	for j, v := range row {
		if j != t {
			m2 = math.Max(m2, float64(v))
		}
	}
	return m2-float64(row[t]) < -margin*(1-1e-6)
}

func testXent[F float32 | float64](t *testing.T, ks []xentKernel[F]) {
	rng := rand.New(rand.NewSource(18))
	for _, k := range ks {
		if !k.ok {
			t.Logf("%s: CPU lacks the features; skipped", k.name)
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			for _, cols := range xentCols(testing.Short()) {
				rows := 13 // a row per label position (see xentLabels)
				if cols <= 40 {
					rows = cols + 1
				}
				if cols > 5000 {
					rows = 3
				}
				for kind := 0; kind < 5; kind++ {
					if testing.Short() && kind != cols%5 && cols > 40 {
						continue
					}
					checkXent(t, k, rows, cols, kind, (cols+kind)%2 == 0, rng)
				}
			}
			checkXent(t, k, 0, 7, 0, true, rng)
		})
	}
}

func TestCrossEntropyF32(t *testing.T) { testXent(t, xentKernelsF32()) }
func TestCrossEntropyF64(t *testing.T) { testXent(t, xentKernelsF64()) }

func checkLSE[F float32 | float64](t *testing.T, k lseKernel[F], rows, cols, kind int, atEnd bool, rng *rand.Rand) {
	t.Helper()
	s := guard.Slice[F](t, rows*cols, atEnd)
	for r := 0; r < rows; r++ {
		fillLogits(rng, s[r*cols:(r+1)*cols], rng.Intn(cols), kind)
	}
	s0 := append([]F(nil), s...)
	dst := guard.Slice[F](t, rows, atEnd)
	k.fn(dst, s, cols)
	_, v, _ := xentBounds[F]()
	want := ref.LogSumExp(ref.Float64s(s0), cols)
	for r := range dst {
		got := float64(dst[r])
		if !(math.Abs(got-want[r]) <= v*(1+math.Abs(want[r]))) {
			t.Fatalf("%s rows=%d cols=%d kind=%d: row %d: %g, want %g", k.name, rows, cols, kind, r, got, want[r])
		}
	}
	for j := range s {
		if !sameBits(s[j], s0[j]) {
			t.Fatalf("%s: src[%d] changed", k.name, j)
		}
	}
}

func testLSE[F float32 | float64](t *testing.T, ks []lseKernel[F]) {
	rng := rand.New(rand.NewSource(19))
	for _, k := range ks {
		if !k.ok {
			t.Logf("%s: CPU lacks the features; skipped", k.name)
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			for _, cols := range xentCols(testing.Short()) {
				rows := 9 // a group of 8 (AVX-512) or two of 4 (AVX2), and a row solo
				if cols > 5000 {
					rows = 2
				}
				for kind := 0; kind < 4; kind++ {
					checkLSE(t, k, rows, cols, kind, (cols+kind)%2 == 0, rng)
				}
			}
			checkLSE(t, k, 0, 7, 0, true, rng)
		})
	}
}

func TestLogSumExpF32(t *testing.T) { testLSE(t, lseKernelsF32()) }
func TestLogSumExpF64(t *testing.T) { testLSE(t, lseKernelsF64()) }

// specialRows makes rows 1, 3 and 5 (of 7) of logits hold a NaN, a +Inf
// and only -Inf: rows whose max is not finite.
func specialRows[F float32 | float64](s []F, cols int) {
	s[1*cols+cols/2] = F(math.NaN())
	s[3*cols+cols-1] = F(math.Inf(1))
	for j := 5 * cols; j < 6*cols; j++ {
		s[j] = F(math.Inf(-1))
	}
}

// testXentSpecial: the rows whose max is not finite get loss NaN and keep
// their ds row as it was; the other rows get the bits they get without
// them.
func testXentSpecial[F float32 | float64](t *testing.T, ks []xentKernel[F]) {
	rng := rand.New(rand.NewSource(20))
	for _, k := range ks {
		if !k.ok {
			continue
		}
		for _, cols := range []int{1, 5, 16, 37, 300} {
			rows := 7
			s := make([]F, rows*cols)
			labels := make([]int32, rows)
			for r := range labels {
				labels[r] = int32(rng.Intn(cols))
				fillLogits(rng, s[r*cols:(r+1)*cols], int(labels[r]), 0)
			}
			loss0, ds0 := make([]F, rows), make([]F, rows*cols)
			k.fn(loss0, ds0, s, labels, cols, 1)
			specialRows(s, cols)
			loss, ds := make([]F, rows), make([]F, rows*cols)
			for j := range ds {
				ds[j] = 42
			}
			k.fn(loss, ds, s, labels, cols, 1)
			for r := 0; r < rows; r++ {
				special := r == 1 || r == 3 || r == 5
				if !special && loss0[r] != loss0[r] {
					continue // left to the caller in any case (one column)
				}
				if special && loss[r] == loss[r] {
					t.Fatalf("%s cols=%d: special row %d: loss %g, want NaN", k.name, cols, r, loss[r])
				}
				if !special && !sameBits(loss[r], loss0[r]) {
					t.Fatalf("%s cols=%d: row %d: loss %g, %g without the special rows", k.name, cols, r, loss[r], loss0[r])
				}
				for j := r * cols; j < (r+1)*cols; j++ {
					if special && r != 1 && ds[j] != 42 {
						t.Fatalf("%s cols=%d: special row %d: ds written", k.name, cols, r)
					}
					if !special && !sameBits(ds[j], ds0[j]) {
						t.Fatalf("%s cols=%d: row %d: ds changed by the special rows", k.name, cols, r)
					}
				}
			}
		}
	}
}

func TestCrossEntropySpecialRows(t *testing.T) {
	testXentSpecial(t, xentKernelsF32())
	testXentSpecial(t, xentKernelsF64())
}

func testLSESpecial[F float32 | float64](t *testing.T, ks []lseKernel[F]) {
	rng := rand.New(rand.NewSource(21))
	for _, k := range ks {
		if !k.ok {
			continue
		}
		for _, cols := range []int{1, 5, 16, 37, 300} {
			rows := 7
			s := make([]F, rows*cols)
			for r := 0; r < rows; r++ {
				fillLogits(rng, s[r*cols:(r+1)*cols], 0, 0)
			}
			dst0 := make([]F, rows)
			k.fn(dst0, s, cols)
			specialRows(s, cols)
			dst := make([]F, rows)
			k.fn(dst, s, cols)
			for r := range dst {
				special := r == 1 || r == 3 || r == 5
				if special && dst[r] == dst[r] {
					t.Fatalf("%s cols=%d: special row %d: %g, want NaN", k.name, cols, r, dst[r])
				}
				if !special && !sameBits(dst[r], dst0[r]) {
					t.Fatalf("%s cols=%d: row %d: %g, %g without the special rows", k.name, cols, r, dst[r], dst0[r])
				}
			}
		}
	}
}

func TestLogSumExpSpecialRows(t *testing.T) {
	testLSESpecial(t, lseKernelsF32())
	testLSESpecial(t, lseKernelsF64())
}

// TestLogSumExpRowsAlone: each row's bits are those of the row alone, in
// every call of 1 to 17 rows that holds it, at every place in the call and
// beside rows left to the caller (NaN, +Inf, all -Inf): the group path
// (4 or 8 rows) runs groups, leftover rows and the rows of a group beside
// a special row with the same arithmetic (rows stand alone). The lengths
// cross every vector width and the group path's end (groupBytes).
func TestLogSumExpRowsAlone(t *testing.T) {
	testLSEAlone(t, lseKernelsF32())
	testLSEAlone(t, lseKernelsF64())
}

func testLSEAlone[F float32 | float64](t *testing.T, ks []lseKernel[F]) {
	rng := rand.New(rand.NewSource(22))
	for _, k := range ks {
		if !k.ok {
			continue
		}
		for _, cols := range []int{1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 37, 39, 40, 41, 48, 63, 64, 65, 71, 100, 127, 128, 129, 136, 200, 255, 256, 257, 300, 511, 512, 513} {
			const rows = 21
			s := make([]F, rows*cols)
			for r := 0; r < rows; r++ {
				fillLogits(rng, s[r*cols:(r+1)*cols], rng.Intn(cols), r%4)
			}
			// rows 1, 3 and 5 special; 6 and 11 too (NaN, +Inf).
			specialRows(s, cols)
			s[6*cols] = F(math.NaN())
			s[11*cols+cols-1] = F(math.Inf(1))
			alone := make([]F, rows)
			for r := 0; r < rows; r++ {
				k.fn(alone[r:r+1], s[r*cols:(r+1)*cols], cols)
			}
			for start := 0; start < rows; start++ {
				for n := 1; n <= 17 && start+n <= rows; n++ {
					dst := make([]F, n)
					k.fn(dst, s[start*cols:(start+n)*cols], cols)
					for i, v := range dst {
						if !sameBits(v, alone[start+i]) {
							t.Fatalf("%s cols=%d: row %d in rows %d..%d: %g, %g alone", k.name, cols, start+i, start, start+n-1, v, alone[start+i])
						}
					}
				}
			}
		}
	}
}

// TestCrossEntropyRowsAlone: each row's loss and ds row are the bits of
// the row alone, in every call of 1 to 9 rows that holds it, at every place
// in the call, with ds, without and in place, beside ignored rows and rows
// left to the caller (NaN, +Inf, all -Inf, confident past the margin): the
// four-row path runs groups, leftover rows and the rows of a group that
// cannot take it with the same arithmetic (rows stand alone). The row
// lengths cross the vector and the four-row path's limit.
func TestCrossEntropyRowsAlone(t *testing.T) {
	testXentAlone(t, xentKernelsF32())
	testXentAlone(t, xentKernelsF64())
}

func testXentAlone[F float32 | float64](t *testing.T, ks []xentKernel[F]) {
	rng := rand.New(rand.NewSource(23))
	for _, k := range ks {
		if !k.ok {
			continue
		}
		// around every path's limit (gen/xent: the resident rows' 48
		// columns (AVX2: 16, 32; float64: 8, 16, 24, 32, 40), the eight-row looped path's spans past 64 and its end)
		for _, cols := range []int{1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 23, 24, 25, 31, 32, 33, 37, 39, 40, 41, 47, 48, 49, 50, 63, 64, 65, 80, 96, 97, 127, 128, 129, 255, 256, 257, 300, 383, 384, 385, 511, 512, 513} {
			const rows = 17
			s := make([]F, rows*cols)
			labels := make([]int32, rows)
			for r := 0; r < rows; r++ {
				labels[r] = int32(rng.Intn(cols))
				// kinds 0..2 mostly, so that most groups run whole
				kind := []int{0, 0, 1, 2, 0, 3, 0, 4}[r%8]
				fillLogits(rng, s[r*cols:(r+1)*cols], int(labels[r]), kind)
			}
			labels[9] = -1
			s[13*cols+cols/2] = F(math.NaN())
			s[16*cols] = F(math.Inf(1))
			alone, aloneDS := make([]F, rows), make([]F, rows*cols)
			for r := 0; r < rows; r++ {
				k.fn(alone[r:r+1], aloneDS[r*cols:(r+1)*cols], s[r*cols:(r+1)*cols], labels[r:r+1], cols, 0.375)
			}
			for start := 0; start < rows; start++ {
				for n := 1; n <= 9 && start+n <= rows; n++ {
					in := s[start*cols : (start+n)*cols]
					lab := labels[start : start+n]
					loss, ds := make([]F, n), make([]F, n*cols)
					k.fn(loss, ds, in, lab, cols, 0.375)
					lossOnly := make([]F, n)
					k.fn(lossOnly, nil, in, lab, cols, 0.375)
					inPlace, lossIn := append([]F(nil), in...), make([]F, n)
					k.fn(lossIn, inPlace, inPlace, lab, cols, 0.375)
					for i := range loss {
						r := start + i
						if !sameBits(loss[i], alone[r]) || !sameBits(lossOnly[i], alone[r]) || !sameBits(lossIn[i], alone[r]) {
							t.Fatalf("%s cols=%d: row %d in rows %d..%d: loss %g (alone %g, in place %g), %g alone",
								k.name, cols, r, start, start+n-1, loss[i], lossOnly[i], lossIn[i], alone[r])
						}
						if alone[r] != alone[r] {
							continue // the caller's: ds untouched or NaN
						}
						for j := 0; j < cols; j++ {
							w := aloneDS[r*cols+j]
							if !sameBits(ds[i*cols+j], w) || !sameBits(inPlace[i*cols+j], w) {
								t.Fatalf("%s cols=%d: row %d col %d in rows %d..%d: ds %g (in place %g), %g alone",
									k.name, cols, r, j, start, start+n-1, ds[i*cols+j], inPlace[i*cols+j], w)
							}
						}
					}
				}
			}
		}
	}
}

// TestCrossEntropyQuadLimit: accuracy at the four-row path's limit
// (gen/xent's xquadBytes: 384 float32 columns, AVX2 and AVX-512), every
// kind of row, calls of 13 rows (three groups and a row solo).
func TestCrossEntropyQuadLimit(t *testing.T) {
	rng := rand.New(rand.NewSource(24))
	for _, k := range xentKernelsF32() {
		if !k.ok {
			continue
		}
		for _, cols := range []int{383, 384, 385} {
			for kind := 0; kind < 5; kind++ {
				checkXent(t, k, 13, cols, kind, (cols+kind)%2 == 0, rng)
			}
		}
	}
}

// TestCrossEntropyF64Underflow: float64 rows whose entries reach down to
// where e^(s-max) leaves the normal range (gen/xent's xentF64Lo, the
// exp's clamp): ds within the contract's bound at every one, exactly +0
// where s-max < -1024*ln2 (e below 2^-1024: never a value made up below
// the clamp and scaled by g) and at the -Inf entries, every row length
// of the short and one-row paths, the target at every position.
func TestCrossEntropyF64Underflow(t *testing.T) {
	rng := rand.New(rand.NewSource(25))
	for _, k := range xentKernelsF64() {
		if !k.ok {
			continue
		}
		for _, cols := range []int{2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 24, 25, 31, 32, 33, 37, 39, 40, 41, 63, 64, 65, 128, 129, 300, 1000} {
			rows := min(cols, 40)
			s := make([]float64, rows*cols)
			labels := make([]int32, rows)
			for r := range labels {
				labels[r] = int32(r % cols)
				row := s[r*cols : (r+1)*cols]
				for j := range row {
					// the max 3 near the target; the others from 696 to
					// 724 below it, -1e300 and -Inf
					switch d := rng.Intn(12); {
					case d < 9:
						row[j] = 3 - (696 + 28*rng.Float64())
					case d == 9:
						row[j] = -1e300
					case d == 10:
						row[j] = math.Inf(-1)
					default:
						row[j] = rng.NormFloat64()
					}
				}
				row[r%cols] = 3
				row[(r+1)%cols] = 2.5 // keeps the row off the confident path
			}
			loss, ds := make([]float64, rows), make([]float64, len(s))
			g := 1e300 // a large g scales whatever lies below the clamp
			k.fn(loss, ds, s, labels, cols, g)
			wl, wd, spread := ref.CrossEntropy(s, labels, cols, g, 0x1p-1022)
			u, v, tiny := xentBounds[float64]()
			for r := range loss {
				G := spread[r]
				if math.Abs(loss[r]-wl[r]) > v*(1+G)*wl[r]+tiny {
					t.Fatalf("%s cols=%d row %d: loss %g, want %g", k.name, cols, r, loss[r], wl[r])
				}
				for j := r * cols; j < (r+1)*cols; j++ {
					got, want := ds[j], wd[j]
					tol := u*(1+G)*math.Abs(want) + g*tiny
					if j-r*cols == int(labels[r]) {
						tol = v*(1+G)*math.Abs(want) + tiny
					}
					if !(math.Abs(got-want) <= tol) {
						t.Fatalf("%s cols=%d row %d col %d: ds %g, want %g", k.name, cols, r, j-r*cols, got, want)
					}
					if s[j]-3 < -1024*math.Ln2 && math.Float64bits(got) != 0 {
						t.Fatalf("%s cols=%d row %d col %d (s-max %g): ds %g, want +0", k.name, cols, r, j-r*cols, s[j]-3, got)
					}
				}
			}
		}
	}
}
