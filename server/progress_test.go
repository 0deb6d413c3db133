package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"plateau/train"
)

// The result line counts epochs in words: "1 epoch", "2 epochs".
func TestProgressResultLine(t *testing.T) {
	for _, c := range []struct {
		epochs int
		want   string
	}{{1, "after 1 epoch, "}, {2, "after 2 epochs, "}} {
		var b strings.Builder
		newProgressBar(&b).report(train.Event{Event: train.EventResult, Epochs: c.epochs, Stopped: train.StoppedCompleted})
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%q, want %q", b.String(), c.want)
		}
	}
}

// A validation check within an epoch gets a line of its own, with its
// epoch, step and the images it measured.
func TestProgressValCheckLine(t *testing.T) {
	var b strings.Builder
	p := newProgressBar(&b)
	p.report(train.Event{Event: train.EventStart, Epochs: 5, StepsPerEpoch: 844})
	p.report(train.Event{Event: train.EventValCheck, Epoch: 1, Step: 1200, ValLoss: 0.1234, ValAccuracy: 0.9651, ValSize: 1000})
	if want := "epoch 1/5, step 1,200  val loss 0.1234 acc 0.9651  (a check on 1,000 validation images)"; !strings.Contains(b.String(), want) {
		t.Errorf("%q, want %q", b.String(), want)
	}
}

// A finding made at a check before the first epoch's end is said once,
// when it is first made; the start's findings are not said again.
func TestProgressEarlyFindings(t *testing.T) {
	var b strings.Builder
	p := newProgressBar(&b)
	raw := train.Diagnosis{Cause: "unnormalized_input", Confidence: 0.95, Advice: "scale the inputs"}
	high := train.Diagnosis{Cause: "lr_too_high", Confidence: 0.75, Advice: "lower train.lr"}
	p.report(train.Event{Event: train.EventStart, Epochs: 5, StepsPerEpoch: 844, Diagnoses: []train.Diagnosis{raw}})
	p.report(train.Event{Event: train.EventValCheck, Epoch: 1, Step: 100, ValSize: 1000, Diagnoses: []train.Diagnosis{raw}})
	p.report(train.Event{Event: train.EventValCheck, Epoch: 1, Step: 200, ValSize: 1000, Diagnoses: []train.Diagnosis{high, raw}})
	p.report(train.Event{Event: train.EventValCheck, Epoch: 1, Step: 300, ValSize: 1000, Diagnoses: []train.Diagnosis{high, raw}})
	out := b.String()
	if n := strings.Count(out, "unnormalized_input"); n != 1 {
		t.Errorf("the start's finding said %d times:\n%s", n, out)
	}
	want := "doctor, at step 200 before the first epoch's end: lr_too_high (confidence 0.75): lower train.lr"
	if !strings.Contains(out, want) || strings.Count(out, "lr_too_high") != 1 {
		t.Errorf("want %q once:\n%s", want, out)
	}
}

// A stream followed again shows each check once, and the checks of a job
// that went on after a restart from its last epoch.
func TestShownEventsValChecks(t *testing.T) {
	var s shownEvents
	check := func(step int) train.Event { return train.Event{Event: train.EventValCheck, Epoch: 1, Step: step} }
	for _, c := range []struct {
		e    train.Event
		want bool
	}{{check(100), true}, {check(200), true}, {check(100), false}, {check(200), false}, {check(250), true}} {
		if got := s.fresh(c.e, 1); got != c.want {
			t.Errorf("check at step %d: fresh %v, want %v", c.e.Step, got, c.want)
		}
	}
}

// With a time limit the bar follows the time when it is further along
// than the steps: half the limit gone is half the bar, whatever the
// epochs planned.
func TestProgressFollowsTheTimeLimit(t *testing.T) {
	var b strings.Builder
	p := newProgressBar(&b)
	p.terminal, p.limit = true, 180
	p.report(train.Event{Event: train.EventStart, Epochs: 20, StepsPerEpoch: 100, BatchSize: 32})
	p.start = time.Now().Add(-90 * time.Second)
	p.report(train.Event{Event: train.EventStep, Epoch: 2, Step: 150})
	if out := b.String(); !strings.Contains(out, " 50% ") || !strings.Contains(out, "ETA 1m") {
		t.Errorf("bar %q: want 50%% and an ETA of about 1m30s", out)
	}
}

// An epoch of a run without a validation split says so, not "NaN".
func TestProgressEpochWithoutValidation(t *testing.T) {
	var b strings.Builder
	p := newProgressBar(&b)
	p.report(train.Event{Event: train.EventStart, Epochs: 3, StepsPerEpoch: 5})
	p.report(train.Event{Event: train.EventEpoch, Epoch: 1, TrainLoss: 2.1947, TrainAccuracy: 0.27, ValLoss: math.NaN(), ValAccuracy: math.NaN(), LR: 0.001})
	if out := b.String(); !strings.Contains(out, "acc 0.2700  no validation  lr 0.001") || strings.Contains(out, "NaN") {
		t.Errorf("%q, want the epoch line to say there is no validation", out)
	}
}

// A run interrupted before its test says it was not tested, not "NaN".
func TestProgressResultNotTested(t *testing.T) {
	var b strings.Builder
	newProgressBar(&b).report(train.Event{Event: train.EventResult, Epochs: 1, TestLoss: math.NaN(), TestAccuracy: math.NaN(), Stopped: train.StoppedCanceled})
	if out := b.String(); !strings.HasPrefix(out, "not tested  after 1 epoch, ") || strings.Contains(out, "NaN") {
		t.Errorf("%q, want the result line to say the run was not tested", out)
	}
}
