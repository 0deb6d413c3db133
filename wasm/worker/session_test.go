package main

import (
	"bytes"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
)

// collector gathers a session's messages.
type collector struct{ ch chan protocol.Message }

func newSession(t *testing.T) (*Session, *collector) {
	c := &collector{ch: make(chan protocol.Message, 10000)}
	return NewSession(func(m protocol.Message) { c.ch <- m }, nil), c
}

// next waits for the next message of one of the kinds, skipping others.
func (c *collector) next(t *testing.T, kinds ...string) protocol.Message {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-c.ch:
			for _, k := range kinds {
				if m.Kind == k {
					return m
				}
			}
			if m.Kind == protocol.KindError {
				t.Fatalf("error message: %s", m.Error)
			}
		case <-timeout:
			t.Fatalf("no %v message", kinds)
		}
	}
}

func loadShapes(t *testing.T, s *Session, c *collector) *protocol.Dataset {
	b, err := os.ReadFile("../../data/testdata/shapes.zip")
	if err != nil {
		t.Fatal(err)
	}
	cmd := protocol.NewCommand("r1", protocol.CmdLoad)
	cmd.Dataset = &protocol.DatasetRef{Name: "shapes.zip"}
	cmd.Bytes = b
	s.Handle(cmd)
	d := c.next(t, protocol.KindDataset).Dataset
	samples := c.next(t, protocol.KindSamples).Images
	if samples.N == 0 || len(samples.Pixels) != samples.N*samples.H*samples.W*samples.C {
		t.Fatalf("samples %+v", samples)
	}
	m := c.next(t, protocol.KindMemory).Memory
	if want := d.Bytes + 4*int64(d.TrainSize+d.TestSize); m == nil || m.Dataset != want || m.Heap < m.Dataset {
		t.Fatalf("memory after loading %+v, want %d bytes of images and labels, within the heap", m, want)
	}
	return d
}

func shapesSpec(d *protocol.Dataset, epochs int) *spec.Spec {
	s := spec.Default()
	s.Model = spec.Model{Input: d.Shape, Classes: len(d.Classes), Layers: []spec.Layer{
		{Type: spec.Conv2D, Filters: 2, Kernel: 3, Activation: spec.ReLU},
		{Type: spec.Flatten},
		{Type: spec.Dense},
	}}
	s.Train.Epochs, s.Train.BatchSize, s.Train.LogEvery = epochs, 1, 1
	s.Data.Validation = 0.3
	return s
}

func TestLoadAndPreview(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	if d.Name != "shapes" || len(d.Classes) == 0 || d.TrainSize == 0 {
		t.Fatalf("dataset %+v", d)
	}
	cmd := protocol.NewCommand("r1", protocol.CmdAugment)
	cmd.Spec = spec.Default()
	cmd.Spec.Data.Augment.FlipHorizontal = spec.Transform{P: 1}
	s.Handle(cmd)
	if p := c.next(t, protocol.KindPreview).Images; p.N == 0 {
		t.Errorf("empty preview")
	}
}

func TestBadFileKeepsTheSession(t *testing.T) {
	s, c := newSession(t)
	cmd := protocol.NewCommand("r1", protocol.CmdLoad)
	cmd.Dataset = &protocol.DatasetRef{Name: "broken.zip"}
	cmd.Bytes = []byte("PK\x03\x04 this is not a zip")
	s.Handle(cmd)
	m := c.next(t, protocol.KindError)
	if !strings.Contains(m.Error, "broken") {
		t.Errorf("error %q does not name the file", m.Error)
	}
	loadShapes(t, s, c)
}

func TestInvalidSpecNamesTheField(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 1)
	sp.Model.Layers[0].Kernel = -1
	cmd := protocol.NewCommand("r1", protocol.CmdStart)
	cmd.Spec = sp
	s.Handle(cmd)
	m := c.next(t, protocol.KindError)
	if m.Field != "model.layers[0].kernel" {
		t.Errorf("field %q, error %q", m.Field, m.Error)
	}
}

