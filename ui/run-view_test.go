package ui

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"plateau/protocol"
	"plateau/spec"
)

func TestBackendLabel(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"native", "native"},
		{"xla:cuda", "xla:cuda"},
		{"xla:/venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so", "xla, xla_cuda13"},
		{"xla:/pjrt_c_api_cpu_plugin.so", "xla, pjrt_c_api_cpu_plugin.so"},
	} {
		if got := backendLabel(tt.in); got != tt.want {
			t.Errorf("backendLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Once a run has started, the run view says on how many images it trains.
func TestBackendTextSaysTheSplits(t *testing.T) {
	run := &Run{}
	rv := &RunView{&Root{Current: run}}
	if got, want := rv.BackendText(), "trained in this browser's worker"; got != want {
		t.Errorf("before the start: %q, want %q", got, want)
	}
	run.Start = &protocol.Event{TrainSize: 13500, ValSize: 6000, TestSize: 10000}
	if got, want := rv.BackendText(), "trained in this browser's worker · 13,500 training, 6,000 validation and 10,000 test images"; got != want {
		t.Errorf("started: %q, want %q", got, want)
	}
	run.Server, run.Backend, run.Start.ValSize = "job-1", "native", 0
	if got, want := rv.BackendText(), "trained on the server, backend native · 13,500 training and 10,000 test images"; got != want {
		t.Errorf("on the server, no validation: %q, want %q", got, want)
	}
}

// A server run on XLA says that it compiles until its first step.
func TestProgressTextCompiling(t *testing.T) {
	run := &Run{State: protocol.StateRunning, Backend: "xla:cuda", Start: &protocol.Event{},
		Progress: protocol.Progress{Epoch: 1, Epochs: 2, StepsPerEpoch: 10}}
	pb := &ProgressBar{&Root{Current: run}}
	if got := pb.ProgressText(); !strings.Contains(got, "compiling") {
		t.Errorf("before the first step on XLA: %q, want it to say the step compiles", got)
	}
	run.Progress.Step = 1
	if got := pb.ProgressText(); strings.Contains(got, "compiling") {
		t.Errorf("after the first step: %q", got)
	}
	run.Progress.Step, run.Backend = 0, "native"
	if got := pb.ProgressText(); strings.Contains(got, "compiling") {
		t.Errorf("on the native backend: %q", got)
	}
}

// The per-class and gradient-norm cards say when their bars come instead
// of standing empty, and why per-class accuracy never comes for a run
// without a validation split.
func TestLayerAndClassCardsBeforeTheirData(t *testing.T) {
	run := &Run{State: protocol.StateRunning, Start: &protocol.Event{}}
	rv := &RunView{&Root{Current: run}}
	for name, got := range map[string]string{"per class": rv.PerClass(), "gradient norms": rv.GradNorms()} {
		if !strings.Contains(got, "after the first epoch") || !strings.Contains(got, "<svg") {
			t.Errorf("%s before the first epoch: %q, want a titled chart that says after the first epoch", name, got)
		}
	}
	run.Epochs = []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, Layers: []protocol.LayerStats{{Name: "conv1", WeightNorm: 1, GradNorm: 0.5}}}}
	if got := rv.PerClass(); !strings.Contains(got, "no validation split") {
		t.Errorf("per class without a validation split: %q", got)
	}
	if got := rv.GradNorms(); !strings.Contains(got, "conv1") || strings.Contains(got, "after the first epoch") {
		t.Errorf("gradient norms after an epoch: %q, want conv1's bar", got)
	}
	run.Epochs[0].PerClassAccuracy = []float64{0.5, 1}
	if got := rv.PerClass(); strings.Contains(got, "validation split") || strings.Count(got, "<rect") < 2 {
		t.Errorf("per class with two classes measured: %q", got)
	}
}

// A step event ahead of the worker's last progress message moves the
// progress on: a run that diverges at its second step says step 2.
func TestStepEventAheadOfProgress(t *testing.T) {
	run := &Run{State: protocol.StateDone, Progress: protocol.Progress{Epoch: 1, Epochs: 3, StepsPerEpoch: 27, Step: 1}}
	run.add(protocol.Event{Event: protocol.EventStep, Epoch: 1, Step: 2, Loss: 8e14})
	pb := &ProgressBar{&Root{Current: run}}
	if got := pb.ProgressText(); !strings.Contains(got, "step 2/81") {
		t.Errorf("after a step event at step 2: %q", got)
	}
	run.add(protocol.Event{Event: protocol.EventStep, Epoch: 1, Step: 1})
	if run.Progress.Step != 2 {
		t.Errorf("an older step event moved the progress back to step %d", run.Progress.Step)
	}
}

// The doctor's class_confusion finding is outlined on the confusion
// matrix: the two cells of a pair, the row and column of one class.
func TestConfusionMarks(t *testing.T) {
	m := [][]int{{8, 2, 0}, {3, 7, 0}, {0, 1, 9}}
	e := protocol.Event{Event: protocol.EventEpoch, Epoch: 3, Confusion: m}
	run := &Run{State: protocol.StateRunning, Start: &protocol.Event{Classes: []string{"a", "b", "c"}}, Epochs: []protocol.Event{e}}
	rv := &RunView{&Root{Current: run}}
	if got := strings.Count(rv.Confusion(), `class="mark"`); got != 0 {
		t.Errorf("%d outlines without a finding", got)
	}
	run.Epochs[0].Diagnoses = []protocol.Diagnosis{{Cause: "class_confusion", Evidence: map[string]float64{"class_a": 0, "class_b": 1}}}
	got := rv.Confusion()
	// Cells are 90 px in a 340 px chart with 70 px of labels: (0, 1) at
	// x 160, y 28 and (1, 0) at x 70, y 118.
	if strings.Count(got, `class="mark"`) != 2 || !strings.Contains(got, `class="mark" x="160.0" y="28.0" width="90.0" height="90.0"`) ||
		!strings.Contains(got, `class="mark" x="70.0" y="118.0" width="90.0" height="90.0"`) {
		t.Errorf("a pair's outlines:\n%s", got)
	}
	run.Epochs[0].Diagnoses[0].Evidence = map[string]float64{"class": 2}
	got = rv.Confusion()
	if !strings.Contains(got, `class="mark" x="70.0" y="208.0" width="270.0" height="90.0"`) || !strings.Contains(got, `class="mark" x="250.0" y="28.0" width="90.0" height="270.0"`) {
		t.Errorf("a class's row and column:\n%s", got)
	}
}

// The Model tab says what an image costs the model: mnist-cnn's forward
// pass is 8.6 MFLOP (its benchmark's 25.7 MFLOP to train, a third).
func TestModelCost(t *testing.T) {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	mv := &ModelView{&Root{Spec: s}}
	if got := mv.Cost(); got != "8.6 MFLOP per image forward, about 26 MFLOP to train on it" {
		t.Errorf("mnist-cnn's cost: %q", got)
	}
}

// A test split unlike validation shows as the two intervals on the
// accuracy chart.
func TestTestShiftBands(t *testing.T) {
	run := &Run{ID: "r", State: protocol.StateDone, Start: &protocol.Event{ValSize: 300, TestSize: 200},
		Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, ValAccuracy: 0.95, TrainAccuracy: 0.96}},
		Result: &protocol.Event{Event: protocol.EventResult, TestAccuracy: 0.7, Diagnoses: []protocol.Diagnosis{{Cause: "test_shift",
			Evidence: map[string]float64{"val_ci_low": 0.92, "val_ci_high": 0.97, "test_ci_low": 0.63, "test_ci_high": 0.76}}}}}
	r := &Root{Current: run, Runs: []*Run{run}, Overlay: map[string]bool{}}
	b := r.AccuracyBands()
	if len(b) != 2 || b[0].Y0 != 0.92 || b[1].Y1 != 0.76 || !strings.Contains(b[1].Label, "test") {
		t.Errorf("bands %+v, want the validation and the test intervals", b)
	}
}

