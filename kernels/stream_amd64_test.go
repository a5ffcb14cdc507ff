//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/rowwise/softmax/internal/ref"
)

// TestBackwardStreamed: SoftmaxBackward outputs of streamBytes or more take
// the non-temporal kernels (unless ds aliases an input, which must give the
// same bits through the plain ones); rows of backwardYMMCols columns and
// more, every start offset of ds.
func TestBackwardStreamed(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testBackwardStreamed[float32], testBackwardStreamed[float64])
	})
}

func testBackwardStreamed[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var z F
	size := int(unsafe.Sizeof(z))
	for i, cols := range []int{backwardYMMCols, backwardYMMCols + 3, 4099} {
		rows := (streamBytes/size + cols - 1) / cols
		n := rows * cols
		p, dp := backwardCase[F](r, rows, cols, false)
		want, scale := ref.SoftmaxBackward(nil, toF64(p), toF64(dp), cols)
		ds, check := guarded[F](n, (5*i+1)%16)
		SoftmaxBackward(ds, p, dp, cols)
		check(t)
		name := fmt.Sprintf("SoftmaxBackward %dx%d", rows, cols)
		checkGrad(t, name, ds, want, scale, false)
		expectAliases(t, name, ds, p, dp, cols, SoftmaxBackward[F])
	}
}