// A batch the worker's memory cannot hold is refused at the field, with
// the batch size that fits, before anything is built.
func TestBatchOverTheWorkersMemory(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 1)
	sp.Model.Layers[0].Filters = 64
	sp.Train.BatchSize = 65536
	cmd := protocol.NewCommand("r1", protocol.CmdSpec)
	cmd.Spec = sp
	s.Handle(cmd)
	m := c.next(t, protocol.KindError)
	if m.Field != "train.batch_size" || !strings.Contains(m.Error, "set train.batch_size to ") || !strings.Contains(m.Error, "worker") {
		t.Errorf("field %q, error %q", m.Field, m.Error)
	}
}

func TestPauseResumeStop(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	cmd := protocol.NewCommand("r2", protocol.CmdStart)
	cmd.Spec = shapesSpec(d, 100000)
	s.Handle(cmd)
	if p := c.next(t, protocol.KindProgress).Progress; p.Memory == nil || p.Memory.Heap == 0 || p.Memory.Dataset == 0 {
		t.Errorf("progress without the worker's memory: %+v", p.Memory)
	}
	s.Handle(protocol.NewCommand("r2", protocol.CmdPause))
	// The run says it is paused once its step has ended, after the
	// progress of that step: no step ends after the paused state.
	first := -1
	for {
		m := c.next(t, protocol.KindState, protocol.KindProgress)
		if m.Kind == protocol.KindProgress {
			first = m.Progress.Step
			continue
		}
		if m.State != protocol.StatePaused {
			t.Fatalf("state %q", m.State)
		}
		break
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case m := <-c.ch:
		if m.Kind == protocol.KindProgress && m.Progress.Step != first {
			t.Errorf("paused at step %d, then step %d", first, m.Progress.Step)
		}
	default:
	}
	s.Handle(protocol.NewCommand("r2", protocol.CmdStep))
	stepped := c.next(t, protocol.KindProgress).Progress.Step
	if stepped < first || stepped > first+1 {
		t.Errorf("paused at step %d, after one step %d", first, stepped)
	}
	set := protocol.NewCommand("r2", protocol.CmdSetLR)
	set.LR = 1e-4
	s.Handle(set)
	s.Handle(protocol.NewCommand("r2", protocol.CmdResume))
	if m := c.next(t, protocol.KindState); m.State != protocol.StateRunning {
		t.Fatalf("state %q", m.State)
	}
	for {
		m := c.next(t, protocol.KindProgress, protocol.KindEvent)
		if m.Kind == protocol.KindProgress && m.Progress.Step > stepped+2 {
			break
		}
	}
	s.Handle(protocol.NewCommand("r2", protocol.CmdStop))
	for {
		m := c.next(t, protocol.KindEvent)
		e, err := m.DecodeEvent()
		if err != nil {
			t.Fatal(err)
		}
		if e.Event == protocol.EventStep && e.LR != 1e-4 {
			t.Errorf("step %d lr %g after set_lr 1e-4", e.Step, e.LR)
		}
		if e.Event == protocol.EventResult {
			if e.Stopped != protocol.StoppedCanceled {
				t.Errorf("stopped %q", e.Stopped)
			}
			break
		}
	}
	if m := c.next(t, protocol.KindState); m.State != protocol.StateDone {
		t.Fatalf("state %q", m.State)
	}
	s.Handle(protocol.NewCommand("r2", protocol.CmdExport))
	if w := c.next(t, protocol.KindWeights); len(w.Bytes) == 0 {
		t.Error("no weights")
	}
}

