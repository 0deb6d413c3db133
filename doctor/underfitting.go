package doctor

import (
	"fmt"
	"math"
	"strings"

	"plateau/spec"
	"plateau/train"
)

// checkUnderfitting: the model cannot fit even the training split.
//
// Evidence: the last training accuracy, the change of the training loss
// over the last 3 epochs (loss_trend) and its fall per epoch over the last
// 4 (loss_slope, a least-squares fit of its logarithm, which one noisy
// epoch moves less), the validation accuracy next to it, the parameter
// count and the regularization in the spec.
//
// Thresholds: needs 3 epochs and no divergence; fires when the training
// accuracy is under 0.8, the training loss fell less than 2% an epoch
// (loss_slope > −0.02: a plateau, not a slow descent; convnetjs-cifar on
// the CIFAR-10 sample, its loss falling 2–3% an epoch, was called
// underfitting at epochs 7, 11, 12 and 15 of 20 and not between, when the
// rule read the change over the last 3 epochs against 5%) and validation
// accuracy (the better of the last two epochs) is not more than 0.05
// below training accuracy. When the spec's structure holds the network
// back the loss need not be flat, and that is said before the first epoch
// too, at 0.45: a hidden dense layer narrower than the number of classes
// (small-cnn with a dense layer of 4 units on 3,000 Fashion-MNIST images
// tested 36.5%, of 8 units 46.6%, of 16 82.3%, of 64 83.5%, its loss
// still falling 3% an epoch after 8; 0.8 when the layer's units are all
// dead and the run learned nothing), or a pooling to 1×1 of features that
// see at most half the image (spec.Model.LocalPools: small-cnn with its
// second pooling global, features of 8×8 pixels of 28×28, tested 54.1%
// and 66.6% after 30 epochs, the doctor said still_learning and then
// generic underfitting; a pooling of 4 then of 7, 67.6%, and 78.0% with
// 81.5% of the training images after 30 epochs; flattened instead, 84.1%
// and 83.3%), with a training accuracy under 0.9. With strong
// regularization (l1 above 0.001, l2 above 0.01 or weight_decay above
// 0.1) under 0.9 and 0.08, the loss flat up to a fall of 5% an epoch
// (small-cnn on 3,000 Fashion-MNIST images with l1 0.01: 71% on the
// training images against 88% without, its loss falling 5.5% over two
// epochs as the penalty and the data pull against each other).
// Confidence 0.55: it is the generic verdict, and the more specific rules
// (rate, gradients, augmentation, batch size) outrank it. It drops to 0.4
// when the rate is high and constant, which plateau_needs_lr_drop
// explains better (not for the structure). Silent beside blank_inputs.
// Silent when label_noise fires
// (but for the structure): wrong labels cap the training accuracy of a
// network that is large enough, and more capacity would learn them by
// heart. Silent when lr_too_low or lr_too_high fires: a run that crawls,
// or that its rate throws around (SGD at 0.1 with momentum 0.99, back at
// chance after its first epoch), says nothing about capacity; nor does
// one with most of its ReLU units dead (dead_relu).
//
// Held back by dropout (heavyDropout): a dropout rate of 0.5 or more,
// no augmentation, and training accuracy (dropout on) 0.1 or more below
// validation accuracy and under 0.9, whatever the loss does: 0.45 +
// 0.25 × ramp(val − train, 0.1, 0.25) (small-cnn with dropout 0.7 before
// and after its dense layer on 3,000 Fashion-MNIST images: 62% against
// 78% after 8 epochs, 75.9% test against 83.5% without). Silent beside
// lr_too_low too.
//
// Advice: a larger model (more filters, another conv block), less
// regularization (lower an l1 above 1e-4, an l2 above 1e-3, a
// weight_decay above 0.1; dropout), more epochs; held
// back by dropout, a lower rate; a narrow layer widened to twice the
// classes, a local pool flattened instead, first and alone.
func checkUnderfitting(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	narrow, units := narrowLayer(t)
	pools := t.Spec.Model.LocalPools()
	// structural: the spec alone shows what holds the network back.
	structural := narrow >= 0 || len(pools) > 0
	if blankInputs(t) {
		// Nothing in the images to fit: blank_inputs names it.
		return nil
	}
	if d := crushedByPenalty(t); d != nil {
		return d
	}
	if d := heavySmoothing(t); d != nil {
		return d
	}
	if n < 3 && !structural || t.diverged() {
		return nil
	}
	if n == 0 {
		// Said before the first epoch, below what a run's curves confirm.
		ev := map[string]float64{}
		return &train.Diagnosis{Confidence: 0.45, Evidence: ev, Advice: joinAdvice(structuralText(t, narrow, units, pools, ev)...)}
	}
	ta, tl := t.trainAcc(), t.trainLoss()
	trend := relChange(tl, 2)
	slope := logSlope(tl[max(0, n-4):])
	acc := ta[n-1]
	if d := heavyDropout(t, acc); d != nil && checkLRTooLow(t) == nil && !rawInputs(t) {
		// Not beside lr_too_low: a rate a hundredth of the usual one
		// leaves the training accuracy, dropout on, far below the
		// validation accuracy too (mnist-cnn at Adam 1e-5 on 3,000 MNIST
		// images: 48% against 70% after 6 epochs), and the dropout was
		// named first. Nor beside raw inputs: mnist-cnn on raw 0–255
		// MNIST images, 41% against 60%, was told to lower its dropout,
		// which at scale01 it keeps: 95.4% test against 53.3%.
		return d
	}
	// Strong L1, L2 or weight decay holds the training accuracy back where
	// a network would otherwise fit well: the bar is higher, the gap
	// allowed wider (a small validation split's noise), and the loss,
	// whose penalty the weights keep trading against the data, counts as
	// flat up to a fall of 5% an epoch.
	tr := t.Spec.Train
	strong := len(strongPenalties(tr)) > 0
	bar, slack, flat := 0.8, 0.05, -learningFall
	if strong {
		bar, slack, flat = 0.9, 0.08, -0.05
	}
	if structural {
		// What the structure holds back shows at any height under 0.9:
		// a pooling of 4 then of 7, after 30 epochs, fit 81.5% of its
		// training images where small-cnn fits all but a few.
		bar = 0.9
	}
	if !(acc < bar) || !(slope > flat) && !structural {
		return nil
	}
	ev := map[string]float64{"train_accuracy": acc, "loss_trend": trend, "loss_slope": slope, "l2": tr.L2}
	if tr.L1 > 0 {
		ev["l1"] = tr.L1
	}
	if t.Start != nil {
		ev["params"] = float64(t.Start.Params)
	}
	if t.hasVal() {
		// The better of the last two epochs: one epoch's dip in a small
		// validation split turned the finding off for that epoch.
		va := t.valAcc()
		ev["val_accuracy"] = va[n-1]
		if max(va[n-1], va[max(0, n-2)]) < acc-slack {
			return nil
		}
	}
	conf := 0.55
	if !structural && t.constantSchedule() && t.relativeLR() >= 3 {
		// A high constant rate, which plateau_needs_lr_drop explains
		// better; not what the spec's structure shows.
		conf = 0.4
	}
	if narrow >= 0 && deadAfter(t, narrow) >= 0.999 && t.progress() < 0.1 {
		// The narrow layer's few units all died: nothing reaches the
		// output (a dense layer of 3 units in mnist-cnn, at chance).
		ev["narrow_dead"] = 1
		conf = 0.8
	}
	if checkLRTooLow(t) != nil || checkLRTooHigh(t) != nil {
		// Weights that crawl, or that the rate throws around, say nothing
		// about the model's capacity: a larger model at the same rate
		// would do the same.
		return nil
	}
	if d := checkDeadReLU(t); !structural && d != nil && d.Evidence["mean_dead_fraction"] > 0.5 {
		// Most units dead: the capacity is there but unused, and a larger
		// model would lose its units the same way (convnetjs-cifar at
		// Adam 0.01, 61% of its units dead, was told to grow).
		return nil
	}
	if !structural && checkLabelNoise(t) != nil {
		// Wrong labels hold the training accuracy down, and a network
		// that is sure of the other class is not too small: more
		// capacity would learn the wrong labels by heart. (Capped under
		// label_noise instead, the finding hovered at the reporting
		// threshold and came and went from epoch to epoch.)
		return nil
	}
	// A bottleneck or a local pool is the finding; the generic remedies
	// follow only what the spec holds back besides.
	advice := structuralText(t, narrow, units, pools, ev)
	if aug := augmentedBehind(t, acc); !structural && aug != "" {
		ev["augmented_behind"] = 1
		advice = append(advice, aug)
	}
	if tr.L1 > 1e-4 {
		advice = append(advice, "lower train.l1, which pulls the weights to zero")
	}
	// Decoupled weight decay of 0.01 is usual and 0.1 still helped
	// fashion-fast on Fashion-MNIST (README): above 0.1 it is strong.
	if tr.L2 > 1e-3 || tr.WeightDecay > 0.1 {
		advice = append(advice, "lower train.l2 / train.weight_decay, which hold the weights back")
	}
	if !structural {
		advice = append(advice, "give the model more capacity (more filters, another conv block, a wider dense layer)", "train longer")
		if t.hasLayer(spec.Dropout) {
			advice = append(advice, "remove dropout until the training accuracy rises")
		}
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: joinAdvice(advice...)}
}

