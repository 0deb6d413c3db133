package ui

import (
	"testing"

	"plateau/spec"
)

// The time limit's field shows the limit as a duration.
func TestTimeLimitText(t *testing.T) {
	s := spec.Default()
	tv := &TrainingView{&Root{Spec: s}}
	if got := tv.TimeLimitText(); got != "" {
		t.Errorf("without a limit: %q", got)
	}
	s.Train.TimeLimitSeconds = 170
	if got := tv.TimeLimitText(); got != "2m50s" {
		t.Errorf("170 s: %q, want 2m50s", got)
	}
}
