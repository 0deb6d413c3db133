package ui

import (
	"strings"
	"testing"

	"plateau/protocol"
	"plateau/spec"
)

// The doctor's panel names the findings made earlier in a run and not
// now, with the epochs they were made at.
func TestEarlierText(t *testing.T) {
	finding := func(causes ...string) []protocol.Diagnosis {
		var ds []protocol.Diagnosis
		for _, c := range causes {
			ds = append(ds, protocol.Diagnosis{Cause: c, Confidence: 0.5})
		}
		return ds
	}
	run := &Run{Start: &protocol.Event{Event: protocol.EventStart, Diagnoses: finding("augmentation_too_strong")}}
	doc := &Doctor{&Root{Current: run}}
	if got := doc.EarlierText(); got != "" {
		t.Errorf("before the first epoch: %q", got)
	}
	for _, causes := range [][]string{
		{"augmentation_too_strong"}, {"augmentation_too_strong", "class_confusion"}, {"class_confusion"},
		{"label_noise"}, {}, {"label_noise", "overfitting"}, {"overfitting"},
	} {
		run.Epochs = append(run.Epochs, protocol.Event{Event: protocol.EventEpoch, Diagnoses: finding(causes...)})
	}
	want := "Named earlier in this run, not now: Augmentation too strong (before the first epoch and epochs 1–2); " +
		"Classes mixed up (epochs 2–3); Label noise (epochs 4 and 6)."
	if got := doc.EarlierText(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// At the end, the result's findings are the ones that stand.
	run.Result = &protocol.Event{Event: protocol.EventResult, Diagnoses: finding("label_noise")}
	want = "Named earlier in this run, not now: Augmentation too strong (before the first epoch and epochs 1–2); " +
		"Classes mixed up (epochs 2–3); Overfitting (epochs 6–7)."
	if got := doc.EarlierText(); got != want {
		t.Errorf("after the result:\ngot  %q\nwant %q", got, want)
	}
}

// A check before the first epoch's end that carries the doctor's reading
// puts it in the panel, with the checks it read; a later check's reading
// replaces it, and a finding it dropped is named as made before the first
// epoch; the first epoch's findings then stand, and its checks' do not.
func TestFindingsAtChecks(t *testing.T) {
	high := protocol.Diagnosis{Cause: "lr_too_high", Confidence: 0.75}
	raw := protocol.Diagnosis{Cause: "unnormalized_input", Confidence: 0.95}
	run := &Run{State: protocol.StateRunning}
	doc := &Doctor{&Root{Current: run, Runs: []*Run{run}}}
	run.add(protocol.Event{Event: protocol.EventStart, StepsPerEpoch: 800, Epochs: 2, Diagnoses: []protocol.Diagnosis{raw}})
	run.add(protocol.Event{Event: protocol.EventValCheck, Epoch: 1, Step: 60, ValAccuracy: 0.1, ValSize: 1000, Diagnoses: []protocol.Diagnosis{raw}})
	run.add(protocol.Event{Event: protocol.EventValCheck, Epoch: 1, Step: 130, ValAccuracy: 0.098, ValSize: 1000, Diagnoses: []protocol.Diagnosis{raw, high}})
	if got := doc.Diagnoses(); len(got) != 2 || got[1].Cause != "lr_too_high" {
		t.Fatalf("after the second check: %v", got)
	}
	high.Evidence = map[string]float64{"since_step": 60}
	run.Early[1] = high
	if m := doc.LossMarks(); len(m) != 1 || m[0].X != 0.075 || m[0].Label != "a constant guess from here" {
		t.Errorf("loss marks %v, want the step the checks went to chance at", m)
	}
	// Another cause read at the same checks marks the same step, once.
	dead := protocol.Diagnosis{Cause: "dead_relu", Confidence: 0.68, Evidence: map[string]float64{"since_step": 60}}
	run.Early = append(run.Early, dead)
	if m := doc.LossMarks(); len(m) != 1 || m[0].X != 0.075 {
		t.Errorf("loss marks %v with two causes read at the checks, want one mark", m)
	}
	run.Early = []protocol.Diagnosis{raw, dead}
	if m := doc.LossMarks(); len(m) != 1 || m[0].X != 0.075 {
		t.Errorf("loss marks %v with dead_relu alone read at the checks, want its mark", m)
	}
	run.Early = []protocol.Diagnosis{raw, high}
	want := "2 findings before the first epoch's end, from the data, the spec and the training so far (2 validation checks, latest 9.8%)"
	if got := doc.DoctorStatus(); !strings.Contains(got, want) {
		t.Errorf("status %q, want %q", got, want)
	}
	run.add(protocol.Event{Event: protocol.EventValCheck, Epoch: 1, Step: 200, ValAccuracy: 0.4, ValSize: 1000, Diagnoses: []protocol.Diagnosis{raw}})
	if got := doc.Diagnoses(); len(got) != 1 {
		t.Errorf("after a check that dropped lr_too_high: %v", got)
	}
	if got, want := doc.EarlierText(), "Named earlier in this run, not now: Learning rate too high (before the first epoch)."; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	run.add(protocol.Event{Event: protocol.EventEpoch, Epoch: 1, Step: 800, Diagnoses: []protocol.Diagnosis{}})
	run.add(protocol.Event{Event: protocol.EventValCheck, Epoch: 2, Step: 900, ValAccuracy: 0.5, ValSize: 1000})
	if got := doc.Diagnoses(); len(got) != 0 {
		t.Errorf("after the first epoch, which found nothing: %v", got)
	}
}

// The data experiment is offered on a finished run that looks healthy or
// overfits, trained on the dataset loaded, and not on an arm of it.
func TestDataQuestion(t *testing.T) {
	finished := func(found ...string) *Run {
		run := &Run{Spec: &spec.Spec{}, Dataset: "tiny", Result: &protocol.Event{Event: protocol.EventResult},
			Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, ValAccuracy: 0.8}}}
		for _, c := range found {
			run.Result.Diagnoses = append(run.Result.Diagnoses, protocol.Diagnosis{Cause: c, Confidence: 0.5})
		}
		return run
	}
	training := finished()
	training.Result = nil
	arm := finished()
	arm.Experiment = "data"
	elsewhere := finished()
	elsewhere.Dataset = "mnist"
	solved := finished()
	solved.Epochs[0].ValAccuracy = 0.99
	for _, c := range []struct {
		name string
		run  *Run
		want bool
	}{
		{"healthy", finished(), true},
		{"overfitting", finished("class_confusion", "overfitting"), true},
		{"another finding", finished("lr_too_low"), false},
		{"still training", training, false},
		{"an arm of the data experiment", arm, false},
		{"trained on another dataset", elsewhere, false},
		{"healthy at 99% validation accuracy", solved, false},
	} {
		doc := &Doctor{&Root{Current: c.run, Dataset: &protocol.Dataset{Name: "tiny"}}}
		if got := doc.DataQuestion() != ""; got != c.want {
			t.Errorf("%s: offered %v, want %v", c.name, got, c.want)
		}
	}
}

