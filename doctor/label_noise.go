package doctor

import (
	"fmt"
	"math"

	"plateau/spec"
	"plateau/train"
)

// checkLabelNoise: a share of the training labels is wrong; the network
// learns the task and then disagrees, confidently, with those labels.
//
// Evidence: confident_wrong (the fraction of training examples predicted
// as another class with probability ≥ 0.5; the larger of the last two
// epochs', as is the share), the training error, and their ratio
// confident_share: of the examples the
// network gets wrong, how many it gets wrong with conviction. Hard but
// correctly labelled examples sit near the boundary, so they are wrong
// without conviction; mislabelled ones are wrong with it.
//
// mistake_spread: how evenly the validation mistakes fall over the K(K−1)
// cells off the confusion matrix's diagonal (the exponential of their
// entropy over the cell count, with 8 classes or more): labels replaced
// at random put mistakes in every cell, while a network's own confusions
// gather on classes that look alike. On Fashion-MNIST and the CIFAR-10
// sample, clean runs measured 0.17–0.43, runs with 30% of the labels
// wrong 0.56–0.77.
//
// Thresholds: needs 2 epochs, progress > 0.2 (the task is being learned),
// confident_wrong ≥ 0.1 (× 1 − train.label_smoothing), a training error
// ≥ 0.1, confident_share ≥ 0.5
// (a network that is unsure of most of its mistakes is still learning, or
// too small), lowered by 0.3 × ramp(mistake_spread, 0.4, 0.55): to 0.3
// at a spread of 0.5 (30% of Fashion-MNIST's labels wrong: the network is
// sure of the true class of only part of the relabelled images after a
// few epochs, and a clean CIFAR-10 run reaches a share of 0.35 with its
// mistakes gathered on look-alike classes, spread at 0.37–0.47), to 0.2
// from 0.55 (45% wrong: a quarter of the mistakes confident, spread 0.63–
// 0.69; 30% wrong with train.label_smoothing 0.2, which caps every
// answer's probability: 0.23–0.26, spread 0.56), and to 0.4 at most when
// the spec's data.label_noise is 0.1 or more; training accuracy no
// more than 0.1 above validation accuracy (noisy validation labels cap both alike; a wider
// gap is overfitting) and no collapse onto one class (class_imbalance);
// confidence 0.25 + 0.35 × ramp(confident_share, 0.55, 0.85) + 0.3 ×
// ramp(confident_wrong, 0.1, 0.2) + 0.2 × ramp(mistake_spread, 0.4,
// 0.7), × 0.5 with a spread under 0.3 (the mistakes on a few look-alike
// pairs: small-cnn on clean Fashion-MNIST with l1 0.001 had half its
// mistakes confident and a spread of 0.17), × 0.7 with augmentation on
// (the mistakes are counted on augmented images), halved at a high constant rate (relative_lr ≥ 5), where the
// network's confidence jumps from batch to batch, × 0.5 when the training
// loss fell 10% or more in the last epoch (still learning fast, short of
// the floor wrong labels set: last_loss_fall), and × 0.5 when with 4
// classes or more 60% or more of the validation mistakes are between two
// classes: random label noise spreads its mistakes over every pair, two
// classes that look alike (or whose labels are swapped systematically)
// hold them, which is class_confusion's finding.
//
// Advice: inspect the most confidently misclassified training images and
// fix their labels; train.label_smoothing 0.1 and early stopping keep the
// network from memorizing the wrong ones (what the spec already has on is
// said to be on; the fix adds smoothing, else early stopping, else
// nothing). When the spec's own
// data.label_noise made the labels wrong, the advice says so and its fix
// takes the noise out.
func checkLabelNoise(t *Telemetry) *train.Diagnosis {
	if d := labelNoiseByConviction(t); d != nil {
		return d
	}
	if d := drownedLabels(t); d != nil {
		return d
	}
	if d := silentLabels(t); d != nil {
		return d
	}
	return plantedNoiseCeiling(t)
}

