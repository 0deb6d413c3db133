package doctor

import (
	"fmt"

	"plateau/train"
)

// checkBatchSize: a batch too small for batch norm's statistics, or too
// large for the dataset to give enough steps.
//
// Evidence: batch_size, the number of batchnorm layers, steps_per_epoch
// and total steps so far, the training and validation accuracy.
//
// Thresholds:
//   - too small: batchnorm with a batch under 8. Confidence 0.6 + 0.3 ×
//     ramp(train − val accuracy, 0.05, 0.3): batch statistics of a few
//     examples are noisy and differ from the running statistics used at
//     inference, so validation lags.
//   - too large: fewer than 8 steps per epoch and fewer than 100 steps in
//     all, with training accuracy under 0.8 (or no epoch yet). Confidence
//     0.8 − 0.3 × ramp(steps, 30, 100).
//
// Advice: a batch of 16–64 for batch norm (or remove it); for a large
// batch on a small dataset, a batch of 32–64, or more epochs and a rate
// scaled with the batch.
func checkBatchSize(t *Telemetry) *train.Diagnosis {
	batch := t.Spec.Train.BatchSize
	bn := t.countLayers("batchnorm")
	ev := map[string]float64{"batch_size": float64(batch), "batchnorm_layers": float64(bn)}
	last := t.last()
	if bn > 0 && batch < 8 {
		gap := 0.0
		if last != nil && t.hasVal() {
			gap = last.TrainAccuracy - last.ValAccuracy
			ev["accuracy_gap"] = gap
		}
		return &train.Diagnosis{Confidence: 0.6 + 0.3*ramp(gap, 0.05, 0.3), Evidence: ev,
			Advice: fmt.Sprintf("raise train.batch_size to 32 (batch norm estimates its statistics from %d examples per step, and inference uses running averages that do not match), or remove the batchnorm layers", batch)}
	}
	if t.Start == nil || last == nil {
		return nil
	}
	perEpoch := t.Start.StepsPerEpoch
	steps := last.Step
	ev["steps_per_epoch"], ev["steps"], ev["train_size"] = float64(perEpoch), float64(steps), float64(t.Start.TrainSize)
	if perEpoch < 8 && steps < 100 && last.TrainAccuracy < 0.8 {
		ev["train_accuracy"] = last.TrainAccuracy
		return &train.Diagnosis{Confidence: 0.8 - 0.3*ramp(float64(steps), 30, 100), Evidence: ev,
			Advice: fmt.Sprintf("lower train.batch_size to 32: with %d training images a batch of %d gives %d steps per epoch and %d updates so far, too few to learn", t.Start.TrainSize, batch, perEpoch, steps)}
	}
	return nil
}
