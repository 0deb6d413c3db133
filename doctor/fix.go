package doctor

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"plateau/spec"
	"plateau/train"
)

// Fix turns a finding into spec changes, as "path=value" pairs for
// spec.Set (the command line's -set), so a page can fork the run with the
// change and compare: the first remedy of the finding's advice that a
// setting can express. It returns nil when the remedy is a change to the
// model's layers or to the data itself (vanishing gradients, duplicates
// across the split, two classes mixed up, a test split unlike the
// training data), which the advice describes instead. s is the run's
// expanded spec.
func Fix(d train.Diagnosis, s *spec.Spec) []string {
	tr := s.Train
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	switch d.Cause {
	case UnnormalizedInput:
		return []string{"data.normalization=scale01"}
	case LRTooHigh:
		return s.RateSets(0.1)
	case LRTooLow:
		if d.Evidence["decayed_epoch"] > 0 {
			// A schedule that froze the weights early: spread its decay
			// over the run.
			n := float64(max(1, tr.Epochs))
			switch tr.Schedule.Type {
			case "step":
				return []string{"train.schedule.every=" + num(max(2, math.Round(n/3)))}
			case "exponential":
				return []string{"train.schedule.gamma=" + num(math.Pow(0.1, 1/n))}
			case "reduce_on_plateau":
				return []string{fmt.Sprintf("train.schedule.patience=%d", max(3, 2*tr.Schedule.Patience))}
			}
			return nil
		}
		if norm := d.Evidence["grad_norm"]; clipCuts(norm, d.Evidence["grad_clip"]) {
			// A clip that cuts every step: the rate may be right.
			return []string{"train.grad_clip=" + clipFix(norm)}
		}
		if dampedEpsilon(s) {
			// The optimizer's own damping first: the rate may be right.
			return []string{"train.epsilon=1e-07"}
		}
		if plainSGD(s) {
			// Momentum 0.9 moves the weights ten times as far; a rate
			// under a tenth of momentum's usual 0.01 is raised as well.
			out := []string{"train.momentum=0.9"}
			if tr.LR < 1e-3 {
				out = append(out, s.RateSets(10)...)
			}
			return out
		}
		return s.RateSets(10)
	case Overfitting:
		switch {
		case tr.EarlyStopping.Patience == 0:
			return []string{`train.early_stopping={"patience":3,"restore_best":true}`}
		case tr.L2 == 0 && tr.WeightDecay == 0:
			return []string{"train.l2=0.0005"}
		case !s.Data.Augment.On():
			shift := []string{"data.augment.shift.p=0.5", "data.augment.shift.strength=0.1"}
			if kept, ok := d.Evidence["flip_horizontal_kept"]; ok && kept < flipKeepBar {
				return shift // mirrored, these images are another class's or none
			}
			return append([]string{"data.augment.flip_horizontal.p=0.5"}, shift...)
		}
		return nil
	case Underfitting:
		if fix := penaltyFixes(d.Evidence); d.Evidence["crushed"] == 1 && len(fix) > 0 {
			// Crushed by its penalty: the usual strengths.
			return fix
		}
		if d.Evidence["loss_room"] > 0 && d.Evidence["label_smoothing"] > 0 {
			// Targets smoothed to near uniform: the usual smoothing.
			return []string{"train.label_smoothing=0.1"}
		}
		if d.Evidence["dropout_rate"] >= 0.5 {
			// Held back by dropout: halve the heavy rates.
			var out []string
			for i, l := range s.Model.Layers {
				if l.Type == spec.Dropout && l.Rate >= 0.5 {
					out = append(out, fmt.Sprintf("model.layers[%d].rate=%s", i, num(l.Rate/2)))
				}
			}
			return out
		}
		if d.Evidence["augmented_behind"] == 1 {
			// The augmented task is what the network cannot fit: halve
			// the strength of every transform that has one.
			var out []string
			for _, name := range augmentNames {
				if tr := s.Data.Augment.Transform(name); tr.On() && tr.Strength > 0 {
					v := tr.Strength / 2
					if name == "crop" {
						v = math.Floor(v) // whole pixels
					}
					out = append(out, fmt.Sprintf("data.augment.%s.strength=%s", name, num(v)))
				}
			}
			if out != nil {
				return out
			}
		}
		if narrow, pools := s.Model.Bottlenecks(), s.Model.LocalPools(); len(narrow) > 0 || len(pools) > 0 {
			// What the spec holds back, and nothing else: widen the
			// hidden dense layers narrower than the classes, and flatten
			// where local features were pooled to 1×1.
			var out []string
			for _, i := range narrow {
				out = append(out, fmt.Sprintf("model.layers[%d].units=%d", i, 2*s.Model.Classes))
			}
			for _, p := range pools {
				// Named as it was: a later layer may read it by name.
				layer, _ := json.Marshal(spec.Layer{Type: spec.Flatten, Name: s.Model.Layers[p.Index].Name})
				out = append(out, fmt.Sprintf("model.layers[%d]=%s", p.Index, layer))
			}
			return out
		}
		if tr.L1 > 1e-4 {
			return []string{"train.l1=" + num(tr.L1/10)}
		}
		if tr.L2 > 1e-3 {
			return []string{"train.l2=" + num(tr.L2/10)}
		}
		// More capacity: double the width of every conv layer (to at least
		// 8 filters) and of every hidden dense layer (to at least twice
		// the classes: a narrower one is a bottleneck).
		var out []string
		last := len(s.Model.Layers) - 1
		for i, l := range s.Model.Layers {
			switch {
			case l.Type == spec.Conv2D:
				out = append(out, fmt.Sprintf("model.layers[%d].filters=%d", i, max(8, 2*l.Filters)))
			case l.Type == spec.Dense && i != last && l.Units > 0:
				out = append(out, fmt.Sprintf("model.layers[%d].units=%d", i, max(2*l.Units, 2*s.Model.Classes)))
			}
		}
		return append(out, "train.epochs="+strconv.Itoa(2*tr.Epochs))
	case ClassImbalance:
		if s.Data.Balance == "oversample" {
			return []string{"data.balance=class_weights"}
		}
		return []string{"data.balance=oversample"}
	case AugmentationTooStrong:
		var out []string
		for _, name := range strongTransformNames(s, d.Evidence) {
			out = append(out, "data.augment."+name+".p=0")
		}
		if out == nil {
			out = []string{"data.augment={}"}
		}
		return out
	case ExplodingGradients:
		if tr.GradClip == 0 {
			return []string{"train.grad_clip=1"}
		}
		return []string{"train.lr=" + num(tr.LR/10)}
	case DeadReLU:
		return s.RateSets(0.1)
	case PlateauNeedsLRDrop:
		every := max(2, tr.Epochs/3)
		return []string{fmt.Sprintf(`train.schedule={"type":"step","factor":0.1,"every":%d}`, every)}
	case BatchSize:
		if d.Evidence["batchnorm_layers"] > 0 && tr.BatchSize < 8 {
			return []string{"train.batch_size=16"}
		}
		if _, ok := d.Evidence["train_size"]; !ok {
			// A finding without its numbers (an older run's log).
			return []string{fmt.Sprintf("train.batch_size=%d", min(32, max(16, tr.BatchSize/2)))}
		}
		n, perEpoch := int(d.Evidence["train_size"]), int(d.Evidence["steps_per_epoch"])
		if b := smallerBatch(n, tr.BatchSize); b > 0 {
			return []string{fmt.Sprintf("train.batch_size=%d", b)}
		}
		if perEpoch > 0 && moreEpochs(perEpoch) > tr.Epochs {
			return []string{fmt.Sprintf("train.epochs=%d", moreEpochs(perEpoch))}
		}
		return nil
	case BatchNormStatistics:
		var out []string
		for i, l := range s.Model.Layers {
			if l.Type == spec.BatchNorm {
				out = append(out, fmt.Sprintf("model.layers[%d].momentum=0.9", i))
			}
		}
		return out
	case ValSetTooSmall:
		return []string{"data.validation=" + num(max(0.2, min(0.3, s.Data.Validation*2)))}
	case LabelNoise:
		if s.Data.LabelNoise > 0 {
			return []string{"data.label_noise=0"}
		}
		if d.Evidence["silent_labels"] == 1 {
			// Labels that say nothing: no setting mends them.
			return nil
		}
		switch {
		case tr.LabelSmoothing < 0.1:
			return []string{"train.label_smoothing=0.1"}
		case tr.EarlyStopping.Patience == 0:
			return []string{`train.early_stopping={"patience":2,"restore_best":true}`}
		}
		return nil
	case StillLearning:
		if d.Evidence["stopped_early"] == 1 {
			out := []string{fmt.Sprintf("train.early_stopping.patience=%d", max(3, 2*tr.EarlyStopping.Patience))}
			if tr.EarlyStopping.Monitor == "val_accuracy" {
				out = append(out, "train.early_stopping.monitor=val_loss")
			}
			if tr.EarlyStopping.MinDelta > 0 {
				out = append(out, "train.early_stopping.min_delta=0")
			}
			return out
		}
		if d.Evidence["stopped_by_time_limit"] == 1 {
			return []string{"train.time_limit_seconds=" + twiceTheTime(tr)}
		}
		return []string{fmt.Sprintf("train.epochs=%d", 2*tr.Epochs)}
	}
	return nil
}

// rateText says what s.RateSets(f) sets, for advice: "train.lr to 0.0001",
// and "and train.schedule.max_lr to 0.002" where the schedule has rates of
// its own.
func rateText(s *spec.Spec, f float64) string {
	var parts []string
	for _, kv := range s.RateSets(f) {
		path, value, _ := strings.Cut(kv, "=")
		parts = append(parts, path+" to "+value)
	}
	return strings.Join(parts, " and ")
}
