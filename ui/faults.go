package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vugu/vugu"

	"plateau/protocol"
	"plateau/spec"
)

// Faults are the mistakes the Experiments tab can plant (spec.Faults).
func Faults() []spec.Fault { return spec.Faults }

// PickedFault is the fault picked in the list, the first until one is.
func (r *Root) PickedFault() spec.Fault {
	if f, ok := spec.FindFault(r.FaultName); ok {
		return f
	}
	return spec.Faults[0]
}

// SetFault takes the fault list's change.
func (r *Root) SetFault(e vugu.DOMEvent) { r.FaultName = e.PropString("target", "value") }

// FaultChanges says what planting the picked fault changes in the current
// spec, or why it cannot be planted there.
func (r *Root) FaultChanges() string {
	if r.Spec == nil {
		return ""
	}
	sets, err := r.PickedFault().Changes(r.Spec)
	if err != nil {
		return err.Error()
	}
	return strings.Join(sets, ", ")
}

// PlantFault trains the current spec with the picked fault in this page's
// worker, as a run of its own: the page's spec stays as it was. The
// doctor's panel then says whether it named the fault (FaultReading).
func (r *Root) PlantFault() {
	if r.TrainsInPage() {
		r.Message = "a run is training in this page: stop it before planting a fault"
		return
	}
	f, s, sets, ok := r.planted()
	if !ok {
		return
	}
	run := r.newRun(s, r.Dataset.Name, faultRunName(f, sets))
	run.Fault = f.Name
	r.overlayOnBase(run)
	r.enqueue(run)
	r.Notice = "training with a mistake planted on purpose: " + f.Title + " (" + strings.Join(sets, ", ") + ")"
}

// PlantEachFault trains the current spec once with each fault that can be
// planted in it, one run after another in the worker, and overlays them
// on the latest run of the spec as it is: the card's table then sets
// each mistake beside what the doctor said of it (FaultResults).
func (r *Root) PlantEachFault() {
	if r.TrainsInPage() {
		r.Message = "a run is training in this page: stop it before planting the faults"
		return
	}
	if r.Spec == nil || r.Dataset == nil {
		return
	}
	var runs []*Run
	var skipped []string
	for _, f := range spec.Faults {
		s, sets, err := f.Plant(r.Spec)
		if err != nil {
			skipped = append(skipped, f.Name+" ("+err.Error()+")")
			continue
		}
		run := r.newRun(s, r.Dataset.Name, faultRunName(f, sets))
		run.Fault = f.Name
		runs = append(runs, run)
	}
	if len(runs) == 0 {
		r.Message = "no fault can be planted in this spec: " + strings.Join(skipped, "; ")
		return
	}
	r.overlayOnBase(runs[0])
	for _, run := range runs {
		r.Overlay[run.ID] = true
		r.Queue = append(r.Queue, run)
	}
	r.Notice = fmt.Sprintf("planting %d mistakes, one run after another", len(runs))
	if len(skipped) > 0 {
		r.Notice += "; left out: " + strings.Join(skipped, "; ")
	}
	r.Tab = "Run"
	r.startQueued()
}

// FaultRow is the latest run of a fault, as the card's table shows it:
// the run's figures and whether the doctor named the fault.
type FaultRow struct {
	ArmResult
	Named string
}

// FaultResults lists, for each fault, its latest planted run in this
// browser (in the worker or on the server), with whether the doctor named
// it: "yes" as its top finding, "later" among the others, "not yet" while
// the run trains, "no". Faults not planted yet are left out.
func (r *Root) FaultResults() []FaultRow {
	var out []FaultRow
	for _, f := range spec.Faults {
		var latest *Run
		for _, run := range r.Runs {
			if run.Fault == f.Name {
				latest = run
			}
		}
		if latest == nil {
			continue
		}
		named := "no"
		switch _, i := namedAt(f, latest); {
		case i == 0:
			named = "yes"
		case i > 0:
			named = "later"
		case latest.Result == nil && latest.Error == "":
			named = "not yet"
		}
		out = append(out, FaultRow{resultOf(f.Title, latest), named})
	}
	return out
}

