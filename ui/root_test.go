package ui

import (
	"encoding/json"
	"math"
	"testing"

	"plateau/protocol"
)

// A run keeps what it measured through a save and a reload, missing
// numbers included: a stopped run has no test loss, a run without a
// validation split no validation loss, a diverged one a step loss that is
// not a number. (Saving runs as JSON, which has no NaN, must not fail.)
func TestRunSavesMissingNumbers(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	run := &Run{ID: "r1", Name: "stopped", State: "done",
		StepLoss: []Point{{0.5, 2.3}, {1, nan}, {1.5, inf}},
		Start:    &protocol.Event{Event: protocol.EventStart, Dataset: "tiny", TrainSize: 10, Epochs: 2},
		Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, Step: 5, TrainLoss: 1.5, TrainAccuracy: 0.5,
			ValLoss: nan, ValAccuracy: nan, PerClassAccuracy: []float64{1, nan}}},
		Result: &protocol.Event{Event: protocol.EventResult, TestLoss: nan, TestAccuracy: nan, Epochs: 1, Stopped: protocol.StoppedCanceled},
	}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatalf("saving a run with missing numbers: %v", err)
	}
	var back Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("reading it back: %v\n%s", err, b)
	}
	if back.ID != "r1" || len(back.StepLoss) != 3 || back.StepLoss[0] != (Point{0.5, 2.3}) ||
		back.StepLoss[1].X != 1 || !math.IsNaN(back.StepLoss[1].Y) || !math.IsNaN(back.StepLoss[2].Y) {
		t.Errorf("step losses %v, want the finite point as it was and the others' Y not a number", back.StepLoss)
	}
	if e := back.Epochs[0]; e.TrainLoss != 1.5 || !math.IsNaN(e.ValLoss) || !math.IsNaN(e.PerClassAccuracy[1]) {
		t.Errorf("epoch %+v, want train loss 1.5 and the validation loss and second class's accuracy NaN", e)
	}
	if r := back.Result; r.Stopped != protocol.StoppedCanceled || !math.IsNaN(r.TestLoss) || r.Epochs != 1 {
		t.Errorf("result %+v, want a canceled run without test loss", r)
	}

	// A run saved before Point wrote nulls reads as it did.
	var old Run
	if err := json.Unmarshal([]byte(`{"id":"r0","step_loss":[{"X":0.5,"Y":2}]}`), &old); err != nil || len(old.StepLoss) != 1 || old.StepLoss[0] != (Point{0.5, 2}) {
		t.Errorf("an older saved run: %v, %+v", err, old.StepLoss)
	}
}