// silentLabels: without planted noise, a run at a usual rate (between a
// fifth of the optimizer's usual rate and three times it) with no strong
// penalty, no raw inputs and label smoothing under 0.5 (which at 0.99
// leaves the targets as faint as drowned labels) has sat at a constant
// guess since its first
// validation check (before the first epoch's end, the checks stuck at
// chance as stuckAtChance reads them; after it, every check and every
// epoch at a constant guess: the loss at least 0.9 of the guess's, the
// validation accuracy's interval reaching down to its), for 200 steps or
// more, while at that first check (without checks, at the first epoch's
// end) its layers passed the gradient (the
// first weighted layer's relative gradient at least 0.01 of the last's,
// under half the ReLU units dead and no whole layer): the network could
// learn, and nothing in the images told their classes apart to it.
// Labels that say nothing about their images do this: shuffled apart from
// them (a loader that orders the images and the labels differently, a
// label file of another split), or images blank or alike. Units die
// after, as the network settles on the constant guess, so dead_relu and
// vanishing_gradients defer to this. (fashion-cnn on 10,000 Fashion-MNIST
// images whose labels were shuffled, Adam at 1e-3: 10–11% at every check
// and epoch; its layers healthy at the first check, step 21, the doctor
// named dead_relu 0.68 at the second check, 0.80 at the first two epochs'
// ends and vanishing_gradients 0.90 at the third's; mnist-cnn on the same
// images, underfitting 0.55 from its third epoch: more capacity, which
// would only memorize.) The 200 steps leave slow starters alone:
// keras-cifar10 on the CIFAR-10 sample at Adam 3e-4 was at chance at its
// first check and at its first epoch's end, step 57, with a check at 22%
// between them. Confidence 0.6 before the first epoch's end, 0.7 after
// it. No setting expresses the cure: Fix returns nil.
func silentLabels(t *Telemetry) *train.Diagnosis {
	const silentSteps = 200
	tr := t.Spec.Train
	rel := t.relativeLR()
	if t.Spec.Data.LabelNoise >= 0.1 || t.Start == nil || t.diverged() || !(rel > 0.2 && rel < 3) ||
		len(strongPenalties(tr)) > 0 || tr.LabelSmoothing >= 0.5 || rawInputs(t) || blankInputs(t) {
		return nil
	}
	// The run's first measurement with layers: its first check, else
	// (epochs too short for checks) its first epoch.
	var first train.Event
	at := "that first check"
	switch {
	case len(t.Checks) > 0:
		first = t.Checks[0]
	case len(t.Epochs) > 0 && t.Epochs[0].Epoch == 1:
		first, at = t.Epochs[0], "the first epoch's end"
	default:
		return nil
	}
	h, acc := t.priorLoss()
	conf := 0.6
	s, ok := t.stuckAtChance()
	if !ok {
		// After the first epoch's end: every check and every epoch at a
		// constant guess.
		if len(t.Epochs) == 0 || !t.hasVal() {
			return nil
		}
		for _, c := range t.Checks {
			if !t.checkAtChance(c) {
				return nil
			}
		}
		if !t.epochsAtChance() {
			return nil
		}
		conf, s = 0.7, checksAtChance{checks: len(t.Checks), since: first.Step}
	}
	latest := first.Step
	if n := len(t.Checks); n > 0 {
		latest = t.Checks[n-1].Step
	}
	if l := t.last(); l != nil {
		latest = max(latest, l.Step)
	}
	if s.since != first.Step || len(first.Layers) == 0 || latest < silentSteps {
		return nil
	}
	// The layers at the first check, read as an epoch's.
	ratio := t.asEpoch(train.Event{Step: first.Step, Layers: first.Layers}).gradientRatio()
	dead, worst, _, _ := deadReLUs(first.Layers)
	if ratio < 0.01 || dead > 0.5 || worst >= 0.999 {
		// The network could not learn from the start: the layer rules'.
		return nil
	}
	ev := map[string]float64{"silent_labels": 1, "since_step": float64(s.since),
		"chance_loss": h, "chance_accuracy": acc, "relative_lr": rel, "first_check_dead_fraction": dead}
	if s.checks > 0 {
		ev["checks_at_chance"] = float64(s.checks)
	}
	if finite(ratio) {
		ev["first_check_gradient_ratio"] = ratio
	}
	measured := fmt.Sprintf("training loss %.3g against a constant guess's %.3g, validation %.1f%%", s.stepLoss, h, 100*s.valAcc)
	if l := t.last(); l != nil {
		measured = fmt.Sprintf("training loss %.3g against a constant guess's %.3g, validation %.1f%%, for %d epochs", l.TrainLoss, h, 100*l.ValAccuracy, len(t.Epochs))
		ev["last_train_loss"], ev["val_accuracy"] = l.TrainLoss, l.ValAccuracy
	} else {
		ev["step_loss"], ev["check_val_accuracy"] = s.stepLoss, s.valAcc
	}
	layers := fmt.Sprintf("its units alive (%.0f%% dead)", 100*dead)
	if finite(ratio) {
		layers = fmt.Sprintf("the gradient reached its first layer (%.2g of the last layer's, relatively) and %s", ratio, layers)
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: fmt.Sprintf(
		"since step %d, at a usual rate, the network has answered with a constant guess (%s), though at %s %s: it could learn, and nothing in the images told their classes apart to it. "+
			"Labels that say nothing about their images do this: shuffled apart from them (a loader that orders images and labels differently, the label file of another split), or images blank or all alike; "+
			"look at a few training images beside their labels (the Data tab's samples) before changing the model or the rate: the dead units and vanishing gradients that follow come from the constant guess",
		s.since, measured, at, layers)}
}

