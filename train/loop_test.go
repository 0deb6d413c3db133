package train

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// quadrants makes n 8×8 grey images whose class is the bright quadrant:
// 0 top left, 1 top right, 2 bottom left, 3 bottom right. With imbalance,
// class k keeps about imbalance^(k/3) of its examples.
func quadrants(n int, seed uint64) data.Split {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := data.Split{Images: make([]uint8, n*64), Labels: make([]int32, n)}
	for i := range n {
		k := rng.IntN(4)
		s.Labels[i] = int32(k)
		img := s.Images[i*64 : (i+1)*64]
		for y := range 8 {
			for x := range 8 {
				v := rng.IntN(70)
				if y/4 == k/2 && x/4 == k%2 {
					v = 140 + rng.IntN(116)
				}
				img[y*8+x] = uint8(v)
			}
		}
	}
	return s
}

func tinyDataset() *data.Dataset {
	return &data.Dataset{
		Name:    "quadrants",
		Classes: []string{"top left", "top right", "bottom left", "bottom right"},
		H:       8, W: 8, C: 1,
		Train: quadrants(320, 1),
		Test:  quadrants(80, 2),
	}
}

// tinySpec is a small network that learns the quadrants in a few epochs.
func tinySpec(change func(*spec.Spec)) *spec.Spec {
	s := &spec.Spec{
		Model: spec.Model{Input: []int{8, 8, 1}, Classes: 4, Layers: []spec.Layer{
			{Type: spec.Conv2D, Filters: 4, Kernel: 3, Activation: spec.ReLU},
			{Type: spec.MaxPool},
			{Type: spec.Flatten},
			{Type: spec.Dense},
		}},
		Train: spec.Train{Optimizer: "adam", LR: 0.01, BatchSize: 16, Epochs: 4, Seed: 1, LogEvery: 5},
		Data:  spec.Data{Normalization: "scale01", Validation: 0.2},
	}
	if change != nil {
		change(s)
	}
	s.Expand()
	return s
}

