package ui

import (
	"encoding/json"
	"fmt"

	"plateau/protocol"
)

// OnServer reports whether the loaded dataset is one the server has, so a
// run of it can train there.
func (r *Root) OnServer() bool {
	if r.Dataset == nil {
		return false
	}
	for _, l := range r.Datasets {
		if l.Name == r.DatasetName {
			return true
		}
	}
	return false
}

// RunOnServer sends the current spec and dataset to the server's jobs
// API; the run shows in the page like one in the worker.
func (r *Root) RunOnServer() {
	if !r.ready() {
		return
	}
	if !r.OnServer() {
		r.Message = "the server does not have this dataset (it was dropped into the page): pick one of the server's datasets to train there"
		return
	}
	body, err := json.Marshal(map[string]any{"spec": r.Spec, "dataset": r.DatasetName})
	if err != nil {
		r.Message = err.Error()
		return
	}
	run := r.newRun(r.Spec.Clone(), r.Dataset.Name, fmt.Sprintf("%s · %s · lr %g · server", r.Dataset.Name, r.Spec.Model.Name, r.Spec.Train.LR))
	run.queued, run.Server = false, "submitting"
	r.Current, r.Tab = run, "Run"
	r.Host.SubmitJob(run.ID, body)
}

// ServerJob records the server's job id and backend for a run.
func (r *Root) ServerJob(runID, job, backend, note string) {
	run := r.run(runID)
	if run == nil {
		return
	}
	run.Server = job
	if backend != "" {
		run.Backend = backend
	}
	if note != "" && r.Current == run {
		r.Notice = "server: " + note
	}
	r.save(run)
}

// BackendText says where the current run trains.
func (r *Root) BackendText() string {
	run := r.Current
	if run == nil {
		return ""
	}
	if run.Imported != "" {
		return "weights from a file, not trained here"
	}
	if run.Server == "" {
		return "trained in this browser's worker"
	}
	if run.Backend == "" {
		return "trained on the server"
	}
	return "trained on the server, backend " + run.Backend
}

// ApplyServerEnd ends a server run: the stream's end with the job's state.
func (r *Root) ApplyServerEnd(runID, state, errText string) {
	run := r.run(runID)
	if run == nil {
		return
	}
	if errText != "" {
		run.Error = errText
		r.Message = "the server run failed: " + errText
	}
	if run.Result == nil && state != "" && state != "done" {
		run.Error = "the server job ended " + state + ": " + errText
	}
	m := protocol.NewMessage(runID, protocol.KindState)
	m.State = protocol.StateDone
	r.Apply(m)
}

// ServerRun reports whether the current run trains on the server, where
// it cannot pause.
func (r *Root) ServerRun() bool { return r.Current != nil && r.Current.Server != "" }
