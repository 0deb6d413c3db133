package ui

import (
	"fmt"

	"plateau/protocol"
	"plateau/spec"
)

// Header is the top of the page: its title, the tabs and the run bar
// (start, pause, resume, step, stop, run on the server).
type Header struct{ *Root }

// Tabs of the page, in order.
var Tabs = []string{"Data", "Model", "Training", "Run", "Runs", "Experiments"}

// TabClass marks the open tab.
func (h *Header) TabClass(tab string) string {
	if h.Tab == tab {
		return "tab active"
	}
	return "tab"
}

// Start begins a run of the current spec.
func (h *Header) Start() {
	if !h.ready() {
		return
	}
	if h.LocalRunning() || len(h.Queue) > 0 {
		h.Message = "a run is training: stop it first"
		return
	}
	run := h.newRun(h.Spec.Clone(), h.Dataset.Name, RunName(h.Dataset.Name, h.Spec))
	h.enqueue(run)
}

// Control sends pause, resume, step or stop to the current run. Stop
// also drops the runs waiting after it.
func (h *Header) Control(cmd string) {
	cur := h.Current
	if cur == nil {
		return
	}
	if cmd == protocol.CmdStop {
		for _, q := range h.Queue {
			q.queued, q.State, q.Error = false, protocol.StateDone, "stopped before it started"
			h.DeleteRun(q.ID)
		}
		h.Queue = nil
	}
	if cur.Server != "" {
		switch {
		case cmd != protocol.CmdStop:
		case cur.Server == serverSubmitting:
			// No job yet: a dataset file on its way stops there, and a job
			// already asked for is canceled as soon as the server names it
			// (ServerJob).
			cur.stopAsked = true
			if cur.upload != nil {
				h.Host.StopSending(cur.ID, cur.upload)
			}
			h.Notice = "the run stops before the server trains it"
		default:
			h.Host.CancelJob(cur.Server)
		}
		return
	}
	if cur.queued {
		cur = h.workerRun()
		if cur == nil {
			return
		}
	}
	h.Host.Send(protocol.NewCommand(cur.ID, cmd))
}

// OpenTab shows a tab; the Runs tab lists the server's jobs again.
func (h *Header) OpenTab(t string) {
	h.Tab = t
	if t == "Runs" && h.ServerBackend != "" {
		h.RefreshJobs()
	}
}

// RunOnServer sends the current spec and dataset to the server's jobs
// API; the run shows in the page like one in the worker.
func (h *Header) RunOnServer() {
	if !h.ready() {
		return
	}
	if !h.OnServer() {
		h.Message = notOnServer
		return
	}
	run, err := h.submitToServer(h.Spec.Clone(), RunName(h.Dataset.Name, h.Spec)+" · server", nil)
	if err != nil {
		h.Message = err.Error()
		return
	}
	h.Current, h.Tab = run, "Run"
}

// RunName names a run for the run view and the runs list: the dataset,
// the model and the rate, and what the data spec plants on purpose
// (spec.Data.Planted: label noise, an imbalance, a fraction of the
// training images), so that such a run is not taken for one on the data
// as collected.
func RunName(dataset string, s *spec.Spec) string {
	name := fmt.Sprintf("%s · %s · lr %g", dataset, s.Model.Name, s.Train.LR)
	for _, p := range s.Data.Planted() {
		name += " · " + p.Short
	}
	return name
}
