package spec

import (
	"fmt"
	"math"
	"testing"
)

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

// The learning-rate arms scale the spec's rate and its schedule's rates,
// to four significant digits, and leave the rest as it was.
func TestLRExperimentScalesTheSchedule(t *testing.T) {
	base, err := Preset("fashion-fast", PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base.Expand()
	e, ok := FindExperiment("lr")
	if !ok {
		t.Fatal("no lr experiment")
	}
	lr, peak, floor := base.Train.LR, base.Train.Schedule.MaxLR, base.Train.Schedule.MinLR
	if base.Train.Schedule.Type != "one_cycle" || peak == 0 {
		t.Fatalf("fashion-fast's schedule %+v: want one-cycle with a peak", base.Train.Schedule)
	}
	for _, v := range e.Variants {
		s, err := v.Apply(base)
		if err != nil {
			t.Fatal(err)
		}
		f := v.LRFactor
		if f == 0 {
			f = 1
		}
		near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Abs(want) }
		if !near(s.Train.LR, lr*f) || !near(s.Train.Schedule.MaxLR, peak*f) || !near(s.Train.Schedule.MinLR, floor*f) {
			t.Errorf("%s: lr %g, peak %g, floor %g; want %g, %g, %g", v.Name, s.Train.LR, s.Train.Schedule.MaxLR, s.Train.Schedule.MinLR, lr*f, peak*f, floor*f)
		}
		if got := fmt.Sprint(s.Train.LR); len(got) > 8 {
			t.Errorf("%s: lr %s, want it rounded", v.Name, got)
		}
		s.Train.LR, s.Train.Schedule = base.Train.LR, base.Train.Schedule
		if d := Diff(base, s); len(d) != 0 {
			t.Errorf("%s changes more than the rates: %v", v.Name, d)
		}
	}
}

// The data arms thin the training images and stretch every epoch count of
// the run alike, and change nothing else.
func TestDataExperimentKeepsTheSteps(t *testing.T) {
	base, err := Preset("fashion-fast", PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base.Train.Epochs = 6
	base.Train.Schedule = Schedule{Type: "step"} // every: the default, 2 epochs
	base.Train.EarlyStopping = EarlyStopping{Patience: 3}
	base.Expand()
	e, ok := FindExperiment("data")
	if !ok {
		t.Fatal("no data experiment")
	}
	want := map[string]struct {
		frac          float64
		epochs, every float64
		patience      int
	}{"a quarter": {0.25, 24, 8, 12}, "half": {0.5, 12, 4, 6}, "all": {0, 6, 2, 3}}
	for _, v := range e.Variants {
		s, err := v.Apply(base)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[v.Name]
		if !ok {
			t.Fatalf("unexpected arm %q", v.Name)
		}
		if s.Data.TrainFraction != w.frac || float64(s.Train.Epochs) != w.epochs || s.Train.Schedule.Every != w.every || s.Train.EarlyStopping.Patience != w.patience {
			t.Errorf("%s: fraction %g, epochs %d, every %g, patience %d; want %+v", v.Name, s.Data.TrainFraction, s.Train.Epochs,
				s.Train.Schedule.Every, s.Train.EarlyStopping.Patience, w)
		}
		s.Data.TrainFraction, s.Train.Epochs, s.Train.Schedule, s.Train.EarlyStopping = 0, base.Train.Epochs, base.Train.Schedule, base.Train.EarlyStopping
		if d := Diff(base, s); len(d) != 0 {
			t.Errorf("%s changes more than the data and the epochs: %v", v.Name, d)
		}
	}
	// An exponential decay per epoch decays as much per step.
	base.Train.Schedule = Schedule{Type: "exponential", Gamma: 0.81}
	s, err := e.Variants[1].Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Train.Schedule.Gamma; math.Abs(g-0.9) > 1e-12 {
		t.Errorf("half the images: gamma %g, want 0.9", g)
	}
}
