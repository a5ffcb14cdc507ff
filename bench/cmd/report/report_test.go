package main

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rowwise/softmax/bench/internal/suite"
	"github.com/rowwise/softmax/kernels"
)

// TestMain lets the test binary serve as the report's worker processes,
// which the report starts from its own executable.
func TestMain(m *testing.M) {
	if role := os.Getenv(workerEnv); role != "" {
		os.Exit(worker(role, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestQuickReport runs the command in quick mode on one tiny shape, with an
// anchors CSV to fold in, and checks the table, the CSV and both charts.
func TestQuickReport(t *testing.T) {
	dir := t.TempDir()
	anchors := filepath.Join(dir, "anchors.csv")
	if err := os.WriteFile(anchors, []byte("impl,op,rows,cols,ns_per_elem,gb_per_s,isa\n"+
		"onednn,softmax_fwd,4,16,0.5000,16.00,jit:avx512_core\n"+
		"memcpy,copy,4,16,0.0500,160.00,glibc\n"+
		"onednn,softmax_fwd,1024,1024,0.5000,16.00,jit:avx512_core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "out.csv")
	pngPath, svgPath := filepath.Join(dir, "out.png"), filepath.Join(dir, "out.svg")
	var stdout, stderr bytes.Buffer
	err := run([]string{"-quick", "-shapes", "4x16", "-csv", csvPath, "-chart", pngPath + "," + svgPath,
		"-anchors", anchors, "-cpu", "-1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "[  1/") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}

	// The CSV parses, in the anchors' columns, with every op and every
	// implementation this CPU runs, and no folded anchors row.
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if got, want := strings.Join(recs[0], ","), "impl,op,rows,cols,ns_per_elem,gb_per_s,isa"; got != want {
		t.Fatalf("CSV header %q, want %q", got, want)
	}
	seen := map[string]bool{}
	for _, rec := range recs[1:] {
		if len(rec) != 7 {
			t.Fatalf("CSV row %q: %d columns, want 7", rec, len(rec))
		}
		for i, s := range rec {
			if s == "" {
				t.Errorf("CSV row %q: column %s empty", rec, recs[0][i])
			}
		}
		if rec[2] != "4" || rec[3] != "16" {
			t.Errorf("CSV row %q: shape %sx%s, want 4x16", rec, rec[2], rec[3])
		}
		for _, i := range []int{4, 5} {
			if v, err := strconv.ParseFloat(rec[i], 64); err != nil || v <= 0 {
				t.Errorf("CSV row %q: %s = %q, want a positive number", rec, recs[0][i], rec[i])
			}
		}
		if rec[0] == "onednn" || rec[0] == "memcpy" {
			t.Errorf("CSV has the folded anchors row %q", rec)
		}
		seen[rec[0]+" "+rec[1]] = true
	}
	want := []string{"go_copy copy", "go_loop read2write1", "rowwise_literal softmax_fwd", "rowwise_literal softmax_bwd"}
	for _, op := range suite.DefaultOps {
		if op.Roofline() {
			continue
		}
		want = append(want, "go_plain "+string(op), "vek "+string(op), "rowwise_generic "+string(op),
			"rowwise_"+kernels.Implementation()+" "+string(op))
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("CSV lacks %s", w)
		}
	}

	// The table shows the folded anchors row, and only at the shape run.
	out := stdout.String()
	for _, s := range []string{"All measurements", "Summary", "onednn", "x roof", "vs literal", "vs plain Go"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q", s)
		}
	}
	if strings.Contains(out, "1024x1024") {
		t.Errorf("table shows an anchors shape that was not run")
	}

	pf, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if _, err := png.Decode(pf); err != nil {
		t.Errorf("chart PNG: %v", err)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("rowwise_generic")) {
		t.Errorf("chart SVG lacks <svg or the legend")
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-shapes", "64"}, {"-ops", "softmax"}, {"-dtype", "f16"}, {"-chart", "x.pdf"}, {"-clock", "tsc"}, {"extra"}, {"-impls", "onednn"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	for _, c := range []struct{ ops, want string }{
		{"softmax_bwd", "softmax_bwd,copy,read2write1"},
		// A fused op brings its base and its roofline.
		{"xent", "softmax_fwd,xent,copy,read2write1"},
		{"logsumexp", "softmax_fwd,logsumexp,copy,read2write1,read"},
		{"softmax_causal_bwd,exp", "softmax_bwd,exp,softmax_causal_bwd,copy,read2write1"},
		{"fused", "softmax_fwd,softmax_bwd,xent,xent_loss,logsumexp,softmax_scaled,softmax_causal," +
			"softmax_bwd_scaled,softmax_causal_bwd,copy,read2write1,read"},
		{"all", joinOps(suite.AllOps)},
		{"fused,all", joinOps(suite.AllOps)},
	} {
		cfg, err := parseFlags([]string{"-ops", c.ops, "-dtype", "f32,f64"}, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("-ops %s: %v", c.ops, err)
		}
		if got := joinOps(cfg.allOps()); got != c.want {
			t.Errorf("-ops %s: allOps = %s, want %s", c.ops, got, c.want)
		}
	}
}

// TestFusedReport runs the fused ops in quick mode on a shape the causal
// ops fit (8x4: two blocks of 4) and one they do not (6x4), with anchors
// rows to fold in, and checks the CSV and the ratio table.
func TestFusedReport(t *testing.T) {
	dir := t.TempDir()
	anchors := filepath.Join(dir, "anchors.csv")
	if err := os.WriteFile(anchors, []byte("impl,op,rows,cols,ns_per_elem,gb_per_s,isa\n"+
		"torch,xent,8,4,9.0000,0.89,aten:AVX2\n"+
		"torch_masked_avx512,softmax_causal,8,4,7.0000,1.14,aten:AVX512\n"+
		"torch,logsumexp,6,4,5.0000,0.80,aten:AVX2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPath, svgPath := filepath.Join(dir, "out.csv"), filepath.Join(dir, "out.svg")
	var stdout, stderr bytes.Buffer
	err := run([]string{"-quick", "-ops", "fused", "-shapes", "8x4,6x4", "-csv", csvPath, "-chart", svgPath, "-anchors", anchors,
		"-impls", "rowwise_generic,rowwise_" + kernels.Implementation() + ",rowwise_composed", "-cpu", "-1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := decodeCSV(bytes.NewReader(data), "x")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Impl+" "+string(r.Op)+" "+r.shape().String()] = true
	}
	for _, sh := range []suite.Shape{{Rows: 8, Cols: 4}, {Rows: 6, Cols: 4}} {
		for _, op := range suite.FusedOps {
			for _, im := range []string{"rowwise_generic", "rowwise_" + kernels.Implementation(), "rowwise_composed"} {
				// The causal ops only where cols divide rows; no composed logsumexp.
				want := op.Fits(sh) && (im != "rowwise_composed" || op != suite.LogSumExp)
				if got := seen[im+" "+string(op)+" "+sh.String()]; got != want {
					t.Errorf("CSV has %s %s at %s: %v, want %v", im, op, sh, got, want)
				}
			}
		}
		for _, w := range []string{"rowwise_generic softmax_fwd", "rowwise_generic softmax_bwd", "go_read read"} {
			if !seen[w+" "+sh.String()] {
				t.Errorf("CSV lacks %s at %s", w, sh)
			}
		}
	}
	out := stdout.String()
	_, fusedTable, ok := strings.Cut(out, "Fused ops: time over the base op's")
	if !ok {
		t.Fatalf("no fused table:\n%s", out)
	}
	for _, op := range suite.FusedOps {
		if !strings.Contains(fusedTable, string(op)+" ") {
			t.Errorf("fused table lacks %s", op)
		}
	}
	for _, s := range []string{"torch_masked_avx512", "torch 5.0000"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks the folded anchors row %q", s)
		}
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"softmax_causal_bwd, f32", "rowwise_composed"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("chart lacks %q", s)
		}
	}
}

// TestFusedTable checks the ratio table's cells and the read roofline on
// made-up results.
func TestFusedTable(t *testing.T) {
	c, err := parseFlags([]string{"-ops", "logsumexp,softmax_causal", "-shapes", "8x4,6x4"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	env := environment{tiers: map[string]bool{"avx2": true, "generic": true}, dispatched: "avx2", proto: suite.Quick}
	sh, sh6 := suite.Shape{Rows: 8, Cols: 4}, suite.Shape{Rows: 6, Cols: 4}
	res := func(impl string, op suite.Op, s suite.Shape, ns, gbs float64, kind suite.Kind) result {
		isa, _ := strings.CutPrefix(impl, "rowwise_")
		if impl == "rowwise_composed" {
			isa = "avx2"
		}
		return result{Impl: impl, Op: op, DType: suite.F32, Rows: s.Rows, Cols: s.Cols, NS: ns, GBs: gbs, ISA: isa, Kind: kind}
	}
	tb := newTable([]result{
		res("rowwise_avx2", suite.SoftmaxFwd, sh, 0.4, 20, suite.Ours),
		res("rowwise_avx2", suite.LogSumExp, sh, 0.2, 20, suite.Ours),
		res("rowwise_avx2", suite.SoftmaxCausal, sh, 0.3, 26, suite.Ours),
		res("rowwise_generic", suite.SoftmaxFwd, sh, 4, 2, suite.Ours),
		res("rowwise_generic", suite.LogSumExp, sh, 1, 4, suite.Ours),
		res("rowwise_composed", suite.SoftmaxCausal, sh, 0.6, 13, suite.Composed),
		res("go_copy", suite.Copy, sh, 0.1, 80, suite.Roofline),
		res("go_read", suite.Read, sh, 0.025, 160, suite.Roofline),
		res("rowwise_avx2", suite.LogSumExp, sh6, 0.2, 20, suite.Ours),
	}, c, env)
	var rows []string
	for _, r := range tb.fused().rows {
		if r != nil {
			rows = append(rows, strings.Join(r, "|"))
		}
	}
	want := []string{
		"logsumexp|f32|8x4|softmax_fwd|<= 0.75|0.50|0.25|-",
		"logsumexp|f32|6x4|softmax_fwd|<= 0.75|-|-|-",
		"softmax_causal|f32|8x4|softmax_fwd|<= 0.60|0.75|-|0.50 (avx2)",
	}
	if got := strings.Join(rows, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("fused table:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// logsumexp only reads: its roofline is read's; softmax_fwd's is copy's.
	if got := tb.xroof(res("rowwise_avx2", suite.LogSumExp, sh, 0.2, 20, suite.Ours)); got != "8.00" {
		t.Errorf("logsumexp x roof = %s, want 8.00 (against read)", got)
	}
	if got := tb.xroof(res("rowwise_avx2", suite.SoftmaxFwd, sh, 0.4, 20, suite.Ours)); got != "4.00" {
		t.Errorf("softmax_fwd x roof = %s, want 4.00 (against copy)", got)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rs := []result{
		{Impl: "rowwise_avx2", Op: suite.SoftmaxFwd, DType: suite.F64, Rows: 2, Cols: 3, NS: 0.25, GBs: 64, ISA: "avx2", Kind: suite.Ours},
		{Impl: "torch", Op: suite.SoftmaxBwd, DType: suite.F32, Rows: 2, Cols: 3, NS: 1, GBs: 12, ISA: "aten", Kind: suite.External},
		{Impl: "c_loop", Op: suite.Read2Write1, DType: suite.F32, Rows: 2, Cols: 3, NS: 0.1, GBs: 120, ISA: "gcc", Kind: suite.Roofline},
	}
	var buf bytes.Buffer
	if err := encodeCSV(&buf, rs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "rowwise_avx2_f64,softmax_fwd,2,3,0.2500,64.00,avx2\n") {
		t.Errorf("CSV:\n%s", buf.String())
	}
	back, err := decodeCSV(&buf, "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		rs[i].Source = "x"
		if back[i] != rs[i] {
			t.Errorf("row %d: got %+v, want %+v", i, back[i], rs[i])
		}
	}
}

// TestProtocolFlags: the default is the brief protocol, -full the anchors'
// one, -quick the quick one, and not both.
func TestProtocolFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want suite.Protocol
	}{
		{nil, suite.Brief},
		{[]string{"-full"}, suite.Full},
		{[]string{"-quick"}, suite.Quick},
		{[]string{"-full", "-reps", "3"}, suite.Protocol{Reps: 3, RepTime: suite.Full.RepTime, Warmup: suite.Full.Warmup}},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if cfg.proto != c.want {
			t.Errorf("%q: protocol %+v, want %+v", c.args, cfg.proto, c.want)
		}
	}
	if _, err := parseFlags([]string{"-quick", "-full"}, io.Discard); err == nil {
		t.Error("-quick -full: no error")
	}
}

// TestFirstEstimate: before any measurement the estimate is the least time
// of every planned measurement under the protocol, times idleFactor; a
// call's time, once measured, raises the next shape's estimate where it
// exceeds a sample's length.
func TestFirstEstimate(t *testing.T) {
	im := suite.ReportImpls()[0]
	var plan []job
	for _, sh := range []suite.Shape{{Rows: 1, Cols: 1000}, {Rows: 1000, Cols: 1000}} {
		plan = append(plan, job{im, suite.Copy, suite.F32, sh})
	}
	p := newProgress(io.Discard, suite.Brief, plan)
	want := time.Duration(2 * suite.Brief.Least(0) * idleFactor * float64(time.Second)).Round(time.Second)
	if got := p.eta(); got != want {
		t.Errorf("first estimate %v, want %v", got, want)
	}
	// 1000 columns took 0.1 ms a call (1e-7 s an element): 1000x1000 will
	// take 0.1 s a call, more than a sample's 0.04 s.
	p.done(result{Impl: im.Name, Op: suite.Copy, DType: suite.F32, Rows: 1, Cols: 1000, NS: 100})
	// As if the first measurement took exactly its least time.
	p.start = time.Now().Add(-time.Duration(p.least * float64(time.Second)))
	want = time.Duration(suite.Brief.Least(0.1) * float64(time.Second)).Round(time.Second)
	if got := p.eta(); got != want {
		t.Errorf("estimate %v after a slow call, want %v", got, want)
	}
}
