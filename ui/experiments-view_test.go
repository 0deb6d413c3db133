package ui

import (
	"strings"
	"testing"

	"plateau/protocol"
	"plateau/spec"
)

// An experiment's table shows each arm's latest run: its accuracies, its
// weakest class and the doctor's top finding; arms not run are left out.
func TestExperimentResults(t *testing.T) {
	done := func(name string, val, test float64, recall []float64, d []protocol.Diagnosis) *Run {
		return &Run{ID: name, Name: name, Experiment: "normalization", State: protocol.StateDone,
			Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, ValAccuracy: val}},
			Result: &protocol.Event{Event: protocol.EventResult, TestAccuracy: test, PerClassAccuracy: recall, Stopped: "completed", Diagnoses: d}}
	}
	runs := []*Run{
		done("normalization: raw", 0.5, 0.45, []float64{0.2, 0.7}, []protocol.Diagnosis{{Cause: "unnormalized_input", Confidence: 0.95}}),
		done("normalization: raw · server", 0.6, 0.55, []float64{0.3, 0.8}, []protocol.Diagnosis{{Cause: "unnormalized_input", Confidence: 0.9}}),
		{ID: "other", Name: "normalization: raw", Experiment: "", State: protocol.StateDone},
	}
	ev := &ExperimentsView{&Root{Runs: runs}}
	got := ev.Results("normalization")
	if len(got) != 1 {
		t.Fatalf("results %+v, want the raw arm alone", got)
	}
	a := got[0]
	if a.Arm != "raw" || a.ID() != "normalization: raw · server" || a.Val != "60.0%" || a.Test != "55.0%" || a.MinRecall != "30.0%" ||
		a.Finding != "Inputs are not normalized 0.90" {
		t.Errorf("the raw arm's row: %+v", a)
	}
	runs = append(runs, done("normalization: scale01", 0.9, 0.88, []float64{0.8, 0.95}, []protocol.Diagnosis{}))
	ev.Runs = runs
	if got := ev.Results("normalization"); len(got) != 2 || got[1].Finding != "healthy" {
		t.Errorf("with the scale01 arm: %+v", got)
	}
}

