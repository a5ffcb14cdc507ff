//go:build amd64 && !purego

package asm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// The SoftmaxCausal kernels, called directly (the kernels package routes
// q = 1 to SoftmaxScaled): each row's visible part held to SoftmaxScaled's
// bound, +0 over the masked part whose NaN inputs are never read, at odd
// offsets and in place, across row lengths that take every path (tails,
// groups, rows alone, single rows; the folded scale and not).

type causalKernel[F float32 | float64] struct {
	name   string
	ok     bool
	causal func(dst, src []F, cols, q int, scale F)
}

func TestSoftmaxCausalKernels(t *testing.T) {
	for _, k := range []causalKernel[float32]{
		{"SoftmaxCausalF32AVX2", fwdAVX2, SoftmaxCausalF32AVX2},
		{"SoftmaxCausalF32AVX512", fwdAVX512, SoftmaxCausalF32AVX512},
	} {
		if k.ok {
			t.Run(k.name, func(t *testing.T) { testCausalKernel(t, k) })
		}
	}
	for _, k := range []causalKernel[float64]{
		{"SoftmaxCausalF64AVX2", fwdAVX2, SoftmaxCausalF64AVX2},
		{"SoftmaxCausalF64AVX512", fwdAVX512, SoftmaxCausalF64AVX512},
	} {
		if k.ok {
			t.Run(k.name, func(t *testing.T) { testCausalKernel(t, k) })
		}
	}
}

func testCausalKernel[F float32 | float64](t *testing.T, k causalKernel[F]) {
	r := rand.New(rand.NewSource(53))
	cs := []int{}
	for c := 1; c <= 70; c++ {
		cs = append(cs, c)
	}
	cs = append(cs, 100, 128, 131, 300, 511, 512, 513, 530, 1000)
	for _, cols := range cs {
		for _, q := range []int{1, 2, 5, 17, cols} {
			if q > cols || (q == cols && cols > 300 && cols != 513) {
				continue
			}
			const blocks = 2
			rows := blocks * q
			src := scaledRows[F](r, rows, cols)
			for i := 0; i < rows; i++ {
				see := cols - q + i%q + 1
				for j := see; j < cols; j++ {
					src[i*cols+j] = F(math.NaN())
				}
			}
			for _, scale := range []F{0.125, 3, 0x1p-20, 1.1e6} {
				offD, offS := cols%4, (cols*3+1)%4
				dst := make([]F, offD+len(src))[offD:]
				for i := range dst {
					dst[i] = -7
				}
				in := append(make([]F, offS), src...)[offS:]
				k.causal(dst, in, cols, q, scale)
				for i := 0; i < rows; i++ {
					see := cols - q + i%q + 1
					how := fmt.Sprintf("%d cols q %d scale %v row %d", cols, q, scale, i)
					row := src[i*cols : i*cols+see]
					expectScaled(t, how, dst[i*cols:i*cols+see], row, see, scale)
					for j := see; j < cols; j++ {
						if v := dst[i*cols+j]; v != 0 || math.Signbit(float64(v)) {
							t.Fatalf("%s col %d (masked): %v, want +0", how, j, v)
						}
					}
				}
				k.causal(in, in, cols, q, scale)
				for i := range in {
					if math.Float64bits(float64(in[i])) != math.Float64bits(float64(dst[i])) && !(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%d cols q %d scale %v: in place [%d] = %v, not %v", cols, q, scale, i, in[i], dst[i])
					}
				}
			}
		}
	}
}
