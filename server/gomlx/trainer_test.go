package gomlx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
	"plateau/train"
)

// A run on GoMLX is the engine's run: with the same initial weights, batch
// order and dropout masks (keyed by the seed and the step on both sides),
// every epoch's training loss and the final weights agree to float32
// rounding over several epochs of several steps. The batches, augmented,
// are filled ahead of the steps by several goroutines (loaderWorkers),
// the engine's by one; each epoch ends with a short batch (48 images in
// batches of 10), which the step takes padded to 10 with batch norm's
// statistics of its 8 images; with and without class weights.
func TestRunsAsTheEngine(t *testing.T) {
	tr := pureGo(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	if loaderWorkers() < 2 {
		t.Fatalf("loaderWorkers is %d with 4 procs; the test wants batches filled in parallel", loaderWorkers())
	}
	// 60 training images of three classes, each brighter in its own third.
	rng := rand.New(rand.NewPCG(4, 2))
	ds := &data.Dataset{Name: "thirds", Classes: []string{"a", "b", "c"}, H: 6, W: 6, C: 1}
	for _, sp := range []*data.Split{&ds.Train, &ds.Test} {
		for i := range 60 {
			c := int32(i % 3)
			for p := range 36 {
				v := rng.IntN(128)
				if p/12 == int(c) {
					v += 100
				}
				sp.Images = append(sp.Images, uint8(v))
			}
			sp.Labels = append(sp.Labels, c)
		}
	}
	// Class weights weigh the loss: the padding of a short batch must weigh
	// nothing there too.
	for _, balance := range []string{"none", "class_weights"} {
		t.Run(balance, func(t *testing.T) {
			s := validSpec(t, []byte(`{"model":{"input":[6,6,1],"classes":3,"layers":[
			  {"type":"dense","units":16},{"type":"batchnorm"},{"type":"relu"},{"type":"dropout","rate":0.4},
			  {"type":"dense","units":12,"activation":"tanh"},{"type":"dropout","rate":0.2},{"type":"dense"}]},
			 "train":{"optimizer":"sgd","momentum":0.9,"lr":0.05,"batch_size":10,"epochs":4,"seed":5,"val_check_seconds":1e-9},
			 "data":{"normalization":"standardize","validation":0.2,"balance":"`+balance+`",
			  "augment":{"flip_horizontal":{"p":0.5},"crop":{"p":0.5,"strength":1},"brightness":{"p":0.5,"strength":0.2}}}}`))
			init, err := nn.New(s.Model, 8, 11)
			if err != nil {
				t.Fatal(err)
			}
			// Both trainers emit the same start event and give the doctor
			// every kind of event.
			// A validation check after nearly every step (val_check_seconds
			// 1e-9) measures what the engine's measures.
			var starts [2]train.Event
			var seen [2]map[string]int
			var checks [2][]train.Event
			cfg := func(i int) train.Config {
				seen[i] = map[string]int{}
				return train.Config{Spec: s, Dataset: ds, Network: init, ValCheckShare: -1,
					Emit: func(e train.Event) {
						switch e.Event {
						case train.EventStart:
							starts[i] = e
						case train.EventValCheck:
							checks[i] = append(checks[i], e)
						}
					},
					Doctor: func(e train.Event) []train.Diagnosis {
						seen[i][e.Event]++
						if e.Event == train.EventValCheck {
							// What the doctor reads at a check reaches the check.
							return []train.Diagnosis{{Cause: "read", Confidence: float64(e.Step)}}
						}
						return nil
					}}
			}
			got, err := tr.Train(context.Background(), cfg(0))
			if err != nil {
				t.Fatal(err)
			}
			want, err := train.Run(context.Background(), cfg(1))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, starts[0]), mustJSON(t, starts[1]); g != w {
				t.Errorf("start event\n%s\nthe engine's\n%s", g, w)
			}
			for _, kind := range []string{train.EventStart, train.EventStep, train.EventValCheck, train.EventEpoch, train.EventResult} {
				if (seen[0][kind] == 0 && kind != train.EventStep) || seen[0][kind] != seen[1][kind] {
					t.Errorf("the doctor saw %d %s events, with the engine %d", seen[0][kind], kind, seen[1][kind])
				}
			}
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-4*(1+math.Abs(b)) }
			if len(checks[1]) == 0 || len(checks[0]) != len(checks[1]) {
				t.Fatalf("%d validation checks, the engine's %d", len(checks[0]), len(checks[1]))
			}
			for k, g := range checks[0] {
				w := checks[1][k]
				if len(g.Diagnoses) != 1 || g.Diagnoses[0].Confidence != float64(g.Step) {
					t.Errorf("check %d carries %v, not the doctor's reading", k, g.Diagnoses)
				}
				if g.Step != w.Step || g.ValSize != w.ValSize || !near(g.ValLoss, w.ValLoss) || g.ValAccuracy != w.ValAccuracy {
					t.Errorf("check %d: step %d, %d images, loss %g, accuracy %g; the engine's %d, %d, %g, %g", k, g.Step, g.ValSize, g.ValLoss, g.ValAccuracy, w.Step, w.ValSize, w.ValLoss, w.ValAccuracy)
				}
				// In the first epoch, whose checks the doctor reads, the
				// layers of the step before the check: the same weights.
				if g.Epoch > 1 {
					if len(g.Layers) != 0 {
						t.Errorf("check %d, in epoch %d: layer statistics the doctor does not read", k, g.Epoch)
					}
					continue
				}
				if len(g.Layers) == 0 || len(g.Layers) != len(w.Layers) {
					t.Fatalf("check %d: %d layer statistics, the engine's %d", k, len(g.Layers), len(w.Layers))
				}
				for i, l := range g.Layers {
					if l.Name != w.Layers[i].Name || !near(l.WeightNorm, w.Layers[i].WeightNorm) {
						t.Errorf("check %d, layer %d: %s with weight norm %g; the engine's %s with %g", k, i, l.Name, l.WeightNorm, w.Layers[i].Name, w.Layers[i].WeightNorm)
					}
				}
			}
			if want.History[0].Step < 3 {
				t.Fatalf("%d steps per epoch; the test wants several", want.History[0].Step)
			}
			for e := range want.History {
				g, w := got.History[e], want.History[e]
				if !near(g.TrainLoss, w.TrainLoss) {
					t.Errorf("epoch %d's training loss %g, the engine's %g", e+1, g.TrainLoss, w.TrainLoss)
				}
				// 12 validation images in batches of 10: a short last batch.
				if !near(g.ValLoss, w.ValLoss) || g.ValAccuracy != w.ValAccuracy {
					t.Errorf("epoch %d's validation loss and accuracy %g, %g; the engine's %g, %g", e+1, g.ValLoss, g.ValAccuracy, w.ValLoss, w.ValAccuracy)
				}
			}
			if g, w := got.Final, want.Final; !near(g.TestLoss, w.TestLoss) || g.TestAccuracy != w.TestAccuracy {
				t.Errorf("test loss and accuracy %g, %g; the engine's %g, %g", g.TestLoss, g.TestAccuracy, w.TestLoss, w.TestAccuracy)
			}
			if d := maxDiff(got.Network.Values(), want.Network.Values()); d > 1e-4 {
				t.Errorf("the final weights differ from the engine's by %g (relative)", d)
			}
		})
	}
}

