package doctor

import (
	"fmt"
	"math"
	"slices"

	"plateau/train"
)

// The first epoch of a large dataset is long (MNIST's 54,000 training
// images take minutes in a browser tab), and the epoch rules wait for
// its end. Before it, a run's validation checks (val_check events) and
// step losses already show the two failures that cost a user the most
// time: a rate that threw the network to a constant guess, and a rate so
// small that the loss crawls. The rules below read them; lr_too_high and
// lr_too_low report them until the first epoch ends, and hold them after
// it while the epochs go on as the checks did (stuckSinceFirstEpoch,
// crawlSinceFirstEpoch). unnormalized_input and label_noise (drowned
// labels) read the checks too, in their own files.

// checksAtChance describes the validation checks before the first epoch's
// end that measured no more than a constant guess (see stuckAtChance).
type checksAtChance struct {
	checks   int     // the trailing checks at chance
	since    int     // the step of the first of them
	last     int     // the step of the latest
	stepLoss float64 // the median step loss after the first
	peak     float64 // the highest step loss of the epoch so far
	valAcc   float64 // the latest check's accuracy
	valLoss  float64 // and loss
}

// firstEpoch reports whether the run has not yet ended its first epoch
// (of this start: a resumed run keeps the epochs it continues from) and
// has measured validation checks.
func (t *Telemetry) firstEpoch() bool {
	return len(t.Epochs) == 0 && t.Result == nil && t.Start != nil && len(t.Checks) > 0
}

// priorLoss is the cross-entropy of the best constant guess, the class
// shares of the training split (ln K when they are equal), and accuracy
// that guess's accuracy, the largest class's share.
func (t *Telemetry) priorLoss() (loss, accuracy float64) {
	counts := t.Start.ClassCounts
	var n float64
	for _, c := range counts {
		n += float64(c)
	}
	if n == 0 {
		return t.chanceLoss(), 1 / float64(t.classes())
	}
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			loss -= p * math.Log(p)
			accuracy = max(accuracy, p)
		}
	}
	return loss, accuracy
}

// stuckAtChance: before the first epoch's end, the last two validation
// checks or more measured no more than the best constant guess (the
// accuracy's 95% interval reaches down to the largest class's share, and
// the loss is at least 0.9 times the constant guess's), the latest at step
// 50 or later, and every step loss since the first of them is at least
// 0.9 times that loss too: the network answers about the same for every
// image. ok is false without step events after that check. The first of
// the checks may be the untrained network's, which answers at chance too.
func (t *Telemetry) stuckAtChance() (s checksAtChance, ok bool) {
	if !t.firstEpoch() {
		return s, false
	}
	return t.atChance(t.Checks, t.Steps)
}

// stuckInFirstEpoch reads the first epoch's checks and steps as
// stuckAtChance read them before its end, once it has ended.
func (t *Telemetry) stuckInFirstEpoch() (s checksAtChance, ok bool) {
	if t.Start == nil || len(t.Epochs) == 0 || t.Epochs[0].Epoch != 1 {
		return s, false
	}
	first := func(es []train.Event) []train.Event {
		var out []train.Event
		for _, e := range es {
			if e.Epoch == 1 {
				out = append(out, e)
			}
		}
		return out
	}
	return t.atChance(first(t.Checks), first(t.Steps))
}

// atChance is stuckAtChance's reading of checks and steps.
func (t *Telemetry) atChance(checks, steps []train.Event) (s checksAtChance, ok bool) {
	if len(checks) < 2 {
		return s, false
	}
	h, _ := t.priorLoss()
	n := len(checks)
	for i := n - 1; i >= 0; i-- {
		c := checks[i]
		if !t.checkAtChance(c) {
			break
		}
		s.checks, s.since = s.checks+1, c.Step
	}
	last := checks[n-1]
	if s.checks < 2 || last.Step < 50 {
		return s, false
	}
	s.valAcc, s.valLoss, s.last = last.ValAccuracy, last.ValLoss, last.Step
	var after []float64
	for _, e := range steps {
		s.peak = max(s.peak, e.Loss)
		if e.Step <= s.since {
			continue
		}
		if e.Loss < 0.9*h {
			return s, false
		}
		after = append(after, e.Loss)
	}
	if len(after) == 0 {
		return s, false
	}
	slices.Sort(after)
	s.stepLoss = after[len(after)/2]
	return s, true
}

