package doctor

import (
	"fmt"
	"math"
	"strings"

	"plateau/spec"
	"plateau/train"
)

// crushedByPenalty, a reading of underfitting: an L1, L2 or weight-decay
// penalty so strong that it shrank the weights until the network answers
// the same for every image. The penalty pulls every weight toward zero in
// proportion to its size, the data pulls the useful ones back; set a
// hundred times the usual strength, the penalty wins. (mnist-cnn, Adam at
// its usual 1e-3, on 20,000 MNIST images with train.l2 1: 66% at the
// first validation check, step 21, then 62%, 29%, and 11% at the first
// epoch's end, a training loss of 2.30 against ln 10; the epoch rules
// said nothing, and generic underfitting only from the third epoch. With
// train.l2 0.1 the same network holds 91%, the penalty costing it but not
// crushing it: that is the generic reading's, after three epochs.)
//
// Evidence: crushed (1, which Fix reads), the strong penalties (l1 above
// 0.001, l2 above 0.01, weight_decay above 0.1), the last epoch's
// validation loss and accuracy against the best constant guess's
// (chance_loss, ln K for balanced classes; chance_accuracy, the largest
// class's share), or without validation its training loss, and the best
// validation accuracy the run measured before (peak_val_accuracy, at a
// check or an epoch; peak_step).
//
// Thresholds: one epoch or more, not diverged; the last epoch at a
// constant guess: a validation loss at least 0.9 of the guess's and an
// accuracy whose 95% interval reaches down to the guess's (the epoch's
// training loss averages over the steps before a collapse: 1.98 in the
// run above, whose validation loss was 2.30); without validation, a
// training loss at least 0.9 of the guess's and a training accuracy
// within 5 points of it. Before the first epoch's end, the checks stuck
// at a constant guess as lr_too_high reads them (stuckAtChance: two
// checks or more, the latest at step 50 or later, the step losses since
// there too). Silent at three times the usual rate or more (lr_too_high's
// stuck at chance), with raw inputs (unnormalized_input) and with planted
// label noise that drowns the labels (label_noise). Confidence 0.7 (0.6
// at the checks); 0.15 more when the run had learned first (the peak's
// interval starts 10 points or more above the guess): it learned, then
// the penalty took it back.
//
// Advice: set each strong penalty to a usual strength (l2 1e-4, l1 1e-5,
// weight_decay 0.01), which Fix does.
func crushedByPenalty(t *Telemetry) *train.Diagnosis {
	tr := t.Spec.Train
	n := len(t.Epochs)
	stuck, early := t.stuckAtChance()
	if n == 0 && !early || t.Start == nil || t.diverged() || t.relativeLR() >= 3 || rawInputs(t) || drownedLabels(t) != nil {
		return nil
	}
	ev := map[string]float64{"crushed": 1}
	var strong []string
	for _, p := range strongPenalties(tr) {
		strong, ev[p.key] = append(strong, fmt.Sprintf("train.%s %g", p.key, p.value)), p.value
	}
	if len(strong) == 0 {
		return nil
	}
	h, guess := t.priorLoss()
	ev["chance_loss"], ev["chance_accuracy"] = h, guess
	var measured string
	switch last := t.last(); {
	case early:
		// Before the first epoch's end: the checks at chance.
		ev["checks_at_chance"], ev["since_step"] = float64(stuck.checks), float64(stuck.since)
		ev["check_val_loss"], ev["check_val_accuracy"] = stuck.valLoss, stuck.valAcc
		measured = fmt.Sprintf("before the first epoch's end, the last %d validation checks (steps %d to %d) measure a constant guess: loss %.4g against its %.4g, accuracy %.1f%%",
			stuck.checks, stuck.since, stuck.last, stuck.valLoss, h, 100*stuck.valAcc)
	case finite(last.ValLoss) && finite(last.ValAccuracy):
		// The epoch's training loss averages over steps from before the
		// collapse; the validation split measures the weights as they are.
		if !t.valAtChance(last.ValLoss, last.ValAccuracy, t.Start.ValSize) {
			return nil
		}
		ev["val_loss"], ev["val_accuracy"] = last.ValLoss, last.ValAccuracy
		measured = fmt.Sprintf("validation loss %.4g, a constant guess's %.4g; validation accuracy %.1f%%", last.ValLoss, h, 100*last.ValAccuracy)
	default:
		if last.TrainLoss < 0.9*h || last.TrainAccuracy > guess+0.05 {
			return nil
		}
		ev["last_train_loss"] = last.TrainLoss
		measured = fmt.Sprintf("training loss %.4g, a constant guess's %.4g", last.TrainLoss, h)
	}
	conf := 0.7
	if early {
		conf = 0.6
	}
	// The best the run measured before: did it learn, then lose it?
	peak, peakStep, peakSize := math.Inf(-1), 0, 0
	for _, es := range [][]train.Event{t.Checks, t.Epochs} {
		for _, e := range es {
			if finite(e.ValAccuracy) && e.ValAccuracy > peak {
				size := e.ValSize
				if e.Event == train.EventEpoch || size == 0 {
					size = t.Start.ValSize
				}
				peak, peakStep, peakSize = e.ValAccuracy, e.Step, size
			}
		}
	}
	before := ""
	if lo, _ := ValCI(peak, peakSize); finite(peak) && lo >= guess+0.1 {
		ev["peak_val_accuracy"], ev["peak_step"] = peak, float64(peakStep)
		conf += 0.15
		before = fmt.Sprintf(" after it had reached %.1f%% at step %d", 100*peak, peakStep)
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: fmt.Sprintf(
		"%s outweighs the data: the penalty pulls every weight toward zero, and it shrank them until the network answers the same for every image (%s)%s; "+
			"set %s: a penalty should trim the weights, not outweigh what the images teach", strings.Join(strong, " and "), measured, before, usualPenalties(ev))}
}

// usualPenalties names the usual strengths Fix sets for the strong
// penalties in a finding's evidence.
func usualPenalties(ev map[string]float64) string {
	var out []string
	for _, p := range penaltyFixes(ev) {
		k, v, _ := strings.Cut(p, "=")
		out = append(out, k+" to "+v)
	}
	return strings.Join(out, " and ")
}

// penaltyFixes sets each strong penalty in ev to a usual strength.
func penaltyFixes(ev map[string]float64) []string {
	var out []string
	for _, p := range penalties {
		if ev[p.key] > p.strong {
			out = append(out, "train."+p.key+"="+p.usual)
		}
	}
	return out
}

// penalty is one of the spec's weight penalties: above strong it holds a
// network back (underfitting's reading), and usual is what Fix sets it to
// when it crushed one.
type penalty struct {
	key    string // the train field, as evidence and -set name it
	strong float64
	usual  string
	value  float64 // the spec's (strongPenalties)
	field  func(spec.Train) float64
}

var penalties = []penalty{
	{key: "l2", strong: 1e-2, usual: "0.0001", field: func(tr spec.Train) float64 { return tr.L2 }},
	{key: "l1", strong: 1e-3, usual: "0.00001", field: func(tr spec.Train) float64 { return tr.L1 }},
	{key: "weight_decay", strong: 0.1, usual: "0.01", field: func(tr spec.Train) float64 { return tr.WeightDecay }},
}

// strongPenalties are the penalties the spec sets above their strong
// bars (l2 0.01, l1 0.001, weight_decay 0.1), with their values.
func strongPenalties(tr spec.Train) []penalty {
	var out []penalty
	for _, p := range penalties {
		if v := p.field(tr); v > p.strong {
			p.value = v
			out = append(out, p)
		}
	}
	return out
}
