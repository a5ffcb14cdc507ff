// Command report times every operation of github.com/rowwise/softmax, tier
// by tier, next to the seed's literal loops, Go peers and memory rooflines;
// it prints a table, writes the anchors' CSV and draws a chart. From the
// repository root:
//
//	go run -C bench ./cmd/report                    # 1-2 minutes: 5 samples of 0.04 s
//	go run -C bench ./cmd/report -full              # about 6 minutes: the anchors' protocol
//	go run -C bench ./cmd/report -quick -csv x.csv -chart x.png
//	go run -C bench ./cmd/report -ops fused             # the fused ops and their ratios to Softmax
//	go run -C bench ./cmd/report -anchors ../shared/anchors/results.csv -chart report.png,report.svg
//	go run -C bench ./cmd/report -from x.csv -anchors ../shared/anchors/results.csv -chart x.svg
//
// Relative file names are taken from the directory the command was run in
// ($PWD), also under go run -C bench. Progress goes to stderr, the table to
// stdout (-md: as Markdown).
//
// Measurements follow ../shared/anchors (bench_common.h): the same inputs,
// a warm-up, samples of a calibrated number of calls, the median. -full
// takes the anchors' protocol (a warm-up of at least 0.05 s, 7 samples of
// at least 0.2 s), which the published tables use; the default takes 5
// samples of at least 0.04 s after 0.02 s, about a sixth of the time and a
// little noisier; -quick 3 samples of 5 ms, to try the command out. The
// progress lines on stderr end with an estimate of the time left, from
// what each remaining measurement must take under the protocol (a call's
// time guessed from the same implementation at the shapes before) and how
// long the measurements so far took against that. Samples are timed in
// the thread's CPU time (CLOCK_THREAD_CPUTIME_ID; the
// goroutine is locked to its thread and the thread pinned to one CPU, CPU 1
// by default like the anchors' taskset -c 1), and wall time is kept too.
// Each tier of the package runs in its own process, started with
// SOFTMAX_ISA set, and is reached through the public kernels API; tiers the
// CPU lacks are left out.
//
// The implementations (CSV impl column; float64 rows carry a _f64 suffix,
// since the anchors' format has no dtype column):
//
//	rowwise_avx512, rowwise_avx2, rowwise_generic   this package, per tier
//	rowwise_composed  the fused ops as a user of this package writes them without
//	                  the fused call (LogSoftmax, gather, LogSoftmaxBackward;
//	                  a scaling or masking pass and Softmax; SoftmaxBackward and
//	                  a scaling pass), on the tier the report's process dispatches
//	rowwise_literal   the seed's literal loops (softmax forward and backward)
//	go_plain          softmax as everyone writes it in Go: math.Exp, plain loops
//	vek               github.com/viterin/vek's AVX2 functions composed (float32)
//	go_copy, go_loop  rooflines: Go's copy, and c[i] = a[i]*b[i]
//	go_read           roofline for ops that only read: bytes.Count over the slice
//
// The fused ops (-ops fused: xent, xent_loss, logsumexp, softmax_scaled,
// softmax_causal, softmax_bwd_scaled, softmax_causal_bwd) follow the
// anchors' torch_softmax.py --fused; each brings its base (softmax_fwd or
// softmax_bwd) along, and a third table gives each fused op's time over
// its base's on every tier, and over rowwise_composed's, next to the
// bounds of issues 18 and 19.
//
// An anchors results.csv (-anchors) is folded into the table and the chart.
// "x roof" is the roofline's GB/s over the implementation's: the roofline
// is the best GB/s of any copy or read2write1 at that shape and type,
// the anchors' memcpy and c_loop included, and of go_read too for the ops
// that only read.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/rowwise/softmax/bench/internal/suite"
	"github.com/rowwise/softmax/kernels"
)

// workerEnv selects a child's role: "probe" prints the tier in use,
// "measure" times the jobs its flags name and prints results as JSON lines.
const workerEnv = "SOFTMAX_REPORT_WORKER"

