package ui

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"plateau/protocol"
	"plateau/spec"
)

// Doctor is the doctor's panel in the Run tab: the findings on the current
// run, most confident first, with their evidence, advice and fix.
type Doctor struct{ *Root }

// Causes names the doctor's findings for people, by cause id.
var Causes = map[string]string{
	"blank_inputs":            "Images are blank",
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
	"class_confusion":         "Classes mixed up",
	"test_shift":              "Test images unlike the training ones",
	"still_learning":          "Still learning when it ended",
}

// CauseTitle is a finding's name for people.
func CauseTitle(cause string) string {
	if t, ok := Causes[cause]; ok {
		return t
	}
	return strings.ReplaceAll(cause, "_", " ")
}

// DoctorStatus says what the doctor panel shows.
func (doc *Doctor) DoctorStatus() string {
	run := doc.Current
	switch {
	case run == nil:
		return ""
	case len(run.Epochs) == 0 && run.Result == nil && len(run.Early) > 0 && len(run.CheckAccuracy) > 0:
		n, k := len(run.Early), len(run.CheckAccuracy)
		return fmt.Sprintf("%s before the first epoch's end, from the data, the spec and the training so far (%s, latest %s); they update at every check.",
			spec.Count(n, "finding"), spec.Count(k, "validation check"), Percent(run.CheckAccuracy[k-1].Y))
	case len(run.Epochs) == 0 && run.Result == nil && len(doc.Diagnoses()) > 0:
		n := len(doc.Diagnoses())
		return fmt.Sprintf("%s from the data and the spec before the first epoch; more may come with every epoch.", spec.Count(n, "finding"))
	case len(run.Epochs) == 0 && run.Result == nil && len(run.CheckAccuracy) > 0:
		n := len(run.CheckAccuracy)
		return fmt.Sprintf("Nothing found in %s so far (latest %s): a rate far off, raw inputs the run struggles with or labels too noisy to learn from show here before the first epoch ends, the rest after it.",
			spec.Count(n, "validation check"), Percent(run.CheckAccuracy[n-1].Y))
	case len(run.Epochs) == 0 && run.Result == nil:
		return "Findings appear after the first epoch and update with every epoch."
	case len(doc.Diagnoses()) > 0:
		n := len(doc.Diagnoses())
		when := fmt.Sprintf("after epoch %d", len(run.Epochs))
		if run.Result != nil {
			when = "at the end of the run"
		}
		return fmt.Sprintf("%s %s, most confident first.", spec.Count(n, "finding"), when)
	case run.Result != nil:
		return "No problem found above a low confidence: the run looks healthy."
	}
	return fmt.Sprintf("Nothing found after epoch %d; some rules need a few epochs of evidence.", len(run.Epochs))
}

// ConfidencePercent is a finding's confidence for the bar's width.
func ConfidencePercent(d protocol.Diagnosis) string { return fmt.Sprintf("%.0f", 100*d.Confidence) }

// EvidenceItem is one number a finding read.
type EvidenceItem struct{ Name, Value string }

// Evidence lists a finding's numbers, by name, each with a label and in
// its unit (protocol.EvidenceText): "validation accuracy 77.3%", "class
// 6 (Shirt)".
func (doc *Doctor) Evidence(d protocol.Diagnosis) []EvidenceItem {
	keys := make([]string, 0, len(d.Evidence))
	for k := range d.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := protocol.EvidenceNames{Classes: doc.classes()}
	if run := doc.Current; run != nil && run.Spec != nil {
		m := run.Spec.Clone().Model
		m.Expand()
		for _, l := range m.Layers {
			names.Layers = append(names.Layers, l.Name)
		}
	}
	out := make([]EvidenceItem, len(keys))
	for i, k := range keys {
		out[i].Name, out[i].Value = protocol.EvidenceText(k, d.Evidence[k], names)
	}
	return out
}