// thrown is lr_too_high's reading of checks at chance, before the first
// epoch's end or after it: the evidence both say, the constant guess's
// loss h, and the confidence, 0.65, or 0.75 when a step loss first leapt
// to 3 times h (threw says so in the advice's words).
func (s checksAtChance) thrown(t *Telemetry, ev map[string]float64) (h, conf float64, threw string) {
	h, acc := t.priorLoss()
	ev["stuck_at_chance"], ev["checks_at_chance"], ev["since_step"] = 1, float64(s.checks), float64(s.since)
	ev["chance_accuracy"], ev["chance_loss"], ev["peak_step_loss"] = acc, h, s.peak
	if s.peak >= 3*h {
		return h, 0.75, fmt.Sprintf(" after the step loss leapt to %.3g", s.peak)
	}
	return h, 0.65, ""
}

// earlyLRTooHigh: lr_too_high before the first epoch's end. Stuck at
// chance (stuckAtChance) at relative_lr ≥ 3: confidence 0.65; 0.75 when
// a step loss reached 3 times the constant guess's first (the updates
// threw the logits out before the network gave up: Adam at 0.1 with
// mnist-cnn on MNIST, step losses of 29 in the first 20 steps, then 2.30
// and 10% at every check).
func earlyLRTooHigh(t *Telemetry, ev map[string]float64, advice string) *train.Diagnosis {
	rel := t.relativeLR()
	s, ok := t.stuckAtChance()
	if !ok || !(rel >= 3) {
		return nil
	}
	h, conf, threw := s.thrown(t, ev)
	ev["check_val_accuracy"], ev["check_val_loss"], ev["step_loss"] = s.valAcc, s.valLoss, s.stepLoss
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: fmt.Sprintf(
		"before the first epoch's end, the last %d validation checks (steps %d to %d) measure a constant guess (%.1f%%, loss %.3g against its %.3g), and so does the training loss (%.3g, the median of the steps since)%s; "+
			"at %.3g times the usual rate for %s the updates threw the weights where the network answers the same for every image, and more steps will not bring it back; %s",
		s.checks, s.since, s.last, 100*s.valAcc, s.valLoss, h, s.stepLoss, threw, rel, t.Spec.Train.Optimizer, advice)}
}

// stuckSince: stuck at chance in the first epoch (stuckInFirstEpoch), and
// every epoch since with a training loss of at least 0.9 times the
// constant guess's and a validation accuracy whose interval reaches down
// to its share.
func (t *Telemetry) stuckSince() (s checksAtChance, ok bool) {
	s, ok = t.stuckInFirstEpoch()
	if !ok {
		return s, false
	}
	return s, t.epochsAtChance()
}

// checkAtChance reports whether a validation check measured no more than
// the best constant guess: a loss at least 0.9 of the guess's, and an
// accuracy whose 95% interval reaches down to the guess's.
func (t *Telemetry) checkAtChance(c train.Event) bool {
	return t.valAtChance(c.ValLoss, c.ValAccuracy, c.ValSize)
}

// valAtChance is checkAtChance's test of a validation loss and accuracy
// measured on n images.
func (t *Telemetry) valAtChance(loss, accuracy float64, n int) bool {
	h, acc := t.priorLoss()
	lo, _ := ValCI(accuracy, n)
	return loss >= 0.9*h && lo <= acc
}