// run trains and returns the result and every event emitted.
func run(t *testing.T, ctx context.Context, cfg Config) (*Result, []Event) {
	t.Helper()
	var events []Event
	cfg.Emit = func(e Event) { events = append(events, e) }
	if cfg.Dataset == nil {
		cfg.Dataset = tinyDataset()
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res, events
}

func TestRunLearns(t *testing.T) {
	s := tinySpec(nil)
	if err := s.Validate(); err != nil {
		t.Fatalf("test spec: %v", err)
	}
	res, events := run(t, context.Background(), Config{Spec: s})
	if got := res.Final.Stopped; got != StoppedCompleted {
		t.Fatalf("stopped = %s (%s), want completed", got, res.Final.Reason)
	}
	if res.Final.TestAccuracy < 0.9 {
		t.Errorf("test accuracy %.3f, want ≥ 0.9", res.Final.TestAccuracy)
	}
	var kinds []string
	for _, e := range events {
		if len(kinds) == 0 || kinds[len(kinds)-1] != e.Event {
			kinds = append(kinds, e.Event)
		}
	}
	if kinds[0] != EventStart || kinds[len(kinds)-1] != EventResult {
		t.Errorf("event kinds %v: want start first and result last", kinds)
	}
	start := events[0]
	if start.TrainSize != 256 || start.ValSize != 64 || start.TestSize != 80 || start.StepsPerEpoch != 16 || start.Params == 0 || start.Input == nil {
		t.Errorf("start event %+v", start)
	}
	if len(res.History) != 4 {
		t.Fatalf("%d epoch events, want 4", len(res.History))
	}
	last := res.History[3]
	if last.Epoch != 4 || last.Step != 64 || len(last.Confusion) != 4 || len(last.PerClassAccuracy) != 4 || len(last.Layers) == 0 {
		t.Errorf("last epoch event %+v", last)
	}
	if !(last.ValAccuracy > 0.9) || !(last.TrainLoss < res.History[0].TrainLoss) {
		t.Errorf("val accuracy %.3f, train loss %.3f after %.3f: not learning", last.ValAccuracy, last.TrainLoss, res.History[0].TrainLoss)
	}
	// Every fifth step, and each epoch's last (16 steps an epoch): the
	// step curves reach the end of every epoch.
	steps, lastStep := 0, 0
	for _, e := range events {
		if e.Event == EventStep {
			steps++
			lastStep = e.Step
			if (e.Step%5 != 0 && e.Step%16 != 0) || math.IsNaN(e.Loss) || e.LR != 0.01 {
				t.Errorf("step event %+v", e)
			}
		}
	}
	if steps != 64/5+4 || lastStep != 64 {
		t.Errorf("%d step events, the last at step %d; want %d, the last at step 64", steps, lastStep, 64/5+4)
	}
	for _, e := range events {
		if _, err := json.Marshal(e); err != nil {
			t.Errorf("%s event does not encode: %v", e.Event, err)
		}
	}
}

// timeless blanks the fields that measure time, which differ between runs.
func timeless(events []Event) []string {
	var out []string
	for _, e := range events {
		e.Seconds, e.ImagesPerSecond = 0, 0
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	return out
}

func TestRunDeterministic(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Model.Layers = slices.Insert(s.Model.Layers, 3, spec.Layer{Type: spec.Dropout, Rate: 0.2})
		s.Data.Augment.Brightness = spec.Transform{P: 0.5, Strength: 0.1}
		s.Train.Epochs = 2
	})
	first, a := run(t, context.Background(), Config{Spec: s})
	second, b := run(t, context.Background(), Config{Spec: s})
	if got, want := timeless(b), timeless(a); !slices.Equal(got, want) {
		t.Errorf("event streams differ:\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(first.Network.Values(), second.Network.Values()) {
		t.Error("final weights differ")
	}
}

func TestEarlyStopping(t *testing.T) {
	tests := []struct {
		name        string
		restoreBest bool
	}{
		{"keep last", false},
		{"restore best", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A rate this small cannot improve the validation loss by min_delta.
			s := tinySpec(func(s *spec.Spec) {
				s.Train.LR = 1e-3
				s.Train.Epochs = 10
				s.Train.EarlyStopping = spec.EarlyStopping{Patience: 2, MinDelta: 10, RestoreBest: tt.restoreBest}
			})
			res, _ := run(t, context.Background(), Config{Spec: s})
			f := res.Final
			if f.Stopped != StoppedEarlyStopping || f.Epochs != 3 || f.BestEpoch != 1 {
				t.Fatalf("stopped %s after %d epochs, best %d (%s); want early_stopping after 3, best 1", f.Stopped, f.Epochs, f.BestEpoch, f.Reason)
			}
			if !strings.Contains(f.Reason, "val_loss did not improve for 2 epochs") {
				t.Errorf("reason %q", f.Reason)
			}
			// The best epoch's weights give back its validation loss.
			splits := Prepare(tinyDataset(), s.Data, s.Train.Seed)
			loss, _, _ := Evaluate(res.Network, res.Normalizer, splits.Val, 0)
			best, last := res.History[0].ValLoss, res.History[2].ValLoss
			want := last
			if tt.restoreBest {
				want = best
			}
			if loss != want {
				t.Errorf("validation loss of the final weights %.7g, want %.7g (best %.7g, last %.7g)", loss, want, best, last)
			}
		})
	}
}

