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
		"progress":      t.progress(),
	}
	conf := 0.5
	switch n := len(t.Checks); {
	case len(t.Epochs) > 0 || t.diverged():
		if t.diverged() || t.progress() < 0.5 {
			conf = 0.95
		}
	case t.firstEpoch() && n >= 2 && t.Checks[n-1].Step >= 50:
		// Before the first epoch's end: the latest validation check.
		last := t.Checks[n-1]
		ev["check_val_loss"], ev["progress"] = last.ValLoss, clamp(1-last.ValLoss/t.chanceLoss(), 0, 1)
		if ev["progress"] < 0.5 {
			conf = 0.9
		}
	}
	return &train.Diagnosis{
		Confidence: conf,
		Evidence:   ev,
		Advice: fmt.Sprintf("set data.normalization to scale01 or standardize: the network sees inputs with mean %.3g and std %.3g (up to %.3g), "+
			"which scales every first-layer gradient by the same factor and leaves no learning rate that suits all layers", in.Mean, in.Std, maxAbs),
	}
}
