// Command table writes asm/table_amd64.go: the dispatch table of the
// generated assembly, read back from the .s files the other generators
// wrote. Every exported function Op<F32|F64><ISA> becomes the Op entry of
// its ISA's tier for that element type, and a tier's Features are the
// union of its functions' "// Requires:" lines, so the kernels, their CPU
// features and the code that dispatches to them cannot drift apart
// (klauspost/reedsolomon's genSwitch does the same for its kernels).
//
// It runs last of the //go:generate lines in asm/ (asm/gen_table.go).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// isas are the instruction sets the kernels are written for, lowest first:
// the function name's suffix and the tier's name (SOFTMAX_ISA).
var isas = []struct{ suffix, name string }{
	{"AVX2", "avx2"},
	{"AVX512", "avx512"},
}

// features maps avo's names in "// Requires:" lines to cpuid's FeatureID
// constants. avo lists PREFETCHT0 as MMX+ (AMD's extended MMX); Intel has
// it from SSE and cpuid reports MMXEXT only on AMD, so it is checked as SSE.
var features = map[string]string{
	"AVX":      "AVX",
	"AVX2":     "AVX2",
	"AVX512F":  "AVX512F",
	"AVX512DQ": "AVX512DQ",
	"AVX512BW": "AVX512BW",
	"AVX512VL": "AVX512VL",
	"BMI":      "BMI1",
	"BMI2":     "BMI2",
	"F16C":     "F16C",
	"FMA3":     "FMA3",
	"MMX+":     "SSE",
	"POPCNT":   "POPCNT",
	"SSE":      "SSE",
	"SSE2":     "SSE2",
	"SSE3":     "SSE3",
	"SSSE3":    "SSSE3",
	"SSE4.1":   "SSE4",
	"SSE4.2":   "SSE42",
}

// loops documents each operation by its reference loop, over one row of
// cols elements (Exp: over the whole slice); fallback/ has them in Go.
var loops = map[string][]string{
	"Exp": {"for i: dst[i] = exp(src[i])"},
	"Softmax": {"m = max_k src[k]; z = sum_k exp(src[k]-m)",
		"for j: dst[j] = exp(src[j]-m) / z"},
	"SoftmaxScaled": {"m = max_k src[k]; z = sum_k exp(scale*(src[k]-m))",
		"for j: dst[j] = exp(scale*(src[j]-m)) / z"},
	"SoftmaxCausal": {"src a stack of blocks of q rows; row i of a block sees j <= cols-q+i:",
		"SoftmaxScaled of the columns it sees (its own rounding), +0 over the rest"},
	"LogSoftmax": {"m = max_k src[k]; z = sum_k exp(src[k]-m)",
		"for j: dst[j] = src[j] - m - log(z)"},
	"SoftmaxBackward": {"e = sum_k p[k]*dp[k]",
		"for j: ds[j] = p[j] * (dp[j] - e)"},
	"SoftmaxBackwardAdd": {"e = sum_k p[k]*dp[k]",
		"for j: ds[j] += p[j] * (dp[j] - e)"},
	"SoftmaxBackwardStream": {"SoftmaxBackward with non-temporal stores of ds: the same bits;",
		"rows of at least one vector, ds overlapping neither input"},
	"SoftmaxBackwardScaled": {"e = sum_k p[k]*dp[k]",
		"for j: ds[j] = p[j] * (scale*dp[j] - scale*e)"},
	"SoftmaxBackwardScaledStream": {"SoftmaxBackwardScaled with non-temporal stores of ds: the same bits;",
		"rows of at least one vector, ds overlapping neither input"},
	"SoftmaxCausalBackward": {"row i of a block of q rows sees n = cols-q+1+i columns; e = sum_{k<n} p[k]*dp[k]",
		"for j < n: ds[j] = p[j] * (scale*dp[j] - scale*e); for j >= n: ds[j] = +0 (p, dp not read)"},
	"LogSumExp": {"m = max_k src[k]; z = sum_k exp(src[k]-m)",
		"dst[r] = m + log(z)  (one value a row)"},
	"CrossEntropy": {"t = labels[r] (< 0: loss 0, ds row 0); m = max_k s[k]",
		"e_t = exp(s[t]-m); o = sum_{k != t} exp(s[k]-m); z = e_t + o",
		"loss[r] = log1p(o/e_t) if e_t >= 1/2 else log(z) - (s[t]-m)",
		"for j != t: ds[j] = g*exp(s[j]-m)/z; ds[t] = -g*o/z  (unless ds is empty)"},
	"LogSoftmaxBackward": {"s = sum_k dy[k] over the k with y[k] > -Inf",
		"for j: ds[j] = dy[j] - exp(y[j])*s  (0 where y[j] = -Inf)"},
}

var kernelName = regexp.MustCompile(`^([A-Z][A-Za-z0-9]*?)(F32|F64)(AVX2|AVX512)$`)

