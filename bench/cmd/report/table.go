package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rowwise/softmax/bench/internal/suite"
)

// environment describes the run for the table's heading.
type environment struct {
	cpu, goVersion string
	tiers          map[string]bool
	dispatched     string
	proto          suite.Protocol
	pinned         int
	when           time.Time
	from           string // the CSV the results were read from (-from)
}

func (e environment) tierList() string {
	var ts []string
	for _, t := range suite.Tiers {
		if e.tiers[t] {
			ts = append(ts, t)
		}
	}
	return strings.Join(ts, ", ")
}

// table holds the merged results and answers the comparisons.
type table struct {
	rows   []result
	by     map[key]result
	c      *config
	env    environment
	shapes []suite.Shape
}

func newTable(rows []result, c *config, env environment) *table {
	t := &table{rows: rows, by: map[key]result{}, c: c, env: env, shapes: c.shapes}
	for _, r := range rows {
		t.by[r.key()] = r
	}
	return t
}

// roof returns the memory roofline of op at shape sh and type dt: the
// roofline measurement (copy or read2write1, from this run or the anchors)
// with the most GB/s. Forward ops are timed against it as they are,
// backward ops too: GB/s counts the bytes each must move, so a copy's
// bandwidth bounds a backward pass as well (Go's read2write1 loop is scalar
// and slower than memory; the anchors' c_loop is not). Ops that only read
// (logsumexp, xent_loss) take read's GB/s as well, which bounds no op that
// writes.
func (t *table) roof(op suite.Op, dt suite.DType, sh suite.Shape) (result, bool) {
	var best result
	ok := false
	reads := op.RooflineOp() == suite.Read
	for _, r := range t.rows {
		if r.Kind == suite.Roofline && (reads || r.Op != suite.Read) && r.DType == dt && r.shape() == sh && (!ok || r.GBs > best.GBs) {
			best, ok = r, true
		}
	}
	return best, ok
}

// of returns the result of impl for op at sh and dt.
func (t *table) of(impl string, op suite.Op, dt suite.DType, sh suite.Shape) (result, bool) {
	r, ok := t.by[key{impl, op, dt, sh}]
	return r, ok
}

// ratio formats base/r: how many times faster r is than base.
func (t *table) ratio(base string, r result) string {
	b, ok := t.of(base, r.Op, r.DType, r.shape())
	if !ok || r.NS <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", b.NS/r.NS)
}

func (t *table) xroof(r result) string {
	rf, ok := t.roof(r.Op, r.DType, r.shape())
	if !ok || r.GBs <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", rf.GBs/r.GBs)
}

// kernelOps are the ops asked for, rooflines left out.
func (t *table) kernelOps() []suite.Op {
	var ops []suite.Op
	for _, op := range t.c.allOps() {
		if !op.Roofline() {
			ops = append(ops, op)
		}
	}
	return ops
}

// grid is a table of cells; a nil row separates sections.
type grid struct {
	head  []string
	rows  [][]string
	notes []string
	title string
}

// long is every measurement, grouped by type, shape and op, fastest first.
func (t *table) long() grid {
	g := grid{
		title: "All measurements",
		head:  []string{"shape", "op", "dtype", "impl", "isa", "ns/elem", "GB/s", "x roof", "vs literal", "vs plain Go", "spread", "wall ns/elem"},
	}
	for _, dt := range t.c.dtypes {
		for _, sh := range t.shapes {
			for _, op := range t.c.allOps() {
				var sel []result
				for _, r := range t.rows {
					if r.Op == op && r.DType == dt && r.shape() == sh {
						sel = append(sel, r)
					}
				}
				sort.SliceStable(sel, func(i, j int) bool { return sel[i].NS < sel[j].NS })
				for _, r := range sel {
					spread, wall := "-", "-"
					if r.MaxNS > 0 && r.NS > 0 {
						spread = fmt.Sprintf("%.0f%%", 100*(r.MaxNS-r.MinNS)/r.NS)
					}
					if r.WallNS > 0 {
						wall = fmt.Sprintf("%.4f", r.WallNS)
					}
					g.rows = append(g.rows, []string{sh.String(), string(op), string(dt), t.label(r), r.ISA,
						fmt.Sprintf("%.4f", r.NS), fmt.Sprintf("%.1f", r.GBs), t.xroof(r),
						t.ratio("rowwise_literal", r), t.ratio("go_plain", r), spread, wall})
				}
				if len(sel) > 0 {
					g.rows = append(g.rows, nil)
				}
			}
		}
	}
	g.notes = []string{
		"ns/elem: median time per element (" + t.env.proto.String() + "); GB/s: the bytes that must move (8 per f32 element forward and for exp, 12 backward, 4 for xent_loss and logsumexp, which only read; twice that for f64; the causal ops count the whole matrix) per second.",
		"x roof: the roofline's GB/s over the row's: how far from memory speed (1.00). The roofline is the best GB/s of any copy or read2write1 of the same shape and type in this table (and read, for the ops that only read).",
		"vs literal, vs plain Go: how many times faster than the seed's literal loops (rowwise_literal) and than plain Go (go_plain) on the same op and shape.",
		"spread: (max-min)/median over the samples; wall: wall-clock median. Rows without them come from the anchors' CSV.",
	}
	return g
}

