package ui

import (
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

// ServerRun reports whether the current run trains on the server, where
// it cannot pause.
func (r *Root) ServerRun() bool { return r.Current != nil && r.Current.Server != "" }
