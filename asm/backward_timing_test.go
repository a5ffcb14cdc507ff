//go:build amd64 && !purego

package asm

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rowwise/softmax/fallback"
)

// TestBackwardTimings prints, with BWD_TIMINGS=1, the best time per element
// of each backward kernel, the memory floor and the fallback over many short
// interleaved runs: steadier than go test -bench on a shared, noisy machine.
//
//	BWD_TIMINGS=1 go test ./asm -run BackwardTimings -v
//
// BWD_SHAPES=2048x10,1000x37 times only the shapes listed.
func TestBackwardTimings(t *testing.T) {
	if os.Getenv("BWD_TIMINGS") == "" {
		t.Skip("set BWD_TIMINGS=1")
	}
	type f32fn = func(ds, p, dp []float32, cols int)
	type f64fn = func(ds, p, dp []float64, cols int)
	var names []string
	var f32s []f32fn
	var f64s []f64fn
	addF32 := func(name string, f f32fn) {
		names = append(names, name)
		f32s = append(f32s, f)
		f64s = append(f64s, nil)
	}
	addF64 := func(name string, f f64fn) {
		names = append(names, name)
		f32s = append(f32s, nil)
		f64s = append(f64s, f)
	}
	if hasAVX2 {
		addF32("memloopAVX2", memLoopAVX2)
	}
	if hasAVX512 {
		addF32("memloopAVX512", memLoopAVX512)
	}
	for _, k := range bwdKernelsF32() {
		if k.ok {
			addF32(k.name, k.fn)
		}
	}
	for _, k := range bwdKernelsF64() {
		if k.ok {
			addF64(k.name, k.fn)
		}
	}
	addF32("fallbackF32", fallback.SoftmaxBackward[float32])
	addF64("fallbackF64", fallback.SoftmaxBackward[float64])
	shapes := append(bwdShapes, [2]int{8192, 5}, [2]int{4096, 3}, [2]int{4096, 16}, [2]int{2048, 24},
		[2]int{2048, 50}, [2]int{1024, 64}, [2]int{2048, 100}, [2]int{1024, 300})
	if env := os.Getenv("BWD_SHAPES"); env != "" {
		shapes = nil
		for _, f := range strings.Split(env, ",") {
			var r, c int
			if _, err := fmt.Sscanf(f, "%dx%d", &r, &c); err != nil || r < 1 || c < 1 {
				t.Fatalf("BWD_SHAPES: bad shape %q", f)
			}
			shapes = append(shapes, [2]int{r, c})
		}
	}
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		n := rows * cols
		p, dp, ds := make([]float32, n), make([]float32, n), make([]float32, n)
		p64, dp64, ds64 := make([]float64, n), make([]float64, n), make([]float64, n)
		rng := rand.New(rand.NewSource(3))
		for r := 0; r < rows; r++ {
			fillRow(rng, p[r*cols:(r+1)*cols], dp[r*cols:(r+1)*cols], 0)
		}
		for i := range p {
			p64[i], dp64[i] = float64(p[i]), float64(dp[i])
		}
		best := make([]time.Duration, len(names))
		for rep := 0; rep < 30; rep++ {
			for i := range names {
				calls := 5
				if strings.HasPrefix(names[i], "fallback") {
					calls = 1
					if rep >= 3 {
						continue
					}
				}
				run := func() {
					if f32s[i] != nil {
						f32s[i](ds, p, dp, cols)
					} else {
						f64s[i](ds64, p64, dp64, cols)
					}
				}
				run()
				st := time.Now()
				for k := 0; k < calls; k++ {
					run()
				}
				d := time.Since(st) / time.Duration(calls)
				if best[i] == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "shape %dx%d, best ns/elem:", rows, cols)
		for i, name := range names {
			fmt.Fprintf(&b, "\n  %-30s %.4f", name, float64(best[i].Nanoseconds())/float64(n))
		}
		t.Log(b.String())
	}
}
