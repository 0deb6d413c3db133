package spec

import (
	"fmt"
	"math"
	"strings"
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

// The data experiment's reading weighs each doubling's gain in test
// accuracy against what the test images can tell apart.
func TestDataReading(t *testing.T) {
	e, _ := FindExperiment("data")
	for _, c := range []struct {
		name string
		test []float64
		n    int
		want string
	}{
		// The CIFAR-10 sample: 39.6%, 46.0%, 50.5% on 1,000 test images (±3.1).
		{"still paying", []float64{0.396, 0.46, 0.505}, 1000, "The last doubling still paid: +6.4 points of test accuracy from a quarter to half of the images, +4.5 from half to all (1,000 test images tell apart about ±3.1)."},
		// 12,000 Fashion-MNIST images: 85.2%, 87.2%, 87.0% on 2,000 (±1.5).
		{"levelling off", []float64{0.852, 0.872, 0.87}, 2000, "Levelling off: +2.0 points"},
		// 3,000: 83.5%, 84.2%, 83.5%.
		{"flat", []float64{0.835, 0.842, 0.835}, 2000, "Flat within the noise: +0.7 points"},
	} {
		if got := e.Reading(c.test, c.n, nil); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q, want it to begin %q", c.name, got, c.want)
		}
	}
	// The flat curve, with the arm on all the images ended still
	// learning: not read as the images' limit.
	if got := e.Reading([]float64{0.835, 0.842, 0.835}, 2000, []string{"", "", "still_learning"}); !strings.HasPrefix(got, "Not yet read: +0.7 points") ||
		!strings.Contains(got, "The arms on all (still_learning) ended still learning") {
		t.Errorf("flat, the last arm still learning: %q", got)
	}
	// A doubling that paid is read whatever the arms' training.
	if got := e.Reading([]float64{0.396, 0.46, 0.505}, 1000, []string{"lr_too_low", "", ""}); !strings.HasPrefix(got, "The last doubling still paid") {
		t.Errorf("paid, an arm crawling: %q", got)
	}
	if got := e.Reading([]float64{0.4, 0.5}, 1000, nil); got != "" {
		t.Errorf("two arms of three: %q, want no reading", got)
	}
	if got := e.Reading([]float64{0.4, math.NaN(), 0.5}, 1000, nil); got != "" {
		t.Errorf("an arm without a test accuracy: %q, want no reading", got)
	}
	lr, _ := FindExperiment("lr")
	if got := lr.Reading([]float64{0.1, 0.8, 0.85, 0.1}, 1000, nil); got != "" {
		t.Errorf("the lr experiment: %q, want no reading", got)
	}
}