// drownedLabels: the spec's data.label_noise p (0.1 or more) leaves the
// true class on a share 1 − p of the labels against p/(K−1) for each
// other class, so a network that learned the task perfectly would lower
// the loss only from ln K to the labels' own entropy H = −(1−p)·ln(1−p) −
// p·ln(p/(K−1)); when that is within a tenth of ln K (p ≥ 0.65 of ten
// classes; all of it at p = (K−1)/K, where the labels say nothing) and
// the run has sat at a constant guess from its first epoch on (every epoch's
// training loss at least 0.95·ln K, the validation accuracy's 95% interval
// reaching down to the largest class's share), the gradient the labels
// give is too faint against the batches' noise, and what else the
// run shows (dead units: dead_relu, which defers to this) follows from
// it. small-cnn on 20,000 Fashion-MNIST images, 3 epochs: with 70% of the
// labels wrong (H 2.15 against 2.30) the loss sat at 2.30 and validation
// at 9–10%, and the doctor named dead_relu 0.80 and underfitting; with
// 90%, dead_relu 0.80 first and the ceiling's label_noise 0.50 after it.
// Confidence 0.85; before the first epoch's end, 0.7 when the validation
// checks and step losses sit at a constant guess (stuckAtChance). The
// advice and fix are the planted noise's.
func drownedLabels(t *Telemetry) *train.Diagnosis {
	p, k := t.Spec.Data.LabelNoise, float64(t.classes())
	if p < 0.1 || t.Start == nil || t.diverged() {
		return nil
	}
	chance, acc := t.priorLoss()
	h := -(1-p)*math.Log(1-p) - p*math.Log(p/(k-1))
	if !(h >= 0.9*math.Log(k)) {
		return nil
	}
	ev := map[string]float64{"spec_label_noise": p, "label_ceiling": 1 - p, "label_entropy": h, "chance_loss": chance, "chance_accuracy": acc}
	conf, since := 0.85, ""
	var trainLoss, valAcc float64
	if s, ok := t.stuckAtChance(); ok {
		// Before the first epoch's end: the checks (stuckAtChance).
		conf, since = 0.7, fmt.Sprintf("since step %d", s.since)
		trainLoss, valAcc = s.stepLoss, s.valAcc
		ev["checks_at_chance"], ev["step_loss"], ev["check_val_accuracy"] = float64(s.checks), s.stepLoss, s.valAcc
	} else {
		if len(t.Epochs) < 1 || !t.hasVal() {
			return nil
		}
		for _, e := range t.Epochs {
			if lo, _ := ValCI(e.ValAccuracy, t.Start.ValSize); !(e.TrainLoss >= 0.95*chance) || lo > acc {
				return nil
			}
		}
		l := t.last()
		since, trainLoss, valAcc = fmt.Sprintf("for %d epochs", len(t.Epochs)), l.TrainLoss, l.ValAccuracy
		ev["last_train_loss"], ev["val_accuracy"] = trainLoss, valAcc
	}
	signal := fmt.Sprintf("a network that learned the task perfectly would lower the loss only from %.3g to %.3g (%.0f%%), a gradient too faint against the noise of the batches", math.Log(k), h, 100*(1-h/math.Log(k)))
	if h >= 0.999*math.Log(k) {
		signal = "the labels say nothing about the images"
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: fmt.Sprintf(
		"data.label_noise %g leaves the true class on %.0f%% of the training and validation labels against %.1f%% for each other class: %s, "+
			"so %s the network has answered with a constant guess (training loss %.3g, validation %.1f%%), and what else the run shows, dead units among it, follows from that; "+
			"set data.label_noise 0 (or far lower), and with real labels this unreliable fix them before training",
		p, 100*(1-p), 100*p/(k-1), signal, since, trainLoss, 100*valAcc)}
}

