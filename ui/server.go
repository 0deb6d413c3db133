package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"plateau/protocol"
	"plateau/spec"
)

// submitToServer sends spec s with the loaded dataset to the server's jobs
// API as a new run called name, which shows in the page like one in the
// worker; weights, when not nil, are what it starts from. The caller has
// checked OnServer.
func (r *Root) submitToServer(s *spec.Spec, name string, weights []byte) (*Run, error) {
	dataset, upload := r.DatasetName, (*Upload)(nil)
	switch {
	case r.localFile != nil && r.sentAs != "":
		dataset = r.sentAs
	case r.localFile != nil:
		dataset = protocol.UploadName(r.DatasetName)
		upload = &Upload{Name: dataset, File: r.localFile, Gen: r.fileGen}
		r.Notice = fmt.Sprintf("sending %s to the server's data folder, then the run", r.DatasetName)
	case !r.serverHas():
		return nil, errors.New(notOnServer)
	}
	req := map[string]any{"spec": s, "dataset": dataset}
	if weights != nil {
		req["weights"] = weights // base64 in the JSON
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	run := r.newRun(s, r.Dataset.Name, name)
	run.queued, run.Server, run.upload = false, serverSubmitting, upload
	r.Host.SubmitJob(run.ID, body, upload)
	return run, nil
}

// serverSubmitting is a server run's Server before the server named its
// job: the request, and the dataset file before it, are on their way.
const serverSubmitting = "submitting"

// Upload is a dataset file of the user's that goes to the server's data
// folder before the job that trains on it (PUT protocol.DatasetsPath/Name).
type Upload struct {
	Name string // its name there: protocol.UploadName of the file's
	File any    // the browser's File, sent from where it lies
	// Gen tells the files the user loaded apart (two of the same name).
	Gen int
}

// notOnServer is the message for a dataset neither the server nor the
// page has a file of.
const notOnServer = "the server does not have this dataset and the page no longer has its file: choose the file again to send it to the server"

// OnServer reports whether a run of the loaded dataset can train on the
// server: the server has it, or it came from a file of the user's, which
// goes to the server first.
func (r *Root) OnServer() bool {
	return r.Dataset != nil && (r.serverHas() || r.localFile != nil)
}

// SendingDataset shows how far the page's dataset file has gone to the
// server (bytes sent of total).
func (r *Root) SendingDataset(name string, sent, total int64) {
	if total <= 0 {
		return
	}
	if sent >= total {
		r.Notice = fmt.Sprintf("sent %s (%.1f MB); the server is reading it", name, float64(total)/1e6)
		return
	}
	r.Notice = fmt.Sprintf("sending %s to the server: %d%% of %.1f MB", name, 100*sent/total, float64(total)/1e6)
}

// DatasetSent records that the server keeps the dataset file u as l.Name
// (another name than u's when that was another file's): while it is the
// loaded dataset, runs of it train there without sending it again.
func (r *Root) DatasetSent(u *Upload, l protocol.Listing) {
	if !slices.ContainsFunc(r.Datasets, func(d protocol.Listing) bool { return d.Name == l.Name }) {
		r.Datasets = append(r.Datasets, l)
	}
	if r.localFile != nil && u.Gen == r.fileGen {
		r.sentAs = l.Name
	}
	r.Notice = fmt.Sprintf("the server has %s now: %s training and %s test images", l.Name, Count(l.TrainSize), Count(l.TestSize))
}

// serverHas reports whether the server has the loaded dataset: one of its
// own, or the user's file once sent. A file of the user's named as one of
// the server's datasets is not that dataset.
func (r *Root) serverHas() bool {
	if r.Dataset == nil {
		return false
	}
	if r.localFile != nil {
		return r.sentAs != ""
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
	if run.stopAsked {
		r.Host.CancelJob(job)
		run.stopAsked = false
	}
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
	switch {
	case run.Result == nil && state == "canceled" && errText == "":
		run.Error = "stopped before the server trained it"
	case run.Result == nil && state != "" && state != "done":
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
	run.CheckLoss, run.CheckAccuracy, run.Early, run.EarlyCauses = nil, nil, nil, nil
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

// ServerJob is a job of the server's jobs API as GET /api/jobs lists it.
type ServerJob struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Backend string `json:"backend"`
	Model   string `json:"model"`
	Dataset string `json:"dataset"`
	Epoch   int    `json:"epoch"`
	Epochs  int    `json:"epochs"`
	Error   string `json:"error"`
	Result  *struct {
		TestAccuracy float64 `json:"test_accuracy"`
	} `json:"result"`
}

// RefreshJobs lists the server's jobs again.
func (r *Root) RefreshJobs() {
	r.Host.ListJobs(func(jobs []ServerJob, err error) {
		if err != nil {
			r.Message = "listing the server's jobs: " + err.Error()
			return
		}
		r.ServerJobs = jobs
	})
}

// OtherJobs are the server's jobs that no run of this page follows: those
// sent by another page, the command line or another program.
func (r *Root) OtherJobs() []ServerJob {
	shown := map[string]bool{}
	for _, run := range r.Runs {
		if run.Server != "" {
			shown[run.Server] = true
		}
	}
	var out []ServerJob
	for _, j := range r.ServerJobs {
		if !shown[j.ID] {
			out = append(out, j)
		}
	}
	return out
}

// JobText says where a server job stands.
func JobText(j ServerJob) string {
	switch {
	case j.Result != nil && j.State == "done":
		return fmt.Sprintf("done, test %.1f%% after %s", 100*j.Result.TestAccuracy, spec.Count(j.Epochs, "epoch"))
	case j.State == "running":
		return fmt.Sprintf("running, epoch %d of %d", j.Epoch, j.Epochs)
	case j.Error != "":
		return j.State + ": " + j.Error
	}
	return j.State
}

// CancelServerJob cancels a job of the server's that the page did not
// send (a classroom's other pages, a script); the list says so until it
// is read again.
func (r *Root) CancelServerJob(id string) {
	r.Host.CancelJob(id)
	for i := range r.ServerJobs {
		if r.ServerJobs[i].ID == id {
			r.ServerJobs[i].State = "canceling"
		}
	}
}

// ShowServerJob makes a run of the page follow a server job it did not
// send: its stream from the first event into the run view, then its
// weights, as for a run sent from here.
func (r *Root) ShowServerJob(id string) {
	var job *ServerJob
	for i := range r.ServerJobs {
		if r.ServerJobs[i].ID == id {
			job = &r.ServerJobs[i]
		}
	}
	if job == nil {
		return
	}
	j := *job
	r.Host.OpenJob(j.ID, func(s *spec.Spec, err error) {
		if err != nil {
			r.Message = "opening job " + j.ID + ": " + err.Error()
			return
		}
		for _, run := range r.Runs {
			if run.Server == j.ID { // opened twice
				r.Current, r.Tab = run, "Run"
				return
			}
		}
		run := r.newRun(s, j.Dataset, fmt.Sprintf("%s · %s · job %s · server", j.Dataset, s.Model.Name, j.ID))
		run.queued, run.Server, run.Backend = false, j.ID, j.Backend
		run.forReplay()
		r.Current, r.Tab = run, "Run"
		r.save(run)
		r.Host.FollowJob(run.ID, j.ID)
	})
}
