//go:build unix

package guard

import (
	"runtime/debug"
	"testing"
	"unsafe"
)

// faults reports whether reading the float32 at p faults.
func faults(p unsafe.Pointer) (fault bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() { fault = recover() != nil }()
	_ = *(*float32)(p)
	return false
}

// TestSlicesTouchGuards: the element just outside each slice is
// inaccessible, the slice itself is not.
func TestSlicesTouchGuards(t *testing.T) {
	for _, n := range []int{1, 7, 1024, 1025} {
		head, tail := Slice[float32](t, n, false), Slice[float32](t, n, true)
		before := unsafe.Add(unsafe.Pointer(&head[0]), -4)
		after := unsafe.Add(unsafe.Pointer(&tail[n-1]), 4)
		if !faults(before) || !faults(after) {
			t.Errorf("n=%d: reads outside the slices do not fault", n)
		}
		if faults(unsafe.Pointer(&head[n-1])) || faults(unsafe.Pointer(&tail[0])) {
			t.Errorf("n=%d: reads inside the slices fault", n)
		}
	}
}
