package doctor

import (
	"fmt"

	"plateau/train"
)

// checkTrainValLeakage: validation (or test) images also appear in the
// training split, so held-out accuracy measures memory.
//
// Evidence: the start event's val_duplicates and test_duplicates (held-out
// images with a byte-identical copy in the training split, counted by
// train.Duplicates), their fractions, and once known the gap between
// validation and test accuracy.
//
// Thresholds: fires when 2% or more of the validation (or test) images
// have a copy in the training split. Confidence 0.5 + 0.45 ×
// ramp(fraction, 0.02, 0.3).
//
// Halved beside blank_inputs: blank images are copies of one another.
//
// Advice: deduplicate the dataset before splitting (hash every image),
// then split; until then the validation accuracy is optimistic.
func checkTrainValLeakage(t *Telemetry) *train.Diagnosis {
	if t.Start == nil {
		return nil
	}
	s := t.Start
	var valFrac, testFrac float64
	if s.ValSize > 0 {
		valFrac = float64(s.ValDuplicates) / float64(s.ValSize)
	}
	if s.TestSize > 0 {
		testFrac = float64(s.TestDuplicates) / float64(s.TestSize)
	}
	frac := max(valFrac, testFrac)
	if frac < 0.02 {
		return nil
	}
	ev := map[string]float64{"val_duplicates": float64(s.ValDuplicates), "val_duplicate_fraction": valFrac,
		"test_duplicates": float64(s.TestDuplicates), "test_duplicate_fraction": testFrac}
	if l := t.last(); l != nil && t.Result != nil && finite(t.Result.TestAccuracy) && finite(l.ValAccuracy) {
		ev["val_minus_test_accuracy"] = l.ValAccuracy - t.Result.TestAccuracy
	}
	conf := 0.5 + 0.45*ramp(frac, 0.02, 0.3)
	if blankInputs(t) {
		// Blank images are copies of one another: blank_inputs names it.
		conf *= 0.5
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev,
		Advice: fmt.Sprintf("%d of %d validation images and %d of %d test images are exact copies of training images: deduplicate the dataset (hash every image) before splitting; until then held-out accuracy is optimistic",
			s.ValDuplicates, s.ValSize, s.TestDuplicates, s.TestSize)}
}
