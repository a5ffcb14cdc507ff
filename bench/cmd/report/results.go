package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rowwise/softmax/bench/internal/suite"
)

// result is one measurement, ours or read from an anchors CSV. Times are
// ns per element; NS uses the protocol's clock.
type result struct {
	Impl   string      `json:"impl"`
	Op     suite.Op    `json:"op"`
	DType  suite.DType `json:"dtype"`
	Rows   int         `json:"rows"`
	Cols   int         `json:"cols"`
	NS     float64     `json:"ns"`
	GBs    float64     `json:"gbs"`
	CPUNS  float64     `json:"cpu_ns,omitempty"`
	WallNS float64     `json:"wall_ns,omitempty"`
	MinNS  float64     `json:"min_ns,omitempty"`
	MaxNS  float64     `json:"max_ns,omitempty"`
	ISA    string      `json:"isa"`
	Kind   suite.Kind  `json:"kind"`
	Clock  string      `json:"clock,omitempty"`
	Source string      `json:"-"` // "" for this run, else the CSV it came from
}

func (r result) shape() suite.Shape { return suite.Shape{Rows: r.Rows, Cols: r.Cols} }

// csvImpl is the impl column: float64 rows carry a _f64 suffix, since the
// anchors' format has no dtype column (the anchors are float32).
func (r result) csvImpl() string {
	if r.DType == suite.F64 {
		return r.Impl + "_f64"
	}
	return r.Impl
}

var csvHeader = []string{"impl", "op", "rows", "cols", "ns_per_elem", "gb_per_s", "isa"}

// writeCSV writes rs in the anchors' results.csv format.
func writeCSV(path string, rs []result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := encodeCSV(f, rs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func encodeCSV(w io.Writer, rs []result) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, r := range rs {
		cw.Write([]string{r.csvImpl(), string(r.Op), strconv.Itoa(r.Rows), strconv.Itoa(r.Cols),
			fmt.Sprintf("%.4f", r.NS), fmt.Sprintf("%.2f", r.GBs), r.ISA})
	}
	cw.Flush()
	return cw.Error()
}

// readCSV reads an anchors results.csv (or results_detail.csv, or a CSV this
// command wrote). Rows of this command's own implementations keep their
// kind; copy and read2write1 rows are rooflines; the rest are external.
func readCSV(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := decodeCSV(f, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

func decodeCSV(r io.Reader, source string) ([]result, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("empty")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range csvHeader {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("no %q column (want %s)", h, strings.Join(csvHeader, ","))
		}
	}
	kinds := map[string]suite.Kind{}
	for _, im := range suite.ReportImpls() {
		kinds[im.Name] = im.Kind
	}
	var rs []result
	for n, rec := range recs[1:] {
		if len(rec) < len(csvHeader) {
			return nil, fmt.Errorf("line %d: %d fields", n+2, len(rec))
		}
		get := func(h string) string { return strings.TrimSpace(rec[col[h]]) }
		res := result{Impl: get("impl"), Op: suite.Op(get("op")), DType: suite.F32, ISA: get("isa"), Source: source}
		var errs [4]error
		res.Rows, errs[0] = strconv.Atoi(get("rows"))
		res.Cols, errs[1] = strconv.Atoi(get("cols"))
		res.NS, errs[2] = strconv.ParseFloat(get("ns_per_elem"), 64)
		res.GBs, errs[3] = strconv.ParseFloat(get("gb_per_s"), 64)
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("line %d: %v", n+2, e)
			}
		}
		if base, ok := strings.CutSuffix(res.Impl, "_f64"); ok {
			res.Impl, res.DType = base, suite.F64
		}
		switch k, ours := kinds[res.Impl]; {
		case ours:
			res.Kind = k
		case res.Op.Roofline():
			res.Kind = suite.Roofline
		default:
			res.Kind = suite.External
		}
		rs = append(rs, res)
	}
	return rs, nil
}

type key struct {
	impl  string
	op    suite.Op
	dt    suite.DType
	shape suite.Shape
}

func (r result) key() key { return key{r.Impl, r.Op, r.DType, r.shape()} }

// merge appends to measured the rows of folded that fit the run's shapes,
// ops and types and were not measured here.
func merge(measured, folded []result, c *config) []result {
	all := append([]result(nil), measured...)
	seen := map[key]bool{}
	for _, r := range measured {
		seen[r.key()] = true
	}
	ops := map[suite.Op]bool{}
	for _, op := range c.allOps() {
		ops[op] = true
	}
	for _, r := range folded {
		if seen[r.key()] || !ops[r.Op] || !contains(c.shapes, r.shape()) || !contains(c.dtypes, r.DType) {
			continue
		}
		seen[r.key()] = true
		all = append(all, r)
	}
	return all
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
