package kernels

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMisusePanics(t *testing.T) {
	a3, b4 := make([]float32, 3), make([]float32, 4)
	a6, b6 := make([]float64, 6), make([]float64, 6)
	for _, c := range []struct {
		call func()
		want string
	}{
		{func() { Exp(a3, b4) }, "kernels: Exp: len(dst) = 3, len(src) = 4"},
		{func() { Softmax(a3, b4, 1) }, "kernels: Softmax: len(dst) = 3, len(src) = 4"},
		{func() { Softmax(a6, b6, 0) }, "kernels: Softmax: cols = 0"},
		{func() { LogSoftmax(a6, b6, -2) }, "kernels: LogSoftmax: cols = -2"},
		{func() { LogSoftmax(a6, b6, 4) }, "kernels: LogSoftmax: len(src) = 6 is not a multiple of cols = 4"},
		{func() { LogSoftmax[float64](nil, nil, 0) }, "kernels: LogSoftmax: cols = 0"},
		{func() { SoftmaxBackward(a3, b4, a3, 1) }, "kernels: SoftmaxBackward: len(ds) = 3, len(p) = 4"},
		{func() { SoftmaxBackward(a3, a3, b4, 1) }, "kernels: SoftmaxBackward: len(ds) = 3, len(dp) = 4"},
		{func() { SoftmaxBackwardAdd(a6, b6, a6, 5) }, "kernels: SoftmaxBackwardAdd: len(ds) = 6 is not a multiple of cols = 5"},
		{func() { LogSoftmaxBackward(a6, a6[:5], b6, 3) }, "kernels: LogSoftmaxBackward: len(ds) = 6, len(y) = 5"},
		{func() { LogSoftmaxBackward(a3, a3, a3, 0) }, "kernels: LogSoftmaxBackward: cols = 0"},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, c.want) {
					t.Errorf("panic %q, want one starting %q", msg, c.want)
				}
			}()
			c.call()
		}()
	}
}

// TestEmpty: empty slices with cols >= 1 are a no-op on every tier.
func TestEmpty(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		var f []float32
		var d []float64
		Exp(f, f)
		Exp(d, d)
		Softmax(f, f, 1)
		LogSoftmax(d, d, 7)
		SoftmaxBackward(f, f, f, 3)
		SoftmaxBackwardAdd(d, d, d, 1)
		LogSoftmaxBackward(f, f, f, 2)
	})
}

func TestNoAllocation(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		const rows, cols = 16, 100
		f := [3][]float32{make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows*cols)}
		d := [3][]float64{make([]float64, rows*cols), make([]float64, rows*cols), make([]float64, rows*cols)}
		for i := range f[1] {
			f[1][i], d[1][i] = float32(i%7)/7, float64(i%5)/5
		}
		for name, call := range map[string]func(){
			"Exp":                func() { Exp(f[0], f[1]); Exp(d[0], d[1]) },
			"Softmax":            func() { Softmax(f[0], f[1], cols); Softmax(d[0], d[1], cols) },
			"LogSoftmax":         func() { LogSoftmax(f[0], f[1], cols); LogSoftmax(d[0], d[1], cols) },
			"SoftmaxBackward":    func() { SoftmaxBackward(f[0], f[1], f[2], cols); SoftmaxBackward(d[0], d[1], d[2], cols) },
			"SoftmaxBackwardAdd": func() { SoftmaxBackwardAdd(f[0], f[1], f[2], cols); SoftmaxBackwardAdd(d[0], d[1], d[2], cols) },
			"LogSoftmaxBackward": func() { LogSoftmaxBackward(f[0], f[1], f[2], cols); LogSoftmaxBackward(d[0], d[1], d[2], cols) },
			"Implementation":     func() { _ = Implementation() },
		} {
			if a := testing.AllocsPerRun(20, call); a != 0 {
				t.Errorf("%s allocates %v times per call", name, a)
			}
		}
	})
}

func TestChoose(t *testing.T) {
	best := tiers[0]
	if got := choose(""); got != best {
		t.Errorf("choose(\"\") = %s, want %s", got.name, best.name)
	}
	if got := choose("no-such-isa"); got != best {
		t.Errorf("unknown name chose %s, want %s", got.name, best.name)
	}
	for _, tr := range tiers {
		if got := choose(strings.ToUpper(tr.name)); got != tr {
			t.Errorf("choose(%q) = %s", strings.ToUpper(tr.name), got.name)
		}
	}
	if last := tiers[len(tiers)-1]; last.name != "generic" {
		t.Errorf("lowest tier is %s, want generic", last.name)
	}
	for _, name := range []string{"avx2", "avx512"} {
		if got := choose(name); got.name != name && got != best {
			t.Errorf("choose(%q) = %s: a missing tier must give the best one", name, got.name)
		}
	}
}

// TestEnvForcesTier runs this test binary again with SOFTMAX_ISA set and
// reads what Implementation reported at start-up (TestMain prints it).
func TestEnvForcesTier(t *testing.T) {
	if os.Getenv("SOFTMAX_ISA") != "" {
		t.Skip("already a child run")
	}
	for _, tr := range append(tiers, &tier{name: "bogus"}) {
		want := tr.name
		if want == "bogus" {
			want = tiers[0].name
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SOFTMAX_ISA="+tr.name)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Skipf("cannot run the test binary again here (emulated, or no processes): %v", err)
		}
		if err != nil {
			t.Fatalf("SOFTMAX_ISA=%s: %v\n%s", tr.name, err, out)
		}
		if !strings.Contains(string(out), "kernels: using "+want+";") {
			t.Errorf("SOFTMAX_ISA=%s: child said %q, want implementation %s", tr.name, out, want)
		}
	}
}
