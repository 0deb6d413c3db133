package ui

import (
	"strings"
	"testing"

	"plateau/spec"
)

// Each run says what its settings change from the baseline: the first run
// ticked for the overlay, else the first run.
func TestRunChanges(t *testing.T) {
	base, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	with := func(sets ...string) *spec.Spec {
		s := base.Clone()
		for _, kv := range sets {
			path, value, _ := strings.Cut(kv, "=")
			if err := s.Set(path, value); err != nil {
				t.Fatal(err)
			}
		}
		s.Expand()
		return s
	}
	runs := []*Run{{ID: "a", Spec: base}, {ID: "b", Spec: with("train.lr=0.01")},
		{ID: "c", Spec: with("train.lr=0.01", "train.batch_size=16", "data.normalization=raw", "train.l2=0.001")}, {ID: "d", Spec: base.Clone()}}
	rs := &RunsView{&Root{Runs: runs, Overlay: map[string]bool{}}}
	for _, tc := range []struct {
		run  *Run
		want string
	}{
		{runs[0], "the baseline"},
		{runs[1], "train.lr=0.01"},
		{runs[2], "data.normalization=raw, train.batch_size=16, train.l2=0.001 and 1 more"},
		{runs[3], "the same settings"},
	} {
		if got := rs.ChangesText(tc.run); got != tc.want {
			t.Errorf("run %s: %q, want %q", tc.run.ID, got, tc.want)
		}
	}
	if got := rs.ChangesTitle(runs[2]); got != "data.normalization=raw\ntrain.batch_size=16\ntrain.l2=0.001\ntrain.lr=0.01" {
		t.Errorf("run c's title %q", got)
	}
	rs.Overlay["b"] = true
	if got, head := rs.ChangesText(runs[0]), rs.ChangesHeader(); got != "train.lr=0.001" || head != "settings changed from #2" {
		t.Errorf("with run b ticked: run a %q under %q, want train.lr=0.001 under settings changed from #2", got, head)
	}
}
