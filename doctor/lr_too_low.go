package doctor

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"plateau/spec"
	"plateau/train"
)

// checkLRTooLow: the optimizer barely moves the weights, so the loss
// creeps down; or the rate is a fraction of the usual one and the run
// ended while its loss was still falling: it crawls.
//
// Evidence: the median over epochs of weight_change (‖Δw‖/‖w‖ per
// epoch), the relative drop of the training loss from the first to the
// last epoch, the last training accuracy, relative_lr (the rate over the
// optimizer's usual one) and, for a crawling run, the relative change of
// the training loss per epoch over the last two (loss_change_per_epoch).
//
// Thresholds: needs 2 epochs and a run that did not diverge; but for a
// schedule decayed too soon (below), silent when relative_lr is 3 or
// more (weights that do not move at a high rate are dead units or
// saturation, which dead_relu and lr_too_high explain).
// Frozen: a loss drop under 30% and a training accuracy under 0.9;
// confidence 0.85 when the median weight change is under 0.003 per
// epoch, 0.7 under 0.01; when the run carries no weight changes, 0.6 for
// relative_lr ≤ 0.1; a relative_lr above 0.3 halves it (the rate is
// ordinary). Crawling: 3 epochs or more, relative_lr ≤ 0.2, a training
// loss that fell in each of the last two epochs, by 1% an epoch or more,
// and a training accuracy under 0.95: 0.6, above underfitting's 0.55,
// since a larger model would crawl as well (0.45 above relative_lr 0.1).
//
// Decayed too soon (decayedTooSoon): a schedule that cut the rate to a
// hundredth of its peak early, the loss still since.
//
// Before the first epoch's end, it reads the validation checks and step
// losses instead (earlyLRTooLow): at relative_lr ≤ 0.2, stuck at a
// constant guess or crawling; after it, a crawl read at the first epoch's
// checks holds while the epochs go on crawling, and one stuck at chance
// while they stay there, until the epochs say more (crawlSinceFirstEpoch,
// frozenSinceFirstEpoch).
//
// Silent beside blank_inputs: blank images move no weights at any rate.
//
// Advice: multiply train.lr, and the schedule's own rates, by 10 (the
// values are given) or run the LR range test (the page's Find a learning
// rate, plateau lr-find); for sgd without momentum, momentum 0.9 first.
func checkLRTooLow(t *Telemetry) *train.Diagnosis {
	if blankInputs(t) {
		// Weights that blank images do not move say nothing of the rate.
		return nil
	}
	raise := raiseAdvice(t.Spec)
	if t.firstEpoch() {
		return earlyLRTooLow(t, raise)
	}
	norm, clip, tight := tightClip(t)
	if tight {
		raise = fmt.Sprintf("train.grad_clip %g cuts every step's gradient (norm %.3g on average) %.0f times, so at lr %g the weights move as at %.2g: "+
			"raise train.grad_clip to %s (twice the usual norm: clipping is for the rare spike) or set it to 0; or %s",
			clip, norm, norm/clip, t.Spec.Train.LR, t.Spec.Train.LR*clip/norm, clipFix(norm), raise)
	}
	d := lrTooLowByEpochs(t, raise)
	if d == nil {
		d = frozenSinceFirstEpoch(t, raise)
	}
	if d == nil {
		d = crawlSinceFirstEpoch(t, raise)
	}
	if d != nil && tight {
		// The clip explains weights that barely move at a usual rate.
		d.Evidence["grad_clip"], d.Evidence["grad_norm"] = clip, norm
		d.Confidence = max(d.Confidence, 0.7)
	}
	return d
}

// tightClip reports whether plain or momentum SGD clips nearly every step:
// the last epoch's mean gradient norm (before clipping) ten times
// train.grad_clip or more, so every step is scaled down by that factor and
// the rate is not what holds the weights (mnist-cnn with SGD at 0.01 and
// momentum 0.9, train.grad_clip 0.001, on 10,000 MNIST images: gradient
// norms of 6.6–7.2 cut 7,000-fold, the weights moving 0.04% an epoch, 18%
// validation after three epochs against 98% without the clip; the advice
// was to raise the rate). Adaptive optimizers divide the scale out again.
// With it lr_too_low is 0.7 at least, its advice names the clip first, and
// Fix raises the clip to twice the usual norm.
func tightClip(t *Telemetry) (norm, clip float64, ok bool) {
	clip = t.Spec.Train.GradClip
	l := t.last()
	if t.Spec.Train.Optimizer != "sgd" || clip <= 0 || l == nil || !finite(l.GradNorm) {
		return 0, clip, false
	}
	return l.GradNorm, clip, clipCuts(l.GradNorm, clip)
}