// TestTrainOnePureGoRun trains a dense network with dropout on the pure-Go
// backend and checks that the run reports like train.Run and that Adam's
// first step matches the native engine's.
func TestTrainOnePureGoRun(t *testing.T) {
	tr := pureGo(t)
	ds, err := data.Load("../../data/testdata/cifar", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	js := `{"model":{"input":[32,32,3],"classes":10,"layers":[{"type":"dense","units":8,"activation":"relu"},{"type":"dropout","rate":0.3},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.001,"batch_size":4,"epochs":2,"seed":1,"l2":0.001,"weight_decay":0.01,"label_smoothing":0.1},
	 "data":{"normalization":"scale01","validation":0.2}}`
	s, err := spec.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	s.Expand()
	init, err := nn.New(s.Model, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	var events []train.Event
	res, err := tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds, Network: init, Emit: func(e train.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	native, err := train.Run(context.Background(), train.Config{Spec: s, Dataset: ds, Network: init})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event)
	}
	// Each epoch's steps end with a step event, as train.Run's do; with
	// one batch an epoch it reports the epoch's training loss.
	if strings.Join(kinds, " ") != "start step epoch step epoch result" {
		t.Fatalf("events %v", kinds)
	}
	for _, i := range []int{1, 3} {
		if st, ep := events[i], events[i+1]; st.Step != ep.Step || math.Abs(st.Loss-ep.TrainLoss) > 1e-5*(1+ep.TrainLoss) || st.Accuracy != ep.TrainAccuracy {
			t.Errorf("epoch %d: step event at step %d, loss %g, accuracy %g; the epoch's step %d, %g, %g", ep.Epoch, st.Step, st.Loss, st.Accuracy, ep.Step, ep.TrainLoss, ep.TrainAccuracy)
		}
	}
	epochs := []train.Event{events[2], events[4]}
	if math.IsNaN(res.Final.TestAccuracy) || res.Network == nil {
		t.Errorf("result %+v", res.Final)
	}
	// Per-layer statistics, as train.Run's epoch events carry them: the
	// same layers and weight norms (the same weights after each epoch),
	// and gradients where the batch reaches them (the output layer always).
	for _, e := range epochs {
		want := native.History[e.Epoch-1].Layers
		if len(e.Layers) != len(want) {
			t.Fatalf("epoch %d: %d layer statistics, native %d", e.Epoch, len(e.Layers), len(want))
		}
		for i, l := range e.Layers {
			if l.Name != want[i].Name || math.Abs(l.WeightNorm-want[i].WeightNorm) > 1e-4*(1+want[i].WeightNorm) {
				t.Errorf("epoch %d, layer %d: %s with weight norm %g, native %s with %g", e.Epoch, i, l.Name, l.WeightNorm, want[i].Name, want[i].WeightNorm)
			}
		}
		if out := e.Layers[len(e.Layers)-1]; out.GradNorm <= 0 {
			t.Errorf("epoch %d: the output layer's gradient norm is %g", e.Epoch, out.GradNorm)
		}
	}
	// Same initial weights and one batch per epoch (so the order within it
	// does not matter): the training losses of both epochs, the second
	// after one Adam step with L2 and weight decay, agree with the native
	// engine's to float32 precision.
	for e := range 2 {
		a, b := epochs[e].TrainLoss, native.History[e].TrainLoss
		if math.Abs(a-b) > 1e-4*(1+math.Abs(b)) {
			t.Errorf("epoch %d's training loss %g, native %g", e+1, a, b)
		}
		// What the doctor reads besides the curves: how far the epoch moved
		// the weights and the confidently wrong predictions.
		got, want := epochs[e], native.History[e]
		if got.WeightChange <= 0 || math.Abs(got.WeightChange-want.WeightChange) > 1e-3*want.WeightChange {
			t.Errorf("epoch %d's weight change %g, native %g", e+1, got.WeightChange, want.WeightChange)
		}
		if got.ConfidentWrong != want.ConfidentWrong {
			t.Errorf("epoch %d's confidently wrong fraction %g, native %g", e+1, got.ConfidentWrong, want.ConfidentWrong)
		}
	}
	// (Classes absent from the test split have a NaN recall: compared as text.)
	if got, want := res.Final, native.Final; fmt.Sprint(got.PerClassAccuracy) != fmt.Sprint(want.PerClassAccuracy) ||
		fmt.Sprint(got.Confusion) != fmt.Sprint(want.Confusion) || got.ImagesPerSecond <= 0 {
		t.Errorf("result: per-class accuracy %v, %d confusion rows, %g images/s; native %v, %d rows",
			got.PerClassAccuracy, len(got.Confusion), got.ImagesPerSecond, want.PerClassAccuracy, len(want.Confusion))
	}
}

// TestEarlyStoppingRestoresBest stops a run whose monitored metric cannot
// improve by min_delta after the first epoch, and checks the stop, its
// reason and that the weights are those of the first epoch, as train.Run
// does.
func TestEarlyStoppingRestoresBest(t *testing.T) {
	tr := pureGo(t)
	ds, err := data.Load("../../data/testdata/cifar", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	js := `{"model":{"input":[32,32,3],"classes":10,"layers":[{"type":"dense","units":8,"activation":"relu"},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":4,"epochs":5,"seed":1,
	  "early_stopping":{"patience":1,"min_delta":100,"restore_best":true},
	  "schedule":{"type":"reduce_on_plateau","patience":1,"factor":0.5}},
	 "data":{"normalization":"scale01","validation":0.2}}`
	run := func(epochs int) (*train.Result, []train.Event) {
		s := validSpec(t, []byte(js))
		s.Train.Epochs = epochs
		var events []train.Event
		res, err := tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds, Emit: func(e train.Event) { events = append(events, e) }})
		if err != nil {
			t.Fatal(err)
		}
		return res, events
	}
	res, events := run(5)
	if got := res.Final; got.Stopped != train.StoppedEarlyStopping || got.Epochs != 2 || got.BestEpoch != 1 ||
		!strings.Contains(got.Reason, "restored the weights of epoch 1") {
		t.Fatalf("result: stopped %q after %d epochs, best %d, reason %q; want early_stopping after 2, best 1", got.Stopped, got.Epochs, got.BestEpoch, got.Reason)
	}
	var epochs []train.Event
	for _, e := range events {
		if e.Event == train.EventEpoch {
			epochs = append(epochs, e)
		}
	}
	if !epochs[0].Improved || epochs[1].Improved {
		t.Errorf("improved flags %v, %v; want true, false", epochs[0].Improved, epochs[1].Improved)
	}
	one, _ := run(1)
	if d := maxDiff(res.Network.Values(), one.Network.Values()); d != 0 {
		t.Errorf("restored weights differ from the first epoch's by %g", d)
	}
}

