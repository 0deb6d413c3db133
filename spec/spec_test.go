package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

// Augment.Transform names every transform by its JSON field.
func TestAugmentTransformByName(t *testing.T) {
	var a Augment
	names := map[string]*Transform{"flip_horizontal": &a.FlipHorizontal, "flip_vertical": &a.FlipVertical, "crop": &a.Crop,
		"shift": &a.Shift, "rotation": &a.Rotation, "zoom": &a.Zoom, "brightness": &a.Brightness, "contrast": &a.Contrast,
		"saturation": &a.Saturation, "hue": &a.Hue, "cutout": &a.Cutout}
	i := 0
	for name, f := range names {
		i++
		*f = Transform{P: float64(i) / 100, Strength: float64(i)}
		js, _ := json.Marshal(a)
		if !strings.Contains(string(js), `"`+name+`"`) {
			t.Errorf("%s is not a JSON field of Augment: %s", name, js)
		}
		if got := a.Transform(name); got != *f {
			t.Errorf("Transform(%q) = %+v, want %+v", name, got, *f)
		}
	}
	if got := a.Transform("nope"); got != (Transform{}) {
		t.Errorf("Transform of an unknown name: %+v", got)
	}
}