// Overfitting's mark says whether the validation loss turned up after its
// best epoch or stalled there.
func TestOverfittingMark(t *testing.T) {
	for _, tt := range []struct {
		rise float64
		want string
	}{{0.3, "val loss turns up after epoch 4"}, {0.002, "val loss no lower since epoch 4"}, {0.06, "val loss no lower since epoch 4"}} {
		run := &Run{ID: "r", State: protocol.StateDone, Start: &protocol.Event{ValSize: 300},
			Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 8}},
			Result: &protocol.Event{Event: protocol.EventResult, Diagnoses: []protocol.Diagnosis{{Cause: "overfitting",
				Evidence: map[string]float64{"best_val_loss_epoch": 4, "val_loss_rise": tt.rise}}}}}
		r := &Root{Current: run, Runs: []*Run{run}, Overlay: map[string]bool{}}
		if m := r.LossMarks(); len(m) != 1 || m[0].X != 4 || m[0].Label != tt.want {
			t.Errorf("rise %g: marks %+v, want %q at 4", tt.rise, m, tt.want)
		}
	}
}

// Before the first epoch the doctor panel shows what the start event's
// findings say (raw inputs are known before any training).
func TestFindingsBeforeTheFirstEpoch(t *testing.T) {
	run := &Run{State: protocol.StateRunning, Start: &protocol.Event{Event: protocol.EventStart,
		Diagnoses: []protocol.Diagnosis{{Cause: "unnormalized_input", Confidence: 0.5}}}}
	doc := &Doctor{&Root{Current: run}}
	if d := doc.Diagnoses(); len(d) != 1 || d[0].Cause != "unnormalized_input" {
		t.Errorf("findings before the first epoch: %+v", d)
	}
	if got := doc.DoctorStatus(); !strings.Contains(got, "1 finding from the data and the spec before the first epoch") {
		t.Errorf("status %q", got)
	}
	run.Epochs = []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1}}
	if d := doc.Diagnoses(); len(d) != 0 {
		t.Errorf("after an epoch without findings, the start's still show: %+v", d)
	}
}