// clipCuts reports whether a clip at clip cuts gradients of norm tenfold
// or more.
func clipCuts(norm, clip float64) bool { return clip > 0 && norm >= 10*clip }

// clipFix is the clip tightClip's advice and fix set: twice the usual
// gradient norm, rounded up to 1, 2 or 5 times a power of ten.
func clipFix(norm float64) string {
	v := 2 * norm
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return strconv.FormatFloat(m*p, 'g', -1, 64)
		}
	}
	return strconv.FormatFloat(10*p, 'g', -1, 64)
}

// lrTooLowByEpochs is checkLRTooLow's reading of the epochs; raise is
// raiseAdvice's.
func lrTooLowByEpochs(t *Telemetry, raise string) *train.Diagnosis {
	losses := t.trainLoss()
	rel := t.relativeLR()
	if len(losses) < 2 || t.diverged() {
		return nil
	}
	if d := decayedTooSoon(t); d != nil {
		// Whatever rate the schedule started from.
		return d
	}
	if !(rel < 3) {
		return nil
	}
	n := len(losses)
	drop := (losses[0] - losses[n-1]) / losses[0]
	acc := t.last().TrainAccuracy
	ev := map[string]float64{"lr": t.Spec.Train.LR, "relative_lr": rel, "loss_drop": drop, "train_accuracy": acc}
	if dampedEpsilon(t.Spec) {
		ev["epsilon"] = t.Spec.Train.Epsilon
	}
	var changes []float64
	for _, e := range t.Epochs {
		if e.WeightChange > 0 {
			changes = append(changes, e.WeightChange)
		}
	}
	median := math.NaN()
	if len(changes) > 0 {
		slices.Sort(changes)
		median = changes[len(changes)/2]
	}
	if drop < 0.3 && acc < 0.9 {
		conf := 0.0
		if len(changes) > 0 {
			ev["weight_change"] = median
			switch {
			case median < 0.003:
				conf = 0.85
			case median < 0.01:
				conf = 0.7
			}
		} else if rel <= 0.1 {
			conf = 0.6
		}
		if rel > 0.3 {
			conf /= 2
		}
		if conf > 0 {
			return &train.Diagnosis{Confidence: conf, Evidence: ev,
				Advice: fmt.Sprintf("%s; the weights moved %.2g%% per epoch", raise, 100*ev["weight_change"])}
		}
	}
	// Crawling: still descending when the run ended, at a small rate, or
	// with weights that moved under 1% an epoch whatever the rate says.
	slow := median < 0.01
	if n < 3 || !(rel <= 0.2 || slow) || !(acc < 0.95) {
		return nil
	}
	change := relChange(losses, 2) / 2 // per epoch, over the last two
	if !(change <= -0.01) || !(losses[n-1] < losses[n-2]) || !(losses[n-2] < losses[n-3]) {
		return nil
	}
	ev["loss_change_per_epoch"] = change
	conf := 0.6
	if rel > 0.1 && !slow {
		conf = 0.45
	}
	if rel > 0.2 {
		// An ordinary rate on paper: the weights' movement says it.
		ev["weight_change"] = median
		return &train.Diagnosis{Confidence: conf, Evidence: ev,
			Advice: fmt.Sprintf("%s: the weights moved %.2g%% an epoch (the median), where a run that learns at its pace moves them several percent, and the training loss still fell %.1f%% an epoch when the run ended, so it stopped long before it would have converged",
				raise, 100*median, -100*change)}
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev,
		Advice: fmt.Sprintf("%s: at %.2g times the usual rate for %s the training loss still fell %.1f%% an epoch when the run ended, so it stopped long before it would have converged",
			raise, rel, t.Spec.Train.Optimizer, -100*change)}
}