// plantedNoiseCeiling: the spec's data.label_noise p (0.1 or more) gave
// a share p of the training and validation labels another class, so a
// network that learned the task agrees with at most 1 − p of them; when
// the validation accuracy reaches 80% of that ceiling or more (no higher
// than it and 5 points) and the training accuracy is no more than 10
// points above validation (not memorizing the wrong labels, which is
// overfitting's to say), the plateau is the labels'. The network need not
// be sure of the true classes yet: mnist-cnn on 3,000 MNIST images with
// half the labels wrong, 6 epochs, reached 45% on training and 46% on
// validation, 86.1% on the test split's right labels, with 8.7% of its
// training images confidently wrong, under the bar of conviction, and the
// doctor called it healthy. Confidence 0.5; the advice and fix are the
// planted noise's.
func plantedNoiseCeiling(t *Telemetry) *train.Diagnosis {
	p := t.Spec.Data.LabelNoise
	if p < 0.1 || len(t.Epochs) < 2 || !t.hasVal() || t.diverged() {
		return nil
	}
	l := t.last()
	ceiling := 1 - p
	va := l.ValAccuracy
	if !(va >= 0.8*ceiling && va <= ceiling+0.05) || !(l.TrainAccuracy-va <= 0.1) {
		return nil
	}
	ev := map[string]float64{"spec_label_noise": p, "label_ceiling": ceiling, "val_accuracy": va, "accuracy_gap": l.TrainAccuracy - va}
	advice := fmt.Sprintf("data.label_noise %g gives %.0f%% of the training and validation labels another class, so a network that learned the task agrees with at most about %.0f%% of them: "+
		"the validation accuracy of %.1f%% is near that ceiling, and the plateau is the labels', not the network's", p, 100*p, 100*ceiling, 100*va)
	if r := t.Result; r != nil && finite(r.TestAccuracy) {
		ev["test_accuracy"] = r.TestAccuracy
		advice += fmt.Sprintf(" (the test labels are right: %.1f%% there)", 100*r.TestAccuracy)
	}
	advice += "; set data.label_noise 0, and with real noisy labels check the most confidently misclassified images first; " + limitText(t.Spec.Train)
	return &train.Diagnosis{Confidence: 0.5, Evidence: ev, Advice: advice}
}

// labelNoiseByConviction is the rule's reading of confident mistakes
// (the doc comment of checkLabelNoise).
func labelNoiseByConviction(t *Telemetry) *train.Diagnosis {
	if len(t.Epochs) < 2 || t.progress() <= 0.2 || t.diverged() {
		return nil
	}
	l := t.last()
	cw := l.ConfidentWrong
	errRate := 1 - l.TrainAccuracy
	share := cw / errRate
	// The better of the last two epochs: 45% of the labels wrong put
	// 12.4%, 10.5% and 12.3% of the training images confidently wrong at
	// epochs 5–7, and the finding was off at epoch 6 alone.
	if p := t.Epochs[len(t.Epochs)-2]; p.ConfidentWrong > cw && p.TrainAccuracy < 1 {
		cw, share = p.ConfidentWrong, max(share, p.ConfidentWrong/(1-p.TrainAccuracy))
	}
	// Label smoothing ε pulls every answer toward 1/K, so fewer cross the
	// bar of conviction: the bar is 0.1·(1−ε) (30% wrong with smoothing
	// 0.2 put 9–10% of the training images there, epoch after epoch, and
	// the finding came and went at 0.1).
	if !(cw >= 0.1*(1-t.Spec.Train.LabelSmoothing) && errRate >= 0.1) {
		return nil
	}
	spread, spreadOK := mistakeSpread(l.Confusion)
	minShare := 0.5
	if spreadOK {
		// The more evenly the mistakes spread, the fewer need conviction:
		// 45% of the labels wrong, or label smoothing 0.2 (which caps every
		// answer's probability), leave a quarter of them confident, spread
		// at 0.55–0.7 where clean runs reach 0.47.
		minShare -= 0.3 * ramp(spread, 0.4, 0.55)
	}
	if t.Spec.Data.LabelNoise >= 0.1 {
		// The spec says the labels are wrong: four in ten of the mistakes
		// confident suffice (35% of four classes' labels made wrong had
		// 0.45–0.65 of them confident over seeds 1–5, without the spread
		// that needs 8 classes).
		minShare = min(minShare, 0.4)
	}
	if !(share >= minShare) {
		// Most mistakes are unsure: a network still learning, or too
		// small for the task, not labels it disagrees with.
		return nil
	}
	ev := map[string]float64{"confident_wrong": cw, "train_error": errRate, "confident_share": share}
	if spreadOK {
		ev["mistake_spread"] = spread
	}
	if t.hasVal() {
		// The validation labels are as noisy as the training ones, so early
		// on both accuracies sit at the same ceiling; a wide gap is
		// overfitting's evidence, not this rule's.
		gap := l.TrainAccuracy - l.ValAccuracy
		ev["val_accuracy"], ev["accuracy_gap"] = l.ValAccuracy, gap
		if gap > 0.1 {
			return nil
		}
	}
	if c := checkClassImbalance(t); c != nil && c.Evidence["collapse"] == 1 {
		// Predicting the majority class for everything is confidently
		// wrong on every other class.
		return nil
	}
	conf := 0.25 + 0.35*ramp(share, 0.55, 0.85) + 0.3*ramp(cw, 0.1, 0.2)
	if spreadOK {
		conf += 0.2 * ramp(spread, 0.4, 0.7)
		if spread < 0.3 {
			// The mistakes gather on a few look-alike pairs, as a clean
			// run's do (0.17–0.27 on Fashion-MNIST): not random labels'.
			conf *= 0.5
		}
	}
	if t.Spec.Data.Augment.On() {
		// Training accuracy is measured on augmented images: some of the
		// confident mistakes are the augmentation's, not the labels'.
		conf *= 0.7
	}
	if t.relativeLR() >= 5 && t.constantSchedule() {
		// At a high constant rate the network jumps between confident
		// answers, so its confident mistakes say less about the labels.
		conf *= 0.5
	}
	if tl := t.trainLoss(); len(tl) >= 2 {
		if fall := 1 - tl[len(tl)-1]/tl[len(tl)-2]; fall >= 0.1 {
			// Still learning fast: the labels' floor is not reached yet,
			// and the mistakes may yet be learned.
			ev["last_loss_fall"] = fall
			conf *= 0.5
		}
	}
	if len(l.Confusion) >= 4 {
		if a, _, share, _, _ := topPair(l.Confusion); a >= 0 && share >= 0.6 {
			ev["pair_share"] = share
			conf *= 0.5
		}
	}
	limit := limitText(t.Spec.Train)
	if p := t.Spec.Data.LabelNoise; p > 0 {
		// The spec made the labels wrong itself: the finding is the
		// demonstration's, and the cure is to take the noise out.
		ev["spec_label_noise"] = p
		return &train.Diagnosis{Confidence: conf, Evidence: ev,
			Advice: fmt.Sprintf("about %.0f%% of the training examples are predicted as another class with conviction: they are the labels data.label_noise %g made wrong "+
				"(in validation too, which caps its accuracy near %.0f%%; the test labels are right); set data.label_noise 0, and with real noisy labels "+
				"check the most confidently misclassified images first; %s", 100*cw, p, 100*(1-p), limit)}
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev,
		Advice: fmt.Sprintf("about %.0f%% of the training examples are predicted as another class with conviction: check their labels "+
			"(the most confidently misclassified images first); %s", 100*cw, limit)}
}

