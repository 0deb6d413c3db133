package doctor

import (
	"fmt"

	"plateau/train"
)

// checkStillLearning: the run ended, as planned, while it was still
// learning: its validation accuracy is not stuck, the run was too short.
//
// Evidence: the relative change per epoch of the training loss and of the
// validation loss over the last two epochs (train_loss_change,
// val_loss_change), the validation accuracy and its rise over them, and
// the epochs the run had.
//
// Thresholds: only on a completed run (the planned epochs done; a run
// that early stopping ended stopped improving) of 2 epochs or more with a
// validation split; the training loss fell 3% an epoch or more over the
// last two epochs (the second, in a run of two: small-cnn on 3,000
// Fashion-MNIST images for 2 epochs, 76.8% test, fell 43% in it and
// got no finding), the validation loss fell in each of them to its lowest
// yet (one above an earlier minimum is overfitting's evidence), the
// validation accuracy is no lower than two epochs before and under 0.98
// (a run that gets its validation images right has little left to gain),
// and the training accuracy under 0.99. Confidence 0.35 + 0.15 ×
// ramp(training-loss fall, 0.03, 0.1): it says the run is not done, below
// every rule that names something wrong.
//
// Advice: more epochs (the value is given: twice as many), or continue
// from the weights (the Run tab's Continue training, plateau train
// -resume); a higher rate or a one_cycle schedule covers more ground in
// the same epochs.
func checkStillLearning(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	if t.Result == nil || t.Result.Stopped != train.StoppedCompleted || n < 2 || !t.hasVal() {
		return nil
	}
	// Over the last two epochs, or the one a two-epoch run has.
	k := min(2, n-1)
	tl, vl, va := t.trainLoss(), t.valLoss(), t.valAcc()
	fall := -relChange(tl, k) / float64(k)
	valFall := -relChange(vl, k) / float64(k)
	falling := argmin(vl) == n-1
	for i := n - k; i < n; i++ {
		falling = falling && vl[i] < vl[i-1]
	}
	if !(fall >= 0.03) || !falling || !(va[n-1] >= va[n-1-k]) || !(va[n-1] < 0.98) || !(t.last().TrainAccuracy < 0.99) {
		return nil
	}
	over := fmt.Sprintf("over its last two epochs the training loss fell %.0f%% an epoch and the validation loss %.0f%%", 100*fall, 100*valFall)
	if k == 1 {
		over = fmt.Sprintf("in its second epoch the training loss fell %.0f%% and the validation loss %.0f%%", 100*fall, 100*valFall)
	}
	return &train.Diagnosis{Confidence: 0.35 + 0.15*ramp(fall, 0.03, 0.1),
		Evidence: map[string]float64{"train_loss_change": -fall, "val_loss_change": -valFall, "val_accuracy": va[n-1],
			"val_accuracy_rise": va[n-1] - va[n-1-k], "epochs": float64(n)},
		Advice: fmt.Sprintf("the run ended while still learning: %s; "+
			"train longer (train.epochs %d) or go on from these weights (Continue training in the Run tab, plateau train -resume); "+
			"a higher rate or a one_cycle schedule covers more ground in the same epochs", over, 2*t.Spec.Train.Epochs)}
}
