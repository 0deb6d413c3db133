package doctor

import (
	"fmt"
	"slices"

	"plateau/train"
)

// checkLRTooLow: the optimizer barely moves the weights, so the loss
// creeps down.
//
// Evidence: the median over epochs of weight_change (‖Δw‖/‖w‖ per
// epoch), the relative drop of the training loss from the first to the
// last epoch, the last training accuracy and relative_lr (the rate over
// the optimizer's usual one).
//
// Thresholds: needs 2 epochs, a run that did not diverge, a loss drop
// under 30% and a training accuracy under 0.9. Confidence 0.85 when the
// median weight change is under 0.003 per epoch, 0.7 under 0.01; when the
// run carries no weight changes, 0.6 for relative_lr ≤ 0.1. A
// relative_lr above 0.3 halves the confidence: the rate is ordinary.
//
// Advice: multiply train.lr by 10 (the value is given) or run plateau
// lr-find; a warm-up or one_cycle schedule reaches a high rate safely.
func checkLRTooLow(t *Telemetry) *train.Diagnosis {
	losses := t.trainLoss()
	if len(losses) < 2 || t.diverged() {
		return nil
	}
	drop := (losses[0] - losses[len(losses)-1]) / losses[0]
	acc := t.last().TrainAccuracy
	if !(drop < 0.3) || !(acc < 0.9) {
		return nil
	}
	var changes []float64
	for _, e := range t.Epochs {
		if e.WeightChange > 0 {
			changes = append(changes, e.WeightChange)
		}
	}
	rel := t.relativeLR()
	ev := map[string]float64{"lr": t.Spec.Train.LR, "relative_lr": rel, "loss_drop": drop, "train_accuracy": acc}
	conf := 0.0
	if len(changes) > 0 {
		slices.Sort(changes)
		median := changes[len(changes)/2]
		ev["weight_change"] = median
		switch {
		case median < 0.003:
			conf = 0.85
		case median < 0.01:
			conf = 0.7
		}
	} else if rel <= 0.1 {
		conf = 0.6
	}
	if rel > 0.3 {
		conf /= 2
	}
	if conf == 0 {
		return nil
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev,
		Advice: fmt.Sprintf("raise train.lr to %.3g (ten times) or run plateau lr-find and use its suggested rate; the weights moved %.2g%% per epoch",
			t.Spec.Train.LR*10, 100*ev["weight_change"])}
}