// limitText is the label_noise advice's part on limiting the harm of wrong
// labels, for what the spec already does.
func limitText(tr spec.Train) string {
	smoothing, stopping := tr.LabelSmoothing >= 0.1, tr.EarlyStopping.Patience > 0
	switch {
	case smoothing && stopping:
		return fmt.Sprintf("train.label_smoothing %g and early stopping, both on, limit the harm but cannot make the labels right", tr.LabelSmoothing)
	case smoothing:
		return fmt.Sprintf("train.label_smoothing %g softens the answers but leaves the labels wrong; early stopping (train.early_stopping.patience 2, restore_best true) keeps the network from memorizing them", tr.LabelSmoothing)
	case stopping:
		return "early stopping (on) keeps the network from memorizing wrong labels, and train.label_smoothing 0.1 softens its answers to them"
	}
	return "train.label_smoothing 0.1 and early stopping keep the network from memorizing wrong labels"
}

// mistakeSpread is how evenly a confusion matrix's mistakes fall over its
// off-diagonal cells: the exponential of their entropy over the number of
// cells, 1 when every cell holds as many, 1/(K(K−1)) when one holds all.
// ok is false below 8 classes, where the measures that set its threshold
// were not taken (with fewer cells, look-alike pairs hold fewer of them and
// natural confusion spreads wider), or without mistakes.
func mistakeSpread(confusion [][]int) (spread float64, ok bool) {
	k := len(confusion)
	if k < 8 {
		return 0, false
	}
	total := 0
	for i, row := range confusion {
		if len(row) != k {
			return 0, false
		}
		for j, c := range row {
			if i != j {
				total += c
			}
		}
	}
	if total == 0 {
		return 0, false
	}
	h := 0.0
	for i, row := range confusion {
		for j, c := range row {
			if i != j && c > 0 {
				p := float64(c) / float64(total)
				h -= p * math.Log(p)
			}
		}
	}
	return math.Exp(h) / float64(k*(k-1)), true
}
