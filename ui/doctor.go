package ui

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"plateau/protocol"
	"plateau/spec"
)

// Causes names the doctor's findings for people, by cause id.
var Causes = map[string]string{
	"unnormalized_input":      "Inputs are not normalized",
	"lr_too_high":             "Learning rate too high",
	"lr_too_low":              "Learning rate too low",
	"overfitting":             "Overfitting",
	"underfitting":            "Underfitting",
	"class_imbalance":         "Class imbalance",
	"augmentation_too_strong": "Augmentation too strong",
	"vanishing_gradients":     "Vanishing gradients",
	"exploding_gradients":     "Exploding gradients",
	"dead_relu":               "Dead ReLUs",
	"plateau_needs_lr_drop":   "Plateau: a lower rate would help",
	"batch_size":              "Batch size",
	"batchnorm_statistics":    "Batch-norm statistics lag",
	"val_set_too_small":       "Validation set too small to tell",
	"label_noise":             "Label noise",
	"train_val_leakage":       "Validation images also in training",
}

// CauseTitle is a finding's name for people.
func CauseTitle(cause string) string {
	if t, ok := Causes[cause]; ok {
		return t
	}
	return strings.ReplaceAll(cause, "_", " ")
}

// Diagnoses are the doctor's findings on the current run so far: those
// of the result once it has ended, else of the latest epoch.
func (r *Root) Diagnoses() []protocol.Diagnosis {
	run := r.Current
	if run == nil {
		return nil
	}
	if run.Result != nil && run.Result.Diagnoses != nil {
		return run.Result.Diagnoses
	}
	if e := r.LastEpoch(); e != nil {
		return e.Diagnoses
	}
	return nil
}

// DoctorStatus says what the doctor panel shows.
func (r *Root) DoctorStatus() string {
	run := r.Current
	switch {
	case run == nil:
		return ""
	case len(run.Epochs) == 0 && run.Result == nil:
		return "Findings appear after the first epoch and update with every epoch."
	case len(r.Diagnoses()) > 0:
		n := len(r.Diagnoses())
		when := fmt.Sprintf("after epoch %d", len(run.Epochs))
		if run.Result != nil {
			when = "at the end of the run"
		}
		return fmt.Sprintf("%d finding%s %s, most confident first.", n, plural(n), when)
	case run.Result != nil:
		return "No problem found above a low confidence: the run looks healthy."
	}
	return fmt.Sprintf("Nothing found after epoch %d; some rules need a few epochs of evidence.", len(run.Epochs))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ConfidencePercent is a finding's confidence for the bar's width.
func ConfidencePercent(d protocol.Diagnosis) string { return fmt.Sprintf("%.0f", 100*d.Confidence) }

// EvidenceItem is one number a finding read.
type EvidenceItem struct{ Name, Value string }

// Evidence lists a finding's numbers, by name.
func Evidence(d protocol.Diagnosis) []EvidenceItem {
	keys := make([]string, 0, len(d.Evidence))
	for k := range d.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]EvidenceItem, len(keys))
	for i, k := range keys {
		out[i] = EvidenceItem{strings.ReplaceAll(k, "_", " "), evidenceValue(d.Evidence[k])}
	}
	return out
}

func evidenceValue(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e6:
		return fmt.Sprintf("%.0f", v)
	case a >= 1e-3 && a < 1e4:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
	return fmt.Sprintf("%.3g", v)
}

// FixText shows a finding's fix as the settings it changes.
func FixText(d protocol.Diagnosis) string { return strings.Join(d.Fix, "  ") }

// TryFix forks the current run with finding i's fix: the same spec with
// the change, trained from the start and overlaid on the original. A run
// still training is stopped first and the fork starts when it has ended.
func (r *Root) TryFix(i int) {
	base := r.Current
	found := r.Diagnoses()
	if base == nil || base.Spec == nil || i < 0 || i >= len(found) || len(found[i].Fix) == 0 {
		return
	}
	d := found[i]
	s, err := applySets(base.Spec, d.Fix)
	if err != nil {
		r.Message = "the fix could not be applied: " + err.Error()
		return
	}
	if err := s.Validate(); err != nil {
		r.Message = "the fixed spec is invalid: " + err.Error()
		return
	}
	run := r.newRun(s, base.Dataset, fmt.Sprintf("%s + fix %s (%s)", shortName(base), d.Cause, strings.Join(d.Fix, ", ")))
	run.Parent = base.ID
	r.Spec = s.Clone()
	r.validate()
	r.Overlay = map[string]bool{base.ID: true, run.ID: true}
	r.enqueue(run)
	r.Notice = "trying the fix for " + CauseTitle(d.Cause) + ": " + strings.Join(d.Fix, ", ")
}