// label marks the tier the package picks by itself.
func (t *table) label(r result) string {
	if r.Kind == suite.Ours && r.Source == "" && r.Impl == "rowwise_"+t.env.dispatched {
		return r.Impl + " *"
	}
	return r.Impl
}

// summary is one line per op and shape: the package's tiers, its
// dispatched tier against the rooflines, the baselines, and the fastest
// other implementation measured.
func (t *table) summary() grid {
	g := grid{title: "Summary"}
	var tiers []string
	for _, tier := range suite.Tiers {
		if t.env.tiers[tier] {
			tiers = append(tiers, tier)
		}
	}
	g.head = []string{"op", "dtype", "shape"}
	for _, tier := range tiers {
		h := tier
		if tier == t.env.dispatched {
			h += " *"
		}
		g.head = append(g.head, h)
	}
	g.head = append(g.head, "GB/s *", "x roof *", "vs literal *", "vs plain Go *", "vs vek *", "fastest other", "* vs it")
	ours := "rowwise_" + t.env.dispatched
	for _, dt := range t.c.dtypes {
		for _, op := range t.kernelOps() {
			any := false
			for _, sh := range t.shapes {
				if !op.Fits(sh) {
					continue
				}
				row := []string{string(op), string(dt), sh.String()}
				for _, tier := range tiers {
					row = append(row, t.ns("rowwise_"+tier, op, dt, sh))
				}
				r, ok := t.of(ours, op, dt, sh)
				if !ok {
					row = append(row, "-", "-", "-", "-", "-")
				} else {
					row = append(row, fmt.Sprintf("%.1f", r.GBs), t.xroof(r), t.ratio("rowwise_literal", r),
						t.ratio("go_plain", r), t.ratio("vek", r))
				}
				other, found := t.fastestOther(op, dt, sh)
				if !found {
					row = append(row, "-", "-")
				} else {
					row = append(row, fmt.Sprintf("%s %.4f", other.Impl, other.NS), "-")
					if ok {
						row[len(row)-1] = fmt.Sprintf("%.2fx", other.NS/r.NS)
					}
				}
				g.rows = append(g.rows, row)
				any = true
			}
			if any {
				g.rows = append(g.rows, nil)
			}
		}
	}
	g.notes = []string{
		"Tier columns: ns per element (median); * marks " + ours + ", the tier the package picks on this CPU, which the other columns describe.",
		"fastest other: the fastest implementation that is neither this package nor a roofline (Go peers, and the anchors when folded in), with its ns/elem;",
		"* vs it: its time over ours (above 1: we are faster; below 1: we lose).",
	}
	return g
}

// fusedBound is the most time each fused op may take over its base's on
// the same shape (issues 18 and 19).
var fusedBound = map[suite.Op]float64{
	suite.Xent: 1.15, suite.XentLoss: 0.8, suite.LogSumExp: 0.75,
	suite.SoftmaxScaled: 1.05, suite.SoftmaxCausal: 0.6,
	suite.SoftmaxBwdScaled: 1.05, suite.SoftmaxCausalBwd: 0.6,
}

// fused is one line per fused op, type and shape: its time over its
// base's (softmax_fwd or softmax_bwd) on each tier, and over the composed
// form's, from the same run.
func (t *table) fused() grid {
	g := grid{title: "Fused ops: time over the base op's (lower is faster)"}
	var tiers []string
	g.head = []string{"op", "dtype", "shape", "base", "bound"}
	for _, tier := range suite.Tiers {
		if t.env.tiers[tier] {
			tiers = append(tiers, tier)
			h := tier
			if tier == t.env.dispatched {
				h += " *"
			}
			g.head = append(g.head, h)
		}
	}
	g.head = append(g.head, "over composed")
	for _, dt := range t.c.dtypes {
		for _, op := range t.kernelOps() {
			base := op.Base()
			if base == "" {
				continue
			}
			any := false
			for _, sh := range t.shapes {
				if !op.Fits(sh) {
					continue
				}
				row := []string{string(op), string(dt), sh.String(), string(base), fmt.Sprintf("<= %.2f", fusedBound[op])}
				for _, tier := range tiers {
					row = append(row, t.over("rowwise_"+tier, op, "rowwise_"+tier, base, dt, sh))
				}
				over := "-"
				if c, ok := t.of("rowwise_composed", op, dt, sh); ok && contains(suite.Tiers, c.ISA) {
					over = t.over("rowwise_"+c.ISA, op, c.Impl, op, dt, sh) + " (" + c.ISA + ")"
				}
				g.rows = append(g.rows, append(row, over))
				any = true
			}
			if any {
				g.rows = append(g.rows, nil)
			}
		}
	}
	g.notes = []string{
		"Tier columns: the fused op's time over its base op's (Softmax forward or backward) on the same tier and shape; bound: the most issues 18 and 19 allow.",
		"over composed: the fused op's time over rowwise_composed's (the form a user writes without the fused call), on the tier that one ran on; issue 19 asks at most 0.6 for softmax_scaled.",
	}
	return g
}

