package ui

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"plateau/protocol"
	"plateau/spec"
)

// RunView is the Run tab: the current run's result, evaluation, curves,
// confusion, layer statistics and galleries, with the doctor beside them.
type RunView struct{ *Root }

// ResultText summarizes the current run's end.
func (rv *RunView) ResultText() string {
	run := rv.Current
	if run == nil || run.Result == nil {
		return ""
	}
	e := run.Result
	s := fmt.Sprintf("stopped: %s after %s", e.Stopped, spec.Count(e.Epochs, "epoch"))
	if finite(e.TestAccuracy) {
		s += fmt.Sprintf(" · test accuracy %.2f%%", 100*e.TestAccuracy)
	}
	if e.Reason != "" {
		s += " · " + e.Reason
	}
	return s
}

// BackendText says where the current run trains, and on how many images
// once it has started.
func (rv *RunView) BackendText() string {
	run := rv.Current
	if run == nil {
		return ""
	}
	if run.Imported != "" {
		return "weights from a file, not trained here"
	}
	where := "trained in this browser's worker"
	switch {
	case run.Server == "":
	case run.Backend == "":
		where = "trained on the server"
	default:
		where = "trained on the server, backend " + backendLabel(run.Backend)
	}
	return where + splitText(run.Start)
}

// splitText says how many images a run trains, validates and tests on.
func splitText(start *protocol.Event) string {
	if start == nil || start.TrainSize == 0 {
		return ""
	}
	s := " · " + Count(start.TrainSize) + " training"
	if start.ValSize > 0 {
		s += ", " + Count(start.ValSize) + " validation"
	}
	return s + " and " + Count(start.TestSize) + " test images"
}

// backendLabel shortens a backend's name for the page: XLA with a plugin
// by path ("xla:/…/jax_plugins/xla_cuda13/xla_cuda_plugin.so") is named by
// the plugin's folder ("xla, xla_cuda13").
func backendLabel(b string) string {
	kind, plugin, ok := strings.Cut(b, ":")
	if !ok || !strings.Contains(plugin, "/") {
		return b
	}
	dir := path.Dir(plugin)
	if name := path.Base(dir); name != "." && name != "/" {
		return kind + ", " + name
	}
	return kind + ", " + path.Base(plugin)
}

// QueueText says what waits to train.
func (rv *RunView) QueueText() string {
	if len(rv.Queue) == 0 {
		return ""
	}
	names := make([]string, len(rv.Queue))
	for i, q := range rv.Queue {
		names[i] = q.Name
	}
	return "next: " + strings.Join(names, " · ")
}

// ImportedText describes the current run's imported weights.
func (rv *RunView) ImportedText() string {
	run := rv.Current
	s := "weights imported from " + run.Imported
	if w := run.Weights; w != nil {
		s += fmt.Sprintf(": %d tensors, %s trainable parameters", w.Tensors, Count(w.Params))
		if w.State > 0 {
			s += fmt.Sprintf(" and %d running statistics", w.State)
		}
		if w.Model != "" {
			s += fmt.Sprintf(", saved for model %q", w.Model)
		}
	}
	return s
}

// Evaluate measures the current run's weights on the validation and test
// splits of the loaded dataset: a run training in the worker between two
// steps, a finished one from its stored weights.
func (rv *RunView) Evaluate() {
	run := rv.Current
	if !rv.CanEvaluate() {
		return
	}
	rv.evaluating = run.ID
	if rv.Running() {
		rv.Host.Send(protocol.NewCommand(run.ID, protocol.CmdEvaluate))
		return
	}
	rv.weightsInWorker = true
	rv.withWeights(run, func(b []byte) {
		if b == nil {
			rv.evaluated()
			rv.Message = "this run has no stored weights to evaluate"
			return
		}
		c := protocol.NewCommand(run.ID, protocol.CmdEvaluate)
		c.Spec, c.Bytes = run.Spec, b
		rv.Host.Send(c)
	})
}

