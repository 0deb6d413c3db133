package ui

import (
	"testing"

	"plateau/protocol"
)

// The flip rows of the Augmentation card say what each flip does to the
// loaded dataset's images, from the worker's measurement.
func TestFlipNote(t *testing.T) {
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	dv := &DataView{&Root{}}
	if got := dv.FlipNote("flip_horizontal"); got != "" {
		t.Errorf("no dataset: %q", got)
	}
	dv.Dataset = &protocol.Dataset{Classes: classes, Mirror: &protocol.MirrorStats{Sample: 1000, Match: 0.786, Horizontal: 0.429, Vertical: 0.25}}
	for _, c := range []struct {
		field string
		want  string
		loses bool
	}{
		{"flip_horizontal", "mirrored, images lose their class: 43% lie nearest their class's mean image, 79% as they are", true},
		{"flip_vertical", "upside down, images lose their class: 25% lie nearest their class's mean image, 79% as they are", true},
		{"rotation", "", false},
	} {
		if got := dv.FlipNote(c.field); got != c.want || dv.FlipLosesClass(c.field) != c.loses {
			t.Errorf("%s: %q (loses %v), want %q (%v)", c.field, got, dv.FlipLosesClass(c.field), c.want, c.loses)
		}
	}
	dv.Dataset.Mirror = &protocol.MirrorStats{Sample: 1000, Match: 0.277, Horizontal: 0.261, Vertical: 0.162}
	if got, want := dv.FlipNote("flip_horizontal"), "mirrored, images keep their class: 26% lie nearest their class's mean image, 28% as they are"; got != want || dv.FlipLosesClass("flip_horizontal") {
		t.Errorf("photographs mirrored: %q, want %q", got, want)
	}
	dv.Dataset.Mirror = nil
	if got := dv.FlipNote("flip_vertical"); got != "" {
		t.Errorf("unmeasured: %q", got)
	}
}