// Run the data experiment trains the finished run's spec, which becomes
// the page's, on a quarter, half and all of the training images.
func TestRunDataExperiment(t *testing.T) {
	trained, err := spec.Preset("mnist-cnn", spec.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	trained.Train.Epochs = 2
	edited := trained.Clone()
	edited.Train.LR = 0.05
	run := &Run{ID: "r1", Spec: trained, Dataset: "tiny", State: protocol.StateDone, Result: &protocol.Event{Event: protocol.EventResult},
		Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 2, ValAccuracy: 0.8}}}
	r := &Root{Spec: edited, Host: quietHost{}, Current: run, Runs: []*Run{run}, Dataset: &protocol.Dataset{Name: "tiny", Shape: []int{28, 28, 1}}}
	(&Doctor{r}).RunDataExperiment()
	if r.Spec.Train.LR != trained.Train.LR {
		t.Errorf("the page's spec has lr %g, want the run's %g", r.Spec.Train.LR, trained.Train.LR)
	}
	arms := append([]*Run{r.Current}, r.Queue...)
	if len(arms) != 3 {
		t.Fatalf("%d arms started or queued, want 3", len(arms))
	}
	for i, want := range []struct {
		frac   float64
		epochs int
	}{{0.25, 8}, {0.5, 4}, {0, 2}} {
		if s := arms[i].Spec; s.Data.TrainFraction != want.frac || s.Train.Epochs != want.epochs || arms[i].Experiment != "data" {
			t.Errorf("arm %s: fraction %g, %d epochs, experiment %q; want %g, %d", arms[i].Name, s.Data.TrainFraction, s.Train.Epochs, arms[i].Experiment, want.frac, want.epochs)
		}
	}
}

// Findings whose cure is in the images, not in a setting, offer to show
// them: blank images and labels that say nothing of their images; a
// label-noise finding with a fix does not.
func TestLooksAtImages(t *testing.T) {
	for _, c := range []struct {
		d    protocol.Diagnosis
		want bool
	}{
		{protocol.Diagnosis{Cause: "blank_inputs"}, true},
		{protocol.Diagnosis{Cause: "label_noise", Evidence: map[string]float64{"silent_labels": 1}}, true},
		{protocol.Diagnosis{Cause: "label_noise", Evidence: map[string]float64{"confident_wrong": 0.2}, Fix: []string{"train.label_smoothing=0.1"}}, false},
		{protocol.Diagnosis{Cause: "lr_too_high"}, false},
	} {
		if got := LooksAtImages(c.d); got != c.want {
			t.Errorf("%s %v: %v, want %v", c.d.Cause, c.d.Evidence, got, c.want)
		}
	}
	doc := &Doctor{&Root{Tab: "Run"}}
	doc.ShowImages()
	if doc.Tab != "Data" {
		t.Errorf("tab %q after ShowImages, want Data", doc.Tab)
	}
}
