package spec

import (
	"slices"
	"strings"
	"testing"
)

// Every fault plants into every preset: a valid spec that differs from
// the preset in some of the fault's changes and nothing else; a rate is
// scaled from the spec's own, a one-cycle peak with it; a fault the spec
// already has is refused with the setting that has it.
func TestFaultsPlant(t *testing.T) {
	for _, name := range PresetNames() {
		base, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range Faults {
			s, sets, err := f.Plant(base)
			if err != nil {
				t.Errorf("%s in %s: %v", f.Name, name, err)
				continue
			}
			if len(sets) == 0 || f.Title == "" || f.What == "" || f.Cause == "" {
				t.Errorf("%s: changes %v, title %q, cause %q", f.Name, sets, f.Title, f.Cause)
			}
			diff := Diff(base, s)
			if len(diff) == 0 {
				t.Errorf("%s in %s changes nothing", f.Name, name)
			}
			for _, d := range diff {
				path, _, _ := strings.Cut(d, "=")
				if !slices.ContainsFunc(sets, func(kv string) bool { return strings.HasPrefix(kv, path+"=") }) {
					t.Errorf("%s in %s: %s is not among its changes %v", f.Name, name, d, sets)
				}
			}
			if again, ok := FindFault(f.Name); !ok || again.Title != f.Title {
				t.Errorf("FindFault(%q) = %v, %v", f.Name, again.Title, ok)
			}
		}
	}
	s, _ := Preset("fashion-fast")
	high, _ := FindFault("rate-too-high")
	got, _, _ := high.Plant(s)
	if got.Train.LR != 1000*s.Train.LR || got.Train.Schedule.MaxLR != 1000*s.Train.Schedule.MaxLR {
		t.Errorf("rate-too-high: lr %g, peak %g; the preset's %g, %g", got.Train.LR, got.Train.Schedule.MaxLR, s.Train.LR, s.Train.Schedule.MaxLR)
	}
	raw, _ := FindFault("raw-pixels")
	s.Data.Normalization = "raw"
	if _, _, err := raw.Plant(s); err == nil || !strings.Contains(err.Error(), "data.normalization") {
		t.Errorf("raw-pixels in a raw spec: %v", err)
	}
	if _, ok := FindFault("nonsense"); ok {
		t.Error("FindFault found a fault that is not there")
	}
}
