package doctor

import (
	"fmt"

	"plateau/train"
)

// checkBlankInputs: the images carry nothing to learn from. Every pixel of
// the first training batch, as the network sees it, has one value (all
// black, all white, all one grey: a loader that reads zeros, a decoder
// that failed quietly), or, unscaled or scaled to [0,1], the batch uses
// two neighbouring levels of 256 at most (floats in [0,1] written as
// bytes, which rounds every pixel to 0 or 1). A network then answers the
// same for every image whatever it is told: on 120 all-black 8×8 images
// of two classes mnist-cnn trained at its usual rate, the doctor said
// batch_size and lr_too_low ("raise train.lr": the weights barely moved,
// the first layer's input being zero) and the checks found every
// validation image a copy of a training image.
//
// Evidence: the start event's statistics of the first training batch
// (input_mean, input_std, input_span: its largest value minus its
// smallest) and, for a span of two levels, the normalization.
//
// Thresholds: a span of 0 (1e-6 of the values' size): 0.95; a span of at
// most 1.5/255 under scale01, or 1.5 raw: 0.9. lr_too_low, underfitting
// and label_noise's silentLabels are silent beside it, and
// train_val_leakage, whose copies are blank images, halves.
//
// Advice: look at the images (the Data tab's samples) and fix the loader
// or the files; no setting expresses it: Fix returns nil.
func checkBlankInputs(t *Telemetry) *train.Diagnosis {
	if t.Start == nil || t.Start.Input == nil {
		return nil
	}
	in := t.Start.Input
	span := in.Max - in.Min
	if !finite(span) {
		return nil
	}
	ev := map[string]float64{"input_mean": in.Mean, "input_std": in.Std, "input_span": span}
	look := "look at the images (the Data tab's samples) and fix the loader or the files before training: no setting can make up for them"
	if span <= 1e-6*max(1, in.Max, -in.Min) {
		return &train.Diagnosis{Confidence: 0.95, Evidence: ev, Advice: fmt.Sprintf(
			"every pixel of the first training batch is %.3g as the network sees it: the images are blank (all black, all white or one grey), "+
				"so there is nothing in them to learn and the network can only answer the same for every image; a loader that reads zeros, or a decoder that failed quietly, does this; %s", in.Mean, look)}
	}
	levels := 0.0
	switch t.Spec.Data.Normalization {
	case "scale01":
		levels = span * 255
	case "raw":
		levels = span
	default:
		return nil
	}
	if !(levels <= 1.5) {
		return nil
	}
	ev["levels"] = levels
	return &train.Diagnosis{Confidence: 0.9, Evidence: ev, Advice: fmt.Sprintf(
		"the first training batch uses %.0f neighbouring levels of 256 at most (values from %.3g to %.3g as the network sees them): the images are black, or nearly, "+
			"as floats in [0,1] written as bytes become (every pixel rounds to 0 or 1); %s", levels+1, in.Min, in.Max, look)}
}

// blankInputs reports whether checkBlankInputs finds the images blank:
// what the network does then says nothing of anything else.
func blankInputs(t *Telemetry) bool { return checkBlankInputs(t) != nil }
