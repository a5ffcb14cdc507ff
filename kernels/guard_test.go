//go:build linux

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/rowwise/softmax/fallback"
	"golang.org/x/sys/unix"
)

// region is memory with an inaccessible page on each side: a kernel that
// reads or writes one element past either end of a slice at an edge faults.
type region struct {
	mem  []byte
	data []byte // the accessible pages between the guards
}

func newRegion(t *testing.T, dataPages int) *region {
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, (dataPages+2)*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	for _, g := range [][]byte{mem[:page], mem[len(mem)-page:]} {
		if err := unix.Mprotect(g, unix.PROT_NONE); err != nil {
			t.Fatal(err)
		}
	}
	return &region{mem, mem[page : len(mem)-page]}
}

// head returns n elements starting right after the leading guard page, tail
// n elements ending right before the trailing one.
func head[F Float](r *region, n int) []F {
	return unsafe.Slice((*F)(unsafe.Pointer(&r.data[0])), len(r.data)/int(unsafe.Sizeof(F(0))))[:n:n]
}

func tail[F Float](r *region, n int) []F {
	all := unsafe.Slice((*F)(unsafe.Pointer(&r.data[0])), len(r.data)/int(unsafe.Sizeof(F(0))))
	return all[len(all)-n:]
}

// TestGuardPages runs every operation with its slices flush against
// inaccessible pages, lengths 0..300 and a few long ones, several cols per
// length, and compares with the fallback.
func TestGuardPages(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		forEachType(t, testGuardPages[float32], testGuardPages[float64])
	})
}

func testGuardPages[F Float](t *testing.T) {
	regions := [3]*region{newRegion(t, 4), newRegion(t, 4), newRegion(t, 4)}
	tol := 1e-4
	if _, ok := any(F(0)).(float64); ok {
		tol = 1e-12
	}
	r := rand.New(rand.NewPCG(15, 16))
	lengths := []int{1000, 2048}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, cols := range []int{1, 2, 3, 5, 8, 10, 16, 37, 64, n} {
			if cols == 0 || n%cols != 0 {
				continue
			}
			for layout := range 2 {
				// layout 0: inputs at tails, output at a head; 1: the reverse
				at := func(i int) []F {
					if (i == 2) == (layout == 0) {
						return head[F](regions[i], n)
					}
					return tail[F](regions[i], n)
				}
				a, b, out := at(0), at(1), at(2)
				for i := range a {
					a[i] = F(r.Float64())
					b[i] = F(2*r.Float64() - 1)
				}
				want := make([]F, n)
				name := fmt.Sprintf("n=%d cols=%d layout=%d", n, cols, layout)
				compare := func(op string) {
					for i := range want {
						w, g := float64(want[i]), float64(out[i])
						if math.Abs(g-w) > tol*(1+math.Abs(w))*(1+float64(cols)/100) {
							t.Fatalf("%s %s: [%d] = %v, fallback %v", op, name, i, g, w)
						}
					}
				}
				Exp(out, b)
				fallback.Exp(want, b)
				compare("Exp")
				Softmax(out, b, cols)
				fallback.Softmax(want, b, cols)
				compare("Softmax")
				LogSoftmax(out, b, cols)
				fallback.LogSoftmax(want, b, cols)
				compare("LogSoftmax")
				SoftmaxBackward(out, a, b, cols)
				fallback.SoftmaxBackward(want, a, b, cols)
				compare("SoftmaxBackward")
				copy(want, out)
				SoftmaxBackwardAdd(out, a, b, cols)
				fallback.SoftmaxBackwardAdd(want, a, b, cols)
				compare("SoftmaxBackwardAdd")
				LogSoftmaxBackward(out, b, a, cols)
				fallback.LogSoftmaxBackward(want, b, a, cols)
				compare("LogSoftmaxBackward")
			}
		}
	}
}