// rawInputs reports whether unnormalized_input is sure (0.9 or more) that
// the inputs are raw pixels: what the network learns then says little of
// anything else.
func rawInputs(t *Telemetry) bool {
	u := checkUnnormalizedInput(t)
	return u != nil && u.Confidence >= 0.9
}

// augmentedBehind is the advice when the network fits its augmented
// training images no better than the clean validation images (training
// accuracy acc, at most the validation accuracy): what it cannot fit is
// the augmented task, and weakening the augmentation comes before growing
// the model. convnetjs-cifar on the CIFAR-10 sample with rotation 30°,
// crop 4, brightness and contrast 0.4, each on every image (each at its
// strong bar, none over it), reached 32% on its training images and 34%
// on validation after 8 epochs, 38.7% test, and was told to grow; the
// same transforms at half strength test 43.6%. "" otherwise.
func augmentedBehind(t *Telemetry, acc float64) string {
	a := t.Spec.Data.Augment
	if !a.On() || !t.hasVal() || !(t.last().ValAccuracy >= acc) {
		return ""
	}
	var on []string
	for _, name := range augmentNames {
		tr := a.Transform(name)
		switch {
		case !tr.On():
		case strings.HasPrefix(name, "flip_"):
			on = append(on, fmt.Sprintf("%s (p %g)", name, tr.P))
		default:
			on = append(on, fmt.Sprintf("%s (strength %g, p %g)", name, tr.Strength, tr.P))
		}
	}
	return fmt.Sprintf("weaken the augmentation (data.augment: %s): the network gets %.0f%% of its augmented training images right and %.0f%% of the clean validation images, "+
		"so what it cannot fit is the augmented task; half the strengths first, then judge the capacity", strings.Join(on, ", "), 100*acc, 100*t.last().ValAccuracy)
}