// A run with a time limit ends at it, whatever its epochs, and its
// progress says how much of the limit is gone.
func TestTimeLimitEndsTheRun(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 100000)
	sp.Train.TimeLimitSeconds = 0.5
	cmd := protocol.NewCommand("r6", protocol.CmdStart)
	cmd.Spec = sp
	s.Handle(cmd)
	share := 0.0
	for {
		m := c.next(t, protocol.KindEvent, protocol.KindProgress)
		if m.Kind == protocol.KindProgress {
			if p := m.Progress; p.TimeShare > 0 {
				share = p.TimeShare
				if p.ETA > 0.5 || p.Fraction() < p.TimeShare {
					t.Errorf("progress %+v: want an ETA within the limit and the bar at its share", *p)
				}
			}
			continue
		}
		e, err := m.DecodeEvent()
		if err != nil {
			t.Fatal(err)
		}
		if e.Event == protocol.EventResult {
			if e.Stopped != protocol.StoppedTimeLimit || !strings.Contains(e.Reason, "time limit of 0.5 s") {
				t.Errorf("stopped %q: %q; want the time limit", e.Stopped, e.Reason)
			}
			break
		}
	}
	if share == 0 {
		t.Error("no progress said how much of the time limit was gone")
	}
}

// The misclassified validation images come with their saliency maps: one
// H×W map each, not blank.
func TestMisclassifiedHaveSaliency(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 1)
	sp.Train.LR = 1e-9 // the initial weights, which get most images wrong
	cmd := protocol.NewCommand("r7", protocol.CmdStart)
	cmd.Spec = sp
	s.Handle(cmd)
	im := c.next(t, protocol.KindMisclassified).Images
	if im == nil || im.N == 0 {
		t.Fatalf("no misclassified images: %+v", im)
	}
	if len(im.Saliency) != im.N*im.H*im.W {
		t.Fatalf("%d bytes of saliency for %d images of %d×%d", len(im.Saliency), im.N, im.H, im.W)
	}
	for i := range im.N {
		m := im.Saliency[i*im.H*im.W : (i+1)*im.H*im.W]
		if slices.Max(m) != 255 {
			t.Errorf("image %d's map peaks at %d, want 255", i, slices.Max(m))
		}
	}
}

func TestEpochEventsCarryTheDoctorsFindings(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 3)
	sp.Data.Normalization = "raw"
	sp.Train.LR = 1
	sp.Train.BatchSize = 4
	cmd := protocol.NewCommand("r3", protocol.CmdStart)
	cmd.Spec = sp
	s.Handle(cmd)
	var found []protocol.Diagnosis
	for {
		m := c.next(t, protocol.KindEvent)
		e, err := m.DecodeEvent()
		if err != nil {
			t.Fatal(err)
		}
		if e.Event == protocol.EventResult {
			found = e.Diagnoses
			break
		}
	}
	if len(found) == 0 {
		t.Fatal("a run on raw pixels at lr 1 got a clean bill")
	}
	withFix := false
	for _, f := range found {
		withFix = withFix || len(f.Fix) > 0
	}
	if !withFix {
		t.Errorf("no finding carries a fix: %+v", found)
	}
}

func TestLRFind(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 1)
	sp.Train.BatchSize = 4
	cmd := protocol.NewCommand("lr", protocol.CmdLRFind)
	cmd.Spec = sp
	s.Handle(cmd)
	m := c.next(t, protocol.KindLRFind)
	if f := m.LRFind; f == nil || len(f.LR) < 3 || len(f.LR) != len(f.Loss) || !(f.Suggested > 0) {
		t.Fatalf("lr_find %+v", m.LRFind)
	}
	if m := c.next(t, protocol.KindState); m.State != protocol.StateDone {
		t.Errorf("state %q after the LR range test", m.State)
	}
}

// The memory command collects garbage first: the live heap it reports
// holds the dataset and little else.
func TestMemoryAfterACollection(t *testing.T) {
	s, c := newSession(t)
	loadShapes(t, s, c)
	s.Handle(protocol.NewCommand("", protocol.CmdMemory))
	m := c.next(t, protocol.KindMemory).Memory
	if !m.Collected || m.Live < m.Dataset {
		t.Errorf("memory %+v: want a collected measurement whose live heap holds the dataset", m)
	}
}