// raiseAdvice says how to move the weights faster: a tenfold rate (the
// values given), momentum for plain SGD, a smaller epsilon for an adaptive
// optimizer whose epsilon damps every step.
func raiseAdvice(s *spec.Spec) string {
	raise := fmt.Sprintf("raise %s (ten times) or run the LR range test (Find a learning rate in the Training tab, plateau lr-find on the command line) and use its suggested rate", rateText(s, 10))
	if plainSGD(s) {
		raise = "add train.momentum 0.9, which carries each step on and moves the weights ten times as far at the same rate, damping the noise of single batches; or " + raise
	}
	if dampedEpsilon(s) {
		raise = fmt.Sprintf("lower train.epsilon to 1e-07 (%g now): %s divides each step by √v + ε, and an ε as large as the gradients or larger shrinks every step "+
			"to about lr·g, a plain SGD step at lr %g; or %s", s.Train.Epsilon, s.Train.Optimizer, s.Train.LR, raise)
	}
	return raise
}

// dampedEpsilon reports whether an adaptive optimizer's epsilon is 0.01 or
// more: near the size of the gradients' root mean square, it turns each
// step into about lr·g (Adam with epsilon 1 on 3,000 Fashion-MNIST
// images trained as plain SGD at 0.001 does: 54.6% on the training
// images after 8 epochs, against 86% at the default 1e-7).
func dampedEpsilon(s *spec.Spec) bool {
	switch s.Train.Optimizer {
	case "adam", "adamw", "rmsprop":
		return s.Train.Epsilon >= 0.01
	}
	return false
}

// plainSGD reports whether the spec trains with sgd without momentum.
func plainSGD(s *spec.Spec) bool { return s.Train.Optimizer == "sgd" && s.Train.Momentum < 0.5 }

// decayedTooSoon is a schedule (step, exponential or reduce_on_plateau)
// that cut the rate to a hundredth of its peak, after which the training
// loss stood still (it moved less than 1% to the run's end) for the last
// third of the run or more (3 epochs at least): the
// weights froze where they were. small-cnn on 3,000 Fashion-MNIST images
// with a step schedule of factor 0.1 every epoch reached 1e-5 at epoch 3
// of 8 and its training loss then moved 0.6%: 76.7% test against 83.5%
// at a constant rate, and the doctor said underfitting ("give the model
// more capacity"). The loss may still move in the epoch the rate reached
// the hundredth: with factor 0.01 the rate was 1e-5 in epoch 2, the loss
// fell 10% over it and stood still from epoch 3 to 8 (73.0% test), and
// the doctor had said nothing. Confidence 0.75; the fix decays over the
// run: a step every third of it, an exponential decay to a tenth by its
// end, or twice reduce_on_plateau's patience.
func decayedTooSoon(t *Telemetry) *train.Diagnosis {
	sc := t.Spec.Train.Schedule
	n := len(t.Epochs)
	switch sc.Type {
	case "step", "exponential", "reduce_on_plateau":
	default:
		return nil
	}
	if n < 3 {
		return nil
	}
	peak, low := 0.0, -1
	for i, e := range t.Epochs {
		peak = max(peak, e.LR)
		if low < 0 && peak > 0 && e.LR <= peak*0.0101 { // a hundredth, up to rounding
			low = i
		}
	}
	tl := t.trainLoss()
	acc := t.last().TrainAccuracy
	if low < 0 || !(acc < 0.95) {
		return nil
	}
	// The first epoch, from the cut on, after which the loss stood still.
	still, moved := -1, 0.0
	for j := low; j < n; j++ {
		if m := math.Abs(tl[n-1]-tl[j]) / tl[j]; m < 0.01 {
			still, moved = j, m
			break
		}
	}
	if still < 0 || n-still < max(3, (n+2)/3) {
		return nil
	}
	since := "since"
	if still > low {
		since = fmt.Sprintf("from epoch %d on", still+1)
	}
	return &train.Diagnosis{Confidence: 0.75,
		Evidence: map[string]float64{"peak_lr": peak, "last_lr": t.last().LR, "decayed_epoch": float64(low + 1), "loss_change_since": moved,
			"train_accuracy": acc, "relative_lr": t.relativeLR()},
		Advice: fmt.Sprintf("the %s schedule cut the rate to %.2g by epoch %d of %d, a hundredth of its peak %.2g, and the training loss moved %.1f%% %s: "+
			"the weights froze at %.0f%% on the training images; decay over the whole run (a step every third of it, cosine, or one_cycle)",
			sc.Type, t.Epochs[low].LR, low+1, t.Spec.Train.Epochs, peak, 100*moved, since, 100*acc)}
}