// DataQuestion offers the data experiment on a finished run that looks
// healthy (under 98% validation accuracy: one that gets its validation
// images right has little left to gain) or overfits, where what limits
// it may be the number of images; "" for other runs (training, with
// another finding, trained on another dataset than the one loaded, or an
// arm of the experiment already).
func (doc *Doctor) DataQuestion() string {
	run := doc.Current
	if run == nil || run.Result == nil || run.Spec == nil || run.Imported != "" || run.Experiment == "data" ||
		doc.Dataset == nil || doc.Dataset.Name != run.Dataset {
		return ""
	}
	found := doc.Diagnoses()
	if n := len(run.Epochs); len(found) == 0 && n > 0 && run.Epochs[n-1].ValAccuracy < 0.98 {
		return "Would more images lift it further? The data experiment trains this spec on a quarter, half and all of the training images."
	}
	if slices.ContainsFunc(found, func(d protocol.Diagnosis) bool { return d.Cause == "overfitting" }) {
		return "Would more images help it generalize? The data experiment trains this spec on a quarter, half and all of the training images."
	}
	return ""
}

// RunDataExperiment trains the current run's spec on a quarter, half and
// all of the training images (the data experiment), in the worker; the
// spec becomes the page's, as a fix's does.
func (doc *Doctor) RunDataExperiment() {
	if doc.DataQuestion() == "" {
		return
	}
	doc.Spec = doc.Current.Spec.Clone()
	doc.validate()
	(&ExperimentsView{doc.Root}).RunExperiment("data")
}

// LooksAtImages reports whether a finding's cure is in the images, not in
// a setting: blank images, or labels that say nothing of their images.
// The panel offers to show them (ShowImages).
func LooksAtImages(d protocol.Diagnosis) bool {
	return d.Cause == "blank_inputs" || d.Cause == "label_noise" && d.Evidence["silent_labels"] == 1
}

// ShowImages opens the Data tab, whose samples show the images beside
// their labels.
func (doc *Doctor) ShowImages() { doc.Tab = "Data" }

// FixText shows a finding's fix as the settings it changes.
func FixText(d protocol.Diagnosis) string { return strings.Join(d.Fix, "  ") }

// TryFix forks the current run with finding i's fix: the same spec with
// the change, trained from the start and overlaid on the original. A run
// still training is stopped first and the fork starts when it has ended.
func (doc *Doctor) TryFix(i int) {
	base := doc.Current
	found := doc.Diagnoses()
	if base == nil || base.Spec == nil || i < 0 || i >= len(found) || len(found[i].Fix) == 0 {
		return
	}
	d := found[i]
	s, err := applySets(base.Spec, d.Fix)
	if err != nil {
		doc.Message = "the fix could not be applied: " + err.Error()
		return
	}
	if err := s.Validate(); err != nil {
		doc.Message = "the fixed spec is invalid: " + err.Error()
		return
	}
	run := doc.newRun(s, base.Dataset, fmt.Sprintf("%s + fix %s (%s)", shortName(base), d.Cause, strings.Join(d.Fix, ", ")))
	run.Parent = base.ID
	doc.Spec = s.Clone()
	doc.validate()
	doc.Overlay = map[string]bool{base.ID: true, run.ID: true}
	doc.enqueue(run)
	doc.Notice = "trying the fix for " + CauseTitle(d.Cause) + ": " + strings.Join(d.Fix, ", ")
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

// EarlierText names the findings the doctor made earlier in the current
// run and does not make now, with the epochs they were made at ("Label
// noise (epoch 6)"), so that a finding near its bar that comes and goes
// while the run trains is seen to have done so; "" when there are none.
func (doc *Doctor) EarlierText() string {
	run := doc.Current
	if run == nil {
		return ""
	}
	earlier := protocol.Earlier(run.before(), run.Epochs, run.diagnoses())
	if len(earlier) == 0 {
		return ""
	}
	parts := make([]string, len(earlier))
	for i, f := range earlier {
		parts[i] = fmt.Sprintf("%s (%s)", CauseTitle(f.Cause), protocol.EpochSpans(f.Epochs))
	}
	return "Named earlier in this run, not now: " + strings.Join(parts, "; ") + "."
}
