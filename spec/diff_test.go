package spec

import (
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	base, err := Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(base, base.Clone()); d != nil {
		t.Errorf("a spec against its copy: %q", d)
	}
	changed := base.Clone()
	for _, kv := range []string{"train.lr=0.01", "data.normalization=raw", "data.augment.flip_horizontal.p=0.5",
		"model.layers[0].filters=64", `train.schedule={"type":"step","factor":0.1,"every":5}`} {
		path, value, _ := cut(kv)
		if err := changed.Set(path, value); err != nil {
			t.Fatal(err)
		}
	}
	changed.Expand()
	want := []string{"data.augment.flip_horizontal.p=0.5", "data.normalization=raw", "model.layers[0].filters=64",
		"train.lr=0.01", "train.schedule.every=5", "train.schedule.factor=0.1", "train.schedule.type=step"}
	if got := Diff(base, changed); !slices.Equal(got, want) {
		t.Errorf("Diff =\n%q\nwant\n%q", got, want)
	}
	// What b leaves out reads as its zero; the other way round, as b's value.
	back := Diff(changed, base)
	for _, w := range []string{"data.augment.flip_horizontal.p=0", "train.lr=0.001", "train.schedule.every=0", "train.schedule.type=constant"} {
		if !slices.Contains(back, w) {
			t.Errorf("Diff back is %q, without %q", back, w)
		}
	}
	// Another number of layers is one entry, not a list of every layer.
	longer := base.Clone()
	longer.Model.Layers = slices.Insert(longer.Model.Layers, 1, Layer{Type: BatchNorm})
	longer.Expand()
	if got := Diff(base, longer); !slices.Equal(got, []string{"model.layers: 10 → 11"}) {
		t.Errorf("Diff with a layer more = %q", got)
	}
}
