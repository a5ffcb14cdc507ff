//go:build unix

// Package guard gives tests slices that lie flush against inaccessible
// pages: a kernel that reads or writes one element past either end of such
// a slice faults.
package guard

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Region is memory with a PROT_NONE page on each side.
type Region struct {
	data []byte // the accessible pages between the guards
}

// New maps a region of dataPages accessible pages; it is unmapped when the
// test ends.
func New(tb testing.TB, dataPages int) *Region {
	tb.Helper()
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, (dataPages+2)*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Munmap(mem) })
	for _, g := range [][]byte{mem[:page], mem[len(mem)-page:]} {
		if err := unix.Mprotect(g, unix.PROT_NONE); err != nil {
			tb.Fatal(err)
		}
	}
	return &Region{mem[page : len(mem)-page]}
}

func all[F float32 | float64](r *Region) []F {
	return unsafe.Slice((*F)(unsafe.Pointer(&r.data[0])), len(r.data)/int(unsafe.Sizeof(F(0))))
}

// Head returns n elements starting right after the leading guard page.
func Head[F float32 | float64](r *Region, n int) []F { return all[F](r)[:n:n] }

// Tail returns n elements ending right before the trailing guard page.
func Tail[F float32 | float64](r *Region, n int) []F {
	a := all[F](r)
	return a[len(a)-n:]
}

// Slice returns n elements in a region of their own, against the trailing
// guard page (atEnd) or the leading one.
func Slice[F float32 | float64](tb testing.TB, n int, atEnd bool) []F {
	tb.Helper()
	page := unix.Getpagesize()
	bytes := n * int(unsafe.Sizeof(F(0)))
	r := New(tb, max(1, (bytes+page-1)/page))
	if atEnd {
		return Tail[F](r, n)
	}
	return Head[F](r, n)
}
