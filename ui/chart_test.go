package ui

import (
	"slices"
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