// epochsAtChance reports whether every epoch so far sat at the best
// constant guess: a training loss at least 0.9 of the guess's, and a
// validation accuracy whose 95% interval reaches down to the guess's.
func (t *Telemetry) epochsAtChance() bool {
	h, acc := t.priorLoss()
	for _, e := range t.Epochs {
		if lo, _ := ValCI(e.ValAccuracy, t.Start.ValSize); !(e.TrainLoss >= 0.9*h) || lo > acc {
			return false
		}
	}
	return true
}

// stuckSinceFirstEpoch: lr_too_high's reading of the first epoch's checks
// after it ended: stuck at chance since them (stuckSince) at relative_lr
// ≥ 3, with the confidence of the reading before the epoch's end (thrown),
// so the finding made at the checks holds at the epochs instead of
// waiting for the three epochs the epoch rule's stuck-at-chance reading
// wants.
func stuckSinceFirstEpoch(t *Telemetry, ev map[string]float64, advice string) *train.Diagnosis {
	rel := t.relativeLR()
	s, ok := t.stuckSince()
	if !ok || !(rel >= 3) {
		return nil
	}
	_, conf, threw := s.thrown(t, ev)
	l := t.last()
	ev["val_accuracy"] = l.ValAccuracy
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: fmt.Sprintf(
		"the first epoch's last %d validation checks (steps %d to %d) measured a constant guess%s, and every epoch since has too (training loss %.3g, validation %.1f%%): "+
			"at %.3g times the usual rate for %s the updates threw the weights where the network answers the same for every image, and more epochs will not bring it back; %s",
		s.checks, s.since, s.last, threw, l.TrainLoss, 100*l.ValAccuracy, rel, t.Spec.Train.Optimizer, advice)}
}

// earlyLRTooLow: lr_too_low before the first epoch's end, at relative_lr
// ≤ 0.2. Stuck at chance (stuckAtChance): 0.6, the weights barely move.
// Crawling: the last three checks or more each measured a validation loss
// 1% or more below the one before, the latest still above half the
// constant guess's: 0.5 (0.4 above relative_lr 0.1), as the epoch rule's
// crawl, a little less sure (Adam at 1e-5 with mnist-cnn on MNIST: 30%,
// 54% and 65% at three checks in its first epoch; SGD at 1e-4 without
// momentum: 14%, 22% and 29%).
func earlyLRTooLow(t *Telemetry, raise string) *train.Diagnosis {
	rel := t.relativeLR()
	if !t.firstEpoch() || !(rel <= 0.2) {
		return nil
	}
	h, acc := t.priorLoss()
	ev := map[string]float64{"lr": t.Spec.Train.LR, "relative_lr": rel, "chance_loss": h}
	if s, ok := t.stuckAtChance(); ok {
		ev["stuck_at_chance"], ev["checks_at_chance"], ev["since_step"] = 1, float64(s.checks), float64(s.since)
		ev["check_val_accuracy"], ev["check_val_loss"], ev["chance_accuracy"], ev["step_loss"] = s.valAcc, s.valLoss, acc, s.stepLoss
		return &train.Diagnosis{Confidence: 0.6, Evidence: ev, Advice: fmt.Sprintf(
			"before the first epoch's end, the last %d validation checks (steps %d to %d) measure a constant guess (%.1f%%) and the training loss has not left it (%.3g, the median of the steps since; a constant guess %.3g): "+
				"at %.2g times the usual rate for %s the weights barely move; %s",
			s.checks, s.since, s.last, 100*s.valAcc, s.stepLoss, h, rel, t.Spec.Train.Optimizer, raise)}
	}
	c, worst, ok := crawling(t.Checks, h)
	if !ok {
		return nil
	}
	last := c[2]
	ev["check_val_loss"], ev["check_val_accuracy"], ev["check_val_loss_change"] = last.ValLoss, last.ValAccuracy, worst
	conf := crawlConfidence(rel)
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: fmt.Sprintf(
		"before the first epoch's end the validation loss falls at every check (%.3g, %.3g, %.3g at steps %d, %d and %d; %.1f%% at the latest) but is still above half a constant guess's (%.3g): "+
			"at %.2g times the usual rate for %s the run crawls, and will take many epochs to get where a usual rate gets in one; %s",
		c[0].ValLoss, c[1].ValLoss, c[2].ValLoss, c[0].Step, c[1].Step, c[2].Step, 100*last.ValAccuracy, h, rel, t.Spec.Train.Optimizer, raise)}
}

