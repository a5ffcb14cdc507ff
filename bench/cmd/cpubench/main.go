// Command cpubench times Softmax, CrossEntropy (with ds and the loss
// alone) and LogSumExp on float32 (DT=f64: float64) rows of the given shapes, in the
// thread's CPU time (the minimum over reps runs of ~2M elements), so that
// time the thread spends descheduled on a shared machine does not count.
// The logits are uniform in [-5, 5] and the labels (r*7919) % cols, as in
// the bench suite; SOFTMAX_ISA picks the tier as for the package.
//
//	go run -C bench ./cmd/cpubench 4096x128,1000x37,2048x10,1024x1024 15
//
// Built against two trees (a replace directive to each), run alternately,
// it gives the before/after and the ratio to Softmax (bench/TUNING.md).
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rowwise/softmax/kernels"
	"golang.org/x/sys/unix"
)

func cpuNow() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

func main() {
	runtime.LockOSThread()
	if os.Getenv("DT") == "f64" {
		run[float64]("f64")
		return
	}
	run[float32]("f32")
}

func run[F kernels.Float](dt string) {
	shapes := strings.Split(os.Args[1], ",")
	reps, _ := strconv.Atoi(os.Args[2])
	for _, sh := range shapes {
		var rows, cols int
		fmt.Sscanf(sh, "%dx%d", &rows, &cols)
		n := rows * cols
		r := rand.New(rand.NewPCG(1, 2))
		x := make([]F, n)
		for i := range x {
			x[i] = F(r.Float64()*10 - 5)
		}
		labels := make([]int32, rows)
		for i := range labels {
			labels[i] = int32(i * 7919 % cols)
		}
		out, ds, loss, lse := make([]F, n), make([]F, n), make([]F, rows), make([]F, rows)
		iters := max(1, 2_000_000/n)
		ops := []struct {
			name string
			f    func()
		}{
			{"Softmax", func() { kernels.Softmax(out, x, cols) }},
			{"CE", func() { kernels.CrossEntropy(loss, ds, x, labels, cols, 1/F(rows)) }},
			{"CELoss", func() { kernels.CrossEntropy(loss, nil, x, labels, cols, 1/F(rows)) }},
			{"LSE", func() { kernels.LogSumExp(lse, x, cols) }},
		}
		for _, op := range ops {
			best := time.Duration(1 << 62)
			for k := 0; k < reps; k++ {
				t0 := cpuNow()
				for i := 0; i < iters; i++ {
					op.f()
				}
				if d := cpuNow() - t0; d < best {
					best = d
				}
			}
			fmt.Printf("%s/%s %s %.4f\n", op.name, dt, sh, float64(best.Nanoseconds())/float64(iters*n))
		}
	}
}
