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

// VariantText says what an arm changes; an arm that scales the learning
// rate says to what, from the current spec.
func (ev *ExperimentsView) VariantText(v spec.Variant) string {
	what := strings.Join(v.Sets, ", ")
	if v.Note != "" {
		what = strings.TrimPrefix(what+"; "+v.Note, "; ")
	}
	if v.LRFactor != 0 && ev.Spec != nil {
		what += ": " + strings.Join(ev.Spec.RateSets(v.LRFactor), ", ")
	}
	if what == "" {
		return "the spec as it is"
	}
	return what
}

// experimentNotice says what an experiment of n arms does, where, and
// its claim; with a time limit in the spec, that each arm trains for it,
// which makes the arms' comparison one at equal time.
func experimentNotice(exp spec.Experiment, n int, where string, s *spec.Spec) string {
	out := fmt.Sprintf("experiment %s: %d runs%s, one after another; %s", exp.Name, n, where, exp.Claim)
	if s != nil && s.Train.TimeLimitSeconds > 0 {
		out += fmt.Sprintf(" (each arm trains at most %s s, the Training tab's time limit: a comparison at equal time, unless an arm's epochs end first)",
			FormatFloat(s.Train.TimeLimitSeconds))
	}
	return out
}

// RunExperiment trains every arm of an experiment on the current spec and
// dataset, one after another in the worker, and overlays their curves.
func (ev *ExperimentsView) RunExperiment(name string) {
	exp, arms, ok := ev.arms(name)
	if !ok {
		return
	}
	if ev.TrainsInPage() {
		// The arms train in the worker; a run on the server, shown or
		// not, goes on beside them.
		ev.Message = "a run is training in this page: stop it before an experiment"
		return
	}
	ev.Overlay = map[string]bool{}
	for i, v := range exp.Variants {
		run := ev.newRun(arms[i], ev.Dataset.Name, fmt.Sprintf("%s: %s", exp.Name, v.Name))
		run.Experiment = exp.Name
		ev.Overlay[run.ID] = true
		ev.Queue = append(ev.Queue, run)
	}
	ev.Notice = experimentNotice(exp, len(arms), "", ev.Spec)
	ev.Tab = "Run"
	ev.startQueued()
}

// RunExperimentOnServer sends every arm of an experiment to the server's
// jobs API, which trains them one after another, and overlays their curves
// as they arrive; the worker stays free.
func (ev *ExperimentsView) RunExperimentOnServer(name string) {
	exp, arms, ok := ev.arms(name)
	if !ok {
		return
	}
	if !ev.OnServer() {
		ev.Message = notOnServer
		return
	}
	ev.Overlay = map[string]bool{}
	var first *Run
	for i, v := range exp.Variants {
		run, err := ev.submitToServer(arms[i], fmt.Sprintf("%s: %s · server", exp.Name, v.Name), nil)
		if err != nil {
			ev.Message = err.Error()
			return
		}
		run.Experiment = exp.Name
		ev.Overlay[run.ID] = true
		if first == nil {
			first = run
		}
	}
	ev.Notice = experimentNotice(exp, len(arms), " on the server", ev.Spec)
	ev.Current, ev.Tab = first, "Run"
}

// arms applies each arm of the experiment called name to the current spec,
// or says in the page why it cannot.
func (ev *ExperimentsView) arms(name string) (spec.Experiment, []*spec.Spec, bool) {
	exp, ok := spec.FindExperiment(name)
	if !ok || !ev.ready() {
		return exp, nil, false
	}
	var arms []*spec.Spec
	for _, v := range exp.Variants {
		s, err := v.Apply(ev.Spec)
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			ev.Message = fmt.Sprintf("experiment %s, arm %s: %v", exp.Name, v.Name, err)
			return exp, nil, false
		}
		arms = append(arms, s)
	}
	return exp, arms, true
}

// ArmResult is one arm's latest run, as an experiment's table shows it.
type ArmResult struct {
	Arm                  string
	Val, Test, MinRecall string
	Finding              string
	run                  *Run
}

// ID is the arm's run.
func (a ArmResult) ID() string { return a.run.ID }

// Results lists, for each arm of the experiment, its latest run in this
// browser (in the worker or on the server): its validation and test
// accuracy, the test recall of its weakest class and the doctor's top
// finding. Arms not run yet are left out.
func (ev *ExperimentsView) Results(name string) []ArmResult {
	exp, ok := spec.FindExperiment(name)
	if !ok {
		return nil
	}
	var out []ArmResult
	for _, v := range exp.Variants {
		prefix := exp.Name + ": " + v.Name
		var latest *Run
		for _, run := range ev.Runs {
			if run.Experiment == exp.Name && (run.Name == prefix || strings.HasPrefix(run.Name, prefix+" · ")) {
				latest = run
			}
		}
		if latest == nil {
			continue
		}
		out = append(out, resultOf(v.Name, latest))
	}
	return out
}

// Reading says what the arms' latest runs say about the experiment's
// claim (spec.Experiment.Reading: the data experiment's doubling gains
// against the test images' noise, unless an arm ended still learning),
// once every arm has its test accuracy;
// "" before, and for experiments without a reading.
func (ev *ExperimentsView) Reading(name string) string {
	exp, ok := spec.FindExperiment(name)
	if !ok {
		return ""
	}
	arms := ev.Results(name)
	if len(arms) != len(exp.Variants) {
		return ""
	}
	test := make([]float64, len(arms))
	learning := make([]string, len(arms))
	n := 0
	for i, a := range arms {
		r := a.run
		if r.Result == nil || r.Start == nil {
			return ""
		}
		test[i], n = r.Result.TestAccuracy, r.Start.TestSize
		var causes []string
		for _, d := range r.diagnoses() {
			causes = append(causes, d.Cause)
		}
		learning[i] = spec.StillLearning(causes)
	}
	return exp.Reading(test, n, learning)
}

// resultOf is run's row in a results table, as arm: its validation and
// test accuracy, the test recall of its weakest class and the doctor's top
// finding ("–" for what it has not measured yet).
func resultOf(arm string, run *Run) ArmResult {
	a := ArmResult{Arm: arm, Val: "–", Test: "–", MinRecall: "–", run: run}
	if n := len(run.Epochs); n > 0 {
		a.Val = Percent(run.Epochs[n-1].ValAccuracy)
	}
	if r := run.Result; r != nil {
		a.Test = Percent(r.TestAccuracy)
		if len(r.PerClassAccuracy) > 0 {
			low := r.PerClassAccuracy[0]
			for _, x := range r.PerClassAccuracy {
				low = min(low, x)
			}
			a.MinRecall = Percent(low)
		}
	}
	ds := run.diagnoses()
	switch {
	case len(ds) > 0:
		a.Finding = fmt.Sprintf("%s %.2f", CauseTitle(ds[0].Cause), ds[0].Confidence)
	case run.Result != nil || len(run.Epochs) > 0:
		a.Finding = "healthy"
	}
	return a
}
