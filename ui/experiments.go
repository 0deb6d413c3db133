package ui

import (
	"fmt"
	"strings"

	"plateau/protocol"
	"plateau/spec"
)

// Experiments are the checklist's A/B comparisons the page offers.
func Experiments() []spec.Experiment { return spec.Experiments }

// VariantText says what an arm changes.
func VariantText(v spec.Variant) string {
	what := strings.Join(v.Sets, ", ")
	if v.Note != "" {
		what = strings.TrimPrefix(what+"; "+v.Note, "; ")
	}
	if what == "" {
		return "the spec as it is"
	}
	return what
}

// RunExperiment trains every arm of an experiment on the current spec and
// dataset, one after another in the worker, and overlays their curves.
func (r *Root) RunExperiment(name string) {
	exp, ok := spec.FindExperiment(name)
	if !ok || !r.ready() {
		return
	}
	if r.Running() || len(r.Queue) > 0 {
		r.Message = "a run is training: stop it before an experiment"
		return
	}
	var arms []*spec.Spec
	for _, v := range exp.Variants {
		s, err := v.Apply(r.Spec)
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			r.Message = fmt.Sprintf("experiment %s, arm %s: %v", exp.Name, v.Name, err)
			return
		}
		arms = append(arms, s)
	}
	r.Overlay = map[string]bool{}
	for i, v := range exp.Variants {
		run := r.newRun(arms[i], r.Dataset.Name, fmt.Sprintf("%s: %s", exp.Name, v.Name))
		run.Experiment = exp.Name
		r.Overlay[run.ID] = true
		r.Queue = append(r.Queue, run)
	}
	r.Notice = fmt.Sprintf("experiment %s: %d runs, one after another; %s", exp.Name, len(arms), exp.Claim)
	r.Tab = "Run"
	r.startQueued()
}

// QueueText says what waits to train.
func (r *Root) QueueText() string {
	if len(r.Queue) == 0 {
		return ""
	}
	names := make([]string, len(r.Queue))
	for i, q := range r.Queue {
		names[i] = q.Name
	}
	return "next: " + strings.Join(names, " · ")
}

// FindLR runs the LR range test of the current spec in the worker.
func (r *Root) FindLR() {
	if !r.ready() {
		return
	}
	if r.Running() || r.lrFindRun != "" {
		r.Message = "a run is training: stop it before the LR range test"
		return
	}
	r.counter++
	r.lrFindRun = fmt.Sprintf("lr-find-%d", r.counter)
	r.LRFind = nil
	c := protocol.NewCommand(r.lrFindRun, protocol.CmdLRFind)
	c.Spec = r.Spec
	r.Host.Send(c)
}

// FindingLR reports whether an LR range test is running.
func (r *Root) FindingLR() bool { return r.lrFindRun != "" }

// LRFindChart plots the loss against the rate, with the suggested rate.
func (r *Root) LRFindChart() string {
	f := r.LRFind
	if f == nil {
		return ""
	}
	pts := make([]Point, len(f.LR))
	for i := range f.LR {
		pts[i] = Point{f.LR[i], f.Loss[i]}
	}
	return LineChart{Title: "LR range test: smoothed loss", XLabel: "learning rate (log scale)", Width: 420, Height: 200, LogX: true,
		Series: []Series{{Name: "loss", Points: pts}},
		Marks:  []Mark{{X: f.Suggested, Label: "suggested " + FormatFloat(roundLR(f.Suggested)), Color: "#16a34a"}}}.SVG()
}

// SuggestedLR is the range test's rate, rounded for the field.
func (r *Root) SuggestedLR() string {
	if r.LRFind == nil {
		return ""
	}
	return FormatFloat(roundLR(r.LRFind.Suggested))
}

// ApplySuggestedLR sets the learning rate to the range test's suggestion.
func (r *Root) ApplySuggestedLR() {
	if r.LRFind != nil && r.LRFind.Suggested > 0 {
		r.Set("train.lr", FormatFloat(roundLR(r.LRFind.Suggested)))
		r.Notice = "learning rate set to " + FormatFloat(roundLR(r.LRFind.Suggested)) + " from the LR range test"
	}
}

// roundLR keeps two significant digits.
func roundLR(v float64) float64 {
	var f float64
	fmt.Sscanf(fmt.Sprintf("%.2g", v), "%g", &f)
	return f
}
