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
// contrast or saturation over 0.6, hue over 0.3, a vertical flip), and
// the last epoch's training accuracy (on augmented images) against its
// validation accuracy (on clean ones).
//
// Horizontal flips of digits (the mnist dataset): 0.6 whatever the curves
// say, 0.5 before the second epoch's curves (mnist-cnn on 3,000 MNIST images,
// flipped with p 0.5: 88.5% test against 95.4%, the training accuracy on
// flipped images only 1.6 points under validation, so no gap showed it).
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
	if !augmentOn(a) {
		return nil
	}
	strong := strongTransforms(t.Spec)
	mirrored := a.FlipHorizontal.On() && digits(t.Spec)
	ev := map[string]float64{"strong_transforms": float64(len(strong))}
	if mirrored {
		ev["mirrored_digits"] = 1
	}
	if len(t.Epochs) < 2 {
		if mirrored && len(strong) == 1 {
			// Known from the spec alone: said before the curves can.
			return &train.Diagnosis{Confidence: 0.5, Evidence: ev, Advice: mirrorText}
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
	case mirrored:
		// Whatever the curves say: a mirrored 3 is no 3.
		conf = 0.6
	case len(strong) == 0 && inverted >= 0.1 && ta < 0.9 && t.valStalled():
		conf = 0.4 + 0.25*ramp(inverted, 0.1, 0.25)
	default:
		return nil
	}
	if mirrored && len(strong) == 1 {
		return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: mirrorText}
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

// mirrorText is the advice on horizontal flips of digits.
const mirrorText = "remove data.augment.flip_horizontal: a mirrored digit is another shape (a 3 turns into an ε, a 7 into no digit at all), " +
	"so the flipped training images teach the network shapes the test digits never have; flips suit photographs of objects, not digits or letters"

func augmentOn(a spec.Augment) bool {
	for _, tr := range []spec.Transform{a.FlipHorizontal, a.FlipVertical, a.Crop, a.Shift, a.Rotation, a.Zoom,
		a.Brightness, a.Contrast, a.Saturation, a.Hue, a.Cutout} {
		if tr.On() {
			return true
		}
	}
	return false
}

// strongTransforms describes the transforms set beyond what usually
// keeps an image recognizable, as "data.augment.NAME (strength VALUE)".
func strongTransforms(s *spec.Spec) []string {
	a := s.Data.Augment
	var out []string
	for _, name := range strongTransformNames(s) {
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

// strongTransformNames lists the JSON names of the strong transforms;
// a vertical flip always counts, and on digits a horizontal one.
func strongTransformNames(s *spec.Spec) []string {
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
	if a.FlipVertical.On() {
		out = append(out, "flip_vertical")
	}
	if a.FlipHorizontal.On() && digits(s) {
		out = append(out, "flip_horizontal")
	}
	return out
}

// digits reports whether the spec trains on handwritten digits (MNIST),
// which a mirror turns into other shapes or into none.
func digits(s *spec.Spec) bool { return s.Data.Dataset == "mnist" }

// valStalled reports whether the best validation loss is 2 or more epochs
// old.
func (t *Telemetry) valStalled() bool {
	vl := t.valLoss()
	best := argmin(vl)
	return best >= 0 && len(vl)-1-best >= 2
}
