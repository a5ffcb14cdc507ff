package suite

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"time"
)

// Protocol is the anchors' timing protocol (bench_common.h): a warm-up of
// at least two calls and Warmup seconds, a calibration of the calls per
// sample so that one sample takes at least RepTime seconds, then Reps
// samples; the median per call is reported. Samples are timed in the
// calling thread's CPU time (the goroutine is locked to its thread), which
// time-slicing by other processes does not inflate; wall time is kept too.
type Protocol struct {
	Reps    int
	RepTime float64 // seconds
	Warmup  float64 // seconds
	Wall    bool    // time samples by wall clock instead of thread CPU time
}

// The protocols the report offers.
var (
	// Full is the anchors' protocol: 7 samples of at least 0.2 s after a
	// 0.05 s warm-up (about 1.5 s a measurement).
	Full = Protocol{Reps: 7, RepTime: 0.2, Warmup: 0.05}
	// Brief is the report's default, about a sixth of Full: 5 samples of
	// at least 0.04 s after a 0.02 s warm-up.
	Brief = Protocol{Reps: 5, RepTime: 0.04, Warmup: 0.02}
	// Quick is for trying the command out: 3 samples of 5 ms; noisy.
	Quick = Protocol{Reps: 3, RepTime: 0.005, Warmup: 0.001}
)

// Least is the least clock time, in seconds, that one measurement of a
// function taking call seconds a call takes under p: a warm-up of Warmup
// and at least two calls, then Reps samples of at least RepTime and at
// least one call each.
func (p Protocol) Least(call float64) float64 {
	return max(p.Warmup, 2*call) + float64(max(p.Reps, 1))*max(p.RepTime, call)
}

// Stats are the seconds per call of one measurement.
type Stats struct {
	Median   float64 // median of the clock the protocol uses
	Min, Max float64 // over the samples, same clock
	CPU      float64 // median thread CPU time
	WallTime float64 // median wall time
	Reps     int
	Inner    int // calls per sample
	Clock    string
}

// Measure times fn under p.
func (p Protocol) Measure(fn func()) Stats {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	reps := max(p.Reps, 1)
	now := threadCPU
	clock := "cpu"
	if p.Wall || !haveThreadCPU {
		now, clock = wallNow, "wall"
	}
	calls := 0
	t0 := now()
	t1 := t0
	for calls < 2 || t1-t0 < p.Warmup {
		fn()
		calls++
		t1 = now()
	}
	perCall := (t1 - t0) / float64(calls)
	inner := int(math.Ceil(p.RepTime / max(perCall, 1e-12)))
	inner = max(inner, 1)
	cpu, wall := make([]float64, reps), make([]float64, reps)
	for r := range reps {
		wa, ca := wallNow(), threadCPU()
		for range inner {
			fn()
		}
		cb, wb := threadCPU(), wallNow()
		cpu[r] = (cb - ca) / float64(inner)
		wall[r] = (wb - wa) / float64(inner)
	}
	st := Stats{CPU: median(cpu), WallTime: median(wall), Reps: reps, Inner: inner, Clock: clock}
	prim := cpu
	if clock == "wall" {
		prim = wall
	}
	st.Median = median(prim)
	st.Min, st.Max = prim[0], prim[reps-1] // sorted by median
	return st
}

// median sorts v and returns its median.
func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

var start = time.Now()

func wallNow() float64 { return time.Since(start).Seconds() }

func (p Protocol) String() string {
	clock := "thread CPU time"
	if p.Wall || !haveThreadCPU {
		clock = "wall clock"
	}
	return fmt.Sprintf("median of %d samples of >= %g s after a %g s warm-up, %s", max(p.Reps, 1), p.RepTime, p.Warmup, clock)
}