// A run trains on views of the loaded dataset, reordered for its split,
// and puts the dataset back in order when it ends, so that the next run
// splits it as the command line would.
func TestRunLeavesTheDatasetInOrder(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	s.mu.Lock()
	before := slices.Clone(s.dataset.Train.Images)
	labels := slices.Clone(s.dataset.Train.Labels)
	s.mu.Unlock()
	cmd := protocol.NewCommand("r4", protocol.CmdStart)
	cmd.Spec = shapesSpec(d, 1)
	s.Handle(cmd)
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(s.dataset.Train.Images, before) || !slices.Equal(s.dataset.Train.Labels, labels) {
		t.Error("the dataset is not in its order after the run")
	}
}

// checkScore checks a score's arithmetic against its confusion matrix.
func checkScore(t *testing.T, name string, sc *protocol.Score, images int) {
	t.Helper()
	if sc == nil {
		t.Fatalf("no %s score", name)
	}
	total, right := 0, 0
	for i, row := range sc.Confusion {
		for j, v := range row {
			total += v
			if i == j {
				right += v
			}
		}
	}
	if sc.Images != images || total != images {
		t.Errorf("%s: %d images, confusion counts %d, want %d", name, sc.Images, total, images)
	}
	if got := float64(sc.Accuracy); math.Abs(got-float64(right)/float64(total)) > 1e-12 {
		t.Errorf("%s: accuracy %g, the confusion matrix says %g", name, got, float64(right)/float64(total))
	}
	if !(float64(sc.Loss) > 0) || len(sc.PerClassAccuracy) != len(sc.Confusion) {
		t.Errorf("%s: loss %g, %d per-class accuracies for %d classes", name, sc.Loss, len(sc.PerClassAccuracy), len(sc.Confusion))
	}
}

// A run training in the worker is evaluated between two steps, paused or
// not, on its validation and test splits.
func TestEvaluateATrainingRun(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	cmd := protocol.NewCommand("r5", protocol.CmdStart)
	cmd.Spec = shapesSpec(d, 100000)
	s.Handle(cmd)
	start := c.next(t, protocol.KindEvent)
	e, err := start.DecodeEvent()
	if err != nil || e.Event != protocol.EventStart {
		t.Fatalf("first event %+v, %v", e, err)
	}
	c.next(t, protocol.KindProgress)
	s.Handle(protocol.NewCommand("r5", protocol.CmdEvaluate))
	running := c.next(t, protocol.KindEvaluation).Evaluation
	checkScore(t, "validation while running", running.Val, e.ValSize)
	checkScore(t, "test while running", running.Test, e.TestSize)
	if running.Step == 0 || running.Dataset != "shapes" {
		t.Errorf("the evaluation of a run says step %d, dataset %q", running.Step, running.Dataset)
	}
	s.Handle(protocol.NewCommand("r5", protocol.CmdPause))
	for c.next(t, protocol.KindState).State != protocol.StatePaused {
	}
	s.Handle(protocol.NewCommand("r5", protocol.CmdEvaluate))
	paused := c.next(t, protocol.KindEvaluation).Evaluation
	checkScore(t, "validation while paused", paused.Val, e.ValSize)
	if paused.Step < running.Step {
		t.Errorf("paused at step %d, evaluated earlier at step %d", paused.Step, running.Step)
	}
	s.Handle(protocol.NewCommand("r5", protocol.CmdEvaluate))
	again := c.next(t, protocol.KindEvaluation).Evaluation
	if again.Step != paused.Step || again.Val.Loss != paused.Val.Loss {
		t.Errorf("the same paused weights measured twice: step %d loss %g, then step %d loss %g", paused.Step, paused.Val.Loss, again.Step, again.Val.Loss)
	}
	s.Handle(protocol.NewCommand("r5", protocol.CmdStop))
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
}

