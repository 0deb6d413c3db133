package spec

import "testing"

func TestExperimentsApply(t *testing.T) {
	base, err := Preset("mnist-cnn", PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Experiments {
		for _, v := range e.Variants {
			t.Run(e.Name+"/"+v.Name, func(t *testing.T) {
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
	if _, ok := FindExperiment("nonsense"); ok {
		t.Error("FindExperiment found an unknown experiment")
	}
}
