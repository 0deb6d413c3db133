package ui

import (
	"fmt"
	"strings"

	"github.com/vugu/vugu"

	"plateau/protocol"
	"plateau/spec"
)

// TrainingView is the Training tab: optimizer, learning rate and its range
// test, schedule with its plot, regularization, early stopping, and the
// spec's export and import.
type TrainingView struct{ *Root }

func optimizers() []string { return spec.Optimizers }

func schedules() []string {
	return []string{"constant", "step", "exponential", "cosine", "one_cycle", "reduce_on_plateau"}
}

// TimeLimitText writes the spec's time limit as a duration beside its
// field ("2m50s"), or nothing without one.
func (tv *TrainingView) TimeLimitText() string {
	if tv.Spec == nil || !(tv.Spec.Train.TimeLimitSeconds > 0) {
		return ""
	}
	return duration(tv.Spec.Train.TimeLimitSeconds)
}

// LRPlot charts the planned learning rate.
func (tv *TrainingView) LRPlot() string {
	pts := tv.Host.LRCurve(tv.Spec.Train, 200)
	title := "learning rate over the planned epochs"
	if tv.Spec.Train.TimeLimitSeconds > 0 {
		// The schedule follows the time when the limit comes first.
		title += " (or the time limit)"
	}
	return LineChart{Title: title, XLabel: "epoch", WholeX: true, Width: 420, Height: 180, LogY: true,
		Series: []Series{{Points: pts}}}.SVG()
}

// FindLR runs the LR range test of the current spec in the worker.
func (tv *TrainingView) FindLR() {
	if !tv.ready() {
		return
	}
	if tv.Running() || tv.lrFindRun != "" {
		tv.Message = "a run is training: stop it before the LR range test"
		return
	}
	tv.counter++
	tv.lrFindRun = fmt.Sprintf("lr-find-%d", tv.counter)
	tv.LRFind = nil
	c := protocol.NewCommand(tv.lrFindRun, protocol.CmdLRFind)
	c.Spec = tv.Spec
	tv.Host.Send(c)
}

// FindingLR reports whether an LR range test is running.
func (tv *TrainingView) FindingLR() bool { return tv.lrFindRun != "" }

// LRFindChart plots the loss against the rate, with the suggested rate.
func (tv *TrainingView) LRFindChart() string {
	f := tv.LRFind
	if f == nil {
		return ""
	}
	pts := make([]Point, len(f.LR))
	for i := range f.LR {
		pts[i] = Point{f.LR[i], f.Loss[i]}
	}
	return LineChart{Title: "LR range test: smoothed loss", XLabel: "learning rate (log scale)", Width: 420, Height: 200, LogX: true,
		Series: []Series{{Name: "loss", Points: pts}},
		Marks:  []Mark{{X: tv.suggestedRate(), Label: "suggested " + FormatFloat(tv.suggestedRate()), Color: "#16a34a"}}}.SVG()
}

// suggestedRate is the range test's rate for the spec's schedule: one-cycle's
// peak, or train.lr.
func (tv *TrainingView) suggestedRate() float64 {
	if tv.LRFind == nil || tv.Spec == nil {
		return 0
	}
	return tv.Spec.RangeTestRate(tv.LRFind.Suggested, tv.LRFind.MinLoss)
}

// SuggestedLR names the range test's rate for the button that applies it.
func (tv *TrainingView) SuggestedLR() string {
	if tv.LRFind == nil || tv.Spec == nil {
		return ""
	}
	if tv.Spec.Train.Schedule.Type == "one_cycle" {
		return "a one-cycle peak of " + FormatFloat(tv.suggestedRate())
	}
	return "lr " + FormatFloat(tv.suggestedRate())
}

// ApplySuggestedLR sets the learning rate to the range test's suggestion
// (spec.RangeTestRate): train.lr, or one-cycle's peak with its start and
// floor scaled alike (setting train.lr alone would leave the peak, or put
// the start above it).
func (tv *TrainingView) ApplySuggestedLR() {
	rate := tv.suggestedRate()
	if !(rate > 0) || !(tv.Spec.PeakLR() > 0) {
		return
	}
	sets := tv.Spec.RateSets(rate / tv.Spec.PeakLR())
	tv.Notice = strings.Join(sets, ", ") + " from the LR range test"
	if len(sets) == 1 {
		// train.lr alone: as its field sets it, a running run included.
		path, value, _ := strings.Cut(sets[0], "=")
		tv.Set(path, value)
		return
	}
	s, err := applySets(tv.Spec, sets)
	if err == nil {
		err = s.Validate()
	}
	if err != nil {
		tv.Notice, tv.Message = "", "the suggested rate could not be applied: "+err.Error()
		return
	}
	tv.Spec = s
	tv.validate()
}

// ImportSpec handles the spec file input.
func (tv *TrainingView) ImportSpec(e vugu.DOMEvent) {
	tv.Host.ReadFile(e, func(name string, b []byte, err error) {
		if err != nil {
			tv.Message = err.Error()
			return
		}
		tv.ImportSpecText(b)
	})
}

// ExportSpec downloads the spec as JSON.
func (tv *TrainingView) ExportSpec() {
	b, err := spec.Marshal(tv.Spec)
	if err == nil {
		tv.Host.Download("spec.json", "application/json", b)
	}
}

// Monitor is what early stopping watches, as its select shows it: the
// validation loss unless it is the validation accuracy.
func (tv *TrainingView) Monitor() string {
	if tv.Spec.Train.EarlyStopping.Monitor == "val_accuracy" {
		return "val_accuracy"
	}
	return "val_loss"
}
