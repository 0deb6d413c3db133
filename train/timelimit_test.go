package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"plateau/nn"
	"plateau/spec"
)

// fakeClock advances a millisecond every time it is read, and by hours
// when told to (a pause).
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func TestTimeLimit(t *testing.T) {
	c := &fakeClock{}
	l := NewTimeLimit(0.010, 0, 0, c.now)
	if l.Up() || l.Used() != 0 {
		t.Fatalf("a stopped limit used %v, up %v", l.Used(), l.Up())
	}
	l.Start() // 1 ms
	l.Stop()  // 2 ms: 1 ms used
	c.t = c.t.Add(time.Hour)
	l.Start() // a pause of an hour, not counted
	if got := l.Used(); got != 2*time.Millisecond {
		t.Errorf("used %v after a pause, want 2ms", got)
	}
	l.Reserve(3 * time.Millisecond)
	// 10 epochs, 10 ms less 3 reserved: 7 ms is the whole run.
	if got := l.Position(0.5, 10); math.Abs(got-10*3.0/7) > 1e-9 {
		t.Errorf("Position at 3 ms of 7 = %g, want %g", got, 10*3.0/7)
	}
	if got := l.Position(9, 10); got != 9 {
		t.Errorf("Position = %g, want the epochs' 9 when they are further along", got)
	}
	for l.Used()+l.Reserved() < 10*time.Millisecond {
		if l.Up() {
			t.Fatalf("up at %v used", l.Used())
		}
	}
	if !l.Up() || l.Position(1, 10) != 10 {
		t.Errorf("at %v used: up %v, position %g; want up at the end", l.Used(), l.Up(), l.Position(1, 10))
	}
	if none := NewTimeLimit(0, 100, 0, c.now); none.Up() || none.Position(2.5, 10) != 2.5 {
		t.Error("no limit: never up, the epochs' position")
	}
	if all := NewTimeLimit(1, 0, 2, c.now); all.Position(0, 4) != 4 {
		t.Error("a reserve past the limit puts the run at its end")
	}
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45 s", 2500 * time.Millisecond: "2.5 s", 3 * time.Minute: "3 min", 150 * time.Second: "2 min 30 s",
		2 * time.Hour: "2 h", 65 * time.Minute: "1 h 5 min",
	} {
		if got := formatSeconds(d); got != want {
			t.Errorf("formatSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}

// A run with a time limit stops within an epoch when the time is up, its
// schedule annealed by then, and pauses (BeforeStep) are not its time.
func TestRunStopsAtTheTimeLimit(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.Epochs = 20
		s.Train.Schedule = spec.Schedule{Type: "cosine"}
		s.Train.TimeLimitSeconds = 0.12 // about 40 steps of the fake clock
		s.Train.ValCheckSeconds = -1
	})
	c := &fakeClock{}
	pauses := 0
	res, events := run(t, context.Background(), Config{Spec: s, Now: c.now, BeforeStep: func() {
		c.t = c.t.Add(time.Hour)
		pauses++
	}})
	f := res.Final
	if f.Stopped != StoppedTimeLimit || !strings.Contains(f.Reason, "time limit of 0.12 s") || !strings.Contains(f.Reason, "of 20") {
		t.Fatalf("stopped %q: %q; want the time limit", f.Stopped, f.Reason)
	}
	if f.Epochs < 2 || f.Epochs >= 20 || math.IsNaN(f.TestAccuracy) {
		t.Errorf("%d epochs, test accuracy %g: want a few epochs and a test", f.Epochs, f.TestAccuracy)
	}
	steps := 16 // 256 training images in batches of 16
	var last Event
	for _, e := range events {
		if e.Event == EventStep {
			last = e
		}
	}
	if last.Step >= f.Epochs*steps {
		t.Errorf("the last epoch ran to its end (step %d of %d epochs): want it cut at the limit", last.Step, f.Epochs)
	}
	// The cosine anneals over the time, not the 20 epochs: near its end.
	if last.LR > 0.02*s.Train.LR || last.LR >= LR(s.Train.Schedule, s.Train.LR, float64(f.Epochs), s.Train.Epochs)/2 {
		t.Errorf("last rate %g of %g: want the schedule annealed by the time limit", last.LR, s.Train.LR)
	}
	if pauses < last.Step {
		t.Errorf("%d pauses for %d steps", pauses, last.Step)
	}

	// A limit reached within the last epoch ends the run too; one that
	// is not reached leaves it completed.
	for _, c := range []struct {
		epochs  int
		stopped string
	}{{3, StoppedTimeLimit}, {2, StoppedCompleted}} {
		s := tinySpec(func(s *spec.Spec) {
			s.Train.Epochs = c.epochs
			s.Train.TimeLimitSeconds = 0.08 // about 40 steps without pauses
			s.Train.ValCheckSeconds = -1
		})
		clock := &fakeClock{}
		res, _ := run(t, context.Background(), Config{Spec: s, Now: clock.now})
		if f := res.Final; f.Stopped != c.stopped || f.Epochs != c.epochs {
			t.Errorf("%d epochs: stopped %q after %d (%s); want %q", c.epochs, f.Stopped, f.Epochs, f.Reason, c.stopped)
		}
	}
}

// A resumed run counts the time its checkpoint used.
func TestResumeKeepsTheTimeUsed(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.Epochs = 20
		s.Train.TimeLimitSeconds = 0.1
		s.Train.ValCheckSeconds = -1
	})
	path := filepath.Join(t.TempDir(), "run.safetensors")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &fakeClock{}
	cut, err := Run(ctx, Config{Spec: s, Dataset: tinyDataset(), Checkpoint: path, Now: c.now, Emit: func(e Event) {
		if e.Event == EventEpoch && e.Epoch == 1 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cut.Final.Epochs != 1 {
		t.Fatalf("the cut run ended after %d epochs", cut.Final.Epochs)
	}
	_, ck, err := readCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.TimeUsed <= 0 || ck.TimeUsed >= 0.1 || ck.TimeReserve <= 0 {
		t.Fatalf("checkpoint time used %g, reserve %g: want what epoch 1 took", ck.TimeUsed, ck.TimeReserve)
	}
	// On a clock ten times as slow, a fresh run would go on for an epoch
	// or more; the resumed one has the checkpoint's time used already.
	slow := &fakeClock{}
	resumed, err := Resume(context.Background(), path, Config{Dataset: tinyDataset(), Now: func() time.Time {
		slow.now()
		return slow.t.Add(9 * (slow.t.Sub(time.Time{})))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if f := resumed.Final; f.Stopped != StoppedTimeLimit || f.Epochs != 2 {
		t.Errorf("resumed: stopped %q after %d epochs; want the time limit in epoch 2", f.Stopped, f.Epochs)
	}
}

// A run that its time limit ended within an epoch, resumed with time to
// spare, trains the rest of that epoch and ends as the run that was never
// cut: the same weights, and the same epoch events but for the weight
// change of the cut epoch, which counts from the cut.
func TestResumeWithinACutEpoch(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.Epochs = 4
		// A schedule of the validation loss alone: the time limit's
		// position in the run does not move it.
		s.Train.Schedule = spec.Schedule{Type: "reduce_on_plateau", Patience: 1, Factor: 0.5}
		s.Train.EarlyStopping = spec.EarlyStopping{Patience: 10, RestoreBest: true}
		s.Train.ValCheckSeconds = -1
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
		s.Model.Layers = slices.Insert(s.Model.Layers, 4, spec.Layer{Type: spec.Dropout, Rate: 0.2})
		s.Data.Augment.Brightness = spec.Transform{P: 0.5, Strength: 0.1}
	})
	limited := *s
	limited.Train.TimeLimitSeconds = 0.07
	path := filepath.Join(t.TempDir(), "run.safetensors")
	clock := &fakeClock{}
	cut, err := Run(context.Background(), Config{Spec: &limited, Dataset: tinyDataset(), Checkpoint: path, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	tensors, st, err := readCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if cut.Final.Stopped != StoppedTimeLimit || st.Cut == nil || st.Cut.Steps <= 0 || st.Cut.Steps >= 16 || st.Epoch < 2 || st.Epoch >= 4 {
		t.Fatalf("the limited run stopped %q after %d epochs, its checkpoint's cut %+v: the test wants a cut within epoch 2 or 3 (change the limit)",
			cut.Final.Stopped, st.Epoch, st.Cut)
	}
	cutEpoch, cutStep := st.Epoch, st.Step

	// The run never cut, and its checkpoint before the cut epoch.
	var wholeEvents []Event
	var before []byte
	wholePath := filepath.Join(t.TempDir(), "whole.safetensors")
	whole, err := Run(context.Background(), Config{Spec: s, Dataset: tinyDataset(), Checkpoint: wholePath, Emit: func(e Event) {
		wholeEvents = append(wholeEvents, e)
		if e.Event == EventEpoch && e.Epoch == cutEpoch {
			before, _ = os.ReadFile(wholePath)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The cut epoch's event made it the best (restore_best): the
	// checkpoint keeps the best values from before it beside its own.
	if st.BestEpoch != cutEpoch || st.Cut.BestEpoch == 0 {
		t.Fatalf("best epoch %d, before the cut %d: the test wants the cut epoch %d to become the best after an earlier one", st.BestEpoch, st.Cut.BestEpoch, cutEpoch)
	}
	tensor := func(tensors []nn.Tensor, name string) []float32 {
		i := slices.IndexFunc(tensors, func(x nn.Tensor) bool { return x.Name == name })
		if i < 0 {
			t.Fatalf("no %s in the checkpoint", name)
		}
		return tensors[i].Data
	}
	beforePath := filepath.Join(t.TempDir(), "before.safetensors")
	if err := os.WriteFile(beforePath, before, 0o644); err != nil {
		t.Fatal(err)
	}
	beforeTensors, _, err := readCheckpoint(beforePath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tensor(tensors, cutBestName), tensor(beforeTensors, bestName)) {
		t.Errorf("the cut checkpoint's %s are not the best values before the cut epoch", cutBestName)
	}
	net, err := nn.New(s.Model, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	trainable, _ := net.ParamCount()
	c := &Checkpoint{Optimizer: st.Optimizer, Network: net, Slots: [][]float32{make([]float32, trainable), make([]float32, trainable)}, Best: make([]float32, len(net.Values()))}
	if err := ReadCheckpoint(path, c); err != nil {
		t.Fatal(err)
	}
	if got := c.Progress.Cut; got == nil || got.Steps != st.Cut.Steps || got.BestEpoch != st.Cut.BestEpoch || !slices.Equal(got.BestValues, tensor(tensors, cutBestName)) {
		t.Errorf("ReadCheckpoint's cut %+v, want the file's %+v and its best values", got, st.Cut)
	}

	var events []Event
	resumed, err := Resume(context.Background(), path, Config{Spec: s, Dataset: tinyDataset(), Emit: func(e Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if start := events[0]; start.Event != EventStart || start.Epoch != cutEpoch-1 || start.Step != cutStep {
		t.Errorf("the resumed run starts at epoch %d, step %d; want epoch %d, step %d", start.Epoch, start.Step, cutEpoch-1, cutStep)
	}
	if !slices.Equal(resumed.Network.Values(), whole.Network.Values()) {
		t.Error("the resumed run ends with other weights than the uninterrupted one")
	}
	epochs := func(events []Event, from int) []Event {
		var out []Event
		for _, e := range events {
			if e.Event == EventEpoch && e.Epoch >= from {
				if e.Epoch == cutEpoch {
					e.WeightChange = 0
				}
				out = append(out, e)
			}
		}
		return out
	}
	if g, w := timeless(epochs(events, 0)), timeless(epochs(wholeEvents, cutEpoch)); !slices.Equal(g, w) {
		t.Errorf("resumed epochs:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	if f, w := resumed.Final, whole.Final; f.Stopped != StoppedCompleted || f.Epochs != 4 || f.BestEpoch != w.BestEpoch || f.TestAccuracy != w.TestAccuracy {
		t.Errorf("resumed result %+v, want %+v", f, w)
	}
}
