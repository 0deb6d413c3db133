package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkClassImbalance: some classes have far fewer training examples and
// the network sacrifices them, up to predicting the majority class for
// everything.
//
// Evidence: the start event's class_counts (imbalance_ratio = largest /
// smallest), the last epoch's validation recall of the weakest rare class
// (one with a third of the largest class's examples or fewer) and the mean
// recall of the common classes, and from the confusion matrix the share of
// predictions that go to the majority class against its share of the
// examples.
//
// Thresholds: needs an imbalance ratio ≥ 3. Fires when the weakest rare
// class's recall is below 0.6 × the common classes' mean, or the majority
// class receives 1.3 × its share of the predictions. Confidence 0.5 + 0.35 ×
// ramp(recall gap, 0.2, 0.7); 0.93 for a collapse (over 90% of the
// predictions on a class that holds under 80% of the examples). With
// data.balance already set, the confidence is multiplied by 0.6.
//
// Advice: data.balance oversample or class_weights, judge by per-class
// recall rather than accuracy, and collect more of the rare classes.
func checkClassImbalance(t *Telemetry) *train.Diagnosis {
	if t.Start == nil || len(t.Start.ClassCounts) < 2 {
		return nil
	}
	counts := t.Start.ClassCounts
	small, large := 0, 0
	for k, c := range counts {
		if c < counts[small] {
			small = k
		}
		if c > counts[large] {
			large = k
		}
	}
	if counts[small] == 0 {
		counts[small] = 1
	}
	ratio := float64(counts[large]) / float64(counts[small])
	if ratio < 3 {
		return nil
	}
	ev := map[string]float64{"imbalance_ratio": ratio, "largest_class": float64(large)}
	last := t.last()
	if last == nil || len(last.PerClassAccuracy) != len(counts) || len(last.Confusion) != len(counts) {
		return nil
	}
	// The rare classes (a third of the largest count or fewer) against the
	// common ones: the weakest rare class's recall against the mean recall
	// of the common classes.
	worst, common, commonN := math.Inf(1), 0.0, 0
	for k, c := range counts {
		r := last.PerClassAccuracy[k]
		if !finite(r) {
			continue
		}
		if 3*c <= counts[large] {
			if r < worst {
				worst, small = r, k
			}
		} else {
			common += r
			commonN++
		}
	}
	if commonN == 0 || math.IsInf(worst, 1) {
		return nil
	}
	rs, rl := worst, common/float64(commonN)
	ev["rare_class"], ev["rare_class_recall"], ev["common_class_recall"] = float64(small), rs, rl
	total, predicted, actual := 0, 0, 0
	for i, row := range last.Confusion {
		for j, c := range row {
			total += c
			if j == large {
				predicted += c
			}
			if i == large {
				actual += c
			}
		}
	}
	if total == 0 {
		return nil
	}
	predShare, trueShare := float64(predicted)/float64(total), float64(actual)/float64(total)
	ev["majority_prediction_share"], ev["majority_true_share"] = predShare, trueShare
	gap := rl - rs
	if !(rs < 0.6*rl) && !(predShare > 1.3*trueShare) {
		return nil
	}
	conf := 0.5 + 0.35*ramp(gap, 0.2, 0.7)
	if predShare > 0.9 && trueShare < 0.8 {
		ev["collapse"] = 1
		conf = 0.93
	}
	advice := "set data.balance to oversample or class_weights"
	if b := t.Spec.Data.Balance; b != "" && b != "none" {
		conf *= 0.6
		advice = fmt.Sprintf("data.balance is already %s: try the other remedy, a longer run, or more examples of class %d", b, small)
	}
	advice += fmt.Sprintf("; class %d has %d training examples against %d of class %d and %.0f%% recall against %.0f%%, so judge the run by per-class recall, not accuracy",
		small, counts[small], counts[large], large, 100*rs, 100*rl)
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
}
