package doctor

import (
	"math"
	"strings"
	"testing"

	"plateau/spec"
	"plateau/train"
)

// A penalty a thousand times the usual one shrinks the weights of a
// network that learned until it answers with a constant guess: the first
// epoch that ends there says so, first, sure when the run had learned
// before (mnist-cnn with train.l2 1: 66% at its first check, 11% at the
// epoch's end); the fix sets the usual strength. A usual penalty, a run
// that still learns, a high rate (lr_too_high's) and a run without a
// strong penalty are not this reading.
func TestCrushedByPenalty(t *testing.T) {
	h := math.Log(4)
	collapsed := func(change func(*spec.Spec), valAcc, valLoss float64) []train.Diagnosis {
		tm := telemetry(func(s *spec.Spec, _ *train.Event) {
			s.Train.Optimizer, s.Train.LR = "adam", 1e-3
			change(s)
		})
		for _, c := range []struct {
			step int
			acc  float64
		}{{5, 0.66}, {20, 0.6}, {35, 0.31}} {
			tm.Add(train.Event{Event: train.EventValCheck, Epoch: 1, Step: c.step, ValLoss: h * (1 - c.acc), ValAccuracy: c.acc, ValSize: 300})
		}
		// The epoch's training loss averages over the steps before the
		// collapse; its validation split measures the collapsed weights.
		e := epoch(1.2, 0.45, valLoss, valAcc)
		e.Event, e.Epoch, e.Step = train.EventEpoch, 1, 44
		tm.Add(e)
		return Diagnose(tm)
	}
	l2 := func(v float64) func(*spec.Spec) { return func(s *spec.Spec) { s.Train.L2 = v } }
	got := collapsed(l2(1), 0.25, h)
	if len(got) == 0 || got[0].Cause != Underfitting || got[0].Evidence["crushed"] != 1 {
		t.Fatalf("train.l2 1, back at chance after 66%%: %v, want the crushed reading first", got)
	}
	d := got[0]
	if d.Confidence != 0.85 || d.Evidence["peak_val_accuracy"] != 0.66 || d.Evidence["peak_step"] != 5 || d.Evidence["l2"] != 1 ||
		!strings.Contains(d.Advice, "train.l2 1 outweighs the data") || !strings.Contains(d.Advice, "after it had reached 66.0% at step 5") ||
		!strings.Contains(d.Advice, "set train.l2 to 0.0001") {
		t.Errorf("crushed %.2f %v: %s", d.Confidence, d.Evidence, d.Advice)
	}
	if fix := Fix(d, mustExpand(l2(1))); len(fix) != 1 || fix[0] != "train.l2=0.0001" {
		t.Errorf("fix %v, want train.l2=0.0001", fix)
	}
	// Two penalties, both named and both set back.
	both := func(s *spec.Spec) { s.Train.L2, s.Train.WeightDecay = 1, 50 }
	if d := find(collapsed(both, 0.25, h), Underfitting); d == nil || !strings.Contains(d.Advice, "train.l2 1 and train.weight_decay 50") {
		t.Errorf("l2 and weight decay: %v", d)
	} else if fix := Fix(*d, mustExpand(both)); strings.Join(fix, " ") != "train.l2=0.0001 train.weight_decay=0.01" {
		t.Errorf("fix %v", fix)
	}
	for name, c := range map[string]struct {
		change          func(*spec.Spec)
		valAcc, valLoss float64
	}{
		"a usual l2":          {l2(1e-4), 0.25, h},
		"still learning":      {l2(1), 0.7, 0.8},
		"at a high rate":      {func(s *spec.Spec) { s.Train.L2, s.Train.LR = 1, 0.05 }, 0.25, h},
		"l2 0.01 (the bar)":   {l2(0.01), 0.25, h},
		"the loss off chance": {l2(1), 0.25, 0.8 * h},
	} {
		if d := find(collapsed(c.change, c.valAcc, c.valLoss), Underfitting); d != nil && d.Evidence["crushed"] == 1 {
			t.Errorf("%s: %v", name, d)
		}
	}

	// Before the first epoch's end: checks at a constant guess after a
	// check that learned, the step losses there too.
	crushed := func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR, s.Train.L2 = "adam", 1e-3, 1 }
	losses := []float64{1.5, 1.2, 1.6, 2.1, 2.30, 2.31, 2.30, 2.30, 2.31, 2.30}
	said := firstEpoch(crushed, losses, map[int]float64{20: 0.6, 100: 0.1, 160: 0.11})
	if find(said[1], Underfitting) != nil {
		t.Errorf("one check at chance: %v", causes(said[1]))
	}
	d2 := find(said[2], Underfitting)
	if d2 == nil || d2.Confidence != 0.75 || d2.Evidence["checks_at_chance"] != 2 || d2.Evidence["since_step"] != 100 ||
		!strings.Contains(d2.Advice, "before the first epoch's end, the last 2 validation checks (steps 100 to 160)") {
		t.Errorf("at the checks: %v", d2)
	}
	// The same checks at the usual l2 are not the penalty's doing.
	if d := find(firstEpoch(func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR = "adam", 1e-3 }, losses, map[int]float64{20: 0.6, 100: 0.1, 160: 0.11})[2], Underfitting); d != nil {
		t.Errorf("usual l2 at the checks: %v", d)
	}
}
