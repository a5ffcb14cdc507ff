//go:build amd64 && !purego

package asm

import (
	"unsafe"
)

func unsafeSizeof[F float32 | float64](z F) uintptr { return unsafe.Sizeof(z) }

func unsafeSlice[F float32 | float64](b []byte, n int) []F {
	if n == 0 {
		return (*[0]F)(unsafe.Pointer(&b[0]))[:]
	}
	return unsafe.Slice((*F)(unsafe.Pointer(&b[0])), n)
}