// A finished run's weights, sent back with its spec, measure what the run
// measured at its end.
func TestEvaluateWeights(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 2)
	sp.Data.Normalization = "standardize"
	cmd := protocol.NewCommand("r6", protocol.CmdStart)
	cmd.Spec = sp
	s.Handle(cmd)
	var started, result, lastEpoch protocol.Event
	for {
		e, err := c.next(t, protocol.KindEvent).DecodeEvent()
		if err != nil {
			t.Fatal(err)
		}
		if e.Event == protocol.EventStart {
			started = e
		}
		if e.Event == protocol.EventEpoch {
			lastEpoch = e
		}
		if e.Event == protocol.EventResult {
			result = e
			break
		}
	}
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
	s.Handle(protocol.NewCommand("r6", protocol.CmdExport))
	weights := c.next(t, protocol.KindWeights).Bytes

	eval := protocol.NewCommand("r6", protocol.CmdEvaluate)
	eval.Spec, eval.Bytes = sp, weights
	s.Handle(eval)
	// The weights' misclassified validation images and filters come
	// first, as a server run has none of its own.
	if m := c.next(t, protocol.KindMisclassified, protocol.KindEvaluation); m.Kind != protocol.KindMisclassified || m.Run != "r6" || m.Images == nil {
		t.Fatalf("%s for %q before the evaluation; want the misclassified images", m.Kind, m.Run)
	}
	if m := c.next(t, protocol.KindFilters, protocol.KindEvaluation); m.Kind != protocol.KindFilters || m.Images.N != 2 {
		t.Fatalf("%s before the evaluation; want the 2 filters", m.Kind)
	}
	ev := c.next(t, protocol.KindEvaluation).Evaluation
	checkScore(t, "validation", ev.Val, started.ValSize)
	checkScore(t, "test", ev.Test, started.TestSize)
	if float64(ev.Test.Accuracy) != result.TestAccuracy || math.Abs(float64(ev.Test.Loss)-result.TestLoss) > 1e-9 {
		t.Errorf("test accuracy %g loss %g, the run ended with %g and %g", ev.Test.Accuracy, ev.Test.Loss, result.TestAccuracy, result.TestLoss)
	}
	if float64(ev.Val.Accuracy) != lastEpoch.ValAccuracy {
		t.Errorf("validation accuracy %g, the last epoch measured %g", ev.Val.Accuracy, lastEpoch.ValAccuracy)
	}
	// Without weights, as the page asks while it still sees the run
	// training, the run that last finished is measured on its final
	// weights.
	s.Handle(protocol.NewCommand("r6", protocol.CmdEvaluate))
	if again := c.next(t, protocol.KindEvaluation).Evaluation; again.Test.Accuracy != ev.Test.Accuracy || again.Test.Loss != ev.Test.Loss || again.Val.Accuracy != ev.Val.Accuracy {
		t.Errorf("the finished run evaluated without its weights: test %+v, validation %+v; with them %+v, %+v", *again.Test, *again.Val, *ev.Test, *ev.Val)
	}
	// The run slot is free again.
	cmd.Run = "r7"
	s.Handle(cmd)
	if m := c.next(t, protocol.KindState); m.Run != "r7" || m.State != protocol.StateRunning {
		t.Errorf("after the evaluation a run got %+v", m)
	}
}

func TestEvaluateNeedsARunOrWeights(t *testing.T) {
	s, c := newSession(t)
	loadShapes(t, s, c)
	s.Handle(protocol.NewCommand("gone", protocol.CmdEvaluate))
	if m := c.next(t, protocol.KindError); !strings.Contains(m.Error, "not training") {
		t.Errorf("error %q", m.Error)
	}
}