// TestTimeLimitStopsTheRun trains with train.time_limit_seconds on a
// clock that moves a millisecond a reading: the run stops within an epoch
// with the engine's stop and reason, its cosine annealed by the limit
// rather than by its 50 epochs.
func TestTimeLimitStopsTheRun(t *testing.T) {
	tr := pureGo(t)
	ds, err := data.Load("../../data/testdata/cifar", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := validSpec(t, []byte(`{"model":{"input":[32,32,3],"classes":10,"layers":[{"type":"dense","units":8,"activation":"relu"},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":4,"epochs":50,"seed":1,"log_every":1,"time_limit_seconds":0.05,
	  "schedule":{"type":"cosine"}},
	 "data":{"normalization":"scale01","validation":0.2}}`))
	clock := time.Time{}
	var events []train.Event
	res, err := tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds,
		Now:  func() time.Time { clock = clock.Add(time.Millisecond); return clock },
		Emit: func(e train.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Final
	if f.Stopped != train.StoppedTimeLimit || f.Epochs >= 50 || !strings.Contains(f.Reason, "time limit of 0.05 s was reached in epoch") {
		t.Fatalf("stopped %q after %d epochs: %q; want the time limit", f.Stopped, f.Epochs, f.Reason)
	}
	var last train.Event
	for _, e := range events {
		if e.Event == train.EventStep {
			last = e
		}
	}
	if last.LR > 0.05*s.Train.LR {
		t.Errorf("the last step's rate is %g of %g: want the cosine annealed by the limit", last.LR, s.Train.LR)
	}
	// Reached within the last epoch, the limit ends the run too.
	s.Train.Epochs, s.Train.TimeLimitSeconds, s.Train.BatchSize = 1, 0.003, 1 // four steps; the limit comes within them
	res, err = tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds,
		Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Final; f.Stopped != train.StoppedTimeLimit || !strings.Contains(f.Reason, "in epoch 1 of 1") {
		t.Errorf("one epoch: stopped %q: %q; want the time limit in epoch 1 of 1", f.Stopped, f.Reason)
	}
}

// TestResumeGoesOnAsTheUnbrokenRun stops a run after its second epoch and
// resumes it from the checkpoint that epoch wrote: the last epochs, the
// result and the weights are those of a run that was never stopped, with
// dropout, a cosine schedule and early stopping's memory in play. The
// checkpoint is train.Run's format, so the native engine reads it too.
func TestResumeGoesOnAsTheUnbrokenRun(t *testing.T) {
	checkResume(t, pureGo(t), `{"model":{"input":[32,32,3],"classes":10,"layers":[{"type":"dense","units":8,"activation":"relu"},
	  {"type":"dropout","rate":0.3},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":4,"epochs":4,"seed":1,
	  "early_stopping":{"patience":3,"restore_best":true},"schedule":{"type":"cosine"}},
	 "data":{"normalization":"scale01","validation":0.2}}`, 0)
}

// checkResume stops a run of js after its second epoch and resumes it:
// its losses, result and weights must be the unbroken run's, within tol
// (relative; 0: to the bit).
func checkResume(t *testing.T, tr *Trainer, js string, tol float64) {
	ds, err := data.Load("../../data/testdata/cifar", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := validSpec(t, []byte(js))
	near := func(a, b float64) bool { return a == b || math.Abs(a-b) <= tol*(1+math.Abs(b)) }
	run := func(cfg train.Config) (*train.Result, []train.Event) {
		var events []train.Event
		emit := cfg.Emit
		cfg.Spec, cfg.Dataset = s, ds
		cfg.Emit = func(e train.Event) {
			events = append(events, e)
			if emit != nil {
				emit(e)
			}
		}
		res, err := tr.Train(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return res, events
	}
	unbroken, all := run(train.Config{})

	path := t.TempDir() + "/checkpoint.safetensors"
	ctx, cancel := context.WithCancel(context.Background())
	var first []train.Event
	res, err := tr.Train(ctx, train.Config{Spec: s, Dataset: ds, Checkpoint: path, Emit: func(e train.Event) {
		first = append(first, e)
		if e.Event == train.EventEpoch && e.Epoch == 2 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final.Stopped != train.StoppedCanceled || res.Final.Epochs != 2 {
		t.Fatalf("the stopped run: %q after %d epochs", res.Final.Stopped, res.Final.Epochs)
	}
	noFilling(t)
	if epoch, cut, err := train.CheckpointEpoch(path); err != nil || epoch != 2 || cut {
		t.Fatalf("the checkpoint is at epoch %d (%v), want 2", epoch, err)
	}
	resumed, rest := run(train.Config{ResumeFrom: path})

	epochs := func(events []train.Event) (out []train.Event) {
		for _, e := range events {
			if e.Event == train.EventEpoch {
				out = append(out, e)
			}
		}
		return out
	}
	want, got := epochs(all)[2:], epochs(rest)
	if len(got) != len(want) {
		t.Fatalf("the resumed run had %d epochs, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Epoch != w.Epoch || g.Step != w.Step || g.LR != w.LR || !near(g.TrainLoss, w.TrainLoss) || !near(g.ValLoss, w.ValLoss) || g.Improved != w.Improved {
			t.Errorf("resumed epoch %d (step %d, lr %g, train loss %g, val loss %g, improved %v), unbroken epoch %d (%d, %g, %g, %g, %v)",
				g.Epoch, g.Step, g.LR, g.TrainLoss, g.ValLoss, g.Improved, w.Epoch, w.Step, w.LR, w.TrainLoss, w.ValLoss, w.Improved)
		}
	}
	if g, w := resumed.Final, unbroken.Final; g.Epochs != w.Epochs || g.BestEpoch != w.BestEpoch || !near(g.TestLoss, w.TestLoss) || g.Stopped != w.Stopped {
		t.Errorf("resumed result: %d epochs, best %d, test loss %g, %q; unbroken: %d, %d, %g, %q",
			g.Epochs, g.BestEpoch, g.TestLoss, g.Stopped, w.Epochs, w.BestEpoch, w.TestLoss, w.Stopped)
	}
	if d := maxDiff(resumed.Network.Values(), unbroken.Network.Values()); d > tol {
		t.Errorf("resumed weights differ from the unbroken run's by %g", d)
	}
	if len(first) == 0 || len(rest) == 0 || rest[0].Event != train.EventStart {
		t.Errorf("the resumed run's events start with %v", rest[:min(1, len(rest))])
	}

	// The native engine goes on from the same file.
	native, err := train.Resume(context.Background(), path, train.Config{Dataset: ds})
	if err != nil {
		t.Fatalf("train.Resume of the GoMLX checkpoint: %v", err)
	}
	if native.Final.Epochs != 4 || len(native.History) != 2 || native.History[0].Epoch != 3 {
		t.Errorf("native resume: %d epochs, history %d from epoch %d", native.Final.Epochs, len(native.History), native.History[0].Epoch)
	}
}

// TestDivergenceStopsAndRestores trains raw pixels and, after the first
// epoch, with a huge learning rate: the run stops as diverged with
// train.Run's explanation and advice, the diverging epoch is not reported,
// and the result holds the last finished epoch's weights, which are
// finite.
func TestDivergenceStopsAndRestores(t *testing.T) {
	tr := pureGo(t)
	tr.MetricsEvery = 1
	ds, err := data.Load("../../data/testdata/cifar", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lr := range []float64{1e4, 1e30} {
		s := validSpec(t, []byte(`{"model":{"input":[32,32,3],"classes":10,"layers":[{"type":"dense","units":8,"activation":"relu"},{"type":"dense"}]},
	 "train":{"optimizer":"sgd","lr":0.001,"batch_size":2,"epochs":6,"seed":1,"log_every":1},
	 "data":{"normalization":"raw","validation":0.2}}`))
		var epochs int
		// One quiet epoch, then the rate that blows it up.
		scale := 1.0
		res, err := tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds, LRScale: func() float64 { return scale },
			Emit: func(e train.Event) {
				if e.Event == train.EventEpoch {
					epochs++
					scale = lr / s.Train.LR
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		f := res.Final
		if f.Stopped != train.StoppedDiverged || !strings.Contains(f.Reason, "lower train.lr (try") || !strings.Contains(f.Reason, "normalize the inputs") {
			t.Errorf("lr %g: stopped %q: %s", lr, f.Stopped, f.Reason)
		}
		if f.Epochs < 1 || f.Epochs != epochs || !strings.Contains(f.Reason, fmt.Sprintf("(epoch %d)", f.Epochs+1)) {
			t.Errorf("lr %g: %d epochs in the result, %d epoch events; want those before the one that diverged", lr, f.Epochs, epochs)
		}
		if !train.FiniteAll(res.Network.Values()) || math.IsNaN(f.TestLoss) {
			t.Errorf("lr %g: the result's weights are not the finite ones of epoch %d (test loss %g)", lr, f.Epochs, f.TestLoss)
		}
		t.Logf("lr %g: %s", lr, f.Reason)
		noFilling(t)
	}
}

// TestCancelMidEpochStopsFilling cancels a run at a step of an epoch of
// many batches, with the next ones filled ahead: the run stops, and so
// does the goroutine filling them.
func TestCancelMidEpochStopsFilling(t *testing.T) {
	tr := pureGo(t)
	tr.MetricsEvery = 1
	ds := &data.Dataset{Name: "noise", Classes: []string{"a", "b"}, H: 4, W: 4, C: 1}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sp := range []*data.Split{&ds.Train, &ds.Test} {
		for i := range 80 {
			for range 16 {
				sp.Images = append(sp.Images, uint8(rng.IntN(256)))
			}
			sp.Labels = append(sp.Labels, int32(i%2))
		}
	}
	s := validSpec(t, []byte(`{"model":{"input":[4,4,1],"classes":2,"layers":[{"type":"dense"}]},
	 "train":{"optimizer":"sgd","lr":0.01,"batch_size":2,"epochs":3,"seed":1,"log_every":1},
	 "data":{"normalization":"scale01","validation":0}}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := tr.Train(ctx, train.Config{Spec: s, Dataset: ds, Emit: func(e train.Event) {
		if e.Event == train.EventStep && e.Epoch == 2 && e.Step == 45 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final.Stopped != train.StoppedCanceled || res.Final.Epochs != 1 {
		t.Fatalf("%q after %d epochs; want canceled in epoch 2 of 40 steps", res.Final.Stopped, res.Final.Epochs)
	}
	noFilling(t)
}

// tinyModel is a dense network with batch norm on 2×2 images, trained
// with Adam in batches of 2: state, slots and statistics, small.
func tinyModel(t *testing.T) (*spec.Spec, *nn.Network, *Model) {
	t.Helper()
	s := validSpec(t, []byte(`{"model":{"input":[2,2,1],"classes":2,"layers":[
	  {"type":"dense","units":3},{"type":"batchnorm"},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":2,"epochs":1,"seed":1}}`))
	net, err := nn.New(s.Model, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(s.Model, net)
	if err != nil {
		t.Fatal(err)
	}
	return s, net, m
}

// TestStepReleasesWhatItReplaces: after a training step, the parameters,
// optimizer slots, batch-norm statistics, metric sums and learning-rate
// tensor it replaced are released (on a GPU their memory goes back to the
// device at once, not at the next garbage collection), and the next step
// runs on its outputs.
func TestStepReleasesWhatItReplaces(t *testing.T) {
	tr := pureGo(t)
	s, net, m := tinyModel(t)
	st := newRunState(m, net, slotCount(s.Train))
	defer st.finalize()
	if len(st.state) == 0 || len(st.slots[0]) != 2 {
		t.Fatalf("%d state tensors, %d slots per parameter; the test wants batch-norm state and Adam's two slots", len(st.state), len(st.slots[0]))
	}
	exec, err := m.StepExec(tr.Backend(), s.Train, false)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	xt := tensors.FromFlatDataAndDimensions([]float32{0.1, 0.9, 0.3, 0.2, 0.8, 0.1, 0.5, 0.7}, 2, 2, 2, 1)
	yt := tensors.FromFlatDataAndDimensions([]int32{0, 1}, 2)
	st.zeroMetrics()
	for step := 1; step <= 2; step++ {
		args := st.stepArgs(xt, yt, nil, 0.01, float32(step), 2)
		var before []*tensors.Tensor
		for _, a := range args {
			if a != xt && a != yt {
				before = append(before, a.(*tensors.Tensor))
			}
		}
		out, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		st.takeStepOutputs(out)
		for i, b := range before {
			if b.Ok() {
				t.Errorf("step %d: input %d of %d (%s) is still held after the step replaced it", step, i, len(before), b.Shape())
			}
		}
		if loss := readMetrics(st.acc).loss; !finite(loss) || loss <= 0 {
			t.Fatalf("step %d: loss sum %g", step, loss)
		}
	}
	if !xt.Ok() || !yt.Ok() {
		t.Errorf("the batch was released by the step; it is the caller's")
	}
}

// TestPrecompiledEvalIsTheOneUsed: the inference graph a job compiles in
// the background (precompileEval) is the one its evaluations then run, not
// a second one, which the Exec's cache of one would refuse.
func TestPrecompiledEvalIsTheOneUsed(t *testing.T) {
	tr := pureGo(t)
	_, net, m := tinyModel(t)
	exec, err := m.EvalExec(tr.Backend())
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	precompileEval(exec, m, 2, 2, 2, 1)
	st := newRunState(m, net, 0)
	defer st.finalize()
	ds := data.Split{Images: []uint8{1, 200, 3, 90, 250, 0, 40, 7, 9, 9, 9, 9}, Labels: []int32{0, 1, 1}}
	norm, err := data.NewNormalizer(data.Standardize, ds, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, _, _, err := evaluate(tr.Backend(), exec, st, norm, ds, &data.Dataset{H: 2, W: 2, C: 1}, 2, 2, 0)
	if err != nil {
		t.Fatalf("evaluating after the background compile: %v", err)
	}
	if !finite(loss) {
		t.Errorf("loss %g", loss)
	}
}

// noFilling fails the test when a goroutine filling or uploading batches
// outlives the run that started it (a run stopped mid-epoch stops them).
func noFilling(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	var left string
	for range 100 {
		stacks := string(buf[:runtime.Stack(buf, true)])
		left = ""
		for _, f := range []string{"(*Loader).Prefetch", "uploadAhead"} {
			if strings.Contains(stacks, f) {
				left = f
			}
		}
		if left == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("a goroutine of %s is still running after the run returned", left)
}

// TestResumeConvNet trains a small CNN on the pure-Go backend, whose
// convolutions have a gradient in XLA's convolution lowering (convXLA),
// and resumes it from its checkpoint as TestResumeGoesOnAsTheUnbrokenRun
// does a dense one.
func TestResumeConvNet(t *testing.T) {
	t.Setenv("PLATEAU_GOMLX_CONV", "xla")
	t.Setenv("PLATEAU_GOMLX_POOL", "reduce")
	checkResume(t, pureGo(t), `{"model":{"input":[32,32,3],"classes":10,"layers":[
	  {"type":"conv2d","filters":4,"kernel":3,"stride":2,"activation":"relu"},{"type":"batchnorm"},{"type":"maxpool"},
	  {"type":"dropout","rate":0.3},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":4,"epochs":4,"seed":1,
	  "early_stopping":{"patience":3,"restore_best":true},"schedule":{"type":"cosine"}},
	 "data":{"normalization":"scale01","validation":0.2}}`, 0)
}

// A device out of memory fails a run with what to lower; other errors pass
// as they are.
func TestOutOfMemorySaysWhatToLower(t *testing.T) {
	s := &spec.Spec{Train: spec.Train{BatchSize: 256}}
	for _, tt := range []struct {
		name, err string
		explained bool
	}{
		{"XLA", "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 4294967296 bytes.", true},
		{"CUDA", "CUDA_ERROR_OUT_OF_MEMORY: out of memory", true},
		{"PJRT", "failed to execute: Out of memory allocating 123 bytes", true},
		{"other", "INVALID_ARGUMENT: shapes differ", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cause := errors.New(tt.err)
			got := outOfMemory(cause, s)
			if !errors.Is(got, cause) {
				t.Errorf("%v does not wrap the device's error", got)
			}
			said := strings.Contains(got.Error(), "train.batch_size (to 128")
			if said != tt.explained {
				t.Errorf("%q explained as %q", tt.err, got)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestResumeWithinACutEpoch: a run its time limit ended within an epoch,
// resumed without the limit, trains the rest of that epoch and ends as
// the run never cut, as train.Run does: the same weights, and the same
// epochs from the cut one on (the cut epoch's sums joined with the
// device's, so its losses within float32 rounding).
func TestResumeWithinACutEpoch(t *testing.T) {
	tr := pureGo(t)
	ds, err := data.Load("../../data/testdata/cifar", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	js := `{"model":{"input":[32,32,3],"classes":10,"layers":[{"type":"dense","units":8,"activation":"relu"},
	  {"type":"dropout","rate":0.3},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":1,"epochs":4,"seed":1,"val_check_seconds":-1,
	  "early_stopping":{"patience":10,"restore_best":true},"schedule":{"type":"reduce_on_plateau","patience":1,"factor":0.5}},
	 "data":{"normalization":"scale01","validation":0.2}}`
	s := validSpec(t, []byte(js))
	var all []train.Event
	unbroken, err := tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds, Emit: func(e train.Event) { all = append(all, e) }})
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	for _, e := range all {
		if e.Event == train.EventStart {
			steps = e.StepsPerEpoch
		}
	}

	limited := validSpec(t, []byte(js))
	path := t.TempDir() + "/checkpoint.safetensors"
	var cutEpoch int
	for _, limit := range []float64{0.01, 0.02, 0.03, 0.04, 0.06, 0.08} {
		limited.Train.TimeLimitSeconds = limit
		clock := time.Time{}
		res, err := tr.Train(context.Background(), train.Config{Spec: limited, Dataset: ds, Checkpoint: path,
			Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
		if err != nil {
			t.Fatal(err)
		}
		if last := res.History[len(res.History)-1]; res.Final.Stopped == train.StoppedTimeLimit && res.Final.Epochs >= 2 && last.Step%steps != 0 {
			cutEpoch = res.Final.Epochs
			break
		}
	}
	if cutEpoch == 0 {
		t.Fatalf("no limit tried cut the run within its second epoch or later (%d steps an epoch)", steps)
	}
	noFilling(t)

	var rest []train.Event
	resumed, err := tr.Train(context.Background(), train.Config{Spec: s, Dataset: ds, ResumeFrom: path, Emit: func(e train.Event) { rest = append(rest, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if start := rest[0]; start.Event != train.EventStart || start.Epoch != cutEpoch-1 || start.Step <= (cutEpoch-1)*steps {
		t.Errorf("the resumed run starts at epoch %d, step %d; want epoch %d and a step within the next", start.Epoch, start.Step, cutEpoch-1)
	}
	epochs := func(events []train.Event) (out []train.Event) {
		for _, e := range events {
			if e.Event == train.EventEpoch && e.Epoch >= cutEpoch {
				out = append(out, e)
			}
		}
		return out
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-5*(1+math.Abs(b)) }
	want, got := epochs(all), epochs(rest)
	if len(got) != len(want) {
		t.Fatalf("the resumed run reported %d epochs from epoch %d, want %d", len(got), cutEpoch, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Epoch != w.Epoch || g.Step != w.Step || g.LR != w.LR || !near(g.TrainLoss, w.TrainLoss) || !near(g.TrainAccuracy, w.TrainAccuracy) ||
			g.ValLoss != w.ValLoss || g.Improved != w.Improved || !near(g.GradNorm, w.GradNorm) {
			t.Errorf("resumed epoch %d (step %d, lr %g, train loss %g, val loss %g, improved %v), unbroken epoch %d (%d, %g, %g, %g, %v)",
				g.Epoch, g.Step, g.LR, g.TrainLoss, g.ValLoss, g.Improved, w.Epoch, w.Step, w.LR, w.TrainLoss, w.ValLoss, w.Improved)
		}
	}
	if g, w := resumed.Final, unbroken.Final; g.Epochs != w.Epochs || g.BestEpoch != w.BestEpoch || g.TestLoss != w.TestLoss || g.Stopped != w.Stopped {
		t.Errorf("resumed result: %d epochs, best %d, test loss %g, %q; unbroken: %d, %d, %g, %q",
			g.Epochs, g.BestEpoch, g.TestLoss, g.Stopped, w.Epochs, w.BestEpoch, w.TestLoss, w.Stopped)
	}
	if d := maxDiff(resumed.Network.Values(), unbroken.Network.Values()); d != 0 {
		t.Errorf("resumed weights differ from the unbroken run's by %g", d)
	}
	// The native engine goes on within the cut epoch of the same file.
	native, err := train.Resume(context.Background(), path, train.Config{Spec: s, Dataset: ds})
	if err != nil {
		t.Fatalf("train.Resume of the GoMLX checkpoint: %v", err)
	}
	if h := native.History; native.Final.Epochs != 4 || len(h) == 0 || h[0].Epoch != cutEpoch || h[0].Step != cutEpoch*steps {
		t.Errorf("native resume: %d epochs, history %+v; want epochs %d to 4, the first ending at step %d", native.Final.Epochs, h, cutEpoch, cutEpoch*steps)
	}
}
