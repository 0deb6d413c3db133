package doctor

import (
	"fmt"
	"strconv"

	"plateau/spec"
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
// Thresholds: only on a completed run (the planned epochs done, or the
// time limit reached; a run that early stopping ended stopped improving)
// of 2 epochs or more with a
// validation split; the training loss fell 2% an epoch or more over the
// last two epochs, where underfitting's plateau ends (mobilenet-small on
// the CIFAR-10 sample, 2.9% an epoch and both losses at their lowest
// after 8 epochs, got no finding at 3%), or in the second, in a run of
// two (small-cnn on 3,000 Fashion-MNIST images for 2 epochs, 76.8% test,
// fell 43% in it and got no finding), the validation loss fell in each
// of them to its lowest
// yet (one above an earlier minimum is overfitting's evidence), or, at a
// rate still at half its peak or more, fell 1% an epoch or more on a
// line fitted over the last four epochs, ending within 2% of its lowest,
// the validation accuracy rising half a point an epoch or more over them
// (the wobbles of a few hundred validation images: convnetjs-cifar on
// the CIFAR-10 sample, 8 epochs, 44.6% test against 50.5% after 20, was
// called healthy), the
// validation accuracy is no lower than two epochs before and under 0.98
// (a run that gets its validation images right has little left to gain),
// the training accuracy under 0.99, and the validation accuracy a tenth
// of the way or more from chance (1/K) to all right (mnist-cnn at Adam
// 0.1 on 20,000 MNIST images blew up in its first epoch, its ReLUs died,
// and its training loss "fell 45%" in the second, from 4.22 to a uniform
// guess's 2.31, while the validation accuracy stayed at 11.4%: not
// learning at all; the loss is no measure of that, since raw 0–255 inputs
// give a run at 73% validation accuracy a validation loss of 4.6, twice
// the guess's). Confidence 0.35 + 0.15 ×
// ramp(training-loss fall, 0.02, 0.1): it says the run is not done, below
// every rule that names something wrong.
//
// Stopped by early stopping while the validation loss was still falling
// to its lowest: stoppedTooSoon.
//
// Advice: more epochs (the value is given: twice as many; twice the time
// limit when that ended the run), or continue
// from the weights (the Run tab's Continue training, plateau train
// -resume); a higher rate or a one_cycle schedule covers more ground in
// the same epochs (for a run that has one_cycle: it spreads over the
// epochs it is given).
// learningFall is the fall of the training loss per epoch that counts a
// run as still learning: where underfitting's plateau (a fall under 2% an
// epoch) ends.
const learningFall = 0.02

func checkStillLearning(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	if t.Result != nil && t.Result.Stopped == train.StoppedEarlyStopping {
		return stoppedTooSoon(t)
	}
	ended := t.Result != nil && (t.Result.Stopped == train.StoppedCompleted || t.Result.Stopped == train.StoppedTimeLimit)
	if !ended || n < 2 || !t.hasVal() {
		return nil
	}
	// Over the last two epochs, or the one a two-epoch run has.
	k := min(2, n-1)
	tl, vl, va := t.trainLoss(), t.valLoss(), t.valAcc()
	chance := 1 / float64(t.classes())
	fall := -relChange(tl, k) / float64(k)
	valFall := -relChange(vl, k) / float64(k)
	falling := argmin(vl) == n-1
	for i := n - k; i < n; i++ {
		falling = falling && vl[i] < vl[i-1]
	}
	fitted := false
	if !falling && n >= 4 && t.last().LR >= 0.5*peakLR(t.Epochs) {
		// On a few hundred validation images the loss wobbles from epoch
		// to epoch: a fall of 1% an epoch or more fitted over four
		// epochs, ending within 2% of its lowest, with the validation
		// accuracy rising half a point an epoch or more over them (fitted
		// too: SGD with momentum on 3,000 Fashion-MNIST images, rising 0.3
		// points an epoch, gained 0.3 points of test accuracy from 8
		// epochs more), is a fall too, at a rate still near its peak (a
		// schedule that has annealed its rate has had its run).
		if s := logSlope(vl[n-4:]); s <= -0.01 && vl[n-1] <= 1.02*vl[argmin(vl)] && slope(va[n-4:]) >= 0.005 {
			falling, fitted, valFall = true, true, -s
		}
	}
	if !(fall >= learningFall) || !falling || !(va[n-1] >= va[n-1-k]) || !(va[n-1] < 0.98) || !(t.last().TrainAccuracy < 0.99) ||
		!(va[n-1]-chance >= 0.1*(1-chance)) {
		return nil
	}
	over := fmt.Sprintf("over its last two epochs the training loss fell %.0f%% an epoch and the validation loss %.0f%%", 100*fall, 100*valFall)
	if fitted {
		over = fmt.Sprintf("over its last two epochs the training loss fell %.0f%% an epoch, and over its last four the validation loss %.1f%% an epoch "+
			"(a fitted line through its wobbles)", 100*fall, 100*valFall)
	}
	if k == 1 {
		over = fmt.Sprintf("in its second epoch the training loss fell %.0f%% and the validation loss %.0f%%", 100*fall, 100*valFall)
	}
	longer := fmt.Sprintf("train longer (train.epochs %d)", 2*t.Spec.Train.Epochs)
	resume := "plateau train -resume"
	if tr := t.Spec.Train; t.Result.Stopped == train.StoppedTimeLimit {
		more := twiceTheTime(tr)
		longer = fmt.Sprintf("train longer (train.time_limit_seconds %s: the limit ended it in epoch %d of %d)", more, n, tr.Epochs)
		resume = "plateau train -resume DIR -set train.time_limit_seconds=" + more
	}
	evidence := map[string]float64{"train_loss_change": -fall, "val_loss_change": -valFall, "val_accuracy": va[n-1],
		"val_accuracy_rise": va[n-1] - va[n-1-k], "epochs": float64(n)}
	if t.Result.Stopped == train.StoppedTimeLimit {
		evidence["stopped_by_time_limit"] = 1
	}
	faster := "a higher rate or a one_cycle schedule covers more ground in the same epochs"
	if t.Spec.Train.Schedule.Type == "one_cycle" {
		faster = "its one_cycle schedule spreads its rise and fall over the epochs it is given"
	}
	return &train.Diagnosis{Confidence: 0.35 + 0.15*ramp(fall, learningFall, 0.1),
		Evidence: evidence,
		Advice: fmt.Sprintf("the run ended while still learning: %s; "+
			"%s or go on from these weights (Continue training in the Run tab, %s); %s", over, longer, resume, faster)}
}

// twiceTheTime is train.time_limit_seconds doubled, as advice and fixes
// write it.
func twiceTheTime(tr spec.Train) string {
	return strconv.FormatFloat(2*tr.TimeLimitSeconds, 'g', 4, 64)
}

// stoppedTooSoon is a run that early stopping ended while its validation
// loss was still at its lowest, falling in the last epoch, and its
// training loss fell 2% or more (learningFall): the monitored number
// stood still for patience epochs by chance (a validation accuracy that
// ties on a few hundred images, or a min_delta larger than the loss's
// steps), not because the network stopped learning. small-cnn on 3,000 Fashion-MNIST
// images with patience 1 on val_accuracy stopped at epoch 3 of 20, its
// validation accuracy tied at 75.3% while the validation loss fell 6%
// and the training loss 21%: 76.8% test, against 83.5% after 8 epochs.
// Confidence 0.5; the fix raises the patience to at least 3 and monitors
// the validation loss.
func stoppedTooSoon(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	es := t.Spec.Train.EarlyStopping
	if n < 2 || n >= t.Spec.Train.Epochs || !t.hasVal() {
		return nil
	}
	tl, vl := t.trainLoss(), t.valLoss()
	fall, valFall := 1-tl[n-1]/tl[n-2], 1-vl[n-1]/vl[n-2]
	if !(fall >= learningFall) || !(valFall > 0) || argmin(vl) != n-1 {
		return nil
	}
	monitor := es.Monitor
	if monitor == "" {
		monitor = "val_loss"
	}
	epochs := fmt.Sprintf("%d epochs", es.Patience)
	if es.Patience == 1 {
		epochs = "1 epoch"
	}
	why := fmt.Sprintf("%s did not improve for %s", monitor, epochs)
	if es.MinDelta > 0 {
		why = fmt.Sprintf("%s did not improve by min_delta %g for %s", monitor, es.MinDelta, epochs)
	}
	advice := fmt.Sprintf("early stopping ended the run at epoch %d of %d while it was still learning: the validation loss fell %.0f%% in the last epoch to its lowest yet "+
		"and the training loss %.0f%%, but %s; raise train.early_stopping.patience to %d", n, t.Spec.Train.Epochs, 100*valFall, 100*fall, why, max(3, 2*es.Patience))
	if monitor == "val_accuracy" {
		advice += " or monitor val_loss"
		if t.Start != nil && t.Start.ValSize > 0 {
			advice += fmt.Sprintf(": on %d validation images the accuracy moves in steps of %.2g points and ties often", t.Start.ValSize, 100/float64(t.Start.ValSize))
		}
	}
	return &train.Diagnosis{Confidence: 0.5,
		Evidence: map[string]float64{"stopped_early": 1, "epochs": float64(n), "planned_epochs": float64(t.Spec.Train.Epochs),
			"patience": float64(es.Patience), "train_loss_change": -fall, "val_loss_change": -valFall},
		Advice: advice}
}

// peakLR is the highest learning rate the epochs ended at.
func peakLR(epochs []train.Event) float64 {
	peak := 0.0
	for _, e := range epochs {
		peak = max(peak, e.LR)
	}
	return peak
}
