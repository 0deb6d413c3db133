package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkOverfitting: the network memorizes the training split and stops
// generalizing.
//
// Evidence: the gap between training and validation accuracy over the
// last two epochs (accuracy_gap), the rise of the validation loss above
// its minimum (val_loss_rise), the epochs since that minimum, the
// training loss trend, and which regularizers the spec already uses.
//
// Thresholds: needs 3 epochs and a validation split; fires when the gap
// exceeds 0.1 and either the validation loss rose 10% above its minimum or
// the minimum is 2 or more epochs old. Confidence 0.45 + 0.35 × ramp(gap,
// 0.1, 0.35) + 0.1 when the validation loss rose by 25% or more; at most
// batchnorm_statistics' confidence less 0.1 when that rule fires, since
// running averages that lag the weights open the same gap in a short run.
//
// Before the gap opens, the first sign is in the losses (stalled): after 6
// epochs or more, the validation loss's minimum is 4 or more epochs and a
// quarter of the run old while the training loss fell 10% or more since
// it, and the gap is over 0.03. That is the plateau users ask about — the
// validation accuracy stopped improving while training goes on — and gets
// 0.4 + 0.15 × ramp(training loss fall, 0.1, 0.3), below the rules that
// name a setting.
//
// The onset in the accuracies (widening): a gap over 0.1 that widens by
// 0.01 an epoch or more (the least-squares slope of training minus
// validation accuracy over the last four epochs) before the validation
// loss turns: 0.4 + 0.1 × ramp(gap, 0.1, 0.2). convnetjs-cifar on the
// CIFAR-10 sample without augmentation, 8 epochs: 12 points apart,
// widening 1.3 points an epoch, its validation loss best the epoch
// before; it was called healthy.
//
// Advice: early stopping with restore_best, more data or augmentation,
// dropout, L2 or weight decay, a smaller model: whichever the spec does
// not use yet comes first. The augmentation advised leaves out horizontal
// flips when mirrored training images lose their class (flip_horizontal_kept
// under flipKeepBar, see augmentation_too_strong): digits, for one.
func checkOverfitting(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	if n < 3 || !t.hasVal() {
		return nil
	}
	ta, va, vl := t.trainAcc(), t.valAcc(), t.valLoss()
	gap := (ta[n-1]+ta[n-2])/2 - (va[n-1]+va[n-2])/2
	best := argmin(vl)
	if best < 0 {
		return nil
	}
	rise := (vl[n-1] - vl[best]) / vl[best]
	since := n - 1 - best
	tl := t.trainLoss()
	fall := 1 - tl[n-1]/tl[best]
	widening := gapWidening(ta, va)
	var conf float64
	text := overfittingText(best+1, rise, fall, gap)
	switch {
	case gap > 0.1 && (rise > 0.1 || since >= 2):
		conf = 0.45 + 0.35*ramp(gap, 0.1, 0.35) + 0.1*b2f(rise >= 0.25)
	case n >= 6 && since >= max(4, n/4) && fall >= 0.1 && gap > 0.03:
		conf = 0.4 + 0.15*ramp(fall, 0.1, 0.3)
	case n >= 4 && gap > 0.1 && widening >= 0.01:
		// The onset: the validation loss has not turned yet, but the
		// training accuracy pulls away from validation a point an epoch
		// or more.
		conf = 0.4 + 0.1*ramp(gap, 0.1, 0.2)
		text = fmt.Sprintf("the training accuracy is %.0f points above validation and pulls away from it by %.1f points an epoch "+
			"(over the last four epochs, training %+.1f points an epoch, validation %+.1f): the network is starting to fit its training images "+
			"better than it generalizes, and more epochs will widen the gap", 100*gap, 100*widening, 100*slope(ta[n-4:]), 100*slope(va[n-4:]))
	default:
		return nil
	}
	if bn := checkBatchNormStatistics(t); bn != nil {
		// A gap batch norm's lagging averages explain is theirs first.
		conf = min(conf, bn.Confidence-0.1)
	}
	s := t.Spec
	var first []string
	if s.Train.EarlyStopping.Patience == 0 {
		first = append(first, "early stopping (train.early_stopping.patience 3, restore_best true)")
	}
	kept, mirrorKnown := t.flipKept("flip_horizontal")
	if !s.Data.Augment.On() {
		if mirrorKnown && kept < flipKeepBar {
			first = append(first, "augmentation (data.augment.shift, crop; no flips: mirrored, these images no longer look like their class)")
		} else {
			first = append(first, "augmentation (data.augment.flip_horizontal, crop)")
		}
	}
	if !t.hasLayer("dropout") {
		first = append(first, "dropout before the dense layers")
	}
	if s.Train.L2 == 0 && s.Train.WeightDecay == 0 {
		first = append(first, "L2 (train.l2 1e-4) or train.weight_decay")
	}
	first = append(first, "more training data (whether more would help, the data experiment shows: Experiments tab, plateau experiment data) or a smaller model")
	ev := map[string]float64{
		"accuracy_gap":          gap,
		"train_accuracy":        ta[n-1],
		"val_accuracy":          va[n-1],
		"val_loss_rise":         rise,
		"best_val_loss_epoch":   float64(best + 1),
		"epochs_since_val_best": float64(since),
		"train_loss_fall_since": fall,
	}
	if mirrorKnown {
		ev["flip_horizontal_kept"] = kept
	}
	if finite(widening) {
		ev["gap_widening"] = widening
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: text + "; regularize: " + joinAdvice(first...)}
}

// gapWidening is how fast the training accuracy pulls away from the
// validation accuracy: the least-squares slope of their difference over
// the last four epochs, per epoch; NaN before four epochs.
func gapWidening(ta, va []float64) float64 {
	n := len(ta)
	if n < 4 || len(va) != n {
		return math.NaN()
	}
	d := make([]float64, 4)
	for i := range d {
		d[i] = ta[n-4+i] - va[n-4+i]
	}
	return slope(d)
}

// overfittingText says what the curves show: how the validation loss
// moved since its best epoch, against the training loss and accuracy.
func overfittingText(bestEpoch int, rise, fall, gap float64) string {
	val := fmt.Sprintf("the validation loss has not improved since epoch %d", bestEpoch)
	if rise > 0.1 {
		val = fmt.Sprintf("the validation loss rose %.0f%% above its best (epoch %d)", 100*rise, bestEpoch)
	}
	if fall >= 0.01 {
		val += fmt.Sprintf(" while the training loss fell %.0f%%", 100*fall)
	}
	return fmt.Sprintf("%s, and the training accuracy is %.0f points above validation: the network fits its training images better without generalizing better", val, 100*gap)
}