// crawling: the last three checks each measured a validation loss 1% or
// more below the one before (worst, the smallest fall, as a change), the
// latest still above half the constant guess's, h.
func crawling(checks []train.Event, h float64) (last3 []train.Event, worst float64, ok bool) {
	n := len(checks)
	if n < 3 {
		return nil, 0, false
	}
	c := checks[n-3:]
	worst = math.Inf(-1)
	for i := 1; i < 3; i++ {
		worst = max(worst, (c[i].ValLoss-c[i-1].ValLoss)/c[i-1].ValLoss)
	}
	return c, worst, worst <= -0.01 && c[2].ValLoss > 0.5*h
}

// crawlConfidence is the crawl's confidence before the first epoch's end
// and until the epoch rule reads it: 0.5, 0.4 above a tenth of the usual
// rate.
func crawlConfidence(rel float64) float64 {
	if rel > 0.1 {
		return 0.4
	}
	return 0.5
}

// frozenSinceFirstEpoch: lr_too_low's reading of a run stuck at chance
// through its first epoch's checks and every epoch since (stuckSince) at
// relative_lr ≤ 0.2, until the epoch rule reads the weights' movement
// (two epochs): 0.6, as before the first epoch's end.
func frozenSinceFirstEpoch(t *Telemetry, raise string) *train.Diagnosis {
	rel := t.relativeLR()
	s, ok := t.stuckSince()
	if !ok || !(rel <= 0.2) {
		return nil
	}
	h, acc := t.priorLoss()
	l := t.last()
	ev := map[string]float64{"lr": t.Spec.Train.LR, "relative_lr": rel, "chance_loss": h, "chance_accuracy": acc, "stuck_at_chance": 1,
		"checks_at_chance": float64(s.checks), "since_step": float64(s.since), "val_accuracy": l.ValAccuracy}
	return &train.Diagnosis{Confidence: 0.6, Evidence: ev, Advice: fmt.Sprintf(
		"the first epoch's last %d validation checks (steps %d to %d) measured a constant guess, and every epoch since has too (training loss %.3g, validation %.1f%%): "+
			"at %.2g times the usual rate for %s the weights barely move; %s",
		s.checks, s.since, s.last, l.TrainLoss, 100*l.ValAccuracy, rel, t.Spec.Train.Optimizer, raise)}
}

// crawlSinceFirstEpoch: lr_too_low's reading of the first epoch's checks
// after it ended, until the epoch rule's own crawl (three epochs) or
// frozen weights read the run: at relative_lr ≤ 0.2, the first epoch's
// checks crawled (crawling), every epoch's validation loss since is 1% or
// more below the one before, and the training accuracy is under 0.95 (the
// epoch rule's bar); the confidence of the reading before the epoch's
// end. Plain SGD at 1e-4 on
// 20,000 MNIST images had lr_too_low at its third check, none at its
// first epoch's end, and 0.7 at its second; Adam at 1e-5, at its third
// check and its third epoch's end (validation 71%, 81%, 86%), none
// between.
func crawlSinceFirstEpoch(t *Telemetry, raise string) *train.Diagnosis {
	rel := t.relativeLR()
	if !(rel <= 0.2) || t.Start == nil || len(t.Epochs) == 0 || t.Epochs[0].Epoch != 1 || t.diverged() {
		return nil
	}
	var first []train.Event
	for _, c := range t.Checks {
		if c.Epoch == 1 {
			first = append(first, c)
		}
	}
	h, _ := t.priorLoss()
	c, worst, ok := crawling(first, h)
	if !ok {
		return nil
	}
	prev := c[2].ValLoss
	for _, e := range t.Epochs {
		if !(e.ValLoss <= 0.99*prev) {
			return nil
		}
		prev = e.ValLoss
	}
	l := t.last()
	if !(l.TrainAccuracy < 0.95) {
		return nil
	}
	ev := map[string]float64{"lr": t.Spec.Train.LR, "relative_lr": rel, "chance_loss": h, "check_val_loss_change": worst, "val_loss": l.ValLoss, "val_accuracy": l.ValAccuracy}
	ev["train_accuracy"] = l.TrainAccuracy
	return &train.Diagnosis{Confidence: crawlConfidence(rel), Evidence: ev, Advice: fmt.Sprintf(
		"the validation loss fell at every check of the first epoch (%.3g, %.3g, %.3g at steps %d, %d and %d; a constant guess %.3g) and by 1%% or more at every epoch since, to %.3g (%.1f%%; training accuracy %.1f%%): "+
			"at %.2g times the usual rate for %s the run crawls, and will take many epochs to get where a usual rate gets in one; %s",
		c[0].ValLoss, c[1].ValLoss, c[2].ValLoss, c[0].Step, c[1].Step, c[2].Step, h, l.ValLoss, 100*l.ValAccuracy, 100*l.TrainAccuracy, rel, t.Spec.Train.Optimizer, raise)}
}

