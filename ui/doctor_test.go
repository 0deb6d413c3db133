package ui

import (
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

// The data experiment is offered on a finished run that looks healthy or
// overfits, trained on the dataset loaded, and not on an arm of it.
func TestDataQuestion(t *testing.T) {
	finished := func(found ...string) *Run {
		run := &Run{Spec: &spec.Spec{}, Dataset: "tiny", Result: &protocol.Event{Event: protocol.EventResult}}
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
	} {
		doc := &Doctor{&Root{Current: c.run, Dataset: &protocol.Dataset{Name: "tiny"}}}
		if got := doc.DataQuestion() != ""; got != c.want {
			t.Errorf("%s: offered %v, want %v", c.name, got, c.want)
		}
	}
}
