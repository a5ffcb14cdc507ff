//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/rowwise/softmax/asm"
	"github.com/rowwise/softmax/internal/ref"
)

// TestBackwardStreamed: SoftmaxBackward outputs of the tuning's streamBytes
// or more take the non-temporal kernel of the ISA the row gets, where asm
// has one (unless ds aliases an input, which must give the same bits
// through the plain kernel); rows of streamCols columns and more, several
// start offsets of ds; with each vendor's tuning.
func TestBackwardStreamed(t *testing.T) {
	forEachTuning(t, func(t *testing.T) {
		forEachTier(t, func(t *testing.T) {
			forEachType(t, testBackwardStreamed[float32], testBackwardStreamed[float64])
		})
	})
}

// forEachTuning runs f with each vendor's backwardTuning in force.
func forEachTuning(t *testing.T, f func(t *testing.T)) {
	for _, tu := range []struct {
		name string
		bt   backwardTuning
	}{{"zen", zenBackward}, {"intel", intelBackward}} {
		t.Run(tu.name, func(t *testing.T) {
			old := backwardTuned
			backwardTuned = tu.bt
			defer func() { backwardTuned = old }()
			f(t)
		})
	}
}

// TestBackwardHandover: with each tuning, the avx512 tier's backward gives
// the bits of the kernel the tuning names for the row length (AVX2 or
// AVX-512), and the tier walk's checks pass.
func TestBackwardHandover(t *testing.T) {
	var avx512 *tier
	for _, tr := range tiers {
		if tr.name == "avx512" {
			avx512 = tr
		}
	}
	if avx512 == nil {
		t.Skip("CPU lacks the avx512 tier")
	}
	defer useTier(avx512)()
	forEachTuning(t, func(t *testing.T) {
		forEachType(t, testHandover[float32], testHandover[float64])
		if !testing.Short() {
			forEachType(t, testBackward[float32], testBackward[float64])
		}
	})
}

func testHandover[F Float](t *testing.T) {
	for _, add := range []bool{false, true} {
		zmm, ymm := asmBackward[F](add)
		op, toYMM := SoftmaxBackward[F], backwardTuned.ymmRow
		if add {
			op, toYMM = SoftmaxBackwardAdd[F], backwardTuned.ymmRowAdd
		}
		t.Run(fmt.Sprint("add=", add), func(t *testing.T) { checkHandover(t, op, zmm, ymm, toYMM) })
	}
}

// checkHandover demands of op the bits of zmm, or of ymm where toYMM says so,
// over row lengths 1..1100, with ds of about 12 and 48 KiB (either side of
// 16 KiB, where Intel's choice once changed with the size of ds).
func checkHandover[F Float](t *testing.T, op, zmm, ymm func(ds, p, dp []F, cols int), toYMM func(rowBytes int) bool) {
	r := rand.New(rand.NewPCG(15, 16))
	var z F
	size := int(unsafe.Sizeof(z))
	differ := 0
	for i := 0; i < 2*1100; i++ {
		cols := 1 + i/2
		if cols > 16 && cols%(1+cols/16) != 0 {
			continue // every column up to 16, then sparser
		}
		rows := 1 + ([]int{12, 48}[i%2]<<10/size)/cols
		p, dp := backwardCase[F](r, rows, cols, false)
		named, other := zmm, ymm
		if toYMM(cols * size) {
			named, other = ymm, zmm
		}
		ds0 := make([]F, rows*cols)
		fillRandom(ds0, r, valueRanges[0].gen)
		want, alt, got := append([]F(nil), ds0...), append([]F(nil), ds0...), append([]F(nil), ds0...)
		named(want, p, dp, cols)
		other(alt, p, dp, cols)
		op(got, p, dp, cols)
		same := true
		for i := range want {
			if !isNaNBits(got[i], want[i]) && math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
				t.Fatalf("cols=%d: ds[%d] = %g, want %g from the kernel the tuning names", cols, i, got[i], want[i])
			}
			same = same && math.Float64bits(float64(alt[i])) == math.Float64bits(float64(want[i]))
		}
		if !same {
			differ++
		}
	}
	// The check means something only where the two kernels disagree.
	if differ == 0 {
		t.Fatal("the AVX2 and AVX-512 kernels gave the same bits at every row length: the test cannot tell them apart")
	}
}

func testBackwardStreamed[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var z F
	size := int(unsafe.Sizeof(z))
	for i, cols := range []int{streamCols, streamCols + 3, 4099} {
		rows := (backwardTuned.streamBytes/size + cols - 1) / cols
		n := rows * cols
		p, dp := backwardCase[F](r, rows, cols, false)
		want, scale := ref.SoftmaxBackward(nil, ref.Float64s(p), ref.Float64s(dp), cols)
		ds, check := guarded[F](n, (5*i+1)%16)
		SoftmaxBackward(ds, p, dp, cols)
		check(t)
		name := fmt.Sprintf("SoftmaxBackward %dx%d", rows, cols)
		checkGrad(t, name, ds, want, scale, false)
		expectAliases(t, name, ds, p, dp, cols, SoftmaxBackward[F])
	}
}

// asmBackward returns the AVX-512 and AVX2 SoftmaxBackward kernels for F,
// or the SoftmaxBackwardAdd ones.
func asmBackward[F Float](add bool) (zmm, ymm func(ds, p, dp []F, cols int)) {
	z, y := kernelsOf[F](&asm.AVX512), kernelsOf[F](&asm.AVX2)
	if add {
		return z.SoftmaxBackwardAdd, y.SoftmaxBackwardAdd
	}
	return z.SoftmaxBackward, y.SoftmaxBackward
}