// An arm that scales the learning rate says the rates it gives the
// current spec; the others say their settings.
func TestVariantText(t *testing.T) {
	s, err := spec.Preset("fashion-fast", spec.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &ExperimentsView{&Root{Spec: s}}
	lr, _ := spec.FindExperiment("lr")
	norm, _ := spec.FindExperiment("normalization")
	for _, c := range []struct {
		v    spec.Variant
		want string
	}{
		{lr.Variants[0], "the spec's learning rate ÷ 10: train.lr=0.0001, train.schedule.max_lr=0.002"},
		{lr.Variants[1], "the spec's learning rate"},
		{norm.Variants[0], "data.normalization=raw"},
	} {
		if got := ev.VariantText(c.v); got != c.want {
			t.Errorf("%s: %q, want %q", c.v.Name, got, c.want)
		}
	}
}

// quietHost is a Host for tests of what the page does to its spec: it
// takes the address and commands and does nothing else.
type quietHost struct{ Host }

func (quietHost) SetHash(string)        {}
func (quietHost) Send(protocol.Command) {}

// The range test's suggestion is train.lr for a constant rate, its
// steepest descent; for one-cycle it is the peak, a tenth of the rate of
// the lowest loss, with the start and floor scaled alike.
func TestApplySuggestedLR(t *testing.T) {
	for _, c := range []struct {
		preset   string
		lr, peak float64
		notice   string
	}{
		{"mnist-cnn", 0.0019, 0, "train.lr=0.0019 from the LR range test"},
		{"fashion-fast", 0.0007, 0.014, "train.lr=0.0007, train.schedule.max_lr=0.014 from the LR range test"},
	} {
		s, err := spec.Preset(c.preset, spec.PresetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := &Root{Spec: s, Host: quietHost{}, LRFind: &protocol.LRFind{Suggested: 0.00187, Steepest: 0.00187, MinLoss: 0.142}}
		(&TrainingView{r}).ApplySuggestedLR()
		if r.Spec.Train.LR != c.lr || r.Spec.Train.Schedule.MaxLR != c.peak || r.Notice != c.notice || !r.Valid() || r.Message != "" {
			t.Errorf("%s: lr %g, peak %g, notice %q, errors %v, message %q; want %g, %g, %q", c.preset, r.Spec.Train.LR, r.Spec.Train.Schedule.MaxLR,
				r.Notice, r.SpecErrors, r.Message, c.lr, c.peak, c.notice)
		}
	}
}

// The data experiment's card reads its arms once all three have a test
// accuracy.
func TestDataExperimentReading(t *testing.T) {
	arm := func(name string, test float64) *Run {
		return &Run{ID: name, Name: "data: " + name, Experiment: "data", State: protocol.StateDone,
			Start:  &protocol.Event{Event: protocol.EventStart, TestSize: 1000},
			Result: &protocol.Event{Event: protocol.EventResult, TestAccuracy: test, Stopped: "completed"}}
	}
	ev := &ExperimentsView{&Root{Runs: []*Run{arm("a quarter", 0.396), arm("half", 0.46)}}}
	if got := ev.Reading("data"); got != "" {
		t.Errorf("two arms of three: %q", got)
	}
	ev.Runs = append(ev.Runs, arm("all", 0.505))
	if got := ev.Reading("data"); !strings.HasPrefix(got, "The last doubling still paid: +6.4 points") || !strings.Contains(got, "1,000 test images") {
		t.Errorf("three arms: %q", got)
	}
	if got := ev.Reading("normalization"); got != "" {
		t.Errorf("normalization: %q, want no reading", got)
	}
	// A flat curve whose arm on all the images ended still learning.
	flat := arm("all", 0.47)
	flat.Result.Diagnoses = []protocol.Diagnosis{{Cause: "still_learning", Confidence: 0.5}}
	ev.Runs = append(ev.Runs, flat)
	if got := ev.Reading("data"); !strings.HasPrefix(got, "Not yet read") || !strings.Contains(got, "all (still_learning)") {
		t.Errorf("flat, the last arm still learning: %q", got)
	}
}

// An experiment trains in the worker: a run on the server, even the one
// shown, does not hold it back (restored into a fresh page, such a run
// is followed again and shows as training), while a run in the worker
// does.
func TestExperimentBesideAServerRun(t *testing.T) {
	s, err := spec.Preset(spec.DefaultPreset("mnist"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Root{Spec: s, Host: storingHost{}, Dataset: &protocol.Dataset{Name: "mnist", Shape: []int{28, 28, 1},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}}
	r.validate()
	server := r.newRun(s, "mnist", "on the server")
	server.Server, server.queued = "http://server", false
	r.Current = server
	ev := &ExperimentsView{r}
	ev.RunExperiment("data")
	if n := len(ev.Results("data")); n != 3 || r.Message != "" {
		t.Fatalf("beside a server run: %d arms, message %q", n, r.Message)
	}
	// Now an arm trains in the worker: another experiment waits for it.
	r.Message = ""
	ev.RunExperiment("lr")
	if len(ev.Results("lr")) != 0 || !strings.Contains(r.Message, "a run is training in this page") {
		t.Errorf("beside the worker's arms: %d lr arms, message %q", len(ev.Results("lr")), r.Message)
	}
}

// With a time limit, an experiment's notice says its arms compare at
// equal time.
func TestExperimentNoticeTimeLimit(t *testing.T) {
	exp, _ := spec.FindExperiment("batch")
	s := spec.Default()
	if got := experimentNotice(exp, 3, "", s); strings.Contains(got, "time limit") || !strings.HasPrefix(got, "experiment batch: 3 runs, one after another; ") {
		t.Errorf("without a limit: %q", got)
	}
	s.Train.TimeLimitSeconds = 60
	if got := experimentNotice(exp, 3, " on the server", s); !strings.Contains(got, "3 runs on the server") || !strings.Contains(got, "each arm trains at most 60 s") {
		t.Errorf("with a limit of 60 s: %q", got)
	}
}