// augmentNames are the augmentation's transforms, by their JSON names.
var augmentNames = []string{"flip_horizontal", "flip_vertical", "crop", "shift", "rotation", "zoom", "brightness", "contrast", "saturation", "hue", "cutout"}

// structuralText is the advice on what the spec alone shows holds the
// network back, a hidden dense layer narrower than the classes and
// poolings of local features to 1×1, with their evidence added to ev.
func structuralText(t *Telemetry, narrow, units int, pools []spec.LocalPool, ev map[string]float64) []string {
	var out []string
	if narrow >= 0 {
		ev["narrow_layer"], ev["narrow_units"] = float64(narrow), float64(units)
		text := narrowText(t, narrow, units)
		if ev["narrow_dead"] == 1 {
			text = fmt.Sprintf("%s's %d units are all dead (%s never fires), so nothing reaches the output: %s", t.Spec.Model.Layers[narrow].Name, units, t.Spec.Model.Layers[narrow+1].Name, text)
		}
		out = append(out, text)
	}
	for _, p := range pools {
		if _, ok := ev["local_pool_layer"]; !ok {
			ev["local_pool_layer"], ev["local_pool_field"], ev["local_pool_channels"] = float64(p.Index), float64(p.Field), float64(p.Channels)
		}
		out = append(out, localPoolText(t.Spec, p))
	}
	return out
}

