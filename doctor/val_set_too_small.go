package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkValSetTooSmall: the validation split is too small for its accuracy
// to tell one epoch, or one run, from another.
//
// Evidence: val_size, the last validation accuracy and its 95% Wilson
// interval (ValCI; half_width), the largest epoch-to-epoch change of
// validation accuracy and the fraction of those changes inside the
// interval's half width (changes_within_noise).
//
// Thresholds: fires when the half width is 0.08 or more (about 100
// examples at 70% accuracy, 40 at 90%). Confidence 0.3 + 0.6 ×
// ramp(half width, 0.08, 0.2). A run without a validation split gets 0.5.
//
// Advice: data.validation larger (the fraction that gives about 1,000
// examples), or compare runs on the test split; a change of validation
// accuracy smaller than the half width is noise.
func checkValSetTooSmall(t *Telemetry) *train.Diagnosis {
	if t.Start == nil {
		return nil
	}
	n := t.Start.ValSize
	if n == 0 {
		if len(t.Epochs) == 0 {
			return nil
		}
		return &train.Diagnosis{Confidence: 0.5, Evidence: map[string]float64{"val_size": 0},
			Advice: "set data.validation to 0.1: without a validation split nothing tells overfitting from progress"}
	}
	l := t.last()
	if l == nil || !finite(l.ValAccuracy) {
		return nil
	}
	acc := l.ValAccuracy
	low, high := ValCI(acc, n)
	half := (high - low) / 2
	if half < 0.08 {
		return nil
	}
	va := t.valAcc()
	largest, within := 0.0, 0
	for i := 1; i < len(va); i++ {
		d := math.Abs(va[i] - va[i-1])
		largest = max(largest, d)
		if d < half {
			within++
		}
	}
	ev := map[string]float64{"val_size": float64(n), "val_accuracy": acc, "ci_low": low, "ci_high": high, "half_width": half, "largest_change": largest}
	if len(va) > 1 {
		ev["changes_within_noise"] = float64(within) / float64(len(va)-1)
	}
	frac := t.Spec.Data.Validation
	want := frac
	if t.Start.TrainSize+n > 0 {
		want = min(0.3, 1000/float64(t.Start.TrainSize+n))
	}
	return &train.Diagnosis{Confidence: 0.3 + 0.6*ramp(half, 0.08, 0.2), Evidence: ev,
		Advice: fmt.Sprintf("the validation accuracy %.1f%% on %d examples is only known to ±%.1f points (95%%: %.1f–%.1f%%), so smaller changes are noise; "+
			"raise data.validation to %.2g or compare runs on the test split", 100*acc, n, 100*half, 100*low, 100*high, max(want, frac))}
}