func main() {
	if role := os.Getenv(workerEnv); role != "" {
		os.Exit(worker(role, os.Args[1:], os.Stdout, os.Stderr))
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
}

type config struct {
	quick, full        bool
	csv, chart, anchor string
	from               string
	md                 bool
	shapes             []suite.Shape
	ops                []suite.Op
	dtypes             []suite.DType
	impls              map[string]bool // nil: all
	proto              suite.Protocol
	cpu                int
	workerImpl         string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run -C bench ./cmd/report [flags]\n\n"+
			"Times the package's tiers, the literal loops, Go peers and rooflines with the\n"+
			"anchors' protocol; prints a table, optionally writes CSV and a chart.\n\n")
		fs.PrintDefaults()
	}
	var c config
	shapes := fs.String("shapes", joinShapes(suite.AnchorShapes), "comma-separated ROWSxCOLS shapes")
	ops := fs.String("ops", joinOps(suite.DefaultOps), "comma-separated ops; fused: the fused ops (with softmax_fwd and softmax_bwd, for their ratios); all: every op")
	dtype := fs.String("dtype", "f32", "element type: f32, f64 or f32,f64")
	impls := fs.String("impls", "", "comma-separated impl names to time (default: all)")
	fs.BoolVar(&c.quick, "quick", false, "3 samples of 5 ms each: seconds in all, noisy")
	fs.BoolVar(&c.full, "full", false, "the anchors' protocol, as the published tables: 7 samples of 0.2 s each, about 6 minutes")
	fs.StringVar(&c.csv, "csv", "", "write the measurements to `FILE` in the anchors' CSV format")
	fs.StringVar(&c.chart, "chart", "", "draw the chart to `FILE`.png or FILE.svg (comma-separated for both)")
	fs.StringVar(&c.from, "from", "", "draw the table and chart from `FILE`.csv, written by -csv before, instead of measuring")
	fs.StringVar(&c.anchor, "anchors", "", "fold an anchors results `FILE`.csv into the table and chart")
	fs.BoolVar(&c.md, "md", false, "print the tables as Markdown")
	reps := fs.Int("reps", 0, "timed samples per measurement (default 5; 7 with -full, 3 with -quick)")
	repTime := fs.Float64("rep-time", 0, "minimum seconds per sample (default 0.04; 0.2 with -full, 0.005 with -quick)")
	warm := fs.Float64("warmup", 0, "warm-up seconds (default 0.02; 0.05 with -full, 0.001 with -quick)")
	clock := fs.String("clock", "cpu", "cpu (thread CPU time) or wall")
	fs.IntVar(&c.cpu, "cpu", defaultCPU(), "pin the timing thread to this CPU (-1: do not pin)")
	fs.StringVar(&c.workerImpl, "worker-impl", "", "(internal) the implementation a worker times")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.shapes, err = suite.ParseShapes(*shapes); err != nil {
		return nil, err
	}
	if c.ops, err = suite.ParseOps(*ops); err != nil {
		return nil, err
	}
	if c.dtypes, err = suite.ParseDTypes(*dtype); err != nil {
		return nil, err
	}
	if *impls != "" {
		c.impls = map[string]bool{}
		known := map[string]bool{}
		var names []string
		for _, im := range suite.ReportImpls() {
			known[im.Name] = true
			names = append(names, im.Name)
		}
		for _, s := range splitComma(*impls) {
			if !known[s] {
				return nil, fmt.Errorf("-impls: unknown %q (want some of %s)", s, strings.Join(names, ","))
			}
			c.impls[s] = true
		}
	}
	switch {
	case c.quick && c.full:
		return nil, errors.New("-quick and -full: choose one")
	case c.quick:
		c.proto = suite.Quick
	case c.full:
		c.proto = suite.Full
	default:
		c.proto = suite.Brief
	}
	if *reps > 0 {
		c.proto.Reps = *reps
	}
	if *repTime > 0 {
		c.proto.RepTime = *repTime
	}
	if *warm > 0 {
		c.proto.Warmup = *warm
	}
	switch *clock {
	case "cpu":
	case "wall":
		c.proto.Wall = true
	default:
		return nil, fmt.Errorf("-clock %q: want cpu or wall", *clock)
	}
	var charts []string
	for _, f := range splitComma(c.chart) {
		if !strings.HasSuffix(f, ".png") && !strings.HasSuffix(f, ".svg") {
			return nil, fmt.Errorf("-chart %q: want a .png or .svg file", f)
		}
		charts = append(charts, userPath(f))
	}
	c.chart = strings.Join(charts, ",")
	c.csv, c.anchor, c.from = userPath(c.csv), userPath(c.anchor), userPath(c.from)
	return &c, nil
}

// userPath resolves a relative path against the directory the user ran the
// command from: "go run -C bench" starts the program in bench/, but leaves
// the shell's $PWD as it was, so "-csv x.csv" lands where the user is.
func userPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	pwd := os.Getenv("PWD")
	if !filepath.IsAbs(pwd) {
		return p
	}
	if st, err := os.Stat(pwd); err != nil || !st.IsDir() {
		return p
	}
	return filepath.Join(pwd, p)
}