// withWeights calls done with a run's weights: those the page holds, or
// the stored ones (nil when there are none).
func (rv *RunView) withWeights(run *Run, done func([]byte)) {
	if run.weights != nil {
		done(run.weights)
		return
	}
	rv.Host.LoadWeights(run.ID, done)
}

// CanEvaluate reports whether the current run's weights can be measured
// now: a run training in the worker, or a finished run with weights while
// the worker is free and a dataset is loaded.
func (rv *RunView) CanEvaluate() bool {
	run := rv.Current
	if run == nil || rv.evaluating != "" || rv.Dataset == nil {
		return false
	}
	if rv.Running() {
		return run.Server == "" && run.started && !run.queued
	}
	return run.State == protocol.StateDone && run.HasWeights && rv.workerRun() == nil && rv.lrFindRun == "" && len(rv.Queue) == 0
}

// Evaluating reports whether the worker is measuring a run's weights.
func (rv *RunView) Evaluating() bool { return rv.evaluating != "" }

// EvaluationRow is one split of an evaluation, as text.
type EvaluationRow struct{ Split, Images, Loss, Accuracy, AccuracyValue string }

// EvaluationTitle says what the current run's evaluation measured.
func (rv *RunView) EvaluationTitle() string {
	ev := rv.Current.Evaluation
	s := "Evaluation on " + ev.Dataset
	if ev.Step > 0 {
		s += fmt.Sprintf(" after %s steps", Count(ev.Step))
	} else {
		s += ", stored weights"
	}
	return s
}

// EvaluationRows lists the current run's evaluation by split.
func (rv *RunView) EvaluationRows() []EvaluationRow {
	ev := rv.Current.Evaluation
	var rows []EvaluationRow
	for _, part := range []struct {
		name  string
		score *protocol.Score
	}{{"validation", ev.Val}, {"test", ev.Test}} {
		if sc := part.score; sc != nil {
			rows = append(rows, EvaluationRow{part.name, strconv.Itoa(sc.Images), fmt.Sprintf("%.4g", float64(sc.Loss)), Percent(float64(sc.Accuracy)),
				strconv.FormatFloat(float64(sc.Accuracy), 'g', -1, 64)})
		}
	}
	return rows
}

// EvaluationConfusion is the heatmap of one split of the current run's
// evaluation ("val" or "test").
func (rv *RunView) EvaluationConfusion(split string) string {
	ev := rv.Current.Evaluation
	sc := ev.Test
	if split == "val" {
		sc = ev.Val
	}
	if sc == nil {
		return `<p class="muted">no images in this split</p>`
	}
	return Heatmap(sc.Confusion, rv.classes(), 220)
}

// ContinueTraining starts a run from the current run's weights: its model,
// with the current training and data settings.
func (rv *RunView) ContinueTraining() {
	rv.continueRun(rv.CanContinue, "", func(src *Run, s *spec.Spec, name string, weights []byte) {
		run := rv.newRun(s, rv.Dataset.Name, name)
		run.Parent, run.from = src.ID, weights
		rv.enqueue(run)
	})
}

// ContinueOnServer sends the current run's model and weights, with the
// current training and data settings, to the server's jobs API: a run
// trained in this browser goes on there (on its GPU, when it has one).
func (rv *RunView) ContinueOnServer() {
	rv.continueRun(rv.CanContinueOnServer, " · server", func(src *Run, s *spec.Spec, name string, weights []byte) {
		run, err := rv.submitToServer(s, name, weights)
		if err != nil {
			rv.Message = err.Error()
			return
		}
		run.Parent = src.ID
		rv.Current, rv.Tab = run, "Run"
	})
}