// fn is one generated function.
type fn struct {
	name, op, dtype, isa string
	params               string // "dst []float32, src []float32, cols int"
	requires             []string
	file                 string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("table: ")
	dir := flag.String("dir", "../asm", "the directory of the generated *_amd64.s files")
	out := flag.String("out", "../asm/table_amd64.go", "the Go file to write")
	pkg := flag.String("pkg", "asm", "its package")
	flag.Parse()

	files, err := filepath.Glob(filepath.Join(*dir, "*_amd64.s"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no *_amd64.s in %s (%v)", *dir, err)
	}
	sort.Strings(files)
	var fns []fn
	for _, f := range files {
		fs, err := read(f)
		if err != nil {
			log.Fatal(err)
		}
		fns = append(fns, fs...)
	}
	src, err := write(*pkg, strings.Join(os.Args[1:], " "), fns)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// read returns the exported functions of one .s file, from avo's comments
// above each TEXT line: "// func Name(params)" and "// Requires: A, B". A
// kernel that tail-jumps to a helper of the file ("JMP ·helper+0(SB)")
// requires what the helper does too.
func read(file string) ([]fn, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var fns []fn
	var cur *fn
	requires := map[string][]string{} // every function's, helpers' too
	jumps := map[string][]string{}    // the functions each jumps to
	in := ""                          // the function whose body this is
	for i, line := range strings.Split(string(b), "\n") {
		if m := tailJump.FindStringSubmatch(line); m != nil && in != "" {
			jumps[in] = append(jumps[in], m[1])
			continue
		}
		if decl, ok := strings.CutPrefix(line, "// func "); ok {
			name, params, ok := strings.Cut(decl, "(")
			if !ok || !strings.HasSuffix(params, ")") {
				return nil, fmt.Errorf("%s:%d: cannot read %q", file, i+1, line)
			}
			cur = &fn{name: name, params: strings.TrimSuffix(params, ")"), file: filepath.Base(file)}
			continue
		}
		if req, ok := strings.CutPrefix(line, "// Requires: "); ok && cur != nil {
			cur.requires = strings.Split(req, ", ")
			continue
		}
		if strings.HasPrefix(line, "TEXT ") && cur != nil {
			if !strings.HasPrefix(line, "TEXT ·"+cur.name+"(SB)") {
				return nil, fmt.Errorf("%s:%d: TEXT of %s under the comment of %s", file, i+1, line, cur.name)
			}
			f := *cur
			cur = nil
			in = f.name
			requires[f.name] = f.requires
			if f.name[0] < 'A' || f.name[0] > 'Z' {
				continue // unexported: a helper, not a kernel
			}
			m := kernelName.FindStringSubmatch(f.name)
			if m == nil {
				return nil, fmt.Errorf("%s:%d: exported %s is not named Op<F32|F64><AVX2|AVX512>", file, i+1, f.name)
			}
			f.op, f.dtype, f.isa = m[1], m[2], m[3]
			fns = append(fns, f)
		}
	}
	for i := range fns {
		set := map[string]bool{}
		for _, r := range fns[i].requires {
			set[r] = true
		}
		for _, h := range jumps[fns[i].name] {
			hr, ok := requires[h]
			if !ok {
				return nil, fmt.Errorf("%s: %s jumps to %s, not in the file", file, fns[i].name, h)
			}
			for _, r := range hr {
				set[r] = true
			}
		}
		fns[i].requires = fns[i].requires[:0:0]
		for r := range set {
			fns[i].requires = append(fns[i].requires, r)
		}
		sort.Strings(fns[i].requires)
	}
	return fns, nil
}

// tailJump matches a jump to another function: avo's "JMP ·name+0(SB)".
var tailJump = regexp.MustCompile(`^\s+JMP\s+·(\w+)\+0\(SB\)$`)

// generic turns the parameters of a float32 or float64 function into those
// of the Kernels[F] field, with names of the same type grouped:
// "dst []float32, src []float32, cols int" -> "dst, src []F, cols int".
func generic(params, goType string) string {
	var names, types []string
	for _, p := range strings.Split(params, ", ") {
		n, t, _ := strings.Cut(p, " ")
		names, types = append(names, n), append(types, strings.ReplaceAll(t, goType, "F"))
	}
	var out []string
	for i := range names {
		if i+1 < len(names) && types[i+1] == types[i] {
			out = append(out, names[i])
		} else {
			out = append(out, names[i]+" "+types[i])
		}
	}
	return strings.Join(out, ", ")
}

// goTypes are the Go element types of the names' F32 and F64.
var goTypes = map[string]string{"F32": "float32", "F64": "float64"}

// write returns the source of the table of fns: the Tier and Kernels
// types, then one Tier value per instruction set.
func write(pkg, args string, fns []fn) ([]byte, error) {
	k, err := index(fns)
	if err != nil {
		return nil, err
	}
	var w source
	w.header(pkg, args)
	w.kernelsType(k)
	w.p("")
	w.p("// Tiers lists the tiers, lowest first.")
	var names []string
	for _, isa := range isas {
		names = append(names, "&"+isa.suffix)
	}
	w.p("var Tiers = []*Tier{%s}", strings.Join(names, ", "))
	for _, isa := range isas {
		ids, err := tierFeatures(isa.suffix, fns)
		if err != nil {
			return nil, err
		}
		w.tier(isa.suffix, isa.name, ids, k)
	}
	src, err := format.Source(w.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the table: %v\n%s", err, w.Bytes())
	}
	return src, nil
}

// kernels are the functions by name and the operations, sorted, with
// their signature over F.
type kernels struct {
	sig    map[string]string
	byName map[string]fn
	ops    []string
}

// index checks that each operation has one signature over F and each
// function one definition, and indexes them.
func index(fns []fn) (*kernels, error) {
	k := &kernels{sig: map[string]string{}, byName: map[string]fn{}}
	for _, f := range fns {
		s := generic(f.params, goTypes[f.dtype])
		if old, ok := k.sig[f.op]; ok && old != s {
			return nil, fmt.Errorf("%s: func(%s), but another %s is func(%s)", f.name, s, f.op, old)
		}
		k.sig[f.op] = s
		if _, dup := k.byName[f.name]; dup {
			return nil, fmt.Errorf("%s defined twice", f.name)
		}
		k.byName[f.name] = f
	}
	k.ops = make([]string, 0, len(k.sig))
	for op := range k.sig {
		k.ops = append(k.ops, op)
	}
	sort.Strings(k.ops)
	return k, nil
}

// tierFeatures lists, as cpuid constants, the features the functions of
// the instruction set suffix require.
func tierFeatures(suffix string, fns []fn) ([]string, error) {
	feats := map[string]bool{}
	for _, f := range fns {
		if f.isa != suffix {
			continue
		}
		for _, r := range f.requires {
			id, ok := features[r]
			if !ok {
				return nil, fmt.Errorf("%s requires %s, which gen/table cannot map to a cpuid feature", f.name, r)
			}
			feats[id] = true
		}
	}
	if len(feats) == 0 {
		return nil, fmt.Errorf("no function for %s", suffix)
	}
	var ids []string
	for id := range feats {
		ids = append(ids, "cpuid."+id)
	}
	sort.Strings(ids)
	return ids, nil
}

// source is the table's source as it is written, before gofmt.
type source struct{ bytes.Buffer }

// p writes a line.
func (w *source) p(format string, a ...any) { fmt.Fprintf(&w.Buffer, format+"\n", a...) }

// header writes the file's header and the Tier type.
func (w *source) header(pkg, args string) {
	p := w.p
	p("// Code generated by command: go run ./table %s. DO NOT EDIT.", args)
	p("")
	p("//go:build amd64 && !purego")
	p("")
	p("package %s", pkg)
	p("")
	p(`import "github.com/klauspost/cpuid/v2"`)
	p("")
	p("// Tier is the kernels written for one instruction set.")
	p("type Tier struct {")
	p("\t// Name is the tier's name, as SOFTMAX_ISA spells it.")
	p("\tName string")
	p("\t// Features are what its kernels' \"// Requires:\" lines name: a CPU")
	p("\t// that supports them all runs every kernel of the tier. (avo's MMX+,")
	p("\t// for PREFETCHT0, is checked as SSE: cpuid reports MMXEXT on AMD only.)")
	p("\tFeatures []cpuid.FeatureID")
	p("\tF32      Kernels[float32]")
	p("\tF64      Kernels[float64]")
	p("}")
}

// kernelsType writes the Kernels type: a field per operation, with the
// loop it runs.
func (w *source) kernelsType(k *kernels) {
	p := w.p
	p("")
	p("// Kernels are one tier's functions for one element type, by operation;")
	p("// nil where the tier has no kernel for it.")
	p("type Kernels[F float32 | float64] struct {")
	for i, op := range k.ops {
		if i > 0 {
			p("")
		}
		if l := loops[op]; l != nil {
			over := "per row"
			if op == "Exp" {
				over = "over the slice"
			}
			p("\t// %s, %s:", op, over)
			p("\t//")
			for _, line := range l {
				p("\t//\t%s", line)
			}
		}
		p("\t%s func(%s)", op, k.sig[op])
	}
	p("}")
}

// tier writes the Tier value of the instruction set suffix (SOFTMAX_ISA
// name), which requires the features ids.
func (w *source) tier(suffix, name string, ids []string, k *kernels) {
	p := w.p
	p("")
	p("// %s is the tier of the *%s functions.", suffix, suffix)
	p("var %s = Tier{", suffix)
	p("\tName: %q,", name)
	p("\tFeatures: []cpuid.FeatureID{%s},", strings.Join(ids, ", "))
	for _, dt := range []string{"F32", "F64"} {
		p("\t%s: Kernels[%s]{", dt, goTypes[dt])
		for _, op := range k.ops {
			fname := op + dt + suffix
			if f, ok := k.byName[fname]; ok {
				p("\t\t%s: %s, // %s; requires %s", op, fname, f.file, strings.Join(f.requires, ", "))
			}
		}
		p("\t},")
	}
	p("}")
}