// trainAndExport trains sp to its end and returns the run's weights.
func trainAndExport(t *testing.T, s *Session, c *collector, run string, sp *spec.Spec) []byte {
	t.Helper()
	cmd := protocol.NewCommand(run, protocol.CmdStart)
	cmd.Spec = sp
	s.Handle(cmd)
	for {
		if m := c.next(t, protocol.KindState); m.Run == run && m.State == protocol.StateDone {
			break
		}
	}
	s.Handle(protocol.NewCommand(run, protocol.CmdExport))
	return c.next(t, protocol.KindWeights).Bytes
}

func TestImportWeights(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 1)
	sp.Model.Name = "two-filters"
	weights := trainAndExport(t, s, c, "source", sp)

	t.Run("weights that fit", func(t *testing.T) {
		cmd := protocol.NewCommand("import-1", protocol.CmdImport)
		cmd.Spec, cmd.Bytes, cmd.File = sp, weights, "two.safetensors"
		s.Handle(cmd)
		w := c.next(t, protocol.KindWeightsOK).Weights
		// conv1 kernel and bias, dense1 kernel and bias.
		want := 3*3*3*2 + 2 + (d.Shape[0]*d.Shape[1]*2)*len(d.Classes) + len(d.Classes)
		if w.Tensors != 4 || w.Params != want || w.Model != "two-filters" {
			t.Errorf("weights %+v, want 4 tensors, %d parameters, model two-filters", w, want)
		}
	})
	for _, tt := range []struct {
		name   string
		change func(*spec.Spec)
		bytes  []byte
		want   []string
	}{
		{"another width", func(s *spec.Spec) { s.Model.Name = "three-filters"; s.Model.Layers[0].Filters = 3 },
			weights, []string{"the weights in three.safetensors do not fit model \"three-filters\"", "conv1/kernel: file has shape [3 3 3 2], network expects [3 3 3 3]", "conv1/bias", "dense1/kernel", `saved for model "two-filters"`}},
		{"another layer", func(s *spec.Spec) {
			s.Model.Layers = append([]spec.Layer{{Type: spec.Conv2D, Filters: 2, Kernel: 3, Activation: spec.ReLU}}, s.Model.Layers...)
		}, weights, []string{"conv2/kernel: missing from the file", "conv2/bias: missing from the file"}},
		{"not safetensors", nil, []byte("PK\x03\x04 a zip"), []string{"three.safetensors is not a safetensors file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other := sp.Clone()
			if tt.change != nil {
				tt.change(other)
			}
			cmd := protocol.NewCommand("import-2", protocol.CmdImport)
			cmd.Spec, cmd.Bytes, cmd.File = other, tt.bytes, "three.safetensors"
			s.Handle(cmd)
			m := c.next(t, protocol.KindError)
			for _, w := range tt.want {
				if !strings.Contains(m.Error, w) {
					t.Errorf("error %q does not say %q", m.Error, w)
				}
			}
		})
	}
	t.Run("a start that does not fit", func(t *testing.T) {
		other := sp.Clone()
		other.Model.Layers[0].Filters = 5
		cmd := protocol.NewCommand("r9", protocol.CmdStart)
		cmd.Spec, cmd.Bytes = other, weights
		s.Handle(cmd)
		if m := c.next(t, protocol.KindError, protocol.KindState); m.Kind != protocol.KindError || !strings.Contains(m.Error, "conv1/kernel") {
			t.Errorf("a start from weights that do not fit got %+v", m)
		}
	})
}

