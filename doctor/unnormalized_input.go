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
// loss stayed within half of the chance loss ln K.
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
	conf := 0.5
	if len(t.Epochs) > 0 || t.diverged() {
		struggling := t.diverged() || t.progress() < 0.5
		if struggling {
			conf = 0.95
		} else {
			conf = 0.5
		}
	}
	return &train.Diagnosis{
		Confidence: conf,
		Evidence: map[string]float64{
			"input_mean":    in.Mean,
			"input_std":     in.Std,
			"input_max_abs": maxAbs,
			"raw":           b2f(t.Spec.Data.Normalization == "raw"),
			"progress":      t.progress(),
		},
		Advice: fmt.Sprintf("set data.normalization to scale01 or standardize: the network sees inputs with mean %.3g and std %.3g (up to %.3g), "+
			"which scales every first-layer gradient by the same factor and leaves no learning rate that suits all layers", in.Mean, in.Std, maxAbs),
	}
}