// A finding's numbers read with labels and units, a class's number with
// the class's name and a layer's index as the layer's name.
func TestEvidenceLabelsAndNames(t *testing.T) {
	s := &spec.Spec{Model: spec.Model{Input: []int{28, 28, 1}, Classes: 3, Layers: []spec.Layer{
		{Type: spec.Conv2D, Filters: 4, Kernel: 3, Activation: spec.ReLU}, {Type: spec.GlobalAvgPool, Name: "gap"}, {Type: spec.Dense}}}}
	run := &Run{Spec: s, Start: &protocol.Event{Classes: []string{"T-shirt/top", "Trouser", "Shirt"}}}
	doc := &Doctor{&Root{Current: run}}
	got := doc.Evidence(protocol.Diagnosis{Evidence: map[string]float64{"class": 2, "class_recall": 0.5, "class_a": 0,
		"rare_class": 1, "pair_share": 1, "local_pool_layer": 2, "raw": 1, "val_minus_train": -0.023}})
	want := map[string]string{"class": "2 (Shirt)", "class's recall": "50%", "first class": "0 (T-shirt/top)",
		"smallest class": "1 (Trouser)", "the pair's share of the mistakes": "100%", "layer pooling to 1×1": "gap",
		"raw pixels (0–255)": "yes", "validation minus training accuracy": "−2.3 points"}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}
	for _, e := range got {
		if want[e.Name] != e.Value {
			t.Errorf("%s: %q, want %q", e.Name, e.Value, want[e.Name])
		}
	}
}

// A count in the thousands is drawn smaller to stay inside its cell; a
// count that cannot fit is left to the cell's tooltip.
func TestHeatmapCountsFitTheirCells(t *testing.T) {
	m := make([][]int, 10)
	for i := range m {
		m[i] = make([]int, 10)
		m[i][i] = 7
	}
	m[0][0], m[1][1] = 1000, 123456
	svg := Heatmap(m, nil, 340)
	if !strings.Contains(svg, `class="cell" text-anchor="middle" fill="white">7</text>`) {
		t.Errorf("a one-digit count is not drawn at the stylesheet's size:\n%s", svg)
	}
	if !regexp.MustCompile(`style="font-size:[7-9]\.\dpx">1000</text>`).MatchString(svg) {
		t.Errorf("1000 is not drawn smaller:\n%s", svg)
	}
	if strings.Contains(svg, ">123456</text>") || !strings.Contains(svg, "predicted 1: 123456</title>") {
		t.Errorf("a six-digit count is drawn in its cell, or missing from its tooltip")
	}
}

