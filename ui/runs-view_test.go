package ui

import (
	"strings"
	"testing"

	"plateau/protocol"
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

// A run's settings become the page's again, with the dataset it trained
// on when that is one of the server's; a file of the user's is named.
func TestUseRunSpec(t *testing.T) {
	base, err := spec.Preset("mnist-cnn", spec.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tried := base.Clone()
	tried.Train.LR = 0.0031
	tried.Data.Augment.Rotation = spec.Transform{P: 0.5, Strength: 10}
	fashion := base.Clone()
	fashion.Data.Dataset = "fashion-mnist"
	r := NewRoot(quietHost{})
	r.Datasets = []protocol.Listing{{Name: "mnist"}, {Name: "fashion-mnist"}}
	r.DatasetName = "mnist"
	r.Spec = base.Clone()
	r.Runs = []*Run{
		{ID: "a", Name: "mnist · lr 0.0031", Dataset: "mnist", Spec: tried},
		{ID: "b", Name: "fashion-mnist · mnist-cnn", Dataset: "fashion-mnist", Spec: fashion},
		{ID: "c", Name: "shapes.zip · mnist-cnn", Dataset: "shapes.zip", Spec: base},
	}

	r.UseRunSpec("a")
	if r.Spec.Train.LR != 0.0031 || r.Spec.Data.Augment.Rotation.P != 0.5 || r.Spec == tried || !r.Valid() {
		t.Errorf("after using run a: lr %g, rotation %+v, valid %v; want run a's settings in a copy of its spec", r.Spec.Train.LR, r.Spec.Data.Augment.Rotation, r.Valid())
	}
	if r.DatasetName != "mnist" || !strings.Contains(r.Notice, "the settings of mnist · lr 0.0031 are the page's now") {
		t.Errorf("dataset %q, notice %q", r.DatasetName, r.Notice)
	}
	r.Spec.Train.LR = 1 // the page's later edits leave the run's spec alone
	if tried.Train.LR != 0.0031 {
		t.Errorf("the run's spec changed with the page's: lr %g", tried.Train.LR)
	}

	r.UseRunSpec("b")
	if r.DatasetName != "fashion-mnist" || !r.Loading || !strings.Contains(r.Notice, "loading fashion-mnist") {
		t.Errorf("after using run b: dataset %q loading %v, notice %q; want fashion-mnist loading", r.DatasetName, r.Loading, r.Notice)
	}
	r.UseRunSpec("c")
	if r.DatasetName != "fashion-mnist" || !strings.Contains(r.Notice, "choose that file or folder again") {
		t.Errorf("after using run c: dataset %q, notice %q; want the file named", r.DatasetName, r.Notice)
	}
}

// Used before the server's datasets are listed (the page has just
// opened), a run's settings bring its dataset as the first to load.
func TestUseRunSpecBeforeTheDatasetsAreListed(t *testing.T) {
	s, err := spec.Preset("mnist-cnn", spec.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRoot(quietHost{})
	r.Runs = []*Run{{ID: "a", Name: "fashion-mnist · mnist-cnn", Dataset: "fashion-mnist", Spec: s}}
	r.UseRunSpec("a")
	r.SetDatasets([]protocol.Listing{{Name: "mnist"}, {Name: "fashion-mnist"}})
	if r.DatasetName != "fashion-mnist" {
		t.Errorf("the first dataset loaded is %q, want the run's fashion-mnist", r.DatasetName)
	}
}

// A run overlaid after it ended within its first epoch (diverged at its
// second step) draws its steps; one with epochs draws those.
func TestOverlayOfARunWithoutEpochs(t *testing.T) {
	done := &Run{ID: "a", Name: "healthy", Epochs: []protocol.Event{{Epoch: 1, TrainLoss: 0.5, ValLoss: 0.6}, {Epoch: 2, TrainLoss: 0.4, ValLoss: 0.5}},
		StepLoss: []Point{{X: 0.5, Y: 0.7}, {X: 1, Y: 0.5}}}
	diverged := &Run{ID: "b", Name: "fault rate-too-high", StepLoss: []Point{{X: 0.03, Y: 2.7}}}
	r := &Root{Runs: []*Run{done, diverged}, Overlay: map[string]bool{"a": true, "b": true}}
	got := r.series(func(run *Run) curves {
		return curves{step: run.StepLoss, train: epochPoints(run, func(e protocol.Event) float64 { return e.TrainLoss })}
	})
	if len(got) != 4 || len(got[0].Points) != 2 || got[0].Points[0].X != 1 || got[2].Name != "#2 fault rate-too-high · steps" || len(got[2].Points) != 1 {
		t.Errorf("overlay series %+v; want run a's two epochs and run b's one step, named so", got)
	}
}
