package doctor

import (
	"fmt"
	"strings"

	"plateau/spec"
	"plateau/train"
)

// checkAugmentationTooStrong: the augmented training images no longer
// look like their class (or like the validation images).
//
// Evidence: the augmentation settings and which of them are strong
// (strong_transforms: rotation over 30°, shift over 0.2, zoom over 0.3,
// crop over a quarter of the image, cutout over 0.4, brightness over 0.4,
// contrast or saturation over 0.6, hue over 0.3, and a flip that makes
// the images unlike their class), and the last epoch's training accuracy
// (on augmented images) against its validation accuracy (on clean ones).
//
// Flips are judged on the data (the start event's Mirror): a flip is
// strong when flipped training images keep under 70% of their matches
// above chance to their own class's mean image (flip_*_kept): on 3,000
// training images, MNIST mirrored keeps 50% and upside down 16%,
// Fashion-MNIST mirrored 81% and upside down 50%, the CIFAR-10 sample
// mirrored all and upside down 51%. Without the measurement a vertical
// flip counts as strong and a horizontal one does not. Such a flip is
// said whatever the curves show: 0.6, and 0.5 before the second epoch's
// curves (mnist-cnn on 3,000 MNIST images flipped left to right with p
// 0.5: 88.5% test against 95.4%, the training accuracy on flipped images
// only 1.6 points under validation; small-cnn on 3,000 Fashion-MNIST
// images flipped upside down: 79.8% against 83.5%, no gap at the end).
//
// Thresholds: needs augmentation and 2 epochs, and a validation accuracy
// under 0.98 (when the clean images are all but all right, the
// augmentation is not what holds them back). With a strong transform
// on, fires when training accuracy stays under 0.8, or validation
// accuracy exceeds it by 0.03 or more with training accuracy under 0.9:
// confidence 0.7 + 0.25 × ramp(val − train, 0.03, 0.2). With mild
// transforms only, validation accuracy must exceed training accuracy by
// 0.1 (training mode, dropout and mild augmentation alone open a few
// points) and the validation loss must have stopped improving (its best
// is 2 or more epochs old): 0.4 + 0.25 × ramp(val − train, 0.1, 0.25).
//
// Advice: weaken or remove the strong transforms (named with their
// values); keep the ones that preserve the label (a small shift, a
// horizontal flip for natural images).
func checkAugmentationTooStrong(t *Telemetry) *train.Diagnosis {
	a := t.Spec.Data.Augment
	if !a.On() {
		return nil
	}
	ev := map[string]float64{}
	var flips []string // on, measured, and unlike their class
	for _, name := range []string{"flip_horizontal", "flip_vertical"} {
		if !a.Transform(name).On() {
			continue
		}
		if kept, ok := t.flipKept(name); ok {
			ev[name+"_kept"] = kept
			if kept < flipKeepBar {
				flips = append(flips, name)
			}
		}
	}
	strong := strongTransforms(t.Spec, ev)
	ev["strong_transforms"] = float64(len(strong))
	flipsOnly := len(flips) > 0 && len(flips) == len(strong)
	if len(t.Epochs) < 2 {
		if flipsOnly {
			// Known from the data alone: said before the curves can.
			return &train.Diagnosis{Confidence: 0.5, Evidence: ev, Advice: t.flipText(flips)}
		}
		return nil
	}
	last := t.last()
	ta := last.TrainAccuracy
	ev["train_accuracy"] = ta
	inverted := 0.0
	if t.hasVal() {
		if last.ValAccuracy >= 0.98 {
			return nil
		}
		inverted = last.ValAccuracy - ta
		ev["val_accuracy"], ev["val_minus_train"] = last.ValAccuracy, inverted
	}
	var conf float64
	switch {
	case len(strong) > 0 && (ta < 0.8 || inverted >= 0.03 && ta < 0.9):
		conf = 0.7 + 0.25*ramp(inverted, 0.03, 0.2)
	case len(flips) > 0:
		// Whatever the curves say: a mirrored 3 is no 3.
		conf = 0.6
	case len(strong) == 0 && inverted >= 0.1 && ta < 0.9 && t.valStalled():
		conf = 0.4 + 0.25*ramp(inverted, 0.1, 0.25)
	default:
		return nil
	}
	if flipsOnly {
		return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: t.flipText(flips)}
	}
	advice := "weaken the augmentation"
	if len(strong) > 0 {
		advice = "weaken or remove " + strings.Join(strong, ", ")
	}
	advice += fmt.Sprintf(": the network reaches %.0f%% on augmented training images", 100*ta)
	if t.hasVal() {
		advice += fmt.Sprintf(" and %.0f%% on clean validation images", 100*last.ValAccuracy)
	}
	advice += "; keep transforms that preserve the label, such as a small shift or a horizontal flip of natural images"
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
}

