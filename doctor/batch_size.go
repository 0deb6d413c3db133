package doctor

import (
	"fmt"

	"plateau/spec"
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
//     0.8 − 0.3 × ramp(steps, 30, 100). Above 0.8, when the validation
//     accuracy still rose a point or more over the last two epochs (the
//     updates ran out before the learning did: fashion-fast at batch 2048
//     on 12,000 Fashion-MNIST images, 42 updates, validates at 82.8%,
//     at batch 128 89.2%): 0.55 − 0.15 × ramp(steps, 30, 100).
//
// Advice: a batch of 16–64 for batch norm (or remove it); for a large
// batch on a small dataset, a batch of 32, halved until an epoch has eight
// steps (the fix sets it), or, when that would take a batch under 8 (a
// few dozen images), more epochs: enough for a hundred updates.
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
	if perEpoch >= 8 || steps >= 100 {
		return nil
	}
	ev["train_accuracy"] = last.TrainAccuracy
	change := fmt.Sprintf("lower train.batch_size to %d", smallerBatch(t.Start.TrainSize, batch))
	if smallerBatch(t.Start.TrainSize, batch) == 0 {
		// Too few images for eight steps of a batch of 8: more updates
		// come from more epochs, or more images.
		change = fmt.Sprintf("train more epochs (train.epochs %d) or on more images", moreEpochs(perEpoch))
	}
	if last.TrainAccuracy < 0.8 {
		return &train.Diagnosis{Confidence: 0.8 - 0.3*ramp(float64(steps), 30, 100), Evidence: ev,
			Advice: fmt.Sprintf("%s: with %s a batch of %d gives %s per epoch and %s so far, too few to learn", change, spec.Count(t.Start.TrainSize, "training image"), batch, spec.Count(perEpoch, "step"), spec.Count(steps, "update"))}
	}
	// Learned well enough, but still improving when the updates ran out:
	// the validation accuracy rose a point or more over the last two
	// epochs.
	if va := t.valAcc(); len(va) >= 3 && t.hasVal() {
		rise := va[len(va)-1] - va[len(va)-3]
		if rise >= 0.01 {
			ev["val_accuracy_rise"] = rise
			return &train.Diagnosis{Confidence: 0.55 - 0.15*ramp(float64(steps), 30, 100), Evidence: ev,
				Advice: fmt.Sprintf("%s: with %s a batch of %d gives %s per epoch and %s in all, and the validation accuracy still rose %.1f points over the last two epochs; "+
					"smaller batches give more updates in the same epochs (or train more epochs)", change, spec.Count(t.Start.TrainSize, "training image"), batch, spec.Count(perEpoch, "step"), spec.Count(steps, "update"), 100*rise)}
		}
	}
	return nil
}

// smallerBatch is the batch to advise when a batch of batch gives n
// training images too few steps: 32, halved until an epoch has eight
// steps or more, and 0 when that takes a batch under 8 (too few images:
// more epochs are the cure) or one no smaller than batch.
func smallerBatch(n, batch int) int {
	b := 32
	for b >= 8 && n/b < 8 {
		b /= 2
	}
	if b < 8 || b >= batch {
		return 0
	}
	return b
}

// moreEpochs is how many epochs of perEpoch steps make a hundred updates.
func moreEpochs(perEpoch int) int {
	return (100 + max(perEpoch, 1) - 1) / max(perEpoch, 1)
}