// localPoolText is the advice on a pooling to 1×1 of local features.
func localPoolText(s *spec.Spec, p spec.LocalPool) string {
	l := s.Model.Layers[p.Index]
	name := l.Name
	if name == "" {
		name = fmt.Sprintf("model.layers[%d]", p.Index)
	}
	how := "mean"
	if l.Type == spec.MaxPool {
		how = "maximum"
	}
	return fmt.Sprintf("%s (%s) reduces each of %d feature maps of %d×%d to one number (its %s), and each feature sees only %d×%d pixels of an image %d across: "+
		"the layers after it learn which small patterns occur, not where, so shapes made of the same parts look alike; "+
		"flatten instead (model.layers[%d] a flatten layer), or add conv blocks before it until its features see the whole image",
		name, l.Type, p.Channels, p.Map, p.Map, how, p.Field, p.Field, p.Side, p.Index)
}

// heavyDropout is underfitting held back by dropout: a rate of 0.5 or
// more, and the training accuracy (measured with dropout on) 10 points or
// more below the validation accuracy (without it), under 0.9, with no
// augmentation to share the blame. The loss need not be flat: such a run
// learns slowly, and is told to drop less rather than to train longer.
func heavyDropout(t *Telemetry, acc float64) *train.Diagnosis {
	rate := 0.0
	for _, l := range t.Spec.Model.Layers {
		if l.Type == spec.Dropout {
			rate = max(rate, l.Rate)
		}
	}
	if rate < 0.5 || !t.hasVal() || t.Spec.Data.Augment.On() {
		return nil
	}
	va := t.last().ValAccuracy
	gap := va - acc
	if !(gap >= 0.1) || !(acc < 0.9) {
		return nil
	}
	return &train.Diagnosis{Confidence: 0.45 + 0.25*ramp(gap, 0.1, 0.25),
		Evidence: map[string]float64{"dropout_rate": rate, "train_accuracy": acc, "val_accuracy": va, "val_minus_train": gap},
		Advice: fmt.Sprintf("lower the dropout rate (%g now; 0.2–0.3 is usual): the network reaches %.0f%% on the training images with dropout on "+
			"and %.0f%% on the validation images without it, so dropout, not the model's size, holds it back", rate, 100*acc, 100*va)}
}

// deadAfter is the last epoch's dead fraction of the ReLU layer right
// after layer i of the spec, 0 when there is none.
func deadAfter(t *Telemetry, i int) float64 {
	layers := t.Spec.Model.Layers
	l := t.last()
	if l == nil || i+1 >= len(layers) {
		return 0
	}
	for _, s := range l.Layers {
		if s.Name == layers[i+1].Name && s.Type == "relu" {
			return s.DeadFraction
		}
	}
	return 0
}

// narrowText is the advice on a hidden dense layer narrower than the
// classes.
func narrowText(t *Telemetry, narrow, units int) string {
	name := t.Spec.Model.Layers[narrow].Name
	if name == "" {
		name = fmt.Sprintf("model.layers[%d]", narrow)
	}
	return fmt.Sprintf("widen %s (dense, %d units) to %d or more: every class's evidence has to pass through it, "+
		"and %d numbers are too few to tell %d classes apart", name, units, 2*t.classes(), units, t.classes())
}

// narrowLayer is the narrowest of the model's bottlenecks (hidden dense
// layers with fewer units than classes) and its units; -1 when there is
// none.
func narrowLayer(t *Telemetry) (index, units int) {
	index = -1
	for _, i := range t.Spec.Model.Bottlenecks() {
		if u := t.Spec.Model.Layers[i].Units; index < 0 || u < units {
			index, units = i, u
		}
	}
	return index, units
}

// logSlope is the least-squares slope of the logarithm of xs against
// their index: about the relative change per step. NaN for fewer than two
// values or one that is not positive.
func logSlope(xs []float64) float64 {
	logs := make([]float64, len(xs))
	for i, x := range xs {
		if !(x > 0) {
			return math.NaN()
		}
		logs[i] = math.Log(x)
	}
	return slope(logs)
}

// slope is the least-squares slope of xs against their index; NaN for
// fewer than two values.
func slope(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	mx := float64(len(xs)-1) / 2
	var sxy, sxx float64
	for i, x := range xs {
		dx := float64(i) - mx
		sxy += dx * x
		sxx += dx * dx
	}
	return sxy / sxx
}
