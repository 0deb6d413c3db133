package spec

import "testing"

// Every arm of every experiment applies to every preset, the residual
// networks (whose layers name their inputs) included.
func TestExperimentsApply(t *testing.T) {
	for _, name := range PresetNames() {
		base, err := Preset(name, PresetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range Experiments {
			for _, v := range e.Variants {
				t.Run(name+"/"+e.Name+"/"+v.Name, func(t *testing.T) {
					s, err := v.Apply(base)
					if err != nil {
						t.Fatal(err)
					}
					if err := s.Validate(); err != nil {
						t.Errorf("the variant's spec is invalid: %v", err)
					}
				})
			}
		}
	}
	if _, ok := FindExperiment("nonsense"); ok {
		t.Error("FindExperiment found an unknown experiment")
	}
}