// defaultCPU pins to CPU 1 where there is more than one, as the anchors'
// run.sh does, so that both time the same core.
func defaultCPU() int {
	if runtime.NumCPU() > 1 {
		return 1
	}
	return 0
}

// job is one measurement: an implementation's op on a shape and type.
type job struct {
	im    *suite.Impl
	op    suite.Op
	dt    suite.DType
	shape suite.Shape
}

func (c *config) wanted(im *suite.Impl) bool { return c.impls == nil || c.impls[im.Name] }

// jobs lists what im times at shape, in table order.
func (c *config) jobs(im *suite.Impl, sh suite.Shape) []job {
	var js []job
	for _, dt := range c.dtypes {
		for _, op := range c.allOps() {
			if im.Has(op, dt) && op.Fits(sh) {
				js = append(js, job{im, op, dt, sh})
			}
		}
	}
	return js
}

// allOps is the ops asked for, the base of each fused one (softmax_fwd or
// softmax_bwd, for the ratios), copy and read2write1, and read where an op
// only reads, in table order.
func (c *config) allOps() []suite.Op {
	want := map[suite.Op]bool{suite.Copy: true, suite.Read2Write1: true}
	for _, op := range c.ops {
		want[op], want[op.RooflineOp()] = true, true
		if b := op.Base(); b != "" {
			want[b] = true
		}
	}
	var ops []suite.Op
	for _, op := range suite.AllOps {
		if want[op] {
			ops = append(ops, op)
		}
	}
	return ops
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.workerImpl != "" {
		return errors.New("-worker-impl is for the report's own worker processes")
	}
	var folded []result
	if c.anchor != "" {
		if folded, err = readCSV(c.anchor); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := suite.PinThread(c.cpu); err != nil {
		fmt.Fprintf(stderr, "report: cannot pin to CPU %d (%v); timing unpinned\n", c.cpu, err)
		c.cpu = -1
	}

	// Which tiers does this CPU run, and which does it pick by itself?
	have := map[string]bool{}
	for _, t := range suite.Tiers {
		if got, err := probe(self, t); err == nil && got == t {
			have[t] = true
		}
	}
	dispatched, err := probe(self, "")
	if err != nil {
		return fmt.Errorf("starting a worker: %w", err)
	}

	// The plan: per shape, the in-process implementations and one worker
	// process per tier, so that a shape's numbers are taken close together.
	var local, tiers []*suite.Impl
	for _, im := range suite.ReportImpls() {
		switch {
		case !c.wanted(im) && im.Kind != suite.Roofline:
		case im.Tier == "":
			local = append(local, im)
		case have[im.Tier]:
			tiers = append(tiers, im)
		}
	}
	var plan []job
	for _, sh := range c.shapes {
		for _, im := range append(local[:len(local):len(local)], tiers...) {
			plan = append(plan, c.jobs(im, sh)...)
		}
	}
	env := environment{
		cpu:        cpuid.CPU.BrandName,
		goVersion:  runtime.Version(),
		tiers:      have,
		dispatched: dispatched,
		proto:      c.proto,
		pinned:     c.cpu,
		when:       time.Now().UTC(),
	}
	var results []result
	if c.from != "" {
		rs, err := readCSV(c.from)
		if err != nil {
			return err
		}
		env.from, env.tiers = c.from, map[string]bool{}
		for i := range rs {
			rs[i].Source = ""
			if tier, ok := strings.CutPrefix(rs[i].Impl, "rowwise_"); ok && contains(suite.Tiers, tier) {
				env.tiers[tier] = true
			}
		}
		results = merge(nil, rs, c)
	} else {
		results = measureRun(self, c, env, local, tiers, plan, stderr)
	}

	all := merge(results, folded, c)
	return c.output(stdout, stderr, results, all, env)
}

// measureRun times the plan: per shape, the rooflines, then each tier in
// its worker process, then the in-process baselines and peers.
func measureRun(self string, c *config, env environment, local, tiers []*suite.Impl, plan []job, stderr io.Writer) []result {
	prog := newProgress(stderr, c.proto, plan)
	fmt.Fprintf(stderr, "report: %s; Go %s; tiers %s (dispatched: %s); %d measurements, %s each; pinned to CPU %s\n",
		env.cpu, env.goVersion, env.tierList(), env.dispatched, len(plan), c.proto, pinText(c.cpu))
	hint := ""
	if c.proto == suite.Brief {
		hint = " (-full: the anchors' protocol, about six times as long; -quick: seconds)"
	}
	fmt.Fprintf(stderr, "report: expect about %s on an idle core%s\n", prog.eta(), hint)
	var results []result
	for _, sh := range c.shapes {
		in := &suite.Inputs{Shape: sh}
		// Rooflines first, then the tiers, then the slower baselines.
		for _, im := range local {
			if im.Kind != suite.Roofline {
				continue
			}
			results = append(results, measureAll(c, in, im, prog)...)
		}
		for _, im := range tiers {
			rs, err := runWorker(self, c, im, sh, prog)
			if err != nil {
				fmt.Fprintf(stderr, "report: %s at %s: %v\n", im.Name, sh, err)
			}
			results = append(results, rs...)
		}
		for _, im := range local {
			if im.Kind == suite.Roofline {
				continue
			}
			results = append(results, measureAll(c, in, im, prog)...)
		}
	}
	fmt.Fprintf(stderr, "report: measured in %s\n", time.Since(prog.start).Round(time.Second))
	return results
}

func (c *config) output(stdout, stderr io.Writer, results, all []result, env environment) error {
	t := newTable(all, c, env)
	t.print(stdout, c.md)
	if c.csv != "" {
		if err := writeCSV(c.csv, results); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report: wrote %s\n", c.csv)
	}
	for _, f := range splitComma(c.chart) {
		if err := drawChart(f, t); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		fmt.Fprintf(stderr, "report: wrote %s\n", f)
	}
	return nil
}

func pinText(cpu int) string {
	if cpu < 0 {
		return "none"
	}
	return fmt.Sprint(cpu)
}

// measureAll times every job of im at in's shape in this process.
func measureAll(c *config, in *suite.Inputs, im *suite.Impl, prog *progress) []result {
	var rs []result
	for _, j := range c.jobs(im, in.Shape) {
		r := measure(c.proto, in, j)
		prog.done(r)
		rs = append(rs, r)
	}
	return rs
}

func measure(p suite.Protocol, in *suite.Inputs, j job) result {
	call := in.Prepare(j.im, j.op, j.dt)
	runtime.GC()
	st := p.Measure(call.Run)
	n := float64(j.shape.N())
	if st.Median <= 0 { // a clock that did not move: report no bandwidth
		st.Median = math.SmallestNonzeroFloat64
	}
	isa := j.im.ISA
	return result{
		Impl: j.im.Name, Op: j.op, DType: j.dt, Rows: j.shape.Rows, Cols: j.shape.Cols,
		NS: st.Median * 1e9 / n, CPUNS: st.CPU * 1e9 / n, WallNS: st.WallTime * 1e9 / n,
		MinNS: st.Min * 1e9 / n, MaxNS: st.Max * 1e9 / n,
		GBs: float64(j.op.Bytes(j.dt)) * n / st.Median / 1e9,
		ISA: isa, Kind: j.im.Kind, Clock: st.Clock,
	}
}

// childEnv is the environment with SOFTMAX_ISA set to tier ("" unset) and
// the worker role set.
func childEnv(tier, role string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOFTMAX_ISA=") && !strings.HasPrefix(kv, workerEnv+"=") {
			env = append(env, kv)
		}
	}
	if tier != "" {
		env = append(env, "SOFTMAX_ISA="+tier)
	}
	return append(env, workerEnv+"="+role)
}