// layersAtTheChecks is the telemetry as the epoch rules would read it had
// the first epoch ended at its latest check, for the rules that read the
// layers (vanishing_gradients, dead_relu): before the first epoch's end,
// when the checks are stuck at a constant guess (stuckAtChance) at a rate
// neither three times the usual one nor a fifth of it (lr_too_high and
// lr_too_low name those), and the latest check carries the layer
// statistics of the step before it (both engines' checks do). Its
// one epoch has that check's validation loss and accuracy and layers, and
// the median step loss since the first check at chance as its training
// loss. (A deep plain network of sigmoids, SGD at 0.01 with momentum, on
// 20,000 MNIST images sat at ln 10 from its first check; at the first
// epoch's end its first layer's relative gradient was 7e-5 of the last's,
// and vanishing_gradients said 0.95 then, not before.)
func (t *Telemetry) layersAtTheChecks() (*Telemetry, checksAtChance, bool) {
	s, ok := t.stuckAtChance()
	if !ok {
		return nil, s, false
	}
	last := t.Checks[len(t.Checks)-1]
	if rel := t.relativeLR(); len(last.Layers) == 0 || rel >= 3 || rel <= 0.2 {
		return nil, s, false
	}
	return t.asEpoch(train.Event{Step: last.Step, TrainLoss: s.stepLoss, TrainAccuracy: math.NaN(),
		ValLoss: last.ValLoss, ValAccuracy: last.ValAccuracy, Layers: last.Layers}), s, true
}

// asEpoch is the telemetry as the epoch rules would read it had the first
// epoch ended with e (its measurements at one step: a check's layers).
func (t *Telemetry) asEpoch(e train.Event) *Telemetry {
	v := *t
	e.Event, e.Epoch = train.EventEpoch, 1
	v.Epochs = []train.Event{e}
	return &v
}

// earlyLayers is what a layer rule found on layersAtTheChecks' telemetry,
// said before the first epoch's end: at 0.85 of the confidence, with the
// checks that show the network stuck.
func (s checksAtChance) earlyLayers(d *train.Diagnosis) *train.Diagnosis {
	if d == nil {
		return nil
	}
	d.Confidence *= 0.85
	d.Evidence["checks_at_chance"], d.Evidence["since_step"] = float64(s.checks), float64(s.since)
	d.Evidence["check_val_accuracy"], d.Evidence["check_val_loss"] = s.valAcc, s.valLoss
	delete(d.Evidence, "progress")
	d.Advice = fmt.Sprintf("before the first epoch's end, the last %d validation checks (steps %d to %d) measure a constant guess (%.1f%%, loss %.3g) at a usual rate, and the step before the latest shows why: ",
		s.checks, s.since, s.last, 100*s.valAcc, s.valLoss) + d.Advice
	return d
}
