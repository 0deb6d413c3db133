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
