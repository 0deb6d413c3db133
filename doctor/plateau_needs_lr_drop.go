package doctor

import (
	"fmt"
	"math"
	"slices"

	"plateau/train"
)

// checkPlateauNeedsLRDrop: the loss stopped falling because a constant,
// high rate keeps the weights bouncing around a minimum; a smaller step
// would settle lower.
//
// Evidence: the schedule type, relative_lr (the rate over the optimizer's
// usual one), the epochs since the best monitored loss (validation loss,
// or training loss without validation), the mean epoch-to-epoch swing of
// the monitored loss, the median weight_change of the last 3 epochs, the
// largest rise of the training loss over the last 3 transitions
// (loss_jump), progress (1 − best loss / ln K), and the training and
// validation accuracy.
//
// Thresholds: needs 5 epochs, a constant schedule, no divergence,
// relative_lr ≥ 5, a run that learned something (progress > 0.3) and has
// not lost it again (the last training loss under 0.9·ln K) but did not
// learn everything (training accuracy < 0.97) and a train–validation accuracy
// gap under 0.1 in one of the last 3 epochs at least (one that stays
// wider is overfitting); then either stalled (the monitored loss's best
// is 2 or more epochs old and the training loss did not fall more than
// 15% over the last 2 epochs) or bouncing (the weights
// still move more than 10% of their norm per epoch and the training loss
// jumped up by more than 10%). Confidence 0.55 + 0.2 ×
// ramp(relative_lr, 5, 30) + 0.1 when both hold.
//
// Advice: train.schedule.type step (factor 0.1 every few epochs),
// reduce_on_plateau (patience 2), or one_cycle.
func checkPlateauNeedsLRDrop(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	if n < 5 || !t.constantSchedule() || t.diverged() {
		return nil
	}
	tl := t.trainLoss()
	monitored := tl
	if t.hasVal() {
		monitored = t.valLoss()
	}
	best := argmin(monitored)
	since := n - 1 - best
	trend := relChange(tl, 2)
	last := t.last()
	acc := last.TrainAccuracy
	rel := t.relativeLR()
	// The narrowest gap of the last 3 epochs: a bouncing run has single
	// epochs with a wide one (its validation loss jumps up and falls
	// back), an overfitting run a gap that stays wide.
	gap := 0.0
	if t.hasVal() {
		gap = math.Inf(1)
		for _, e := range t.Epochs[n-3:] {
			gap = min(gap, e.TrainAccuracy-e.ValAccuracy)
		}
	}
	if best < 0 || t.progress() <= 0.3 || !(acc < 0.97) || rel < 5 || gap >= 0.1 {
		return nil
	}
	if tl[n-1] > 0.9*t.chanceLoss() {
		// Back at chance: the rate threw away what the network had
		// learned (SGD at 0.1 with momentum 0.99 left every ReLU of the
		// first layer dead). There is no minimum to settle into; the
		// run needs a lower rate from the start (lr_too_high).
		return nil
	}
	stalled := since >= 2 && trend > -0.15
	// Bouncing: the weights still move a tenth of their norm per epoch
	// while the training loss jumps up again.
	var moves []float64
	for _, e := range t.Epochs[n-3:] {
		moves = append(moves, e.WeightChange)
	}
	slices.Sort(moves)
	rise := 0.0
	for i := n - 4; i < n-1; i++ {
		rise = max(rise, tl[i+1]/tl[i]-1)
	}
	bouncing := moves[1] > 0.1 && rise > 0.1
	if !stalled && !bouncing {
		return nil
	}
	swing := 0.0
	for i := 1; i < n; i++ {
		swing += math.Abs(monitored[i]-monitored[i-1]) / float64(n-1)
	}
	conf := 0.55 + 0.2*ramp(rel, 5, 30) + 0.1*b2f(stalled && bouncing)
	every := max(2, n/3)
	return &train.Diagnosis{Confidence: conf,
		Evidence: map[string]float64{"lr": t.Spec.Train.LR, "relative_lr": rel, "loss_trend": trend, "loss_swing": swing,
			"epochs_since_best": float64(since), "progress": t.progress(), "train_accuracy": acc, "accuracy_gap": gap,
			"weight_change": moves[1], "loss_jump": rise, "stalled": b2f(stalled), "bouncing": b2f(bouncing)},
		Advice: fmt.Sprintf("decay the rate: train.schedule.type step with factor 0.1 every %d epochs, reduce_on_plateau with patience 2, or one_cycle; "+
			"the monitored loss has not improved for %d epochs at a constant lr %.3g", every, since, t.Spec.Train.LR)}
}
