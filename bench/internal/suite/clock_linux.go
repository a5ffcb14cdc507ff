//go:build linux

package suite

import (
	"runtime"

	"golang.org/x/sys/unix"
)

const haveThreadCPU = true

// threadCPU returns the CPU time of the calling thread in seconds:
// clock_gettime(CLOCK_THREAD_CPUTIME_ID), the anchors' clock, which is exact
// to the nanosecond. getrusage(RUSAGE_THREAD) counts the same time but is
// only brought up to date at scheduler ticks (4 ms here), so a short sample
// could read zero; it is the fallback.
func threadCPU() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err == nil {
		return float64(ts.Sec) + float64(ts.Nsec)*1e-9
	}
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return wallNow()
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)*1e-6
}

// PinThread locks the calling goroutine to its thread and binds the thread
// to CPU cpu, as the anchors' taskset -c does. A negative cpu only locks.
func PinThread(cpu int) error {
	runtime.LockOSThread()
	if cpu < 0 {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}