func TestDivergence(t *testing.T) {
	tests := []struct {
		name string
		lr   float64
		want []string
	}{
		{"exploding loss", 1e6, []string{"loss exploded to", "with lr 1e+06", "lower train.lr (try 1e+05)", "data.normalization", "the test measures the initial weights"}},
		{"NaN loss", 1e30, []string{"loss became NaN at step 2 (epoch 1)", "with lr 1e+30", "lower train.lr (try 1e+29)", "the test measures the initial weights"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tinySpec(func(s *spec.Spec) {
				s.Train.Optimizer = "sgd"
				s.Train.LR = tt.lr
				s.Data.Normalization = "raw"
			})
			res, events := run(t, context.Background(), Config{Spec: s})
			f := res.Final
			if f.Stopped != StoppedDiverged {
				t.Fatalf("stopped = %s, want diverged", f.Stopped)
			}
			for _, want := range tt.want {
				if !strings.Contains(f.Reason, want) {
					t.Errorf("reason %q does not say %q", f.Reason, want)
				}
			}
			if !FiniteAll(res.Network.Values()) {
				t.Error("the final weights are not finite")
			}
			if math.IsNaN(f.TestLoss) {
				t.Error("no test loss after restoring the last good weights")
			}
			if events[len(events)-1].Event != EventResult {
				t.Error("no result event")
			}
			// The steps before the divergence (step 2 or later) are on the
			// curve, the exploding loss with them when it is a number.
			var steps []Event
			for _, e := range events {
				if e.Event == EventStep {
					steps = append(steps, e)
				}
			}
			if len(steps) == 0 {
				t.Fatal("no step event before the result: the loss curve is empty")
			}
			last := steps[len(steps)-1]
			if !finite(last.Loss) || last.Epoch < 1 || last.Step < 1 {
				t.Errorf("the last step event %+v, want a finite loss at the step that diverged", last)
			}
			if tt.name == "exploding loss" && !(last.Loss > 1e3*math.Log(2)) {
				t.Errorf("the last step event's loss %g does not show the explosion", last.Loss)
			}
			if _, err := json.Marshal(f); err != nil {
				t.Errorf("result does not encode: %v", err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Run("during training", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var events []Event
		cfg := Config{Spec: tinySpec(nil), Dataset: tinyDataset(), Emit: func(e Event) {
			events = append(events, e)
			if e.Event == EventStep && e.Step == 20 {
				cancel()
			}
		}}
		res, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		f := res.Final
		if f.Stopped != StoppedCanceled || f.Epochs != 1 || !math.IsNaN(f.TestAccuracy) {
			t.Errorf("result %+v, want canceled after 1 epoch without a test", f)
		}
		if last := events[len(events)-1]; last.Event != EventResult {
			t.Errorf("last event %s, want result", last.Event)
		}
	})
	t.Run("before the start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, _ := run(t, ctx, Config{Spec: tinySpec(nil)})
		if res.Final.Stopped != StoppedCanceled || res.Final.Epochs != 0 {
			t.Errorf("result %+v, want canceled after 0 epochs", res.Final)
		}
	})
}

func TestClassWeightsChangeTheLoss(t *testing.T) {
	losses := map[string]float64{}
	for _, balance := range []string{"none", "class_weights"} {
		s := tinySpec(func(s *spec.Spec) {
			s.Data.Imbalance = 0.1
			s.Data.Balance = balance
		})
		tr, err := newTrainer(Config{Spec: s, Dataset: tinyDataset()})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.classWeights != nil; got != (balance == "class_weights") {
			t.Fatalf("%s: class weights set = %v", balance, got)
		}
		n := tr.loader.Next(tr.x, tr.y)
		losses[balance], _, _ = tr.trainStep(n, 0.01)
	}
	if losses["none"] == losses["class_weights"] {
		t.Errorf("loss %g with and without class weights", losses["none"])
	}
}

func TestTrainStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := tinySpec(func(s *spec.Spec) {
		s.Train.L1, s.Train.L2, s.Train.GradClip, s.Train.WeightDecay = 1e-4, 1e-4, 1, 1e-4
		s.Train.LabelSmoothing = 0.1
		s.Data.Balance = "class_weights"
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
		s.Model.Layers = slices.Insert(s.Model.Layers, 4, spec.Layer{Type: spec.Dropout, Rate: 0.2})
		s.Data.Augment.FlipHorizontal = spec.Transform{P: 0.5}
	})
	s.Expand()
	tr, err := newTrainer(Config{Spec: s, Dataset: tinyDataset()})
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		n := tr.loader.Next(tr.x, tr.y)
		if n == 0 {
			tr.loader.Epoch(1)
			n = tr.loader.Next(tr.x, tr.y)
		}
		tr.trainStep(n, tr.lr(0, 3))
	}
	step() // warm-up
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("%v allocations per training step, want 0", n)
	}
}

