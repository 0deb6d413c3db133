package spec

import (
	"encoding/json"
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
		"train.lr=0.01", `train.schedule={"every":5,"factor":0.1,"type":"step"}`}
	if got := Diff(base, changed); !slices.Equal(got, want) {
		t.Errorf("Diff =\n%q\nwant\n%q", got, want)
	}
	// What b leaves out reads as its zero; the other way round, as b's value.
	back := Diff(changed, base)
	for _, w := range []string{"data.augment.flip_horizontal.p=0", "train.lr=0.001", `train.schedule={"type":"constant"}`} {
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

// What Diff lists, given to Set, turns the first spec into the second:
// each preset changed by a few settings, and every pair of presets with
// as many layers.
func TestDiffAppliedBySet(t *testing.T) {
	changes := [][]string{
		{"train.lr=0.01", "train.optimizer=sgd", "train.momentum=0.9"},
		{"data.augment.rotation.p=0.5", "data.augment.rotation.strength=15", "data.balance=oversample", "data.imbalance=0.2"},
		{`train.schedule={"type":"one_cycle","max_lr":0.01}`, "train.early_stopping.patience=3", "train.label_smoothing=0.1"},
		{"model.layers[0].filters=7", "model.layers[0].kernel=5", "model.init=glorot_uniform"},
	}
	names := PresetNames()
	for _, name := range names {
		base, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, sets := range changes {
			b := base.Clone()
			for _, kv := range sets {
				path, value, _ := cut(kv)
				if err := b.Set(path, value); err != nil {
					t.Fatalf("%s: %s: %v", name, kv, err)
				}
			}
			b.Expand()
			checkDiffApplies(t, name+" "+sets[0], base, b)
		}
		for _, other := range names {
			o, _ := Preset(other)
			if len(o.Model.Layers) == len(base.Model.Layers) {
				checkDiffApplies(t, name+" → "+other, base, o)
			}
		}
	}
}

func checkDiffApplies(t *testing.T, what string, a, b *Spec) {
	t.Helper()
	got := a.Clone()
	for _, kv := range Diff(a, b) {
		path, value, _ := cut(kv)
		if err := got.Set(path, value); err != nil {
			t.Errorf("%s: Set(%q): %v", what, kv, err)
			return
		}
	}
	got.Expand()
	gb, _ := json.Marshal(got)
	bb, _ := json.Marshal(b)
	if string(gb) != string(bb) {
		t.Errorf("%s: Diff %q applied gives\n%s\nwant\n%s", what, Diff(a, b), gb, bb)
	}
}
