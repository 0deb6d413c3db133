package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkTestShift: at the end of the run the test split scores far below
// the validation split, beyond what their sizes allow: the test images
// are not like the training ones the validation images were held out
// from (another source, camera, preprocessing or class mix), or the
// settings were chosen by validation accuracy over many runs.
//
// Evidence: the validation accuracy of the weights the test measured (the
// last epoch's, or the best epoch's when early stopping restored it) and
// the test accuracy, the gap, both 95% Wilson intervals (ValCI), and the
// class mix of the test split against the training split's (class_mix_tv,
// the total variation distance of the two class distributions: 0 the
// same, 1 disjoint; named in the advice from 0.1, when it is also three
// times what sampling alone gives).
//
// Thresholds: needs the result of a run that measured both splits, 100
// images or more in each; fires when the test interval's top is below the
// validation interval's bottom and the gap is 0.05 or more. Confidence
// 0.5 + 0.4 × ramp(gap, 0.05, 0.25), × 0.6 when the spec's simulated
// imbalance (data.imbalance) made the mix differ: the gap is then the
// imbalance's cost, class_imbalance's finding, and the advice says so;
// × 0.7 beside lr_too_low: a run that crawls is far from trained, and its
// rate comes first.
//
// Advice: look at test images beside training images; hold out validation
// images that come from where the test images come from (or mix the
// sources before splitting); with a different class mix, per-class recall
// says more than accuracy; and a validation split used to pick settings
// over many runs flatters them, so confirm a choice on data not used for
// it. No setting expresses that: Fix returns nil.
func checkTestShift(t *Telemetry) *train.Diagnosis {
	r := t.Result
	if r == nil || t.Start == nil || len(t.Epochs) == 0 || t.diverged() || !finite(r.TestAccuracy) {
		return nil
	}
	nv, nt := t.Start.ValSize, t.Start.TestSize
	if nv < 100 || nt < 100 {
		return nil
	}
	tested := t.Epochs[len(t.Epochs)-1]
	if t.Spec.Train.EarlyStopping.RestoreBest && r.BestEpoch > 0 {
		for _, e := range t.Epochs {
			if e.Epoch == r.BestEpoch {
				tested = e
			}
		}
	}
	va, ta := tested.ValAccuracy, r.TestAccuracy
	if !finite(va) {
		return nil
	}
	vlo, vhi := ValCI(va, nv)
	tlo, thi := ValCI(ta, nt)
	gap := va - ta
	if !(thi < vlo) || gap < 0.05 {
		return nil
	}
	ev := map[string]float64{"val_accuracy": va, "test_accuracy": ta, "gap": gap, "val_ci_low": vlo, "val_ci_high": vhi,
		"test_ci_low": tlo, "test_ci_high": thi}
	advice := fmt.Sprintf("the test split scores %.1f%% against %.1f%% on validation, beyond what %d and %d images allow: "+
		"the test images are not like the training images the validation ones were held out from; look at test images beside training images, "+
		"and hold out validation images from where the test images come from (or mix the sources before splitting)", 100*ta, 100*va, nv, nt)
	conf := 0.5 + 0.4*ramp(gap, 0.05, 0.25)
	if tv, noise, ok := classMixDistance(t.Start.ClassCounts, r.Confusion); ok {
		ev["class_mix_tv"] = tv
		if tv >= 0.1 && tv >= 3*noise {
			if im := t.Spec.Data.Imbalance; im > 0 && im < 1 {
				// The spec thinned the training and validation classes
				// itself: the test split keeps the original mix, and the
				// gap is what the imbalance costs the thinned classes.
				ev["imbalance"] = im
				conf *= 0.6
				advice = fmt.Sprintf("the test split scores %.1f%% against %.1f%% on validation: data.imbalance %g thins classes in the training and validation splits only, "+
					"so validation shares the imbalance and the test split, with every class at full strength, shows what it costs the thinned classes "+
					"(%.0f%% of the test images would have to change class to match the training mix); balance the classes (data.balance oversample or class_weights) "+
					"and judge by per-class recall", 100*ta, 100*va, im, 100*tv)
				return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
			}
			advice += fmt.Sprintf("; the test split's classes are mixed otherwise (%.0f%% of its images would have to change class to match the training split's mix), so per-class recall says more than accuracy", 100*tv)
		}
	}
	advice += "; a validation split used to pick settings over many runs flatters them, so confirm a choice on data not used for it"
	if checkLRTooLow(t) != nil {
		// A run that crawls is far from the weights it would settle on,
		// and the rate comes first: mnist-cnn at Adam 1e-5 on 20,000 MNIST
		// images, one epoch, validated 71.2% and tested 65.8% (the test
		// digits' writers are others), and the shift ranked above it.
		ev["far_from_trained"] = 1
		conf *= 0.7
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
}

// classMixDistance is the total variation distance between the class
// distribution of counts and that of a confusion matrix's rows (its true
// classes), and what sampling alone would give on average: two draws of
// those sizes from one distribution differ in each class's share by
// about √(2/π)·√(p(1−p)(1/n+1/m)).
func classMixDistance(counts []int, confusion [][]int) (tv, noise float64, ok bool) {
	if len(counts) == 0 || len(counts) != len(confusion) {
		return 0, 0, false
	}
	var n, m float64
	rows := make([]float64, len(confusion))
	for i, row := range confusion {
		for _, c := range row {
			rows[i] += float64(c)
		}
		m += rows[i]
		n += float64(counts[i])
	}
	if n == 0 || m == 0 {
		return 0, 0, false
	}
	for i := range counts {
		p, q := float64(counts[i])/n, rows[i]/m
		tv += math.Abs(p-q) / 2
		noise += math.Sqrt(2/math.Pi) * math.Sqrt(p*(1-p)*(1/n+1/m)) / 2
	}
	return tv, noise, true
}