// probe reports the tier a process started with SOFTMAX_ISA=tier uses.
func probe(self, tier string) (string, error) {
	cmd := exec.Command(self)
	cmd.Env = childEnv(tier, "probe")
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// runWorker times every job of the tier implementation im at shape sh in a
// process started with SOFTMAX_ISA=im.Tier, reporting progress as its
// results arrive.
func runWorker(self string, c *config, im *suite.Impl, sh suite.Shape, prog *progress) ([]result, error) {
	args := []string{
		"-worker-impl", im.Name, "-shapes", sh.String(),
		"-ops", joinOps(c.ops), "-dtype", joinDTypes(c.dtypes),
		"-reps", fmt.Sprint(c.proto.Reps), "-rep-time", fmt.Sprint(c.proto.RepTime),
		"-warmup", fmt.Sprint(c.proto.Warmup), "-cpu", fmt.Sprint(c.cpu),
	}
	if c.proto.Wall {
		args = append(args, "-clock", "wall")
	}
	cmd := exec.Command(self, args...)
	cmd.Env = childEnv(im.Tier, "measure")
	cmd.Stderr = prog.w
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var rs []result
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue
		}
		prog.done(r)
		rs = append(rs, r)
	}
	if err := cmd.Wait(); err != nil {
		return rs, err
	}
	return rs, nil
}