// continueRun reads the current run's stored weights and hands start the
// spec a run continuing it trains (its model, the current training and
// data settings) and that run's name; can says whether it still may once
// the weights are read.
func (rv *RunView) continueRun(can func() bool, where string, start func(src *Run, s *spec.Spec, name string, weights []byte)) {
	src := rv.Current
	if !can() || !rv.ready() {
		return
	}
	rv.withWeights(src, func(b []byte) {
		if b == nil {
			rv.Message = "this run has no stored weights to continue from"
			return
		}
		if !can() {
			return
		}
		s := rv.Spec.Clone()
		s.Model = src.Spec.Clone().Model
		start(src, s, fmt.Sprintf("%s · continues #%d%s", RunName(rv.Dataset.Name, s), rv.index(src), where), b)
	})
}

// CanContinueOnServer reports whether the current run can go on on the
// server now: it has finished with weights, and the server has the loaded
// dataset.
func (rv *RunView) CanContinueOnServer() bool {
	run := rv.Current
	return run != nil && run.State == protocol.StateDone && run.HasWeights && run.Spec != nil && rv.Valid() && rv.OnServer()
}

// CanContinue reports whether a run can start from the current run's
// weights now.
func (rv *RunView) CanContinue() bool {
	run := rv.Current
	return run != nil && run.State == protocol.StateDone && run.HasWeights && run.Spec != nil && rv.Valid() && rv.Dataset != nil &&
		rv.workerRun() == nil && len(rv.Queue) == 0 && rv.lrFindRun == "" && rv.evaluating == ""
}

// LRChart plots the rate the current run trained at.
func (rv *RunView) LRChart() string {
	var pts []Point
	if rv.Current != nil {
		pts = rv.Current.StepLR
	}
	return LineChart{Title: "learning rate", XLabel: "epoch", WholeX: true, Width: 460, Height: 160, LogY: true, Series: []Series{{Name: "lr", Points: pts}}}.SVG()
}

// Confusion is the heatmap of the latest validation confusion matrix (the
// test one once the run has ended).
func (rv *RunView) Confusion() string {
	e := rv.LastEpoch()
	if rv.Current != nil && rv.Current.Result != nil && rv.Current.Result.Confusion != nil {
		e = rv.Current.Result
	}
	if e == nil {
		return `<p class="muted">after the first epoch</p>`
	}
	return Heatmap(e.Confusion, rv.classes(), 340, rv.confusionMark()...)
}

// confusionMark is what the doctor's class_confusion finding outlines on
// the heatmap: its two classes, or its one.
func (rv *RunView) confusionMark() []int {
	for _, d := range rv.Diagnoses() {
		if d.Cause != "class_confusion" {
			continue
		}
		if a, ok := d.Evidence["class_a"]; ok {
			return []int{int(a), int(d.Evidence["class_b"])}
		}
		if c, ok := d.Evidence["class"]; ok {
			return []int{int(c)}
		}
	}
	return nil
}

// PerClass charts per-class accuracy.
func (rv *RunView) PerClass() string {
	const title = "validation accuracy per class"
	e := rv.LastEpoch()
	switch {
	case e == nil:
		return EmptyBarChart(title, "after the first epoch", 340)
	case len(e.PerClassAccuracy) == 0:
		return EmptyBarChart(title, "none: the run has no validation split (Data tab)", 340)
	}
	bars := make([]Bar, len(e.PerClassAccuracy))
	for i, v := range e.PerClassAccuracy {
		bars[i] = Bar{className(rv.classes(), i), v}
	}
	return BarChart(title, bars, 340, false, func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) })
}

// GradNorms and DeadReLUs chart the layer statistics of the last epoch.
func (rv *RunView) GradNorms() string {
	const title = "gradient norm per layer (log scale)"
	e := rv.LastEpoch()
	if e == nil {
		return EmptyBarChart(title, "after the first epoch", 340)
	}
	var bars []Bar
	for _, l := range e.Layers {
		if l.WeightNorm > 0 {
			bars = append(bars, Bar{l.Name, l.GradNorm})
		}
	}
	return BarChart(title, bars, 340, true, func(v float64) string { return fmt.Sprintf("%.2g", v) })
}

