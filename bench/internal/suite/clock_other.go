//go:build !linux

package suite

import "runtime"

const haveThreadCPU = false

// threadCPU falls back to wall time where getrusage(RUSAGE_THREAD) is missing.
func threadCPU() float64 { return wallNow() }

// PinThread locks the calling goroutine to its thread; binding it to a CPU
// is only done on Linux.
func PinThread(cpu int) error {
	runtime.LockOSThread()
	return nil
}