// A run's name says what its data spec plants.
func TestRunNameSaysWhatTheDataPlants(t *testing.T) {
	s, err := spec.Preset("fashion-fast")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := RunName("fashion-mnist", s), "fashion-mnist · fashion-fast · lr 0.001"; got != want {
		t.Errorf("RunName = %q, want %q", got, want)
	}
	s.Data.LabelNoise, s.Data.Imbalance, s.Data.TrainFraction = 0.3, 0.1, 0.25
	if got, want := RunName("fashion-mnist", s), "fashion-mnist · fashion-fast · lr 0.001 · 30% labels wrong · imbalance 0.1 · 25% of the training images"; got != want {
		t.Errorf("RunName = %q, want %q", got, want)
	}
}

// A hidden dense layer narrower than the classes carries a note in the
// Model tab; the output layer and wide layers do not.
func TestNarrowLayerNote(t *testing.T) {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.Expand()
	mv := &ModelView{&Root{Spec: s}}
	for _, r := range mv.LayerRows() {
		if r.Note != "" {
			t.Errorf("mnist-cnn's layer %d has a note: %q", r.Index, r.Note)
		}
	}
	s.Model.Layers[6].Units = 4
	for _, r := range mv.LayerRows() {
		if want := r.Index == 6; (r.Note != "") != want {
			t.Errorf("dense1 of 4 units: layer %d note %q", r.Index, r.Note)
		}
	}
}

// A pooling to 1×1 of features that see little of the image carries a
// note in the Model tab.
func TestLocalPoolNote(t *testing.T) {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.Expand()
	mv := &ModelView{&Root{Spec: s}}
	// Its second max pooling made global: 14×14 maps of features that see
	// 8×8 pixels.
	i := slices.IndexFunc(s.Model.Layers, func(l spec.Layer) bool { return l.Type == spec.Dense }) - 1
	s.Model.Layers[i] = spec.Layer{Type: spec.GlobalAvgPool, Name: "gap"}
	want := "pools 14×14 maps to 1×1 while each feature sees 8×8 of the 28 pixels"
	for _, r := range mv.LayerRows() {
		if (r.Index == i) != strings.HasPrefix(r.Note, want) {
			t.Errorf("layer %d (%s): note %q", r.Index, r.Layer.Type, r.Note)
		}
	}
}

