package ui

import (
	"strings"
	"testing"

	"plateau/protocol"
	"plateau/spec"
)

// sendingHost records the commands sent to the worker and the jobs sent
// to the server.
type sendingHost struct {
	Host
	sent *[]protocol.Command
	jobs *[]string
}

func (h sendingHost) Send(c protocol.Command) { *h.sent = append(*h.sent, c) }

func (h sendingHost) SubmitJob(run string, request []byte, dataset *Upload) {
	*h.jobs = append(*h.jobs, string(request))
}

// Planting a fault starts a run of the current spec with the fault's
// changes alone, marked with the fault; the page's spec stays as it was.
// A fault the spec already has is refused with the reason.
func TestPlantFault(t *testing.T) {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	var sent []protocol.Command
	var jobs []string
	r := &Root{Spec: s.Clone(), Host: sendingHost{sent: &sent, jobs: &jobs}, Overlay: map[string]bool{}, Workers: 2,
		Dataset: &protocol.Dataset{Name: "tiny", Shape: []int{28, 28, 1}}, DatasetName: "tiny", Datasets: []protocol.Listing{{Name: "tiny"}}}
	// A finished run of the spec as it is, and one of another rate.
	healthy := &Run{ID: "healthy", Dataset: "tiny", Spec: s.Clone(), State: protocol.StateDone}
	other := &Run{ID: "other", Dataset: "tiny", Spec: s.Clone(), State: protocol.StateDone}
	other.Spec.Train.LR = 0.01
	r.Runs = []*Run{healthy, other}
	r.FaultName = "raw-pixels"
	if got := r.FaultChanges(); got != "data.normalization=raw" {
		t.Errorf("changes %q", got)
	}
	r.PlantFault()
	if len(sent) != 1 || sent[0].Cmd != protocol.CmdStart || sent[0].Spec.Data.Normalization != "raw" || sent[0].Workers != 2 {
		t.Fatalf("sent %+v", sent)
	}
	run := r.Current
	if run == nil || run.Fault != "raw-pixels" || !strings.Contains(run.Name, "data.normalization=raw") || r.Tab != "Run" {
		t.Fatalf("the run in view: %+v, tab %s", run, r.Tab)
	}
	if d := spec.Diff(s, run.Spec); len(d) != 1 || d[0] != "data.normalization=raw" {
		t.Errorf("the planted run differs from the spec in %v", d)
	}
	if r.Spec.Data.Normalization != s.Data.Normalization {
		t.Errorf("planting changed the page's spec to %s", r.Spec.Data.Normalization)
	}
	if len(r.Overlay) != 2 || !r.Overlay[run.ID] || !r.Overlay["healthy"] {
		t.Errorf("overlaid %v, want the planted run on the healthy one", r.Overlay)
	}
	// On the server, beside the run in the worker.
	r.FaultName = "wrong-labels"
	r.PlantFaultOnServer()
	if len(jobs) != 1 || !strings.Contains(jobs[0], `"label_noise":0.4`) || r.Current.Fault != "wrong-labels" || r.Current.Server == "" {
		t.Errorf("the job sent %v, the run in view %+v", jobs, r.Current)
	}
	// While it trains, another cannot start.
	r.FaultName = "penalty"
	r.PlantFault()
	if len(sent) != 1 || !strings.Contains(r.Message, "stop it") {
		t.Errorf("a second fault while the first trains: sent %d, message %q", len(sent), r.Message)
	}
	run.State = protocol.StateDone
	r.Spec.Data.Normalization = "raw"
	r.FaultName = "raw-pixels"
	if got := r.FaultChanges(); !strings.Contains(got, "already") {
		t.Errorf("changes of raw-pixels in a raw spec: %q", got)
	}
	r.PlantFault()
	if len(sent) != 1 || !strings.Contains(r.Message, "data.normalization raw") {
		t.Errorf("raw-pixels in a raw spec: sent %d, message %q", len(sent), r.Message)
	}
}