func TestResume(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.Epochs = 4
		s.Train.Schedule = spec.Schedule{Type: "cosine"}
		s.Train.EarlyStopping = spec.EarlyStopping{Patience: 3, RestoreBest: true}
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
		s.Model.Layers = slices.Insert(s.Model.Layers, 4, spec.Layer{Type: spec.Dropout, Rate: 0.2})
		s.Data.Augment.Brightness = spec.Transform{P: 0.5, Strength: 0.1}
	})
	whole, wholeEvents := run(t, context.Background(), Config{Spec: s})

	path := filepath.Join(t.TempDir(), "run.safetensors")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cut, err := Run(ctx, Config{Spec: s, Dataset: tinyDataset(), Checkpoint: path, Emit: func(e Event) {
		if e.Event == EventEpoch && e.Epoch == 2 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cut.Final.Stopped != StoppedCanceled || cut.Final.Epochs != 2 {
		t.Fatalf("interrupted run: %+v", cut.Final)
	}

	var resumedEvents []Event
	resumed, err := Resume(context.Background(), path, Config{Dataset: tinyDataset(), Emit: func(e Event) { resumedEvents = append(resumedEvents, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resumed.Network.Values(), whole.Network.Values()) {
		t.Error("resumed run ends with other weights than the uninterrupted one")
	}
	// The epochs after the checkpoint report what the uninterrupted run did.
	var want, got []Event
	for _, e := range wholeEvents {
		if e.Step > 32 && e.Event != EventResult {
			want = append(want, e)
		}
	}
	for _, e := range resumedEvents {
		if e.Event != EventStart && e.Event != EventResult {
			got = append(got, e)
		}
	}
	if g, w := timeless(got), timeless(want); !slices.Equal(g, w) {
		t.Errorf("resumed events:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	if resumed.Final.Epochs != 4 || resumed.Final.TestAccuracy != whole.Final.TestAccuracy {
		t.Errorf("resumed result %+v, want %+v", resumed.Final, whole.Final)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*spec.Spec)
		want   string
	}{
		{"input shape", func(s *spec.Spec) { s.Model.Input = []int{28, 28, 1} }, "set model.input to [8, 8, 1]"},
		{"classes", func(s *spec.Spec) { s.Model.Classes = 10; s.Model.Layers[3].Units = 10 }, "set model.classes to 4"},
		{"optimizer", func(s *spec.Spec) { s.Train.Optimizer = "adagrad" }, "unknown optimizer"},
		{"schedule", func(s *spec.Spec) { s.Train.Schedule.Type = "linear" }, "unknown schedule"},
		{"balance", func(s *spec.Spec) { s.Data.Balance = "undersample" }, "data.balance"},
		{"lr", func(s *spec.Spec) { s.Train.LR = 0 }, "train.lr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), Config{Spec: tinySpec(tt.change), Dataset: tinyDataset()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one that says %q", err, tt.want)
			}
		})
	}
}

func TestReduceOnPlateau(t *testing.T) {
	// At this rate the validation loss moves by far less than 1e-4 an epoch.
	s := tinySpec(func(s *spec.Spec) {
		s.Train.LR = 1e-9
		s.Train.Epochs = 3
		s.Train.Schedule = spec.Schedule{Type: "reduce_on_plateau", Patience: 1, Factor: 0.5}
	})
	res, _ := run(t, context.Background(), Config{Spec: s})
	var reduced []bool
	var lrs []float64
	for _, e := range res.History {
		reduced = append(reduced, e.LRReduced)
		lrs = append(lrs, e.LR)
	}
	if want := []bool{false, true, true}; !slices.Equal(reduced, want) {
		t.Errorf("lr_reduced %v, want %v", reduced, want)
	}
	if want := []float64{1e-9, 1e-9, 0.5e-9}; !slices.Equal(lrs, want) {
		t.Errorf("lr %v, want %v", lrs, want)
	}
}

func TestContinueFromNetwork(t *testing.T) {
	trained, _ := run(t, context.Background(), Config{Spec: tinySpec(nil)})
	// Canceled before the first step, the run hands back its starting weights.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, _ := run(t, ctx, Config{Spec: tinySpec(func(s *spec.Spec) { s.Train.Seed = 99 }), Network: trained.Network})
	if !slices.Equal(res.Network.Values(), trained.Network.Values()) {
		t.Error("the run did not start from the given network's weights")
	}
	if res.Network == trained.Network {
		t.Error("the given network was trained in place")
	}
}

func TestCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.safetensors")
	if _, err := Resume(context.Background(), path, Config{Dataset: tinyDataset()}); err == nil || !strings.Contains(err.Error(), "reading the checkpoint") {
		t.Errorf("resuming from a missing file: %v", err)
	}
	s := tinySpec(func(s *spec.Spec) { s.Train.Epochs = 1 })
	res, _ := run(t, context.Background(), Config{Spec: s, Checkpoint: path})
	got, err := CheckpointSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Train.LR != s.Train.LR || len(got.Model.Layers) != len(s.Model.Layers) {
		t.Errorf("checkpoint spec %+v, want %+v", got, s)
	}
	other := tinySpec(func(s *spec.Spec) { s.Train.Optimizer = "sgd" })
	if _, err := Resume(context.Background(), path, Config{Spec: other, Dataset: tinyDataset()}); err == nil || !strings.Contains(err.Error(), "same optimizer") {
		t.Errorf("resuming with another optimizer: %v", err)
	}
	weights := filepath.Join(dir, "weights.safetensors")
	f, err := os.Create(weights)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Network.Save(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Resume(context.Background(), weights, Config{Dataset: tinyDataset()}); err == nil || !strings.Contains(err.Error(), "not a plateau checkpoint") {
		t.Errorf("resuming from a weights file: %v", err)
	}
}

func TestHooks(t *testing.T) {
	t.Run("before step runs once per step and can stop the run", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		res, _ := run(t, ctx, Config{Spec: tinySpec(nil), BeforeStep: func() {
			calls++
			if calls == 7 {
				cancel()
			}
		}})
		if calls != 7 || res.Final.Stopped != StoppedCanceled {
			t.Errorf("got %d calls and stopped %q, want 7 and canceled", calls, res.Final.Stopped)
		}
	})
	t.Run("lr scale multiplies the scheduled rate", func(t *testing.T) {
		_, events := run(t, context.Background(), Config{Spec: tinySpec(nil), LRScale: func() float64 { return 0.5 }})
		for _, e := range events {
			if e.Event == EventStep && e.LR != 0.005 {
				t.Fatalf("step %d lr %g, want 0.005", e.Step, e.LR)
			}
		}
	})
	t.Run("inspect sees the network after every epoch", func(t *testing.T) {
		epochs := 0
		run(t, context.Background(), Config{Spec: tinySpec(nil), Inspect: func(net *nn.Network, norm *data.Normalizer) {
			if net == nil || norm == nil {
				t.Error("inspect got nil")
			}
			epochs++
		}})
		if epochs != 4 {
			t.Errorf("inspect ran %d times, want 4", epochs)
		}
	})
	t.Run("started hands over the network before the first step", func(t *testing.T) {
		var started, inspected *nn.Network
		calls, steps := 0, 0
		res, _ := run(t, context.Background(), Config{Spec: tinySpec(nil),
			Started: func(net *nn.Network, norm *data.Normalizer) {
				if steps != 0 || norm == nil {
					t.Errorf("started after %d steps, normalizer %v", steps, norm)
				}
				started = net
				calls++
			},
			BeforeStep: func() { steps++ },
			Inspect:    func(net *nn.Network, _ *data.Normalizer) { inspected = net },
		})
		if calls != 1 || started == nil || started != inspected || started != res.Network {
			t.Errorf("started ran %d times with %p; inspect saw %p, the result holds %p", calls, started, inspected, res.Network)
		}
	})
}

// A training fraction thins the training split only: the validation and
// test images are those of the whole run, so runs at several fractions are
// measured on the same images.
func TestPrepareTrainFraction(t *testing.T) {
	d := tinyDataset()
	all := Prepare(d, spec.Data{Validation: 0.2}, 7)
	half := Prepare(d, spec.Data{Validation: 0.2, TrainFraction: 0.5}, 7)
	if !slices.Equal(half.Val.Images, all.Val.Images) || !slices.Equal(half.Val.Labels, all.Val.Labels) ||
		!slices.Equal(half.Test.Images, all.Test.Images) {
		t.Error("the training fraction changed the validation or test split")
	}
	counts := data.ClassCounts(all.Train, 4)
	want := make([]int, len(counts))
	for k, n := range counts {
		want[k] = int(math.Round(float64(n) / 2))
	}
	if got := data.ClassCounts(half.Train, 4); !slices.Equal(got, want) {
		t.Errorf("class counts %v, want half of %v each, %v", got, counts, want)
	}
}

// PrepareInPlace gives Prepare's splits as views of the dataset, and
// restore gives the dataset back as it was.
func TestPrepareInPlace(t *testing.T) {
	for _, tt := range []struct {
		name string
		data spec.Data
	}{
		{"validation", spec.Data{Validation: 0.2}},
		{"no validation", spec.Data{}},
		{"limits", spec.Data{Validation: 0.3, TrainLimit: 100, TestLimit: 10}},
		{"imbalance", spec.Data{Validation: 0.1, Imbalance: 0.2}},
		{"label noise", spec.Data{Validation: 0.2, LabelNoise: 0.3}},
		{"training fraction", spec.Data{Validation: 0.2, TrainFraction: 0.5, LabelNoise: 0.3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tinyDataset()
			want := Prepare(d, tt.data, 7)
			original, labels := slices.Clone(d.Train.Images), slices.Clone(d.Train.Labels)
			got, restore := PrepareInPlace(d, tt.data, 7)
			for _, part := range []struct {
				name      string
				got, want data.Split
			}{{"train", got.Train, want.Train}, {"val", got.Val, want.Val}, {"test", got.Test, want.Test}} {
				if !slices.Equal(part.got.Images, part.want.Images) || !slices.Equal(part.got.Labels, part.want.Labels) {
					t.Errorf("%s split differs from Prepare's", part.name)
				}
			}
			if tt.data.Imbalance == 0 && tt.data.TrainFraction == 0 && got.Train.Len() > 0 && &got.Train.Images[0] != &d.Train.Images[0] {
				t.Error("the training split is a copy")
			}
			restore()
			if !slices.Equal(d.Train.Images, original) || !slices.Equal(d.Train.Labels, labels) {
				t.Error("restore did not give the dataset back as it was")
			}
			if tt.data.LabelNoise > 0 {
				// The same split as without noise (the noise has a seed
				// stream of its own), with 30% of the labels changed across
				// training and validation, and the test labels kept.
				clean := tt.data
				clean.LabelNoise = 0
				c := Prepare(d, clean, 7)
				if !slices.Equal(c.Train.Images, want.Train.Images) || !slices.Equal(c.Val.Images, want.Val.Images) || !slices.Equal(c.Test.Labels, want.Test.Labels) {
					t.Fatal("label noise moved examples between the splits, or touched the test labels")
				}
				wrong := 0
				for _, p := range [][2]data.Split{{c.Train, want.Train}, {c.Val, want.Val}} {
					for i := range p[0].Labels {
						if p[0].Labels[i] != p[1].Labels[i] {
							wrong++
						}
					}
				}
				if n := c.Train.Len() + c.Val.Len(); wrong != int(math.Round(0.3*float64(n))) {
					t.Errorf("%d of %d labels changed, want 30%%", wrong, n)
				}
			}
		})
	}
}

// The doctor's findings ride on the start, epoch and result events, and
// on no other kind.
func TestDiagnosesRideOnTheirEvents(t *testing.T) {
	finding := []Diagnosis{{Cause: "something", Confidence: 0.5}}
	_, events := run(t, context.Background(), Config{Spec: tinySpec(nil), Doctor: func(Event) []Diagnosis { return finding }})
	for _, e := range events {
		carries := len(e.Diagnoses) > 0
		if want := e.Event == EventStart || e.Event == EventEpoch || e.Event == EventResult; carries != want {
			t.Errorf("a %s event carries findings: %v, want %v", e.Event, carries, want)
		}
	}
}

// Validation checks within an epoch read the weights and change nothing:
// a run with a check after nearly every step (no bound on their share of
// the time) trains as one without, with
// dropout, batch norm and augmentation, whole or cut into parts; the
// checks stop in each epoch's last tenth and measure the validation split.
func TestValChecksChangeNothing(t *testing.T) {
	for _, parts := range []int{1, 2} {
		runWith := func(seconds float64) (*Result, []Event) {
			s := tinySpec(func(s *spec.Spec) {
				s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
				s.Model.Layers = slices.Insert(s.Model.Layers, 4, spec.Layer{Type: spec.Dropout, Rate: 0.2})
				s.Data.Augment.Brightness = spec.Transform{P: 0.5, Strength: 0.1}
				s.Train.Epochs = 2
				s.Train.ValCheckSeconds = seconds
			})
			cfg := Config{Spec: s, ValCheckShare: -1}
			if parts > 1 {
				cfg.Shards = LocalShards(parts - 1)
				defer CloseShards(cfg.Shards)
			}
			return run(t, context.Background(), cfg)
		}
		without, a := runWith(-1)
		with, b := runWith(1e-9)
		var checks []Event
		b = slices.DeleteFunc(b, func(e Event) bool {
			if e.Event == EventValCheck {
				checks = append(checks, e)
				return true
			}
			return false
		})
		if got, want := timeless(b), timeless(a); !slices.Equal(got, want) {
			t.Errorf("%d parts: the events besides the checks differ:\n%s\n%s", parts, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !slices.Equal(with.Network.Values(), without.Network.Values()) {
			t.Errorf("%d parts: the checks changed the final weights", parts)
		}
		// 16 steps an epoch: a check after steps 1–14 of each, none in
		// the last tenth (steps 15 and 16).
		if len(checks) != 28 {
			t.Fatalf("%d parts: %d checks, want 28", parts, len(checks))
		}
		for k, e := range checks {
			epoch, step := k/14+1, k/14*16+k%14+1
			if e.Epoch != epoch || e.Step != step || e.ValSize != 64 || !(e.ValAccuracy >= 0 && e.ValAccuracy <= 1) || !(e.ValLoss > 0) {
				t.Errorf("%d parts: check %d = %+v, want epoch %d, step %d, 64 images", parts, k, e, epoch, step)
			}
			// The layer statistics of the step before the check: every
			// layer, the conv's gradient that of a training step.
			if len(e.Layers) != len(with.Network.LayerStats()) || !(e.Layers[0].GradNorm > 0) {
				t.Errorf("%d parts: check %d's layers %+v, want the training step's", parts, k, e.Layers)
			}
		}
		// The checks follow the weights as they learn.
		if last := checks[len(checks)-1]; !(last.ValAccuracy > checks[0].ValAccuracy) {
			t.Errorf("%d parts: the checks' accuracy %.3f → %.3f: not the weights as they learn", parts, checks[0].ValAccuracy, last.ValAccuracy)
		}
	}
}

// A check measures about spec.ValCheckImages images of a larger
// validation split, each class in its share, the same ones for a seed.
func TestValCheckSplit(t *testing.T) {
	val := quadrants(5000, 3)
	for i := range val.Labels {
		if val.Labels[i] == 3 && i%4 != 0 {
			val.Labels[i] = 0 // class 3 rarer: about a sixteenth
		}
	}
	count := func(s data.Split) []int {
		c := make([]int, 4)
		for _, l := range s.Labels {
			c[l]++
		}
		return c
	}
	got := ValCheckSplit(val, 4, 1)
	if n := got.Len(); n < spec.ValCheckImages-4 || n > spec.ValCheckImages+4 {
		t.Errorf("%d images, want about %d", n, spec.ValCheckImages)
	}
	all, part := count(val), count(got)
	for k := range 4 {
		if want := float64(all[k]) * float64(spec.ValCheckImages) / 5000; math.Abs(float64(part[k])-want) > 1 {
			t.Errorf("class %d: %d images, want %.1f (its share of %v)", k, part[k], want, all)
		}
	}
	if again := ValCheckSplit(val, 4, 1); !slices.Equal(again.Labels, got.Labels) || !slices.Equal(again.Images, got.Images) {
		t.Error("the same seed drew other images")
	}
	if other := ValCheckSplit(val, 4, 2); slices.Equal(other.Images, got.Images) {
		t.Error("another seed drew the same images")
	}
	small := quadrants(300, 4)
	if s := ValCheckSplit(small, 4, 1); s.Len() != 300 {
		t.Errorf("a split of 300 gave %d images, want all of them", s.Len())
	}
}

// Checks take at most Config.ValCheckShare of the training time: asked
// for after every step, the default twentieth spaces them by twenty times
// a check's duration (a check of 64 images here costs about a step's
// worth, so an epoch of 16 steps holds one or two).
func TestValChecksKeepToTheirShare(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.Epochs = 2
		s.Train.ValCheckSeconds = 1e-9
	})
	_, events := run(t, context.Background(), Config{Spec: s})
	checks := 0
	for _, e := range events {
		if e.Event == EventValCheck {
			checks++
		}
	}
	if checks < 1 || checks > 8 {
		t.Errorf("%d checks in 32 steps with the default share, want a few (28 without a bound)", checks)
	}
}