func (rv *RunView) DeadReLUs() string {
	e := rv.LastEpoch()
	if e == nil {
		return ""
	}
	var bars []Bar
	for _, l := range e.Layers {
		if strings.Contains(l.Type, "relu") {
			bars = append(bars, Bar{l.Name, l.DeadFraction})
		}
	}
	if len(bars) == 0 {
		return ""
	}
	return BarChart("dead units per ReLU layer", bars, 340, false, func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) })
}

// WrongURLs, FilterURLs are the current run's galleries.
func (rv *RunView) WrongURLs() []string {
	if rv.Current == nil {
		return nil
	}
	return rv.Current.wrongURLs
}

// SaliencyURL is the saliency map drawn over the current run's i-th
// misclassified image, or "" without one.
func (rv *RunView) SaliencyURL(i int) string {
	if rv.Current == nil || i >= len(rv.Current.saliencyURLs) {
		return ""
	}
	return rv.Current.saliencyURLs[i]
}

// HasSaliency says the misclassified images come with saliency maps.
func (rv *RunView) HasSaliency() bool { return rv.Current != nil && len(rv.Current.saliencyURLs) > 0 }

func (rv *RunView) FilterURLs() []string {
	if rv.Current == nil {
		return nil
	}
	return rv.Current.filterURLs
}

// MisclassifiedHTML is the gallery of the current run's misclassified
// images, each with its saliency map when it has one and its caption.
func (rv *RunView) MisclassifiedHTML() string {
	return galleryHTML(len(rv.WrongURLs()), func(i int) ([]galleryImage, string) {
		images := []galleryImage{{URL: rv.WrongURLs()[i], Alt: "misclassified"}}
		if u := rv.SaliencyURL(i); u != "" {
			images = append(images, galleryImage{URL: u, Class: "saliency", Alt: "where the network looked",
				Title: "where hiding a patch lowers most the network's confidence in the class it predicted"})
		}
		return images, rv.WrongCaption(i)
	})
}

// FiltersHTML is the gallery of the current run's first-layer filters.
func (rv *RunView) FiltersHTML() string {
	return galleryHTML(len(rv.FilterURLs()), func(i int) ([]galleryImage, string) {
		return []galleryImage{{URL: rv.FilterURLs()[i], Alt: "filter"}}, ""
	})
}

// WrongCaption labels a misclassified image.
// WrongEmptyText says what the misclassified gallery shows, while it is
// empty.
func (rv *RunView) WrongEmptyText() string {
	if rv.notInspected() && rv.Current.Wrong == nil {
		return "The validation images these weights get wrong show here when the run is evaluated (Evaluate on validation and test)."
	}
	return "At the end of each epoch, up to 16 of the first 2,000 validation images that the network gets wrong show here, with what it predicted; none are wrong so far."
}

// FiltersEmptyText says what the filters card shows, while it is empty.
func (rv *RunView) FiltersEmptyText() string {
	if rv.notInspected() && rv.Current.Filters == nil {
		return "The first convolution's kernels show here when the run is evaluated."
	}
	return "The first convolution's kernels show here at the end of each epoch (a model without convolutions has none)."
}

// notInspected says the current run was not trained in this worker, which
// fills the galleries at each epoch, but on the server or elsewhere; its
// galleries come when its weights are evaluated.
func (rv *RunView) notInspected() bool {
	run := rv.Current
	return run != nil && (run.Server != "" || run.Imported != "")
}

// WrongCaption says what a misclassified image is labelled (which need
// not be its true class: the labels may be wrong) and what was predicted.
func (rv *RunView) WrongCaption(i int) string {
	w := rv.Current.Wrong
	if w == nil || i >= len(w.Labels) || i >= len(w.Predicted) {
		return ""
	}
	return fmt.Sprintf("labelled %s, predicted %s", className(rv.classes(), w.Labels[i]), className(rv.classes(), w.Predicted[i]))
}
