package ui

import (
	"encoding/json"

	"plateau/protocol"
	"plateau/spec"
)

// submitToServer sends spec s with the loaded dataset to the server's jobs
// API as a new run called name, which shows in the page like one in the
// worker; weights, when not nil, are what it starts from. The caller has
// checked OnServer.
func (r *Root) submitToServer(s *spec.Spec, name string, weights []byte) (*Run, error) {
	req := map[string]any{"spec": s, "dataset": r.DatasetName}
	if weights != nil {
		req["weights"] = weights // base64 in the JSON
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	run := r.newRun(s, r.Dataset.Name, name)
	run.queued, run.Server = false, "submitting"
	r.Host.SubmitJob(run.ID, body)
	return run, nil
}

// notOnServer is the message for a dataset the server does not have.
const notOnServer = "the server does not have this dataset (it was dropped into the page): pick one of the server's datasets to train there"

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

// ReplayServerRun forgets what a server run's event stream brought, before
// the stream is read again from the start (after it broke).
func (r *Root) ReplayServerRun(runID string) {
	if run := r.run(runID); run != nil {
		run.forReplay()
	}
}

// forReplay empties a server run's history, which its job's stream
// replays from the start.
func (run *Run) forReplay() {
	run.StepLoss, run.StepAccuracy, run.StepLR = nil, nil, nil
	run.Start, run.Epochs, run.Result, run.Error = nil, nil, nil, ""
	run.Progress = protocol.Progress{}
	run.State, run.started = protocol.StateRunning, true
}

// ServerBackendText says where a run on the server would train.
func (r *Root) ServerBackendText() string {
	if r.ServerBackend == "" {
		return ""
	}
	return "on " + backendLabel(r.ServerBackend)
}

// ServerBackendTitle is the full backend and why, for the label's tooltip.
func (r *Root) ServerBackendTitle() string {
	if r.ServerNote == "" {
		return "the server's jobs train on " + r.ServerBackend
	}
	return "the server's jobs train on " + r.ServerBackend + " (" + r.ServerNote + ")"
}

// ServerRun reports whether the current run trains on the server, where
// it cannot pause.
func (r *Root) ServerRun() bool { return r.Current != nil && r.Current.Server != "" }