func shortName(run *Run) string {
	if i := strings.Index(run.Name, " + fix "); i > 0 {
		return run.Name[:i]
	}
	return run.Name
}

// applySets returns a copy of s with "path=value" changes.
func applySets(s *spec.Spec, sets []string) (*spec.Spec, error) {
	out := s.Clone()
	for _, kv := range sets {
		path, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not path=value", kv)
		}
		if err := out.Set(path, value); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LossMarks and AccuracyBands draw the current run's evidence on its
// curves: the epoch of the lowest validation loss when the doctor says
// it overfits or has stalled, the noise band of the validation accuracy
// when the validation set is too small to tell.
func (r *Root) LossMarks() []Mark {
	run := r.Current
	if run == nil || (r.overlaying() && !r.Overlay[run.ID]) {
		return nil
	}
	var marks []Mark
	for _, d := range r.Diagnoses() {
		switch d.Cause {
		case "overfitting":
			if e, ok := d.Evidence["best_val_loss_epoch"]; ok {
				marks = append(marks, Mark{X: e, Label: "val loss turns up after epoch " + evidenceValue(e), Color: "#dc2626"})
			}
		case "plateau_needs_lr_drop":
			if since, ok := d.Evidence["epochs_since_best"]; ok && len(run.Epochs) > 0 {
				e := float64(run.Epochs[len(run.Epochs)-1].Epoch) - since
				marks = append(marks, Mark{X: e, Label: "no progress since epoch " + evidenceValue(e), Color: "#ca8a04"})
			}
		case "lr_too_high", "exploding_gradients":
			if first := firstRise(run); first > 0 {
				marks = append(marks, Mark{X: first, Label: "loss rises from here", Color: "#dc2626"})
			}
		}
	}
	return marks
}

// firstRise is the first epoch whose training loss is above the one
// before, or 0.
func firstRise(run *Run) float64 {
	for i := 1; i < len(run.Epochs); i++ {
		a, b := run.Epochs[i-1].TrainLoss, run.Epochs[i].TrainLoss
		if !finite(b) || b > a {
			return float64(run.Epochs[i-1].Epoch)
		}
	}
	return 0
}

func (r *Root) AccuracyBands() []Band {
	run := r.Current
	if run == nil || (r.overlaying() && !r.Overlay[run.ID]) || len(run.Epochs) == 0 || run.Start == nil {
		return nil
	}
	var bands []Band
	for _, d := range r.Diagnoses() {
		if d.Cause != "val_set_too_small" && d.Cause != "overfitting" {
			continue
		}
		acc := run.Epochs[len(run.Epochs)-1].ValAccuracy
		lo, hi := wilson(acc, run.Start.ValSize)
		label := fmt.Sprintf("95%% interval of val accuracy (%d images)", run.Start.ValSize)
		if d.Cause == "overfitting" {
			if gap, ok := d.Evidence["accuracy_gap"]; ok {
				ta := run.Epochs[len(run.Epochs)-1].TrainAccuracy
				bands = append(bands, Band{Y0: ta - gap, Y1: ta, Label: "train–val gap " + Percent(gap), Color: "#dc2626"})
			}
			continue
		}
		bands = append(bands, Band{Y0: lo, Y1: hi, Label: label})
	}
	return bands
}

// wilson is the 95% Wilson score interval of an accuracy on n examples.
func wilson(p float64, n int) (lo, hi float64) {
	if n <= 0 || !finite(p) {
		return 0, 1
	}
	const z = 1.96
	nf := float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, mid-half), math.Min(1, mid+half)
}

func (r *Root) overlaying() bool {
	for _, on := range r.Overlay {
		if on {
			return true
		}
	}
	return false
}
