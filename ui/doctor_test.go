package ui

import (
	"testing"

	"plateau/protocol"
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
