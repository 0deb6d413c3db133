package ui

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"plateau/protocol"
)

// Point is one (x, y) of a series.
type Point struct{ X, Y float64 }

// pointJSON is a Point as a saved run holds it: a number that is missing
// (a diverged step's loss) is null, which JSON can write, and reads back
// as NaN.
type pointJSON struct{ X, Y protocol.Number }

// MarshalJSON writes {"X":x,"Y":y}, null for NaN and infinities.
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal(pointJSON{protocol.Number(p.X), protocol.Number(p.Y)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Point) UnmarshalJSON(b []byte) error {
	var q pointJSON
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	p.X, p.Y = float64(q.X), float64(q.Y)
	return nil
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Color  string
	Dashed bool
	Points []Point
}

// LineChart describes an SVG line chart with axes, ticks and a legend.
type LineChart struct {
	Title, XLabel string
	Width, Height int
	// LogY plots y on a log scale (losses, learning rates); values ≤ 0
	// are left out.
	LogY bool
	// LogX plots x on a log scale (the LR range test).
	LogX bool
	// WholeX ticks x at whole numbers only once it spans two or more
	// (epochs: a chart of epochs 1 to 4 is not ticked at 1.5, the first
	// epoch's steps are ticked in tenths).
	WholeX bool
	// YMin and YMax fix the y range when YMax > YMin (accuracy: 0 to 1).
	YMin, YMax float64
	Series     []Series
	// Marks are vertical lines at an x, Bands horizontal shades between
	// two y values: the doctor's evidence drawn on the curves.
	Marks []Mark
	Bands []Band
}

// Mark is a labelled vertical line of a chart.
type Mark struct {
	X     float64
	Label string
	Color string
}

// Band is a labelled horizontal shade of a chart, from Y0 to Y1.
type Band struct {
	Y0, Y1 float64
	Label  string
	Color  string
}

// Palette colours the series of a chart in order.
var Palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"}

// SVG renders the chart. A chart without points says so instead of drawing
// empty axes.
func (c LineChart) SVG() string {
	w, h := float64(max(c.Width, 200)), float64(max(c.Height, 120))
	const left, right, top, bottom = 52.0, 12.0, 24.0, 34.0
	// The legend goes under the x axis, in rows as wide as the chart, so
	// it never hides the lines (a loss curve starts at the top).
	type entry struct {
		x, y float64
		i    int
	}
	var legend []entry
	lx, ly := left, h+8
	for i, s := range c.Series {
		if s.Name == "" {
			continue
		}
		width := 26 + 6.5*float64(len([]rune(s.Name)))
		if lx > left && lx+width > w-right {
			lx, ly = left, ly+14
		}
		legend = append(legend, entry{lx, ly, i})
		lx += width
	}
	total := h
	if _, _, _, _, ok := c.bounds(); ok && len(legend) > 0 {
		total = ly + 8
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, total, w, total, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<text x="%g" y="15" class="chart-title">%s</text>`, left, html.EscapeString(c.Title))
	x0, x1, y0, y1, ok := c.bounds()
	if !ok {
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="chart-empty">no data yet</text></svg>`, w/2-30, h/2)
		return b.String()
	}
	ty := func(y float64) float64 {
		if c.LogY {
			y, y0, y1 := math.Log10(y), math.Log10(y0), math.Log10(y1)
			return top + (h-top-bottom)*(1-(y-y0)/(y1-y0))
		}
		return top + (h-top-bottom)*(1-(y-y0)/(y1-y0))
	}
	tx := func(x float64) float64 {
		if c.LogX {
			x, x0, x1 := math.Log10(x), math.Log10(x0), math.Log10(x1)
			return left + (w-left-right)*(x-x0)/(x1-x0)
		}
		return left + (w-left-right)*(x-x0)/(x1-x0)
	}
	// Axes and ticks.
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" class="axis"/>`, left, top, left, h-bottom)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" class="axis"/>`, left, h-bottom, w-right, h-bottom)
	for _, v := range c.yTicks(y0, y1) {
		y := ty(v)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" class="grid"/>`, left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" class="tick" text-anchor="end">%s</text>`, left-4, y+4, tickLabel(v))
	}
	xTicks := c.xTicks(x0, x1)
	for _, v := range xTicks {
		x := tx(v)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="tick" text-anchor="middle">%s</text>`, x, h-bottom+14, tickLabel(v))
	}
	if c.XLabel != "" {
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="axis-label" text-anchor="middle">%s</text>`, left+(w-left-right)/2, h-4, html.EscapeString(c.XLabel))
	}
	// The doctor's evidence, under the lines.
	for _, band := range c.Bands {
		if !finite(band.Y0) || !finite(band.Y1) || (c.LogY && (band.Y0 <= 0 || band.Y1 <= 0)) {
			continue
		}
		ya, yb := ty(clamp(band.Y1, y0, y1)), ty(clamp(band.Y0, y0, y1))
		fmt.Fprintf(&b, `<rect class="evidence band" x="%g" y="%.1f" width="%g" height="%.1f" fill="%s" opacity="0.18"><title>%s</title></rect>`,
			left, ya, w-left-right, math.Max(1, yb-ya), colorOr(band.Color, "#f59e0b"), html.EscapeString(band.Label))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" class="evidence-label" text-anchor="end">%s</text>`, w-right-4, ya-3, html.EscapeString(band.Label))
	}
	for _, m := range c.Marks {
		if !finite(m.X) || m.X < x0 || m.X > x1 || (c.LogX && m.X <= 0) {
			continue
		}
		x := tx(m.X)
		color := colorOr(m.Color, "#f59e0b")
		fmt.Fprintf(&b, `<line class="evidence mark" x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="%s" stroke-width="2" stroke-dasharray="4 3"><title>%s</title></line>`,
			x, top, x, h-bottom, color, html.EscapeString(m.Label))
		anchor := "start"
		if x > left+(w-left-right)*0.6 {
			anchor = "end"
		}
		dx := 4.0
		if anchor == "end" {
			dx = -4
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="evidence-label" text-anchor="%s">%s</text>`, x+dx, h-bottom-6, anchor, html.EscapeString(m.Label))
	}
	// Lines, then the legend.
	color := func(i int) string {
		if c := c.Series[i].Color; c != "" {
			return c
		}
		return Palette[i%len(Palette)]
	}
	lines := make([]string, len(c.Series))
	for i, s := range c.Series {
		var pts []string
		for _, p := range s.Points {
			if !finite(p.Y) || (c.LogX && p.X <= 0) {
				continue
			}
			// A zero on a log axis (a loss that reached 0) lies on its
			// floor, with whatever fell below it, rather than vanishing.
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", tx(p.X), ty(clamp(p.Y, y0, y1))))
		}
		lines[i] = strings.Join(pts, " ")
	}
	for i, s := range c.Series {
		color := color(i)
		// A line that a later one draws over exactly (the same run
		// trained twice: in the page and on the server) is drawn wider,
		// its colour a border around the later one's.
		width, r, title := 1.8, 3.0, ""
		if j := coveredBy(c.Series, lines, i); j >= 0 {
			width, r = 5, 5
			title = fmt.Sprintf("<title>%s: under %s, the same curve</title>", html.EscapeString(s.Name), html.EscapeString(c.Series[j].Name))
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		if pts := lines[i]; pts != "" && !strings.Contains(pts, " ") {
			xy := strings.Split(pts, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%g" fill="%s">%s</circle>`, xy[0], xy[1], r, color, title)
		} else if pts != "" {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%g"%s>%s</polyline>`, pts, color, width, dash, title)
		}
	}
	for _, e := range legend {
		s := c.Series[e.i]
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"%s/>`, e.x, e.y, e.x+14, e.y, color(e.i), dash)
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="legend">%s</text>`, e.x+18, e.y+4, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// coveredBy is the first series after i whose line, as drawn, is series
// i's, or -1.
func coveredBy(series []Series, lines []string, i int) int {
	for j := i + 1; j < len(series); j++ {
		if lines[i] != "" && lines[j] == lines[i] && series[j].Dashed == series[i].Dashed {
			return j
		}
	}
	return -1
}

func colorOr(c, fallback string) string {
	if c == "" {
		return fallback
	}
	return c
}

// decades lists the powers of ten from lo to hi, with lo and hi when the
// span is under one decade.
func decades(lo, hi float64) []float64 {
	var out []float64
	for e := math.Ceil(math.Log10(lo)); e <= math.Log10(hi)+1e-9; e++ {
		out = append(out, math.Pow(10, e))
	}
	if len(out) < 2 {
		out = []float64{lo, hi}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func (c LineChart) bounds() (x0, x1, y0, y1 float64, ok bool) {
	x0, x1, y0, y1 = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !finite(p.Y) || !finite(p.X) || (c.LogY && p.Y <= 0) || (c.LogX && p.X <= 0) {
				continue
			}
			ok = true
			x0, x1 = math.Min(x0, p.X), math.Max(x1, p.X)
			y0, y1 = math.Min(y0, p.Y), math.Max(y1, p.Y)
		}
	}
	if !ok {
		return
	}
	if c.YMax > c.YMin {
		y0, y1 = c.YMin, c.YMax
	}
	if x1 == x0 {
		switch {
		case c.LogX:
			x0, x1 = x0/2, x1*2
		case x0 >= 0 && x0 < 0.5:
			// One point at a run's start (a run that diverged at its
			// second step) is drawn on an axis of its first epoch, not
			// around it from −0.4.
			x0, x1 = 0, x0+0.5
		default:
			x0, x1 = x0-0.5, x1+0.5
		}
	}
	if y1 == y0 {
		if c.LogY {
			y0, y1 = y0/2, y1*2
		} else {
			y0, y1 = y0-0.5, y1+0.5
		}
	}
	if c.LogY {
		// Whole decades read best on a log axis; a loss that reaches 0
		// would stretch it over many, so it shows at most eight.
		y0 = math.Max(y0, y1*1e-7)
		y0 = math.Pow(10, math.Floor(math.Log10(y0)))
		y1 = math.Pow(10, math.Ceil(math.Log10(y1)))
	}
	return x0, x1, y0, y1, true
}

func (c LineChart) yTicks(y0, y1 float64) []float64 {
	if !c.LogY {
		return niceTicks(y0, y1, 5)
	}
	var ticks []float64
	for e := math.Floor(math.Log10(y0)); e <= math.Log10(y1)+1e-9; e++ {
		ticks = append(ticks, math.Pow(10, e))
	}
	return ticks
}

// xTicks are the x axis's tick values: decades on a log scale, else about
// six round values, whole ones under WholeX.
func (c LineChart) xTicks(x0, x1 float64) []float64 {
	if c.LogX {
		return decades(x0, x1)
	}
	ticks := niceTicks(x0, x1, 6)
	if c.WholeX && x1-x0 >= 2 && len(ticks) > 1 && ticks[1]-ticks[0] < 1 {
		ticks = ticks[:0]
		for v := math.Ceil(x0); v <= x1; v++ {
			ticks = append(ticks, v)
		}
	}
	return ticks
}

// niceTicks returns about n round values between lo and hi.
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if !(span > 0) {
		return []float64{lo}
	}
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var ticks []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks
}

func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e4 || a < 1e-3:
		return strings.Replace(fmt.Sprintf("%.0e", v), "e-0", "e-", 1)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// Heatmap renders a confusion matrix, rows the true class and columns the
// predicted one, each cell shaded by its share of the row. mark outlines
// the doctor's evidence: with two classes the two cells where each is
// taken for the other, with one class its row and its column.
func Heatmap(m [][]int, classes []string, size int, mark ...int) string {
	k := len(m)
	if k == 0 {
		return `<p class="muted">no confusion matrix yet</p>`
	}
	const label = 70.0
	cell := math.Max(12, (float64(size)-label)/float64(k))
	total := label + cell*float64(k)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="confusion matrix">`, total, total+14, total, total+14)
	fmt.Fprintf(&b, `<text x="%g" y="10" class="tick" text-anchor="middle">predicted →</text>`, label+cell*float64(k)/2)
	for i, row := range m {
		sum := 0
		for _, v := range row {
			sum += v
		}
		name := className(classes, i)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" class="tick" text-anchor="end">%s</text>`, label-4, 14+label-56+cell*float64(i)+cell/2+4, html.EscapeString(truncate(name, 10)))
		for j, v := range row {
			share := 0.0
			if sum > 0 {
				share = float64(v) / float64(sum)
			}
			alpha := share
			color := fmt.Sprintf("rgba(37,99,235,%.3f)", alpha)
			if i != j && v > 0 {
				alpha = math.Min(1, 0.15+share*2)
				color = fmt.Sprintf("rgba(220,38,38,%.3f)", alpha)
			}
			x, y := label+cell*float64(j), 14+label-56+cell*float64(i)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#e5e7eb"><title>labelled %s, predicted %s: %d</title></rect>`,
				x, y, cell, cell, color, html.EscapeString(name), html.EscapeString(className(classes, j)), v)
			// The count, at the stylesheet's 10 px where it fits the cell
			// (digits are up to 0.64 em wide: DejaVu Sans), smaller down to 7 px for
			// counts in the thousands, left out below that.
			digits := float64(len(strconv.Itoa(v)))
			if font := math.Min(10, (cell-4)/(0.64*digits)); cell >= 22 && v > 0 && font >= 7 {
				ink := "" // the stylesheet's dark text, unless the cell is dark
				if alpha > 0.55 {
					ink = ` fill="white"`
				}
				size := ""
				if font < 10 {
					size = fmt.Sprintf(` style="font-size:%.1fpx"`, font)
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="cell" text-anchor="middle"%s%s>%d</text>`, x+cell/2, y+cell/2+4, ink, size, v)
			}
		}
	}
	// The outlines go over the cells; rect draws one at row i, column j,
	// h rows high and w columns wide.
	top := 14 + label - 56
	rect := func(i, j, h, w int) {
		fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#f59e0b" stroke-width="2.5"></rect>`,
			label+cell*float64(j), top+cell*float64(i), cell*float64(w), cell*float64(h))
	}
	switch {
	case len(mark) == 2 && mark[0] >= 0 && mark[0] < k && mark[1] >= 0 && mark[1] < k:
		rect(mark[0], mark[1], 1, 1)
		rect(mark[1], mark[0], 1, 1)
	case len(mark) == 1 && mark[0] >= 0 && mark[0] < k:
		rect(mark[0], 0, 1, k)
		rect(0, mark[0], k, 1)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func className(classes []string, i int) string {
	if i < len(classes) {
		return classes[i]
	}
	return fmt.Sprint(i)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// EmptyBarChart is a bar chart's place before it has bars: its title and
// a note that says when they come.
func EmptyBarChart(title, note string, width int) string {
	const h = 40.0
	w := float64(width)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="12" class="chart-title">%s</text>`, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="32" class="chart-empty">%s</text></svg>`, html.EscapeString(note))
	return b.String()
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value float64
}

// BarChart renders horizontal bars, on a log scale when logX is set;
// without bars, the title and "no data yet".
func BarChart(title string, bars []Bar, width int, logX bool, format func(float64) string) string {
	if len(bars) == 0 {
		return EmptyBarChart(title, "no data yet", width)
	}
	const label, rowH = 90.0, 16.0
	w := float64(width)
	h := 22 + rowH*float64(len(bars))
	hi, lo := 0.0, math.Inf(1)
	for _, b := range bars {
		if finite(b.Value) {
			hi = math.Max(hi, b.Value)
			if b.Value > 0 {
				lo = math.Min(lo, b.Value)
			}
		}
	}
	scale := func(v float64) float64 {
		if !finite(v) || v <= 0 || hi <= 0 {
			return 0
		}
		if logX {
			l0 := math.Log10(lo) - 1
			return (math.Log10(v) - l0) / (math.Log10(hi) - l0)
		}
		return v / hi
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="12" class="chart-title">%s</text>`, html.EscapeString(title))
	for i, bar := range bars {
		y := 20 + rowH*float64(i)
		bw := (w - label - 60) * scale(bar.Value)
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="tick" text-anchor="end">%s</text>`, label-4, y+11, html.EscapeString(truncate(bar.Label, 13)))
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%.1f" height="%g" fill="%s"/>`, label, y+2, bw, rowH-4, Palette[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="tick">%s</text>`, label+bw+4, y+11, format(bar.Value))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
