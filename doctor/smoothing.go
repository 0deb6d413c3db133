package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// heavySmoothing, a reading of underfitting: label smoothing s leaves the
// true class 1 − s + s/K of every target and each other class s/K, so a
// network that learned the task perfectly would lower the loss only from
// ln K to the targets' own entropy H; when that leaves under half of ln K
// to fall (s of 0.45 or more with ten classes), the gradient is faint,
// the outputs stay near uniform, and dropout's noise flips their order
// (mnist-cnn, Adam at 1e-3, on 10,000 MNIST images with
// train.label_smoothing 0.9: a loss that could fall only from 2.30 to
// 2.27, training accuracy 33%, 49% and 57% with dropout on over three
// epochs, validation 72% to 97%; the doctor said underfitting "lower the
// dropout rate", which the preset's 0.5 is not to blame for, and
// dead_relu).
//
// Evidence: label_smoothing, label_entropy H against chance_loss ln K,
// loss_room (1 − H/ln K), the last training and validation accuracy.
//
// Thresholds: one epoch or more, not diverged, loss_room under 0.5, the
// training accuracy under 0.9 and 10 points or more under the validation
// accuracy: outputs so near uniform that training's noise (dropout,
// augmentation) flips their order. Without that gap smoothing is a
// choice, not a fault: small-cnn on 3,000 Fashion-MNIST images tested
// 84.7% with label smoothing 0.5 and 82.9% with 0.9 against 83.5%
// without, its training accuracy above validation in both. Confidence 0.5 + 0.3 × ramp(0.5 −
// loss_room, 0, 0.45): 0.8 at s = 0.9 of ten classes.
//
// Advice: train.label_smoothing 0.1, the usual strength, which Fix sets.
func heavySmoothing(t *Telemetry) *train.Diagnosis {
	s, k := t.Spec.Train.LabelSmoothing, float64(t.classes())
	l := t.last()
	if s <= 0 || l == nil || t.diverged() || k < 2 {
		return nil
	}
	q, r := 1-s+s/k, s/k
	h := -q*math.Log(q) - (k-1)*r*math.Log(r)
	room := 1 - h/math.Log(k)
	if !(room < 0.5) || !(l.TrainAccuracy < 0.9) || !(l.ValAccuracy-l.TrainAccuracy >= 0.1) {
		return nil
	}
	ev := map[string]float64{"label_smoothing": s, "label_entropy": h, "chance_loss": math.Log(k), "loss_room": room,
		"train_accuracy": l.TrainAccuracy, "val_accuracy": l.ValAccuracy}
	return &train.Diagnosis{Confidence: 0.5 + 0.3*ramp(0.5-room, 0, 0.45), Evidence: ev, Advice: fmt.Sprintf(
		"train.label_smoothing %g leaves the true class %.0f%% of every target against %.0f%% for each other class: a network that learned the task perfectly "+
			"would lower the loss only from %.3g to %.3g (%.0f%%), so the gradient is faint, the outputs stay near uniform and %.0f%% of the training images come out right; "+
			"set train.label_smoothing to 0.1, the usual strength", s, 100*q, 100*r, math.Log(k), h, 100*room, 100*l.TrainAccuracy)}
}
