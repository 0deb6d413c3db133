package doctor

import (
	"fmt"

	"plateau/train"
)

// checkBatchNormStatistics: batch norm's running averages, which inference
// uses, have not caught up with the batch statistics training uses, so
// validation accuracy lags far behind training accuracy.
//
// Evidence: the batchnorm layers and their momentum (default 0.99), the
// optimizer steps so far against the ~1/(1 − momentum) steps a running
// average needs to forget its start, and the train–validation accuracy
// gap over the last 2 epochs.
//
// Thresholds: needs batchnorm, a validation split, fewer than 10/(1 −
// momentum) steps (1,000 at 0.99) and a gap over 0.15. Confidence 0.6 +
// 0.3 × ramp(gap, 0.15, 0.4).
//
// Advice: a lower batchnorm momentum (0.9) so the averages follow the
// weights, or more steps (more epochs, a smaller batch).
func checkBatchNormStatistics(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	if n < 2 || !t.hasVal() || !t.hasLayer("batchnorm") {
		return nil
	}
	momentum := 0.0
	for _, l := range t.Spec.Model.Layers {
		if l.Type == "batchnorm" {
			momentum = max(momentum, l.MomentumValue())
		}
	}
	steps := t.last().Step
	horizon := 10 / (1 - momentum)
	ta, va := t.trainAcc(), t.valAcc()
	gap := (ta[n-1]+ta[n-2])/2 - (va[n-1]+va[n-2])/2
	if float64(steps) >= horizon || !(gap > 0.15) {
		return nil
	}
	return &train.Diagnosis{Confidence: 0.6 + 0.3*ramp(gap, 0.15, 0.4),
		Evidence: map[string]float64{"momentum": momentum, "steps": float64(steps), "steps_to_settle": 1 / (1 - momentum), "accuracy_gap": gap},
		Advice: fmt.Sprintf("set the batchnorm layers' momentum to 0.9: with momentum %g the running averages used at inference need about %.0f steps to follow the weights, and the run has taken %d; or train for more steps",
			momentum, 1/(1-momentum), steps)}
}