// The reading says whether the doctor names the planted fault, first or
// later, not yet, or not at all.
func TestFaultReading(t *testing.T) {
	d := func(causes ...string) []protocol.Diagnosis {
		var out []protocol.Diagnosis
		for _, c := range causes {
			out = append(out, protocol.Diagnosis{Cause: c, Confidence: 0.8})
		}
		return out
	}
	result := func(ds []protocol.Diagnosis) *protocol.Event {
		return &protocol.Event{Event: protocol.EventResult, Diagnoses: ds}
	}
	epoch := func(ds []protocol.Diagnosis) []protocol.Event {
		return []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, Diagnoses: ds}}
	}
	for _, c := range []struct {
		run  *Run
		want string
	}{
		{&Run{}, ""},
		{&Run{Fault: "raw-pixels", Result: result(d("unnormalized_input", "test_shift"))}, "The doctor names it: Inputs are not normalized (80%) is its top finding."},
		{&Run{Fault: "raw-pixels", Result: result(d("lr_too_high", "unnormalized_input"))}, "The doctor names it, though not first: Inputs are not normalized (80%), after Learning rate too high."},
		{&Run{Fault: "raw-pixels", Epochs: epoch(d("still_learning"))}, "The doctor has not named it yet"},
		{&Run{Fault: "raw-pixels", Result: result(d("still_learning"))}, "The doctor did not name it (Inputs are not normalized); it found: Still learning when it ended."},
		{&Run{Fault: "raw-pixels", Result: result(d())}, "found nothing wrong"},
		{&Run{Fault: "raw-pixels", Error: "the worker ran out of memory"}, "The run failed before the doctor named it: the worker ran out of memory"},
	} {
		got := FaultReading(c.run)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) || c.want != "" && !strings.HasPrefix(got, "Planted on purpose: Raw 0–255 pixels. ") {
			t.Errorf("%+v: %q, want %q", c.run.diagnoses(), got, c.want)
		}
	}
}

// Plant each in turn queues one run per fault the spec can take, the first
// in the worker at once, the rest after it, all overlaid; a fault the spec
// already has is left out with the reason. The table sets each planted
// fault beside the doctor's reading of its latest run.
func TestPlantEachFault(t *testing.T) {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.Data.Normalization = "raw"
	var sent []protocol.Command
	r := &Root{Spec: s, Host: sendingHost{sent: &sent}, Overlay: map[string]bool{}, Workers: 1,
		Dataset: &protocol.Dataset{Name: "tiny", Shape: []int{28, 28, 1}}}
	r.PlantEachFault()
	if len(sent) != 1 || len(r.Queue) != len(spec.Faults)-2 || len(r.Overlay) != len(spec.Faults)-1 {
		t.Fatalf("sent %d, queued %d, overlaid %d; want 1, %d, %d", len(sent), len(r.Queue), len(r.Overlay), len(spec.Faults)-2, len(spec.Faults)-1)
	}
	if !strings.Contains(r.Notice, "left out: raw-pixels (the spec already feeds raw pixels") {
		t.Errorf("notice %q", r.Notice)
	}
	if rows := r.FaultResults(); len(rows) != len(spec.Faults)-1 || rows[0].Named != "not yet" || rows[0].Arm != "A learning rate 1,000 times too high" {
		t.Fatalf("rows %+v", rows)
	}
	// The doctor's readings, as the runs end.
	finish := func(fault string, causes ...string) {
		for _, run := range r.Runs {
			if run.Fault == fault {
				res := &protocol.Event{Event: protocol.EventResult, TestAccuracy: 0.5}
				for _, c := range causes {
					res.Diagnoses = append(res.Diagnoses, protocol.Diagnosis{Cause: c, Confidence: 0.7})
				}
				run.Result, run.State = res, protocol.StateDone
			}
		}
	}
	finish("rate-too-high", "lr_too_high")
	finish("rate-too-low", "still_learning", "lr_too_low")
	finish("wrong-labels", "overfitting")
	named := map[string]string{}
	for _, row := range r.FaultResults() {
		named[row.Arm] = row.Named + " " + row.Test + " " + row.Finding
	}
	for title, want := range map[string]string{
		"A learning rate 1,000 times too high": "yes 50.0% Learning rate too high 0.70",
		"A learning rate 1,000 times too low":  "later 50.0%",
		"40% of the labels wrong":              "no 50.0%",
		"Classes 30 to 1":                      "not yet –",
	} {
		if !strings.HasPrefix(named[title], want) {
			t.Errorf("%s: %q, want %q", title, named[title], want)
		}
	}
}