// flipKeepBar is the share of its class matches above chance a flip must
// keep to preserve the label.
const flipKeepBar = train.FlipKeepBar

// flipKept returns the share of the training images' matches above chance
// to their class's mean image that a flip ("flip_horizontal" or
// "flip_vertical") keeps, from the start event's Mirror; false when the
// run did not measure it or the matches are too few to tell.
func (t *Telemetry) flipKept(name string) (float64, bool) {
	if t.Start == nil {
		return 0, false
	}
	return t.Start.Mirror.Kept(t.classes(), name == "flip_vertical")
}

// flipText is the advice on flips that make the images unlike their class.
func (t *Telemetry) flipText(flips []string) string {
	m := t.Start.Mirror
	var names, views, shares []string
	for _, name := range flips {
		names = append(names, "data.augment."+name)
		if name == "flip_vertical" {
			views, shares = append(views, "upside down"), append(shares, fmt.Sprintf("%.0f%%", 100*m.Vertical))
		} else {
			views, shares = append(views, "mirrored"), append(shares, fmt.Sprintf("%.0f%%", 100*m.Horizontal))
		}
	}
	return fmt.Sprintf("remove %s: %s, these images no longer look like their class "+
		"(%s of %s sampled training images lie nearest their own class's mean image, against %.0f%% as they are; chance %.0f%%), "+
		"so the network learns views its test images never show; flips suit images seen both ways, such as photographs of objects from either side",
		strings.Join(names, " and "), strings.Join(views, " and "), strings.Join(shares, " and "),
		spec.Thousands(m.Sample), 100*m.Match, 100/float64(t.classes()))
}

// strongTransforms describes the transforms set beyond what usually
// keeps an image recognizable, as "data.augment.NAME (strength VALUE)";
// ev holds the flips' measured flip_*_kept (see strongTransformNames).
func strongTransforms(s *spec.Spec, ev map[string]float64) []string {
	a := s.Data.Augment
	var out []string
	for _, name := range strongTransformNames(s, ev) {
		tr := a.Transform(name)
		if strings.HasPrefix(name, "flip_") {
			out = append(out, fmt.Sprintf("data.augment.%s (p %g)", name, tr.P))
		} else {
			out = append(out, fmt.Sprintf("data.augment.%s (strength %g)", name, tr.Strength))
		}
	}
	return out
}

// strongLimits is the strength above which each transform counts as
// strong; crop's is a quarter of the image side, filled in by
// strongTransformNames.
var strongLimits = []struct {
	name  string
	limit float64
}{
	{"rotation", 30}, {"shift", 0.2}, {"zoom", 0.3}, {"crop", 0}, {"cutout", 0.4},
	{"brightness", 0.4}, {"contrast", 0.6}, {"saturation", 0.6}, {"hue", 0.3},
}

// strongTransformNames lists the JSON names of the strong transforms. A
// flip is strong when ev's NAME_kept, measured on the data, is under
// flipKeepBar; unmeasured, a vertical flip is and a horizontal one is not.
func strongTransformNames(s *spec.Spec, ev map[string]float64) []string {
	a, input := s.Data.Augment, s.Model.Input
	size := 32.0
	if len(input) >= 2 {
		size = float64(min(input[0], input[1]))
	}
	var out []string
	for _, l := range strongLimits {
		limit := l.limit
		if l.name == "crop" {
			limit = size / 4
		}
		if tr := a.Transform(l.name); tr.On() && tr.Strength > limit {
			out = append(out, l.name)
		}
	}
	for _, name := range []string{"flip_horizontal", "flip_vertical"} {
		if !a.Transform(name).On() {
			continue
		}
		if kept, ok := ev[name+"_kept"]; ok && kept < flipKeepBar || !ok && name == "flip_vertical" {
			out = append(out, name)
		}
	}
	return out
}

// valStalled reports whether the best validation loss is 2 or more epochs
// old.
func (t *Telemetry) valStalled() bool {
	vl := t.valLoss()
	best := argmin(vl)
	return best >= 0 && len(vl)-1-best >= 2
}
