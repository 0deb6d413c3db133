package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkLRTooHigh: the learning rate throws the weights around instead of
// descending.
//
// Evidence: whether the run diverged (NaN, Inf or an exploding loss), the
// training loss of the first and last epochs against the chance loss
// ln K, how often the epoch training loss rose, the rate relative to what
// the optimizer usually wants (0.01 for sgd with momentum, 0.1 without,
// 1e-3 for adaptive optimizers: relative_lr), and the step losses.
//
// Thresholds:
//   - divergence: confidence 0.9 (0.75 when the inputs are unnormalized
//     or a deep unnormalized stack diverged at an ordinary rate, which
//     are then the likelier root causes);
//   - the training loss ended more than 10% above the first epoch's:
//     0.8;
//   - a training loss still above 2·ln K (worse than guessing) with
//     relative_lr ≥ 3: 0.9;
//   - stuck at chance: after 3 or more epochs the training loss is still
//     above 0.9·ln K with relative_lr ≥ 5: 0.75;
//   - oscillation: the epoch training loss rose in at least 40% of the
//     epoch transitions, by 10% or more on average, with relative_lr ≥ 2:
//     0.6;
//   - validation swings, when nothing above holds: after 4 epochs or more
//     the training loss fell in every epoch while the validation loss rose
//     in at least 40% of them (2 at least), by 10% or more on average,
//     with relative_lr ≥ 3: 0.55 (vgg-small on the CIFAR-10 sample with
//     SGD at 0.1 and momentum 0.9, 6 epochs: validation accuracy 26.5%,
//     22%, 20%, 30%, 38.5%, 25.5% while the training accuracy rose to
//     44%, and 27.7% test, against 42.3% with Adam at 1e-3; the doctor
//     said nothing).
//
// Before the first epoch's end, it reads the validation checks and step
// losses instead (earlyLRTooHigh): stuck at a constant guess at
// relative_lr ≥ 3; after it, a run stuck so in its first epoch and at
// every epoch since keeps the finding (stuckSinceFirstEpoch).
//
// Advice: divide train.lr, and the schedule's own rates, by 10 (the
// values are given), run plateau lr-find for a measured rate, and add
// train.grad_clip when the loss spikes.
func checkLRTooHigh(t *Telemetry) *train.Diagnosis {
	lr := t.Spec.Train.LR
	rel := t.relativeLR()
	ev := map[string]float64{"lr": lr, "relative_lr": rel, "chance_loss": t.chanceLoss()}
	losses := t.trainLoss()
	if len(losses) > 0 {
		ev["first_train_loss"], ev["last_train_loss"] = losses[0], losses[len(losses)-1]
	}
	advice := fmt.Sprintf("lower %s (a tenth), or run the LR range test (Find a learning rate in the Training tab, plateau lr-find on the command line) and use its suggested rate", rateText(t.Spec, 0.1))
	if t.Spec.Train.GradClip == 0 {
		advice += "; train.grad_clip 1 tames occasional spikes"
	}
	if t.firstEpoch() {
		return earlyLRTooHigh(t, ev, advice)
	}
	conf := 0.0
	if t.diverged() {
		ev["diverged"] = 1
		conf = 0.9
		if u := checkUnnormalizedInput(t); u != nil && u.Confidence >= 0.9 {
			conf = 0.75
		}
		if x := checkExplodingGradients(t); x != nil && x.Confidence >= 0.9 {
			conf = 0.75
		}
	}
	if n := len(losses); n >= 2 && finite(losses[n-1]) && losses[n-1] > 1.1*losses[0] && rel >= 1 {
		ev["loss_rise"] = losses[n-1]/losses[0] - 1
		conf = max(conf, 0.8)
	}
	if n := len(losses); n >= 1 && finite(losses[n-1]) && losses[n-1] > 2*t.chanceLoss() && rel >= 3 {
		// Worse than a uniform guess by far: logits in the tens, thrown
		// there by updates too large.
		ev["loss_over_chance"] = losses[n-1] / t.chanceLoss()
		conf = max(conf, 0.9)
	}
	if n := len(losses); n >= 3 && finite(losses[n-1]) && losses[n-1] > 0.9*t.chanceLoss() && rel >= 5 {
		ev["stuck_at_chance"] = 1
		conf = max(conf, 0.75)
	}
	if n := len(losses); n >= 4 && rel >= 2 {
		rises, total := 0, 0.0
		for i := 1; i < n; i++ {
			if losses[i] > losses[i-1] {
				rises++
				total += losses[i]/losses[i-1] - 1
			}
		}
		frac := float64(rises) / float64(n-1)
		ev["loss_rises"] = frac
		if frac >= 0.4 && total/math.Max(float64(rises), 1) >= 0.1 {
			conf = max(conf, 0.6)
		}
	}
	if n := len(losses); n >= 4 && rel >= 3 && t.hasVal() && conf == 0 {
		// Validation swings: the validation loss jumps up from epoch to
		// epoch while the training loss falls in each.
		vl := t.valLoss()
		rises, total, steady := 0, 0.0, true
		for i := 1; i < n; i++ {
			steady = steady && losses[i] < losses[i-1]
			if vl[i] > vl[i-1] {
				rises++
				total += vl[i]/vl[i-1] - 1
			}
		}
		frac, mean := float64(rises)/float64(n-1), total/math.Max(float64(rises), 1)
		if steady && rises >= 2 && frac >= 0.4 && mean >= 0.1 {
			ev["val_loss_rises"], ev["val_loss_mean_rise"] = frac, mean
			conf = 0.55
			advice = fmt.Sprintf("the validation loss jumps while the training loss falls steadily (it rose in %d of %d epochs, %.0f%% each time on average): "+
				"at %.3g times the usual rate for %s every epoch ends somewhere else, and the validation images see it; %s",
				rises, n-1, 100*mean, rel, t.Spec.Train.Optimizer, advice)
		}
	}
	if conf < 0.75 {
		if d := stuckSinceFirstEpoch(t, ev, advice); d != nil && d.Confidence > conf {
			return d
		}
	}
	if conf == 0 {
		return nil
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
}
