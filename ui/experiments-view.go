package ui

import (
	"fmt"
	"strings"

	"plateau/spec"
)

// ExperimentsView is the Experiments tab: the checklist's A/B comparisons,
// each run on the current spec and dataset.
type ExperimentsView struct{ *Root }

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
func (ev *ExperimentsView) RunExperiment(name string) {
	exp, ok := spec.FindExperiment(name)
	if !ok || !ev.ready() {
		return
	}
	if ev.Running() || len(ev.Queue) > 0 {
		ev.Message = "a run is training: stop it before an experiment"
		return
	}
	var arms []*spec.Spec
	for _, v := range exp.Variants {
		s, err := v.Apply(ev.Spec)
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			ev.Message = fmt.Sprintf("experiment %s, arm %s: %v", exp.Name, v.Name, err)
			return
		}
		arms = append(arms, s)
	}
	ev.Overlay = map[string]bool{}
	for i, v := range exp.Variants {
		run := ev.newRun(arms[i], ev.Dataset.Name, fmt.Sprintf("%s: %s", exp.Name, v.Name))
		run.Experiment = exp.Name
		ev.Overlay[run.ID] = true
		ev.Queue = append(ev.Queue, run)
	}
	ev.Notice = fmt.Sprintf("experiment %s: %d runs, one after another; %s", exp.Name, len(arms), exp.Claim)
	ev.Tab = "Run"
	ev.startQueued()
}