// worker is a child process's main: role "probe" prints the tier in use;
// "measure" times the jobs of -worker-impl and prints JSON lines.
func worker(role string, args []string, stdout, stderr io.Writer) int {
	if role == "probe" {
		fmt.Fprintln(stdout, kernels.Implementation())
		return 0
	}
	c, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	var im *suite.Impl
	for _, x := range suite.ReportImpls() {
		if x.Name == c.workerImpl {
			im = x
		}
	}
	if im == nil {
		fmt.Fprintf(stderr, "report worker: unknown impl %q\n", c.workerImpl)
		return 2
	}
	if im.Tier != "" && kernels.Implementation() != im.Tier {
		fmt.Fprintf(stderr, "report worker: %s needs SOFTMAX_ISA=%s, process runs %s\n", im.Name, im.Tier, kernels.Implementation())
		return 3
	}
	if err := suite.PinThread(c.cpu); err != nil {
		fmt.Fprintf(stderr, "report worker: cannot pin to CPU %d: %v\n", c.cpu, err)
	}
	enc := json.NewEncoder(stdout)
	for _, sh := range c.shapes {
		in := &suite.Inputs{Shape: sh}
		for _, j := range c.jobs(im, sh) {
			if err := enc.Encode(measure(c.proto, in, j)); err != nil {
				fmt.Fprintf(stderr, "report worker: %v\n", err)
				return 1
			}
		}
	}
	return 0
}

// progress prints one line per finished measurement on stderr, with an
// estimate of the time left.
type progress struct {
	w     io.Writer
	proto suite.Protocol
	total int
	start time.Time
	// pending are the measurements not done yet, by jobKey.
	pending map[string]job
	// perElem is the seconds per element of the latest measurement of each
	// implementation, op and type: the guess of a call's time at the next
	// shape.
	perElem map[string]float64
	// least is the least time the measurements done so far had to take
	// under the protocol (suite.Protocol.Least).
	least float64
}

func newProgress(w io.Writer, proto suite.Protocol, plan []job) *progress {
	p := &progress{w: w, proto: proto, total: len(plan), start: time.Now(),
		pending: map[string]job{}, perElem: map[string]float64{}}
	for _, j := range plan {
		p.pending[jobKey(j.im.Name, j.op, j.dt, j.shape)] = j
	}
	return p
}

func jobKey(impl string, op suite.Op, dt suite.DType, sh suite.Shape) string {
	return fmt.Sprintf("%s/%s/%s/%s", impl, op, dt, sh)
}

// idleFactor is the time a measurement took on an idle core over its least
// time under the protocol (calibration, GC, inputs, worker processes), the
// factor of the first estimate, before any measurement is done.
const idleFactor = 1.2

// eta estimates the time left: the least time of each pending measurement
// (a call's time guessed from the implementation's previous shape, else
// taken as 0), times how much longer than their least time the
// measurements so far took (idleFactor before the first).
func (p *progress) eta() time.Duration {
	rest := 0.0
	for _, j := range p.pending {
		call := p.perElem[jobKey(j.im.Name, j.op, j.dt, suite.Shape{})] * float64(j.shape.N())
		rest += p.proto.Least(call)
	}
	factor := idleFactor
	if p.least > 0 {
		factor = time.Since(p.start).Seconds() / p.least
	}
	return time.Duration(rest * factor * float64(time.Second)).Round(time.Second)
}

func (p *progress) done(r result) {
	sh := suite.Shape{Rows: r.Rows, Cols: r.Cols}
	delete(p.pending, jobKey(r.Impl, r.Op, r.DType, sh))
	perElem := r.NS * 1e-9 // in the protocol's clock, as Least counts
	p.perElem[jobKey(r.Impl, r.Op, r.DType, suite.Shape{})] = perElem
	p.least += p.proto.Least(perElem * float64(sh.N()))
	n := p.total - len(p.pending)
	fmt.Fprintf(p.w, "[%3d/%d] %-9s %-15s %s %-16s %9.4f ns/elem %7.2f GB/s  (wall %.4f)  eta %s\n",
		n, p.total, fmt.Sprintf("%dx%d", r.Rows, r.Cols), r.Op, r.DType, r.Impl, r.NS, r.GBs, r.WallNS, p.eta())
}

func joinShapes(ss []suite.Shape) string {
	var f []string
	for _, s := range ss {
		f = append(f, s.String())
	}
	return strings.Join(f, ",")
}

func joinOps(ops []suite.Op) string {
	var f []string
	for _, o := range ops {
		f = append(f, string(o))
	}
	return strings.Join(f, ",")
}

func joinDTypes(dts []suite.DType) string {
	var f []string
	for _, d := range dts {
		f = append(f, string(d))
	}
	return strings.Join(f, ",")
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
