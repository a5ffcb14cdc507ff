//go:build race

package kernels

import (
	"runtime"
	"unsafe"
)

// The race detector does not see memory that assembly touches, so every call
// declares the slices it reads and writes.

func raceRead[F Float | int32](s []F) {
	if len(s) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(unsafe.SliceData(s)), len(s)*int(unsafe.Sizeof(s[0])))
	}
}

func raceWrite[F Float](s []F) {
	if len(s) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(unsafe.SliceData(s)), len(s)*int(unsafe.Sizeof(s[0])))
	}
}