// over formats the time of impl's op over the time of other's op2.
func (t *table) over(impl string, op suite.Op, other string, op2 suite.Op, dt suite.DType, sh suite.Shape) string {
	a, ok1 := t.of(impl, op, dt, sh)
	b, ok2 := t.of(other, op2, dt, sh)
	if !ok1 || !ok2 || b.NS <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a.NS/b.NS)
}

func (t *table) ns(impl string, op suite.Op, dt suite.DType, sh suite.Shape) string {
	if r, ok := t.of(impl, op, dt, sh); ok {
		return fmt.Sprintf("%.4f", r.NS)
	}
	return "-"
}

func (t *table) fastestOther(op suite.Op, dt suite.DType, sh suite.Shape) (result, bool) {
	var best result
	ok := false
	for _, r := range t.rows {
		if (r.Kind == suite.Peer || r.Kind == suite.External) && r.Op == op && r.DType == dt && r.shape() == sh &&
			(!ok || r.NS < best.NS) {
			best, ok = r, true
		}
	}
	return best, ok
}

func (t *table) heading() string {
	if t.env.from != "" {
		return fmt.Sprintf("rowwise/softmax benchmark report: measurements read from %s; tiers %s (dispatched here: %s)",
			filepath.Base(t.env.from), t.env.tierList(), t.env.dispatched)
	}
	return fmt.Sprintf("rowwise/softmax benchmark report: %s; %s; tiers %s (dispatched: %s); %s; pinned to CPU %s; %s",
		t.env.cpu, t.env.goVersion, t.env.tierList(), t.env.dispatched, t.env.proto, pinText(t.env.pinned),
		t.env.when.Format("2006-01-02 15:04 UTC"))
}

func (t *table) print(w io.Writer, md bool) {
	fmt.Fprintln(w, t.heading())
	for _, g := range []grid{t.long(), t.summary(), t.fused()} {
		if len(g.rows) == 0 {
			continue
		}
		fmt.Fprintln(w)
		if md {
			g.markdown(w)
		} else {
			g.text(w)
		}
	}
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	return c >= '0' && c <= '9' || (c == '-' || c == '+') && len(s) > 1 && s[1] >= '0' && s[1] <= '9'
}

func (g grid) text(w io.Writer) {
	fmt.Fprintf(w, "%s\n\n", g.title)
	width := make([]int, len(g.head))
	for _, row := range append([][]string{g.head}, g.rows...) {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line := func(row []string) {
		cells := make([]string, len(row))
		for i, c := range row {
			if numeric(c) {
				cells[i] = fmt.Sprintf("%*s", width[i], c)
			} else {
				cells[i] = fmt.Sprintf("%-*s", width[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(strings.Join(cells, " | "), " "))
	}
	line(g.head)
	fmt.Fprintln(w, strings.Join(sep, "-+-"))
	for i, row := range g.rows {
		if row == nil {
			if i != len(g.rows)-1 {
				fmt.Fprintln(w, strings.Join(sep, "-+-"))
			}
			continue
		}
		line(row)
	}
	for _, n := range g.notes {
		fmt.Fprintln(w, n)
	}
}

// markdown prints g as a GitHub table; "*" is escaped so that it is not
// read as emphasis.
func (g grid) markdown(w io.Writer) {
	esc := func(row []string) string {
		return strings.ReplaceAll(strings.Join(row, " | "), "*", "\\*")
	}
	fmt.Fprintf(w, "%s\n\n", g.title)
	fmt.Fprintf(w, "| %s |\n", esc(g.head))
	align := make([]string, len(g.head))
	for i := range align {
		align[i] = "---"
		for _, row := range g.rows {
			if row != nil && numeric(row[i]) {
				align[i] = "---:"
				break
			}
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, row := range g.rows {
		if row != nil {
			fmt.Fprintf(w, "| %s |\n", esc(row))
		}
	}
	fmt.Fprintln(w)
	for _, n := range g.notes {
		fmt.Fprintln(w, "- "+strings.ReplaceAll(n, "*", "\\*"))
	}
}