// PlantFaultOnServer is PlantFault with the run sent to the server's jobs
// API; the worker stays free.
func (r *Root) PlantFaultOnServer() {
	if !r.OnServer() {
		r.Message = notOnServer
		return
	}
	f, s, sets, ok := r.planted()
	if !ok {
		return
	}
	run, err := r.submitToServer(s, faultRunName(f, sets)+" · server", nil)
	if err != nil {
		r.Message = err.Error()
		return
	}
	run.Fault = f.Name
	r.overlayOnBase(run)
	r.Current, r.Tab = run, "Run"
	r.Notice = "training on the server with a mistake planted on purpose: " + f.Title + " (" + strings.Join(sets, ", ") + ")"
}

// planted is the current spec with the picked fault and its changes, or
// false when there is none to plant it in, with the reason in the page.
func (r *Root) planted() (spec.Fault, *spec.Spec, []string, bool) {
	f := r.PickedFault()
	if r.Spec == nil || r.Dataset == nil {
		return f, nil, nil, false
	}
	s, sets, err := f.Plant(r.Spec)
	if err != nil {
		r.Message = "the fault cannot be planted: " + err.Error()
		return f, nil, nil, false
	}
	return f, s, sets, true
}

// faultRunName names a run planted with f by its changes.
func faultRunName(f spec.Fault, sets []string) string {
	return fmt.Sprintf("fault %s (%s)", f.Name, strings.Join(sets, ", "))
}

// overlayOnBase overlays run, alone, on the latest run of the page's spec
// as it is, on the same dataset, if there is one.
func (r *Root) overlayOnBase(run *Run) {
	r.Overlay = map[string]bool{run.ID: true}
	base := r.Spec.Clone()
	base.Expand()
	for i := len(r.Runs) - 1; i >= 0; i-- {
		o := r.Runs[i]
		if o == run || o.Fault != "" || o.Dataset != run.Dataset || o.Spec == nil {
			continue
		}
		s := o.Spec.Clone()
		s.Expand()
		if len(spec.Diff(base, s)) == 0 {
			r.Overlay[o.ID] = true
			break
		}
	}
}

// FaultReading says, for a run with a fault planted on purpose, whether
// the doctor names it, and where among its findings; "" for other runs.
func FaultReading(run *Run) string {
	if run == nil || run.Fault == "" {
		return ""
	}
	f, ok := spec.FindFault(run.Fault)
	if !ok {
		return "Planted on purpose: " + run.Fault + "."
	}
	ds, i := namedAt(f, run)
	head := "Planted on purpose: " + f.Title + ". "
	switch {
	case i == 0:
		return head + fmt.Sprintf("The doctor names it: %s (%s%%) is its top finding.", CauseTitle(f.Cause), ConfidencePercent(ds[0]))
	case i > 0:
		return head + fmt.Sprintf("The doctor names it, though not first: %s (%s%%), after %s.", CauseTitle(f.Cause), ConfidencePercent(ds[i]), CauseTitle(ds[0].Cause))
	case run.Result == nil && run.Error == "":
		return head + "The doctor has not named it yet; it reads the run at every validation check of the first epoch and at every epoch's end."
	case run.Result == nil:
		return head + "The run failed before the doctor named it: " + run.Error
	case len(ds) > 0:
		return head + fmt.Sprintf("The doctor did not name it (%s); it found: %s.", CauseTitle(f.Cause), CauseTitle(ds[0].Cause))
	}
	return head + fmt.Sprintf("The doctor did not name it (%s), and found nothing wrong.", CauseTitle(f.Cause))
}

// namedAt returns run's findings and the place of f's cause among them
// (-1 when the doctor has not named it).
func namedAt(f spec.Fault, run *Run) ([]protocol.Diagnosis, int) {
	ds := run.diagnoses()
	return ds, slices.IndexFunc(ds, func(d protocol.Diagnosis) bool { return d.Cause == f.Cause })
}

// PlantedReading is FaultReading of the run in view.
func (r *Root) PlantedReading() string { return FaultReading(r.Current) }

// LastPlanted is the latest run with a fault planted on purpose, or nil.
func (r *Root) LastPlanted() *Run {
	for i := len(r.Runs) - 1; i >= 0; i-- {
		if r.Runs[i].Fault != "" {
			return r.Runs[i]
		}
	}
	return nil
}