// A run started from weights trains those weights: at a rate too small
// to move them, it ends with them unchanged; from the seed it does not.
func TestStartFromWeights(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 1)
	weights := trainAndExport(t, s, c, "source", sp)
	still := sp.Clone()
	still.Train.LR = 1e-30
	still.Train.Seed = 2
	cmd := protocol.NewCommand("continued", protocol.CmdStart)
	cmd.Spec, cmd.Bytes = still, weights
	s.Handle(cmd)
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
	s.Handle(protocol.NewCommand("continued", protocol.CmdExport))
	continued := c.next(t, protocol.KindWeights).Bytes
	fresh := trainAndExport(t, s, c, "fresh", still)
	values := func(b []byte) []float32 {
		tensors, _, err := nn.ReadSafetensors(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var v []float32
		for _, x := range tensors {
			v = append(v, x.Data...)
		}
		return v
	}
	if !slices.Equal(values(continued), values(weights)) {
		t.Error("the run did not start from the weights it was sent")
	}
	if slices.Equal(values(fresh), values(weights)) {
		t.Error("a run from the seed ended with the same weights: the check above proves nothing")
	}
}

// The page hears of the first step as soon as it is taken, not at the
// next tick of the progress rate.
func TestFirstStepIsReportedAtOnce(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	cmd := protocol.NewCommand("r10", protocol.CmdStart)
	cmd.Spec = shapesSpec(d, 100000)
	s.Handle(cmd)
	for {
		p := c.next(t, protocol.KindProgress).Progress
		if p.Step == 0 {
			continue
		}
		if p.Step != 1 {
			t.Errorf("the first progress after a step says step %d", p.Step)
		}
		break
	}
	s.Handle(protocol.NewCommand("r10", protocol.CmdStop))
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
}

// set_augment changes a training run's augmentation from its next step,
// which progress reports; an augmentation that makes no sense is refused
// at its field and the run trains on.
func TestSetAugmentMidRun(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	cmd := protocol.NewCommand("r8", protocol.CmdStart)
	cmd.Spec = shapesSpec(d, 100000)
	s.Handle(cmd)
	first := c.next(t, protocol.KindProgress).Progress.Step
	bad := protocol.NewCommand("r8", protocol.CmdSetAugment)
	bad.Spec = cmd.Spec.Clone()
	bad.Spec.Data.Augment.Rotation = spec.Transform{P: 2, Strength: 30}
	s.Handle(bad)
	m := c.next(t, protocol.KindError)
	if !strings.Contains(m.Error, "data.augment") {
		t.Errorf("a probability of 2 was refused with %q; want the field data.augment", m.Error)
	}
	set := protocol.NewCommand("r8", protocol.CmdSetAugment)
	set.Spec = cmd.Spec.Clone()
	set.Spec.Data.Augment.FlipHorizontal = spec.Transform{P: 0.5}
	s.Handle(set)
	for {
		p := c.next(t, protocol.KindProgress).Progress
		if p.AugmentStep > 0 {
			if p.AugmentStep <= first {
				t.Errorf("the new augmentation applies from step %d, before the step %d already reported", p.AugmentStep, first)
			}
			break
		}
	}
	s.Handle(protocol.NewCommand("r8", protocol.CmdStop))
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
}

// A finished run keeps its network at a small batch: the same weights and
// batch-norm averages, so the same logits, without the training batch's
// activations.
func TestLeanNetwork(t *testing.T) {
	s, err := spec.Preset("resnet-small", spec.PresetOptions{Depth: 1, Width: 4, Input: []int{8, 8, 1}, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(s.Model, 64, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range net.Values() {
		net.Values()[i] = v + float32(i%7)*0.01 // running averages away from their start too
	}
	lean, err := leanNetwork(net, s, 8)
	if err != nil {
		t.Fatal(err)
	}
	if lean.MaxBatch() != 8 || !slices.Equal(lean.Values(), net.Values()) {
		t.Fatalf("lean network: batch %d, values equal %v", lean.MaxBatch(), slices.Equal(lean.Values(), net.Values()))
	}
	x := make([]float32, 2*64)
	for i := range x {
		x[i] = float32(i%13) / 13
	}
	want := slices.Clone(net.Forward(x, 2, false))
	if got := lean.Forward(x, 2, false); !slices.Equal(got, want) {
		t.Errorf("logits %v, want %v", got, want)
	}
}
