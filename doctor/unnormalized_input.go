package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkUnnormalizedInput: inputs far from mean 0 and standard deviation 1.
//
// Evidence: the start event's statistics of the first training batch as
// the network sees it (input_mean, input_std, input_max_abs) and whether
// data.normalization is raw.
//
// Thresholds: fires when |mean| > 3, std > 5 or max |x| > 20 (raw pixels
// give a mean near 100 and a maximum of 255). Confidence 0.5 for a run
// that learns anyway, rising to 0.95 when the run diverged or its training
// loss stayed within half of the chance loss ln K; before the first
// epoch's end, 0.9 when the latest of two validation checks or more (at
// step 50 or later) measured a loss within half of ln K (mnist-cnn on raw
// MNIST pixels: step losses of 115 over the first 20 steps, then checks
// at 1.86, 1.48 and 1.30 against ln 10 = 2.30, 34% to 57%).
//
// The evidence quotes the lowest training loss against a uniform guess's
// ln K rather than a share of the way down to zero: on raw pixels a run
// can get most images right while its loss stays above ln K (mnist-cnn on
// raw tiny digits: 85% of the training images right at a loss of 3.9
// against 2.30), the few wrong answers given with logits in the hundreds;
// the advice says so when it happens.
//
// Advice: set data.normalization to scale01 or standardize. With inputs
// in the hundreds, the first layer's gradients and pre-activations are a
// hundred times larger than the initializer planned for, so no single
// learning rate suits every layer.
func checkUnnormalizedInput(t *Telemetry) *train.Diagnosis {
	if t.Start == nil || t.Start.Input == nil {
		return nil
	}
	in := t.Start.Input
	maxAbs := max(math.Abs(in.Min), math.Abs(in.Max))
	if !(math.Abs(in.Mean) > 3 || in.Std > 5 || maxAbs > 20) {
		return nil
	}
	ev := map[string]float64{
		"input_mean":    in.Mean,
		"input_std":     in.Std,
		"input_max_abs": maxAbs,
		"raw":           b2f(t.Spec.Data.Normalization == "raw"),
	}
	conf, wrongLoud := 0.5, ""
	switch n := len(t.Checks); {
	case len(t.Epochs) > 0 || t.diverged():
		if t.diverged() || t.progress() < 0.5 {
			conf = 0.95
		}
		if best := t.lowestTrainLoss(); finite(best) {
			ev["lowest_train_loss"], ev["chance_loss"] = best, t.chanceLoss()
			acc := t.Epochs[len(t.Epochs)-1].TrainAccuracy
			if best > t.chanceLoss() && acc >= 0.5 && acc > 1.5/float64(t.classes()) {
				ev["train_accuracy"] = acc
				wrongLoud = fmt.Sprintf("; its training loss never fell below a uniform guess's (%.3g against %.3g) although %.0f%% of the training images are right: "+
					"the wrong answers come with enormous logits", best, t.chanceLoss(), 100*acc)
			}
		}
	case t.firstEpoch() && n >= 2 && t.Checks[n-1].Step >= 50:
		// Before the first epoch's end: the latest validation check.
		last := t.Checks[n-1]
		ev["check_val_loss"], ev["chance_loss"] = last.ValLoss, t.chanceLoss()
		if last.ValLoss > t.chanceLoss()/2 {
			conf = 0.9
		}
	}
	return &train.Diagnosis{
		Confidence: conf,
		Evidence:   ev,
		Advice: fmt.Sprintf("set data.normalization to scale01 or standardize: the network sees inputs with mean %.3g and std %.3g (up to %.3g), "+
			"which scales every first-layer gradient by the same factor and leaves no learning rate that suits all layers%s", in.Mean, in.Std, maxAbs, wrongLoud),
	}
}

// lowestTrainLoss is the lowest finite epoch training loss (+Inf when
// none is).
func (t *Telemetry) lowestTrainLoss() float64 {
	best := math.Inf(1)
	for _, v := range t.trainLoss() {
		if finite(v) {
			best = min(best, v)
		}
	}
	return best
}
