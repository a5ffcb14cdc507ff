package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/rowwise/softmax/bench/internal/suite"
)

// drawChart draws one panel per op and type: GB/s per shape for each
// implementation (log scale), with the roofline, and a legend tile. The
// file's extension (.png or .svg) picks the format.
func drawChart(path string, t *table) error {
	type panel struct {
		op suite.Op
		dt suite.DType
	}
	var panels []panel
	for _, dt := range t.c.dtypes {
		for _, op := range t.kernelOps() {
			panels = append(panels, panel{op, dt})
		}
	}
	if len(panels) == 0 {
		return fmt.Errorf("nothing to draw")
	}
	names := t.chartImpls()
	styles := map[string]lineStyle{}
	for i, n := range names {
		styles[n] = styleFor(n, i)
	}

	cols := 2
	rows := (len(panels) + 1 + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for j := range grid {
		grid[j] = make([]*plot.Plot, cols)
	}
	legend := plot.NewLegend()
	legend.Left, legend.Top = true, true
	legend.TextStyle.Font.Size = vg.Points(10)
	inLegend := map[string]bool{}
	var entries []string
	thumbs := map[string][]plot.Thumbnailer{}
	roofName := "roofline (best copy or read2write1 GB/s; read too for the ops that only read)"

	for k, pn := range panels {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s, %s: GB/s per shape (log scale)", pn.op, pn.dt)
		p.Title.TextStyle.Font.Size = vg.Points(12)
		p.Y.Label.Text = "GB/s (bytes that must move)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks125{}
		var shapeNames []string
		for _, sh := range t.shapes {
			shapeNames = append(shapeNames, sh.String())
		}
		p.NominalX(shapeNames...)
		p.X.Tick.Label.Font.Size = vg.Points(9)
		p.Add(plotter.NewGrid())
		lo, hi := math.Inf(1), math.Inf(-1)
		add := func(name string, st lineStyle, xys plotter.XYs) error {
			if len(xys) == 0 {
				return nil
			}
			for _, v := range xys {
				lo, hi = math.Min(lo, v.Y), math.Max(hi, v.Y)
			}
			l, s, err := plotter.NewLinePoints(xys)
			if err != nil {
				return err
			}
			l.LineStyle = draw.LineStyle{Color: st.color, Width: st.width, Dashes: st.dashes}
			s.GlyphStyle = draw.GlyphStyle{Color: st.color, Radius: vg.Points(3), Shape: st.glyph}
			p.Add(l, s)
			if !inLegend[name] {
				inLegend[name] = true
				entries = append(entries, name)
				thumbs[name] = []plot.Thumbnailer{l, s}
			}
			return nil
		}
		// The roofline first, so that it lies under the data.
		var roof plotter.XYs
		for i, sh := range t.shapes {
			if r, ok := t.roof(pn.op, pn.dt, sh); ok && r.GBs > 0 {
				roof = append(roof, plotter.XY{X: float64(i), Y: r.GBs})
			}
		}
		if err := add(roofName, lineStyle{color: color.Black, width: vg.Points(3), dashes: []vg.Length{vg.Points(6), vg.Points(3)}, glyph: draw.BoxGlyph{}}, roof); err != nil {
			return err
		}
		for _, n := range names {
			var xys plotter.XYs
			for i, sh := range t.shapes {
				if r, ok := t.of(n, pn.op, pn.dt, sh); ok && r.GBs > 0 {
					xys = append(xys, plotter.XY{X: float64(i), Y: r.GBs})
				}
			}
			if err := add(n, styles[n], xys); err != nil {
				return err
			}
		}
		if lo <= hi {
			p.Y.Min, p.Y.Max = lo/1.3, hi*1.3
		}
		p.X.Min, p.X.Max = -0.4, float64(len(t.shapes))-0.6
		grid[k/cols][k%cols] = p
	}
	// Legend order: roofline, ours, the rest as in names.
	sort.SliceStable(entries, func(i, j int) bool {
		return legendRank(entries[i], roofName, names) < legendRank(entries[j], roofName, names)
	})

	w := vg.Length(cols) * 7 * vg.Inch
	h := vg.Length(rows) * 4 * vg.Inch
	var cw interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch {
	case strings.HasSuffix(path, ".svg"):
		cw = vgsvg.New(w, h)
	default:
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))}
	}
	dc := draw.New(cw)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 8, PadY: vg.Millimeter * 8,
		PadTop: vg.Millimeter * 4, PadBottom: vg.Millimeter * 4, PadLeft: vg.Millimeter * 4, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(grid, tiles, dc)
	for j := range grid {
		for i, p := range grid[j] {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
	// The legend tile: the heading, then the entries in two columns.
	k := len(panels)
	lc := tiles.At(dc, k%cols, k/cols)
	head := font.From(plot.DefaultFont, vg.Points(10))
	sty := draw.TextStyle{Color: color.Black, Font: head, Handler: plot.DefaultTextHandler}
	y := lc.Max.Y - vg.Points(12)
	for _, line := range wrap(t.heading(), 110) {
		lc.FillText(sty, vg.Point{X: lc.Min.X, Y: y}, line)
		y -= vg.Points(13)
	}
	half := (len(entries) + 1) / 2
	for c, part := range [][]string{entries[:half], entries[half:]} {
		l := legend
		for _, e := range part {
			l.Add(t.legendText(e, roofName), thumbs[e]...)
		}
		sub := lc
		sub.Max.Y = y - vg.Points(6)
		sub.Min.X = lc.Min.X + vg.Length(c)*(lc.Max.X-lc.Min.X)/2
		l.Draw(sub)
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cw.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// chartImpls lists the implementations to draw, in legend order: this
// package's tiers, the literal loops, the Go peers, the rest by name.
func (t *table) chartImpls() []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range t.rows {
		if r.Kind != suite.Roofline && !seen[r.Impl] {
			seen[r.Impl] = true
			names = append(names, r.Impl)
		}
	}
	rank := func(n string) int {
		for i, tier := range suite.Tiers {
			if n == "rowwise_"+tier {
				return i
			}
		}
		switch n {
		case "rowwise_composed":
			return 9
		case "rowwise_literal":
			return 10
		case "go_plain":
			return 11
		case "vek":
			return 12
		}
		return 20
	}
	sort.SliceStable(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

func legendRank(e, roof string, names []string) int {
	if e == roof {
		return -1
	}
	for i, n := range names {
		if n == e {
			return i
		}
	}
	return len(names)
}

func (t *table) kindOf(impl string) suite.Kind {
	for _, r := range t.rows {
		if r.Impl == impl {
			return r.Kind
		}
	}
	return suite.External
}

func (t *table) legendText(impl, roof string) string {
	switch {
	case impl == roof:
		return impl
	case impl == "rowwise_"+t.env.dispatched:
		return impl + " (this package, dispatched)"
	case strings.HasPrefix(impl, "rowwise_") && t.kindOf(impl) == suite.Ours:
		return impl + " (this package)"
	case impl == "rowwise_composed":
		return impl + " (this package's calls composed, no fused call)"
	case impl == "rowwise_literal":
		return impl + " (the seed's literal loops)"
	case impl == "go_plain":
		return impl + " (math.Exp, plain loops)"
	case impl == "vek":
		return impl + " (viterin/vek composed)"
	}
	return impl
}

type lineStyle struct {
	color  color.Color
	width  vg.Length
	dashes []vg.Length
	glyph  draw.GlyphDrawer
}

var (
	palette = []color.RGBA{
		{31, 119, 180, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}, {227, 119, 194, 255},
		{188, 189, 34, 255}, {127, 127, 127, 255}, {174, 199, 232, 255}, {152, 223, 138, 255},
		{197, 176, 213, 255}, {247, 182, 210, 255}, {219, 219, 141, 255}, {255, 187, 120, 255},
		{23, 190, 207, 255}, {196, 156, 148, 255},
	}
	glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
		draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}}
)

// styleFor gives this package's tiers bold warm colours, the baselines
// and peers dark ones, and the anchors thin lines from a palette.
func styleFor(name string, i int) lineStyle {
	switch name {
	case "rowwise_avx512":
		return lineStyle{color.RGBA{214, 39, 40, 255}, vg.Points(3), nil, draw.CircleGlyph{}}
	case "rowwise_avx2":
		return lineStyle{color.RGBA{255, 127, 14, 255}, vg.Points(2.5), nil, draw.SquareGlyph{}}
	case "rowwise_generic":
		return lineStyle{color.RGBA{160, 82, 45, 255}, vg.Points(2), nil, draw.TriangleGlyph{}}
	case "rowwise_composed":
		return lineStyle{color.RGBA{128, 0, 0, 255}, vg.Points(2), []vg.Length{vg.Points(5), vg.Points(2)}, draw.SquareGlyph{}}
	case "rowwise_literal":
		return lineStyle{color.Gray{110}, vg.Points(2), []vg.Length{vg.Points(2), vg.Points(2)}, draw.CrossGlyph{}}
	case "go_plain":
		return lineStyle{color.RGBA{0, 0, 139, 255}, vg.Points(2), []vg.Length{vg.Points(5), vg.Points(2)}, draw.PyramidGlyph{}}
	case "vek":
		return lineStyle{color.RGBA{0, 128, 128, 255}, vg.Points(2), []vg.Length{vg.Points(5), vg.Points(2)}, draw.RingGlyph{}}
	}
	return lineStyle{palette[i%len(palette)], vg.Points(1.2), nil, glyphs[i%len(glyphs)]}
}

// ticks125 labels 1, 2 and 5 times the powers of ten in range (a log axis
// over less than a decade still gets labels), with unlabelled minor ticks
// at the other integer multiples.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			label := ""
			if m == 1 || m == 2 || m == 5 {
				label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	return ts
}

// wrap splits s into lines of at most n bytes at "; " boundaries.
func wrap(s string, n int) []string {
	var lines []string
	cur := ""
	for _, part := range strings.Split(s, "; ") {
		switch {
		case cur == "":
			cur = part
		case len(cur)+2+len(part) <= n:
			cur += "; " + part
		default:
			lines = append(lines, cur+";")
			cur = part
		}
	}
	return append(lines, cur)
}