// Validation checks within an epoch draw a light validation line through
// the checks and the epochs' ends, and the progress says the latest
// validation accuracy; a run without checks draws no such line.
func TestValChecksOnTheCurves(t *testing.T) {
	run := &Run{State: protocol.StateRunning}
	r := &Root{Current: run, Runs: []*Run{run}}
	run.add(protocol.Event{Event: protocol.EventStart, StepsPerEpoch: 100, Epochs: 3})
	run.add(protocol.Event{Event: protocol.EventStep, Epoch: 1, Step: 50, Loss: 1, Accuracy: 0.6})
	if got := r.AccuracyChart(); strings.Contains(got, "validation (checks)") {
		t.Errorf("no checks yet, but the legend has their line: %q", got)
	}
	if got := (&ProgressBar{r}).ProgressText(); strings.Contains(got, "validation") {
		t.Errorf("nothing validated yet: %q", got)
	}
	run.add(protocol.Event{Event: protocol.EventValCheck, Epoch: 1, Step: 40, ValLoss: 0.9, ValAccuracy: 0.7, ValSize: 1000})
	// The doctor's panel, silent until the first epoch, says what shows.
	if got := (&Doctor{r}).DoctorStatus(); !strings.Contains(got, "Nothing found in 1 validation check so far (latest 70.0%)") {
		t.Errorf("the doctor's status before the first epoch, after a check: %q", got)
	}
	run.add(protocol.Event{Event: protocol.EventEpoch, Epoch: 1, Step: 100, ValLoss: 0.5, ValAccuracy: 0.85})
	if got := (&ProgressBar{r}).ProgressText(); !strings.Contains(got, "validation 85.0%") {
		t.Errorf("after the first epoch: %q, want its validation accuracy", got)
	}
	run.add(protocol.Event{Event: protocol.EventValCheck, Epoch: 2, Step: 150, ValLoss: 0.4, ValAccuracy: 0.875, ValSize: 1000})
	if got := (&ProgressBar{r}).ProgressText(); !strings.Contains(got, "validation 87.5%") {
		t.Errorf("after a check in the second epoch: %q, want the check's accuracy", got)
	}
	var checks []Point
	for _, s := range r.series(func(run *Run) curves {
		return curves{check: run.CheckAccuracy, val: epochPoints(run, func(e protocol.Event) float64 { return e.ValAccuracy })}
	}) {
		if s.Name == "validation (checks)" {
			checks = s.Points
		}
	}
	if want := []Point{{0.4, 0.7}, {1, 0.85}, {1.5, 0.875}}; !slices.Equal(checks, want) {
		t.Errorf("the checks' line %v, want %v", checks, want)
	}
	if got := r.LossChart(); !strings.Contains(got, "validation (checks)") {
		t.Errorf("the loss chart has no line of checks: %q", got)
	}
	// A server run followed again replays its checks from the start.
	run.forReplay()
	if len(run.CheckLoss)+len(run.CheckAccuracy) != 0 {
		t.Errorf("a replay kept %d checks", len(run.CheckAccuracy))
	}
}

// A run that its time limit will end says so beside the ETA.
func TestProgressTextTimeLimit(t *testing.T) {
	run := &Run{State: protocol.StateRunning, Start: &protocol.Event{},
		Progress: protocol.Progress{Epoch: 1, Epochs: 5, StepsPerEpoch: 100, Step: 50, ETA: 90, TimeShare: 0.5}}
	pb := &ProgressBar{&Root{Current: run}}
	if got := pb.ProgressText(); !strings.Contains(got, "ETA 1m30s (the time limit)") {
		t.Errorf("half the limit used at a tenth of the steps: %q, want the ETA of the time limit", got)
	}
	run.Progress.TimeShare = 0.05
	if got := pb.ProgressText(); strings.Contains(got, "time limit") {
		t.Errorf("the steps further along than the limit: %q", got)
	}
}

// A server run, which sends no progress messages, gets an ETA at the pace
// of its latest epoch, and the share of its time limit used.
func TestServerRunETA(t *testing.T) {
	s := spec.Default()
	run := &Run{Server: "job-1", Spec: s, State: protocol.StateRunning}
	run.add(protocol.Event{Event: protocol.EventStart, StepsPerEpoch: 100, Epochs: 10})
	run.add(protocol.Event{Event: protocol.EventStep, Epoch: 1, Step: 50})
	if run.Progress.ETA != 0 {
		t.Errorf("ETA %g before the first epoch's end: want none yet", run.Progress.ETA)
	}
	run.add(protocol.Event{Event: protocol.EventEpoch, Epoch: 1, Step: 100, Seconds: 20})
	if p := run.Progress; p.ETA != 180 || p.TimeShare != 0 {
		t.Errorf("after an epoch of 100 steps in 20 s: ETA %g, share %g; want 180 (900 steps at 5 a second), none", p.ETA, p.TimeShare)
	}
	s.Train.TimeLimitSeconds = 100
	run.add(protocol.Event{Event: protocol.EventStep, Epoch: 2, Step: 150})
	if p := run.Progress; p.ETA != 70 || p.TimeShare != 0.3 {
		t.Errorf("with a limit of 100 s, 30 s in: ETA %g, share %g; want 70 and 0.3", p.ETA, p.TimeShare)
	}
	pb := &ProgressBar{&Root{Current: run}}
	if got := pb.ProgressText(); !strings.Contains(got, "ETA 1m10s (the time limit)") {
		t.Errorf("progress %q", got)
	}
}
