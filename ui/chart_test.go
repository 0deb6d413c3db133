package ui

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// An epoch axis is ticked at whole epochs once it spans two or more; the
// steps of a first epoch are ticked within it.
func TestEpochTicks(t *testing.T) {
	for _, c := range []struct {
		x0, x1 float64
		want   []float64
	}{
		{1, 4, []float64{1, 2, 3, 4}},
		{0, 4, []float64{0, 1, 2, 3, 4}},
		{0.2, 3, []float64{1, 2, 3}},
		{0, 40, []float64{0, 10, 20, 30, 40}},
		{0, 0.3, []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3}},
		{0.5, 1.5, []float64{0.6, 0.8, 1, 1.2, 1.4}},
	} {
		got := LineChart{WholeX: true}.xTicks(c.x0, c.x1)
		if !slices.EqualFunc(got, c.want, func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }) {
			t.Errorf("epochs %g to %g: ticks %v, want %v", c.x0, c.x1, got, c.want)
		}
	}
	if got := (LineChart{}).xTicks(1, 4); !slices.Contains(got, 1.5) {
		t.Errorf("a chart without WholeX ticks 1 to 4 at %v, want halves", got)
	}
}

// Two runs with the same curve (one trained in the page, one on the
// server): the first is drawn wider, so both colours show, and says
// which it lies under.
func TestALineUnderTheSameLine(t *testing.T) {
	pts := []Point{{X: 1, Y: 0.5}, {X: 2, Y: 0.7}, {X: 3, Y: 0.8}}
	other := []Point{{X: 1, Y: 0.4}, {X: 2, Y: 0.6}, {X: 3, Y: 0.8}}
	svg := LineChart{Width: 400, Height: 200, Series: []Series{
		{Name: "#1 page", Points: pts}, {Name: "#2 other", Points: other}, {Name: "#3 server", Points: pts},
	}}.SVG()
	if n := strings.Count(svg, `stroke-width="5"`); n != 1 {
		t.Errorf("%d lines drawn wide, want the one under another:\n%s", n, svg)
	}
	if !strings.Contains(svg, "#1 page: under #3 server, the same curve") {
		t.Errorf("the covered line does not say what covers it:\n%s", svg)
	}
	// Dashed over solid is not the same line.
	svg = LineChart{Width: 400, Height: 200, Series: []Series{{Name: "a", Points: pts}, {Name: "b", Points: pts, Dashed: true}}}.SVG()
	if strings.Contains(svg, `stroke-width="5"`) {
		t.Errorf("a solid line under a dashed one is drawn wide:\n%s", svg)
	}
}

// One point early in a run (a run that diverged at its second step) is
// drawn on an axis that starts at 0, not at −0.4; one point on a log axis
// is drawn on an axis around it.
func TestOnePointsAxis(t *testing.T) {
	for _, c := range []struct {
		chart  LineChart
		x      float64
		x0, x1 float64
	}{
		{LineChart{WholeX: true, LogY: true}, 0.03, 0, 0.53},
		{LineChart{WholeX: true}, 3, 2.5, 3.5},
		{LineChart{LogX: true}, 0.01, 0.005, 0.02},
	} {
		c.chart.Series = []Series{{Name: "lr", Points: []Point{{X: c.x, Y: 1}}}}
		x0, x1, _, _, ok := c.chart.bounds()
		if !ok || math.Abs(x0-c.x0) > 1e-12 || math.Abs(x1-c.x1) > 1e-12 {
			t.Errorf("one point at x %g: axis %g to %g, want %g to %g", c.x, x0, x1, c.x0, c.x1)
		}
	}
}
