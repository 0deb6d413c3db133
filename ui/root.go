package ui

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"

	"plateau/protocol"
	"plateau/spec"
)

// Host is what the page needs from the browser; package wasm/app
// implements it. Callbacks arrive on other goroutines; Host runs them
// under the event environment's lock and renders after.
type Host interface {
	// Send posts a command to the training worker.
	Send(c protocol.Command)
	// ReadFile reads the file chosen in a file input's change event.
	ReadFile(e vugu.DOMEvent, done func(name string, b []byte, err error))
	// SaveRun stores a run record; SaveWeights its weights; DeleteRun both.
	SaveRun(id string, record []byte)
	SaveWeights(id string, weights []byte)
	DeleteRun(id string)
	// SubmitJob sends a run to the server's jobs API (request is the body
	// of POST /api/jobs) and feeds what the server reports into Apply as
	// the worker's messages for run: events, state done, weights, errors;
	// ServerJob learns the job's id and backend.
	SubmitJob(run string, request []byte)
	// CancelJob cancels a server job.
	CancelJob(job string)
	// LoadWeights reads a run's stored weights (nil when there are none).
	LoadWeights(id string, done func([]byte))
	// Download offers bytes as a file.
	Download(filename, mime string, b []byte)
	// SetHash puts the shareable state into the page's URL.
	SetHash(hash string)
	// LRCurve returns the learning rate over the planned epochs of t.
	LRCurve(t spec.Train, points int) []Point
	// PageMemory is the size of the page's own wasm linear memory.
	PageMemory() int64
}

// Tabs of the page, in order.
var Tabs = []string{"Data", "Model", "Training", "Run", "Runs", "Experiments"}

// Run is one training run as the page keeps it: what was asked, what
// happened, and the curves; it is stored as JSON and survives a reload.
type Run struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Dataset string     `json:"dataset"`
	Spec    *spec.Spec `json:"spec"`
	Created time.Time  `json:"created"`
	// State is running, paused or done.
	State    string            `json:"state"`
	Progress protocol.Progress `json:"progress"`
	// StepLoss, StepAccuracy and StepLR are the step events, by epoch
	// (fractional).
	StepLoss     []Point          `json:"step_loss,omitempty"`
	StepAccuracy []Point          `json:"step_accuracy,omitempty"`
	StepLR       []Point          `json:"step_lr,omitempty"`
	Start        *protocol.Event  `json:"start,omitempty"`
	Epochs       []protocol.Event `json:"epochs,omitempty"`
	Result       *protocol.Event  `json:"result,omitempty"`
	Wrong        *protocol.Images `json:"misclassified,omitempty"`
	Filters      *protocol.Images `json:"filters,omitempty"`
	HasWeights   bool             `json:"has_weights,omitempty"`
	Error        string           `json:"error,omitempty"`
	// Parent is the run this one forked from to try a fix; Experiment
	// names the experiment it is an arm of.
	Parent     string `json:"parent,omitempty"`
	Experiment string `json:"experiment,omitempty"`
	// Server is set for a run trained by the server: its job id, and the
	// backend that trained it.
	Server  string `json:"server,omitempty"`
	Backend string `json:"backend,omitempty"`
	// Evaluation is the latest measurement of the run's weights on the
	// validation and test splits (the Evaluate button).
	Evaluation *protocol.Evaluation `json:"evaluation,omitempty"`
	// Imported names the safetensors file a run of imported weights came
	// from; Weights describes them.
	Imported string                `json:"imported,omitempty"`
	Weights  *protocol.WeightsInfo `json:"weights,omitempty"`
	// queued runs wait for the worker to start; started ones have
	// heard from it.
	queued, started bool
	// weights are the run's weights when the page holds them (an import);
	// from are the weights a queued run starts from.
	weights, from []byte
	wrongURLs     []string
	filterURLs    []string
}

// Root is the page.
type Root struct {
	Host Host          `vugu:"data"`
	Env  vugu.EventEnv `vugu:"data"`

	Tab     string
	Ready   bool
	Message string // the last error, shown until dismissed
	Notice  string

	Datasets    []protocol.Listing
	DatasetName string
	Loading     bool
	Dataset     *protocol.Dataset
	Samples     *protocol.Images
	Preview     *protocol.Images
	sampleURLs  []string
	previewURLs []string
	previewSeed int64

	Spec       *spec.Spec
	Preset     string
	SpecErrors map[string]string
	specText   string

	Current *Run
	Runs    []*Run
	Overlay map[string]bool
	counter int
	// Queue holds runs waiting for the worker: the arms of an experiment,
	// a fix waiting for the run it forks to stop.
	Queue []*Run

	// LRFind is the latest LR range test; lrFindRun its id while it runs.
	LRFind    *protocol.LRFind
	lrFindRun string
	// evaluating is the run whose weights the worker measures; while
	// weightsInWorker is set, stored weights sent to the worker hold its
	// run slot.
	evaluating      string
	weightsInWorker bool
	// importing is a weights file the worker checks against the spec.
	importing *pendingImport

	// PreferDataset is loaded first when the server offers it (the page's
	// ?dataset= parameter).
	PreferDataset string

	// WorkerMemory is the worker's latest memory report.
	WorkerMemory *protocol.Memory
}

// pendingImport is a weights file waiting for the worker's check.
type pendingImport struct {
	id, file string
	spec     *spec.Spec
	bytes    []byte
}

// NewRoot returns the page with the default preset for MNIST.
func NewRoot(host Host) *Root {
	r := &Root{Host: host, Tab: "Data", Overlay: map[string]bool{}, SpecErrors: map[string]string{}}
	r.ChoosePreset(spec.DefaultPreset("mnist"))
	return r
}

// Apply changes the page's state with one worker message.
func (r *Root) Apply(m protocol.Message) {
	switch m.Kind {
	case protocol.KindReady:
		r.Ready = true
	case protocol.KindError:
		r.Loading = false
		if m.Run != "" && m.Run == r.lrFindRun {
			r.lrFindRun = ""
		}
		if p := r.importing; p != nil && m.Run == p.id {
			r.importing = nil
		}
		if m.Run != "" && m.Run == r.evaluating {
			r.evaluated()
			if run := r.run(m.Run); run != nil && run.State == protocol.StateDone {
				r.Message = "the evaluation failed: " + m.Error
				return
			}
		}
		msg := m.Error
		if m.Field != "" {
			r.SpecErrors[m.Field] = msg
		}
		r.Message = msg
		if run := r.run(m.Run); run != nil && run.State != protocol.StateDone {
			run.Error = msg
			if !run.started && !run.queued && run.Server == "" {
				// The worker refused to start it.
				run.State = protocol.StateDone
				r.save(run)
				r.startQueued()
			}
		}
	case protocol.KindDataset:
		r.Loading = false
		r.Dataset = m.Dataset
		r.Notice = fmt.Sprintf("%s loaded: %d training and %d test images of %d×%d×%d.", m.Dataset.Name, m.Dataset.TrainSize, m.Dataset.TestSize, m.Dataset.Shape[0], m.Dataset.Shape[1], m.Dataset.Shape[2])
		r.fitSpecToDataset()
	case protocol.KindSamples:
		r.Samples = m.Images
		r.sampleURLs = ImageURLs(m.Images, 2)
		r.RequestPreview()
	case protocol.KindPreview:
		r.Preview = m.Images
		r.previewURLs = ImageURLs(m.Images, 2)
	case protocol.KindState:
		if m.Run != "" && m.Run == r.lrFindRun && m.State == protocol.StateDone {
			r.lrFindRun = ""
		}
		if run := r.run(m.Run); run != nil {
			run.State = m.State
			run.started = true
			if m.State == protocol.StateDone {
				if run.Server == "" {
					r.Host.Send(protocol.NewCommand(run.ID, protocol.CmdExport))
				}
				r.save(run)
				if run.Server == "" {
					r.startQueued()
				}
			}
		}
	case protocol.KindProgress:
		if m.Progress != nil && m.Progress.Memory != nil {
			r.WorkerMemory = m.Progress.Memory
		}
		if run := r.run(m.Run); run != nil && m.Progress != nil {
			run.Progress = *m.Progress
		}
	case protocol.KindMemory:
		r.WorkerMemory = m.Memory
	case protocol.KindEvent:
		if run := r.run(m.Run); run != nil {
			if e, err := m.DecodeEvent(); err == nil {
				run.add(e)
				if e.Event == protocol.EventEpoch || e.Event == protocol.EventResult {
					r.save(run)
				}
			}
		}
	case protocol.KindMisclassified:
		if run := r.run(m.Run); run != nil {
			run.Wrong = m.Images
			run.wrongURLs = ImageURLs(m.Images, 2)
		}
	case protocol.KindFilters:
		if run := r.run(m.Run); run != nil {
			run.Filters = m.Images
			run.filterURLs = ImageURLs(m.Images, max(1, 24/max(m.Images.H, 1)))
		}
	case protocol.KindWeights:
		if run := r.run(m.Run); run != nil {
			run.HasWeights = true
			r.Host.SaveWeights(run.ID, m.Bytes)
			r.save(run)
		}
	case protocol.KindEvaluation:
		if run := r.run(m.Run); run != nil {
			run.Evaluation = m.Evaluation
			r.save(run)
		}
		if m.Run == r.evaluating {
			r.evaluated()
		}
	case protocol.KindWeightsOK:
		if p := r.importing; p != nil && m.Run == p.id {
			r.importing = nil
			r.addImported(p, m.Weights)
		}
	case protocol.KindLRFind:
		r.LRFind = m.LRFind
	case protocol.KindSpecOK:
	}
}

func (run *Run) add(e protocol.Event) {
	spe := float64(max(1, run.Progress.StepsPerEpoch))
	switch e.Event {
	case protocol.EventStart:
		run.Start = &e
		run.Progress.StepsPerEpoch = e.StepsPerEpoch
		run.Progress.Epochs = e.Epochs
	case protocol.EventStep:
		if run.Server != "" {
			// The server sends no progress messages: its events say where it is.
			run.Progress.Step = e.Step
			run.Progress.Epoch = e.Step/max(1, run.Progress.StepsPerEpoch) + 1
			run.Progress.LR = e.LR
		}
		x := float64(e.Step) / spe
		run.StepLoss = append(run.StepLoss, Point{x, e.Loss})
		run.StepAccuracy = append(run.StepAccuracy, Point{x, e.Accuracy})
		run.StepLR = append(run.StepLR, Point{x, e.LR})
	case protocol.EventEpoch:
		run.Epochs = append(run.Epochs, e)
		if run.Server != "" {
			run.Progress.Step = e.Step
			run.Progress.Epoch = min(e.Epoch+1, max(run.Progress.Epochs, 1))
			run.Progress.ImagesPerSecond = e.ImagesPerSecond
		}
	case protocol.EventResult:
		run.Result = &e
	}
}

func (r *Root) run(id string) *Run {
	for _, run := range r.Runs {
		if run.ID == id {
			return run
		}
	}
	return nil
}

func (r *Root) save(run *Run) {
	b, err := json.Marshal(run)
	if err == nil {
		r.Host.SaveRun(run.ID, b)
	}
}

// Restore puts back the runs stored by an earlier visit.
func (r *Root) Restore(records [][]byte) {
	for _, b := range records {
		var run Run
		if json.Unmarshal(b, &run) != nil || run.ID == "" || r.run(run.ID) != nil {
			continue
		}
		if run.State != protocol.StateDone {
			// The worker that trained it is gone with the old page.
			run.State = protocol.StateDone
			if run.Result == nil {
				run.Error = "the page was closed while this run trained; it kept the epochs it finished"
			}
		}
		run.wrongURLs = ImageURLs(run.Wrong, 2)
		if run.Filters != nil {
			run.filterURLs = ImageURLs(run.Filters, max(1, 24/max(run.Filters.H, 1)))
		}
		r.Runs = append(r.Runs, &run)
	}
	sort.Slice(r.Runs, func(i, j int) bool { return r.Runs[i].Created.Before(r.Runs[j].Created) })
	if r.Current == nil && len(r.Runs) > 0 {
		r.Current = r.Runs[len(r.Runs)-1]
	}
}

// SetDatasets takes the server's dataset listing and loads the first.
func (r *Root) SetDatasets(list []protocol.Listing) {
	r.Datasets = list
	if r.DatasetName != "" || len(list) == 0 {
		return
	}
	for _, l := range list {
		if l.Name == r.PreferDataset {
			r.LoadDataset(l.Name)
			return
		}
	}
	r.LoadDataset(list[0].Name)
}

// LoadDataset asks the worker for one of the server's datasets.
func (r *Root) LoadDataset(name string) {
	for _, l := range r.Datasets {
		if l.Name == name {
			r.DatasetName, r.Loading, r.Message = name, true, ""
			c := protocol.NewCommand("", protocol.CmdLoad)
			c.Dataset = &protocol.DatasetRef{Name: name, URL: l.URL}
			r.Host.Send(c)
			return
		}
	}
}

// PickDataset handles the dataset select.
func (r *Root) PickDataset(e vugu.DOMEvent) { r.LoadDataset(e.PropString("target", "value")) }

// DropFile handles a file chosen or dropped: the worker decodes it.
func (r *Root) DropFile(e vugu.DOMEvent) {
	r.Host.ReadFile(e, r.LoadBytes)
}

// LoadBytes sends a file's bytes to the worker.
func (r *Root) LoadBytes(name string, b []byte, err error) {
	if err != nil {
		r.Message = fmt.Sprintf("reading %s: %v", name, err)
		return
	}
	r.DatasetName, r.Loading, r.Message = name, true, ""
	c := protocol.NewCommand("", protocol.CmdLoad)
	c.Dataset = &protocol.DatasetRef{Name: name}
	c.Bytes = b
	r.Host.Send(c)
}

// fitSpecToDataset adapts the model to the loaded data: the preset made
// for that dataset when there is one, else the current model with the
// dataset's input shape and classes.
func (r *Root) fitSpecToDataset() {
	d := r.Dataset
	if d == nil || len(d.Shape) != 3 {
		return
	}
	m := r.Spec.Model
	if len(m.Input) == 3 && m.Input[0] == d.Shape[0] && m.Input[1] == d.Shape[1] && m.Input[2] == d.Shape[2] && m.Classes == len(d.Classes) {
		r.Spec.Data.Dataset = d.Name
		r.validate()
		return
	}
	name := spec.DefaultPreset(d.Name)
	s, err := spec.Preset(name, spec.PresetOptions{Input: d.Shape, Classes: len(d.Classes)})
	if err != nil {
		r.Spec.SetInput(d.Shape[0], d.Shape[1], d.Shape[2], len(d.Classes))
	} else {
		s.Train.LogEvery = 10
		s.Data = r.Spec.Data
		r.Spec, r.Preset = s, name
	}
	r.Spec.Data.Dataset = d.Name
	r.validate()
}

// ChoosePreset replaces the model (and its training settings) with a preset.
func (r *Root) ChoosePreset(name string) {
	opts := spec.PresetOptions{}
	if d := r.Dataset; d != nil {
		opts = spec.PresetOptions{Input: d.Shape, Classes: len(d.Classes)}
	}
	s, err := spec.Preset(name, opts)
	if err != nil {
		r.Message = err.Error()
		return
	}
	s.Train.LogEvery = 10
	if r.Spec != nil {
		s.Data = r.Spec.Data
	}
	r.Spec, r.Preset = s, name
	r.validate()
}

// PickPreset handles the preset select.
func (r *Root) PickPreset(e vugu.DOMEvent) { r.ChoosePreset(e.PropString("target", "value")) }

// validate refreshes the errors shown at the fields and the shared URL.
func (r *Root) validate() {
	r.SpecErrors = map[string]string{}
	if err := r.Spec.Validate(); err != nil {
		var errs spec.Errors
		if errors.As(err, &errs) {
			for _, fe := range errs {
				r.SpecErrors[fe.Path] = fe.Message
			}
		} else {
			r.SpecErrors[""] = err.Error()
		}
	}
	if b, err := json.Marshal(r.Spec); err == nil {
		r.specText = string(b)
		r.Host.SetHash("spec=" + base64.RawURLEncoding.EncodeToString(b))
	}
}

// Valid reports whether the spec has no errors.
func (r *Root) Valid() bool { return len(r.SpecErrors) == 0 }

// FieldError is the error at a spec path, or "".
func (r *Root) FieldError(path string) string { return r.SpecErrors[path] }

// ErrorList lists every spec error, by path.
func (r *Root) ErrorList() []string {
	var out []string
	for p, m := range r.SpecErrors {
		out = append(out, p+": "+m)
	}
	sort.Strings(out)
	return out
}

// Set changes one spec field from a text value, as spec.Set reads it.
func (r *Root) Set(path, value string) {
	s := r.Spec.Clone()
	if err := s.Set(path, value); err != nil {
		r.validate()
		r.SpecErrors[path] = err.Error()
		return
	}
	r.Spec = s
	r.validate()
	if strings.HasPrefix(path, "data.augment.") {
		r.RequestPreview()
	}
	if path == "train.lr" && r.Current != nil && r.Current.State != protocol.StateDone && r.Current.State != "" {
		c := protocol.NewCommand(r.Current.ID, protocol.CmdSetLR)
		c.LR = s.Train.LR
		r.Host.Send(c)
	}
}

// SetFrom handles a control's change event for a spec path.
func (r *Root) SetFrom(path string, e vugu.DOMEvent) {
	v := e.PropString("target", "value")
	if t := e.PropString("target", "type"); t == "checkbox" {
		v = strconv.FormatBool(e.PropBool("target", "checked"))
	}
	r.Set(path, v)
}

// ImportSpecText reads a spec from JSON (an imported file or the URL).
func (r *Root) ImportSpecText(b []byte) error {
	s, err := spec.Parse(b)
	if err != nil {
		r.Message = "the spec was not imported: " + err.Error()
		return err
	}
	r.Spec, r.Preset = s, s.Model.Name
	r.validate()
	r.Notice = "spec imported"
	return nil
}

// ImportHash reads the spec from the page's URL hash ("spec=…").
func (r *Root) ImportHash(hash string) {
	hash = strings.TrimPrefix(hash, "#")
	v, ok := strings.CutPrefix(hash, "spec=")
	if !ok || v == "" {
		return
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		r.Message = "the spec in the URL is damaged: " + err.Error()
		return
	}
	r.ImportSpecText(b)
}

// ImportSpec handles the spec file input.
func (r *Root) ImportSpec(e vugu.DOMEvent) {
	r.Host.ReadFile(e, func(name string, b []byte, err error) {
		if err != nil {
			r.Message = err.Error()
			return
		}
		r.ImportSpecText(b)
	})
}

// ExportSpec downloads the spec as JSON.
func (r *Root) ExportSpec() {
	b, err := spec.Marshal(r.Spec)
	if err == nil {
		r.Host.Download("spec.json", "application/json", b)
	}
}

// RequestPreview asks the worker to augment the samples with the current
// settings.
func (r *Root) RequestPreview() {
	if r.Samples == nil {
		return
	}
	r.previewSeed++
	c := protocol.NewCommand("", protocol.CmdAugment)
	c.Spec = r.Spec
	c.Seed = r.previewSeed
	r.Host.Send(c)
}

// Start begins a run of the current spec.
func (r *Root) Start() {
	if !r.ready() {
		return
	}
	if r.Running() || len(r.Queue) > 0 {
		r.Message = "a run is training: stop it first"
		return
	}
	run := r.newRun(r.Spec.Clone(), r.Dataset.Name, fmt.Sprintf("%s · %s · lr %g", r.Dataset.Name, r.Spec.Model.Name, r.Spec.Train.LR))
	r.enqueue(run)
}

// ready reports whether a run can start, and says why not.
func (r *Root) ready() bool {
	if !r.Valid() {
		r.Message = "fix the spec first: " + strings.Join(r.ErrorList(), "; ")
		return false
	}
	if r.Dataset == nil {
		r.Message = "pick a dataset first"
		return false
	}
	return true
}

// newRun records a run of s that has not started yet.
func (r *Root) newRun(s *spec.Spec, dataset, name string) *Run {
	r.counter++
	id := fmt.Sprintf("run-%d-%d", time.Now().UnixMilli(), r.counter)
	run := &Run{ID: id, Name: name, Dataset: dataset, Spec: s, Created: time.Now(), State: protocol.StateRunning, queued: true}
	run.Progress.Epochs = s.Train.Epochs
	r.Runs = append(r.Runs, run)
	r.Message = ""
	return run
}

// enqueue starts run in the worker at once when it is free, else after
// the runs before it; a run still training is stopped.
func (r *Root) enqueue(run *Run) {
	r.Queue = append(r.Queue, run)
	r.Tab = "Run"
	if cur := r.workerRun(); cur != nil {
		r.Host.Send(protocol.NewCommand(cur.ID, protocol.CmdStop))
		r.Current = run
		return
	}
	r.startQueued()
}

// workerRun is the run training in the worker, or nil.
func (r *Root) workerRun() *Run {
	for _, run := range r.Runs {
		if run.Server == "" && !run.queued && (run.State == protocol.StateRunning || run.State == protocol.StatePaused) {
			return run
		}
	}
	return nil
}

// startQueued starts the next queued run when the worker is free.
func (r *Root) startQueued() {
	if len(r.Queue) == 0 || r.workerRun() != nil || r.lrFindRun != "" || r.weightsInWorker {
		return
	}
	run := r.Queue[0]
	r.Queue = r.Queue[1:]
	run.queued = false
	r.Current = run
	c := protocol.NewCommand(run.ID, protocol.CmdStart)
	c.Spec, c.Bytes = run.Spec, run.from
	run.from = nil
	r.Host.Send(c)
}

// Control sends pause, resume, step or stop to the current run. Stop
// also drops the runs waiting after it.
func (r *Root) Control(cmd string) {
	cur := r.Current
	if cur == nil {
		return
	}
	if cmd == protocol.CmdStop {
		for _, q := range r.Queue {
			q.queued, q.State, q.Error = false, protocol.StateDone, "stopped before it started"
			r.DeleteRun(q.ID)
		}
		r.Queue = nil
	}
	if cur.Server != "" {
		if cmd == protocol.CmdStop {
			r.Host.CancelJob(cur.Server)
		}
		return
	}
	if cur.queued {
		cur = r.workerRun()
		if cur == nil {
			return
		}
	}
	r.Host.Send(protocol.NewCommand(cur.ID, cmd))
}

// Evaluate measures the current run's weights on the validation and test
// splits of the loaded dataset: a run training in the worker between two
// steps, a finished one from its stored weights.
func (r *Root) Evaluate() {
	run := r.Current
	if !r.CanEvaluate() {
		return
	}
	r.evaluating = run.ID
	if r.Running() {
		r.Host.Send(protocol.NewCommand(run.ID, protocol.CmdEvaluate))
		return
	}
	r.weightsInWorker = true
	r.withWeights(run, func(b []byte) {
		if b == nil {
			r.evaluated()
			r.Message = "this run has no stored weights to evaluate"
			return
		}
		c := protocol.NewCommand(run.ID, protocol.CmdEvaluate)
		c.Spec, c.Bytes = run.Spec, b
		r.Host.Send(c)
	})
}

// withWeights calls done with a run's weights: those the page holds, or
// the stored ones (nil when there are none).
func (r *Root) withWeights(run *Run, done func([]byte)) {
	if run.weights != nil {
		done(run.weights)
		return
	}
	r.Host.LoadWeights(run.ID, done)
}

// ImportWeights reads a safetensors file chosen in the weights input and
// has the worker check it against the current spec.
func (r *Root) ImportWeights(e vugu.DOMEvent) {
	r.Host.ReadFile(e, func(name string, b []byte, err error) {
		if err != nil {
			r.Message = fmt.Sprintf("reading %s: %v", name, err)
			return
		}
		if !r.Valid() {
			r.Message = "fix the spec first: the weights are checked against it"
			return
		}
		r.counter++
		p := &pendingImport{id: fmt.Sprintf("import-%d-%d", time.Now().UnixMilli(), r.counter), file: name, spec: r.Spec.Clone(), bytes: b}
		r.importing, r.Message = p, ""
		c := protocol.NewCommand(p.id, protocol.CmdImport)
		c.Spec, c.Bytes, c.File = p.spec, b, name
		r.Host.Send(c)
	})
}

// Importing reports whether a weights file is being checked.
func (r *Root) Importing() bool { return r.importing != nil }

// addImported records weights that fit as a finished run of their spec,
// to evaluate or continue training from.
func (r *Root) addImported(p *pendingImport, info *protocol.WeightsInfo) {
	dataset := ""
	if r.Dataset != nil {
		dataset = r.Dataset.Name
	}
	run := &Run{ID: p.id, Name: fmt.Sprintf("%s · imported %s", p.spec.Model.Name, p.file), Dataset: dataset, Spec: p.spec,
		Created: time.Now(), State: protocol.StateDone, HasWeights: true, Imported: p.file, Weights: info, weights: p.bytes, started: true}
	r.Runs = append(r.Runs, run)
	r.Host.SaveWeights(run.ID, p.bytes)
	r.save(run)
	r.Current, r.Tab = run, "Run"
	r.Notice = fmt.Sprintf("%s fits %s: %d tensors, %d parameters.", p.file, p.spec.Model.Name, info.Tensors, info.Params)
}

// ImportedText describes the current run's imported weights.
func (r *Root) ImportedText() string {
	run := r.Current
	s := "weights imported from " + run.Imported
	if w := run.Weights; w != nil {
		s += fmt.Sprintf(": %d tensors, %d trainable parameters", w.Tensors, w.Params)
		if w.State > 0 {
			s += fmt.Sprintf(" and %d running statistics", w.State)
		}
		if w.Model != "" {
			s += fmt.Sprintf(", saved for model %q", w.Model)
		}
	}
	return s
}

// ContinueTraining starts a run from the current run's weights: its model,
// with the current training and data settings.
func (r *Root) ContinueTraining() {
	src := r.Current
	if !r.CanContinue() || !r.ready() {
		return
	}
	r.withWeights(src, func(b []byte) {
		if b == nil {
			r.Message = "this run has no stored weights to continue from"
			return
		}
		if !r.CanContinue() {
			return
		}
		s := r.Spec.Clone()
		s.Model = src.Spec.Clone().Model
		run := r.newRun(s, r.Dataset.Name, fmt.Sprintf("%s · %s · lr %g · continues #%d", r.Dataset.Name, s.Model.Name, s.Train.LR, r.index(src)))
		run.Parent, run.from = src.ID, b
		r.enqueue(run)
	})
}

// CanContinue reports whether a run can start from the current run's
// weights now.
func (r *Root) CanContinue() bool {
	run := r.Current
	return run != nil && run.State == protocol.StateDone && run.HasWeights && run.Spec != nil && r.Valid() && r.Dataset != nil &&
		r.workerRun() == nil && len(r.Queue) == 0 && r.lrFindRun == "" && r.evaluating == ""
}

// evaluated ends an evaluation and starts the runs that waited for it.
func (r *Root) evaluated() {
	wasHolding := r.weightsInWorker
	r.evaluating, r.weightsInWorker = "", false
	if wasHolding {
		r.startQueued()
	}
}

// CanEvaluate reports whether the current run's weights can be measured
// now: a run training in the worker, or a finished run with weights while
// the worker is free and a dataset is loaded.
func (r *Root) CanEvaluate() bool {
	run := r.Current
	if run == nil || r.evaluating != "" || r.Dataset == nil {
		return false
	}
	if r.Running() {
		return run.Server == "" && run.started && !run.queued
	}
	return run.State == protocol.StateDone && run.HasWeights && r.workerRun() == nil && r.lrFindRun == "" && len(r.Queue) == 0
}

// Evaluating reports whether the worker is measuring a run's weights.
func (r *Root) Evaluating() bool { return r.evaluating != "" }

// EvaluationRow is one split of an evaluation, as text. AccuracyValue is
// the accuracy as a fraction in full, for the e2e measurements to read.
type EvaluationRow struct{ Split, Images, Loss, Accuracy, AccuracyValue string }

// EvaluationTitle says what the current run's evaluation measured.
func (r *Root) EvaluationTitle() string {
	ev := r.Current.Evaluation
	s := "Evaluation on " + ev.Dataset
	if ev.Step > 0 {
		s += fmt.Sprintf(" after %d steps", ev.Step)
	} else {
		s += ", stored weights"
	}
	return s
}

// EvaluationRows lists the current run's evaluation by split.
func (r *Root) EvaluationRows() []EvaluationRow {
	ev := r.Current.Evaluation
	var rows []EvaluationRow
	for _, part := range []struct {
		name  string
		score *protocol.Score
	}{{"validation", ev.Val}, {"test", ev.Test}} {
		if sc := part.score; sc != nil {
			rows = append(rows, EvaluationRow{part.name, strconv.Itoa(sc.Images), fmt.Sprintf("%.4g", float64(sc.Loss)), Percent(float64(sc.Accuracy)),
				strconv.FormatFloat(float64(sc.Accuracy), 'g', -1, 64)})
		}
	}
	return rows
}

// EvaluationConfusion is the heatmap of one split of the current run's
// evaluation ("val" or "test").
func (r *Root) EvaluationConfusion(split string) string {
	ev := r.Current.Evaluation
	sc := ev.Test
	if split == "val" {
		sc = ev.Val
	}
	if sc == nil {
		return `<p class="muted">no images in this split</p>`
	}
	return Heatmap(sc.Confusion, r.classes(), 220)
}

// Running reports whether the current run trains or is paused.
func (r *Root) Running() bool {
	return r.Current != nil && (r.Current.State == protocol.StateRunning || r.Current.State == protocol.StatePaused)
}

// Paused reports whether the current run is paused.
func (r *Root) Paused() bool { return r.Current != nil && r.Current.State == protocol.StatePaused }

// ShowRun makes a stored run the current one.
func (r *Root) ShowRun(id string) {
	if run := r.run(id); run != nil {
		r.Current = run
		r.Tab = "Run"
	}
}

// ToggleOverlay adds a run to the overlay chart or removes it.
func (r *Root) ToggleOverlay(id string) { r.Overlay[id] = !r.Overlay[id] }

// DeleteRun forgets a run.
func (r *Root) DeleteRun(id string) {
	for i, run := range r.Runs {
		if run.ID == id && run.State == protocol.StateDone {
			r.Runs = append(r.Runs[:i], r.Runs[i+1:]...)
			r.Host.DeleteRun(id)
			delete(r.Overlay, id)
			if r.Current == run {
				r.Current = nil
			}
			return
		}
	}
}

// DownloadWeights offers a run's weights as safetensors.
func (r *Root) DownloadWeights(id string) {
	r.Host.LoadWeights(id, func(b []byte) {
		if b == nil {
			r.Message = "this run has no stored weights"
			return
		}
		r.Host.Download(id+".safetensors", "application/octet-stream", b)
	})
}

// Layers shows the model's layers with their shapes and sizes.
type LayerRow struct {
	Index  int
	Layer  spec.Layer
	Shape  string
	Params int
}

// LayerRows describes every layer of the model as shape inference sees it.
func (r *Root) LayerRows() []LayerRow {
	infos, _ := r.Spec.Model.Shapes()
	rows := make([]LayerRow, len(r.Spec.Model.Layers))
	for i, l := range r.Spec.Model.Layers {
		rows[i] = LayerRow{Index: i, Layer: l, Shape: "?"}
		if i < len(infos) && infos[i].Shape != nil {
			rows[i].Shape = shapeText(infos[i].Shape)
			rows[i].Params = infos[i].Params
		}
	}
	return rows
}

// TotalParams counts the model's trainable parameters.
func (r *Root) TotalParams() int {
	n, _ := r.Spec.Model.ParamCount()
	return n
}

func shapeText(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "×")
}

// LayerField is the path of a layer's field.
func LayerField(i int, field string) string { return fmt.Sprintf("model.layers[%d].%s", i, field) }

// LayerFields lists the editable fields of a layer type.
func LayerFields(typ string) []string {
	switch typ {
	case spec.Conv2D:
		return []string{"filters", "kernel", "stride", "padding", "activation", "init", "use_bias"}
	case spec.DepthwiseConv2D:
		return []string{"multiplier", "kernel", "stride", "padding", "activation", "init", "use_bias"}
	case spec.MaxPool, spec.AvgPool:
		return []string{"kernel", "stride"}
	case spec.Dense:
		return []string{"units", "activation", "init", "use_bias"}
	case spec.Dropout:
		return []string{"rate"}
	case spec.LeakyReLU, spec.ELU:
		return []string{"alpha"}
	}
	return nil
}

// LayerValue is a layer field's value as text.
func LayerValue(l spec.Layer, field string) string {
	switch field {
	case "filters":
		return intText(l.Filters)
	case "multiplier":
		return intText(l.Multiplier)
	case "kernel":
		return intText(l.Kernel)
	case "stride":
		return intText(l.Stride)
	case "units":
		return intText(l.Units)
	case "padding":
		return l.Padding.String()
	case "rate":
		return FormatFloat(l.Rate)
	case "alpha":
		return FormatFloat(l.Alpha)
	case "activation":
		return l.Activation
	case "init":
		return l.Init
	case "use_bias":
		return strconv.FormatBool(l.Bias())
	}
	return ""
}

func intText(v int) string {
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

// FormatFloat writes a setting compactly.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// AddLayer inserts a layer of a type before the final dense layer.
func (r *Root) AddLayer(e vugu.DOMEvent) {
	typ := e.PropString("target", "value")
	if typ == "" {
		return
	}
	l := spec.Layer{Type: typ}
	switch typ {
	case spec.Conv2D:
		l.Filters, l.Kernel, l.Padding = 16, 3, spec.Padding{Mode: spec.PadSame}
	case spec.DepthwiseConv2D:
		l.Kernel = 3
	case spec.MaxPool, spec.AvgPool:
		l.Kernel = 2
	case spec.Dense:
		l.Units = 64
	case spec.Dropout:
		l.Rate = 0.25
	}
	s := r.Spec.Clone()
	layers := s.Model.Layers
	at := max(0, len(layers)-1)
	s.Model.Layers = append(layers[:at:at], append([]spec.Layer{l}, layers[at:]...)...)
	for i := range s.Model.Layers {
		// New layers get names from Expand; keep the others'.
		if i == at {
			s.Model.Layers[i].Name = uniqueName(s.Model.Layers, typ)
		}
	}
	r.Spec = s
	r.validate()
}

func uniqueName(layers []spec.Layer, typ string) string {
	base := strings.ReplaceAll(typ, "_", "")
	for n := 1; ; n++ {
		name := fmt.Sprintf("%s_%d", base, n)
		taken := false
		for _, l := range layers {
			taken = taken || l.Name == name
		}
		if !taken {
			return name
		}
	}
}

// RemoveLayer deletes layer i.
func (r *Root) RemoveLayer(i int) {
	s := r.Spec.Clone()
	if i < 0 || i >= len(s.Model.Layers) {
		return
	}
	s.Model.Layers = append(s.Model.Layers[:i], s.Model.Layers[i+1:]...)
	r.Spec = s
	r.validate()
}

// MoveLayer swaps layer i with its neighbour by (−1 up, +1 down).
func (r *Root) MoveLayer(i, by int) {
	s := r.Spec.Clone()
	j := i + by
	if i < 0 || j < 0 || i >= len(s.Model.Layers) || j >= len(s.Model.Layers) {
		return
	}
	s.Model.Layers[i], s.Model.Layers[j] = s.Model.Layers[j], s.Model.Layers[i]
	r.Spec = s
	r.validate()
}

// Augmentation lists the transforms the page offers, with the unit of
// their strength.
var Augmentation = []struct{ Field, Label, Strength string }{
	{"flip_horizontal", "Flip horizontally", ""},
	{"flip_vertical", "Flip vertically", ""},
	{"crop", "Random crop", "pixels of padding"},
	{"shift", "Shift", "fraction of the size"},
	{"rotation", "Rotation", "degrees"},
	{"zoom", "Zoom", "± fraction"},
	{"brightness", "Brightness", "± fraction of 255"},
	{"contrast", "Contrast", "± factor"},
	{"saturation", "Saturation", "± factor (colour)"},
	{"hue", "Hue", "± fraction of 180°"},
	{"cutout", "Cutout", "fraction of the size"},
}

// StrengthMax is the slider range of a transform's strength.
func StrengthMax(field string) string {
	switch field {
	case "crop":
		return "8"
	case "rotation":
		return "45"
	}
	return "1"
}

// Transform is a transform's current setting.
func (r *Root) Transform(field string) spec.Transform {
	a := r.Spec.Data.Augment
	switch field {
	case "flip_horizontal":
		return a.FlipHorizontal
	case "flip_vertical":
		return a.FlipVertical
	case "crop":
		return a.Crop
	case "shift":
		return a.Shift
	case "rotation":
		return a.Rotation
	case "zoom":
		return a.Zoom
	case "brightness":
		return a.Brightness
	case "contrast":
		return a.Contrast
	case "saturation":
		return a.Saturation
	case "hue":
		return a.Hue
	case "cutout":
		return a.Cutout
	}
	return spec.Transform{}
}

// SampleURLs and PreviewURLs are the images of the grids.
func (r *Root) SampleURLs() []string  { return r.sampleURLs }
func (r *Root) PreviewURLs() []string { return r.previewURLs }

// ClassName names class k of the loaded dataset.
func (r *Root) ClassName(k int) string {
	if r.Dataset != nil {
		return className(r.Dataset.Classes, k)
	}
	return strconv.Itoa(k)
}

// ClassBars is the class-count chart of the dataset.
func (r *Root) ClassBars() string {
	d := r.Dataset
	if d == nil {
		return ""
	}
	bars := make([]Bar, len(d.ClassCounts))
	for i, n := range d.ClassCounts {
		bars[i] = Bar{className(d.Classes, i), float64(n)}
	}
	return BarChart("training images per class", bars, 360, false, func(v float64) string { return strconv.Itoa(int(v)) })
}

// LRPlot charts the planned learning rate.
func (r *Root) LRPlot() string {
	pts := r.Host.LRCurve(r.Spec.Train, 200)
	return LineChart{Title: "learning rate over the planned epochs", XLabel: "epoch", Width: 420, Height: 180, LogY: true,
		Series: []Series{{Points: pts}}}.SVG()
}

// Progress texts of the current run.
func (r *Root) ProgressPercent() string {
	if r.Current == nil {
		return "0"
	}
	return fmt.Sprintf("%.1f", 100*r.Current.Progress.Fraction())
}

// ProgressText says where the current run is.
func (r *Root) ProgressText() string {
	run := r.Current
	if run == nil {
		return ""
	}
	p := run.Progress
	s := fmt.Sprintf("epoch %d/%d · step %d/%d", max(p.Epoch, 1), p.Epochs, p.Step, p.Epochs*p.StepsPerEpoch)
	if p.ImagesPerSecond > 0 {
		s += fmt.Sprintf(" · %.0f img/s", p.ImagesPerSecond)
	}
	if run.State == protocol.StateRunning && p.ETA > 0 {
		s += " · ETA " + duration(p.ETA)
	}
	if run.State == protocol.StatePaused {
		s += " · paused"
	}
	return s
}

func duration(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	return d.String()
}

// Step is the current run's step count (the e2e tests read it).
func (r *Root) Step() int {
	if r.Current == nil {
		return 0
	}
	return r.Current.Progress.Step
}

// ResultText summarizes the current run's end.
func (r *Root) ResultText() string {
	run := r.Current
	if run == nil || run.Result == nil {
		return ""
	}
	e := run.Result
	s := fmt.Sprintf("stopped: %s after %d epochs", e.Stopped, e.Epochs)
	if finite(e.TestAccuracy) {
		s += fmt.Sprintf(" · test accuracy %.2f%%", 100*e.TestAccuracy)
	}
	if e.Reason != "" {
		s += " · " + e.Reason
	}
	return s
}

// LossChart and AccuracyChart plot the current run, and the runs
// overlaid when any are ticked.
func (r *Root) LossChart() string {
	return LineChart{Title: r.chartTitle("loss (log scale)"), XLabel: "epoch", Width: 460, Height: 240, LogY: true, Marks: r.LossMarks(), Series: r.series(func(run *Run) (step []Point, train, val []Point) {
		return run.StepLoss, epochPoints(run, func(e protocol.Event) float64 { return e.TrainLoss }), epochPoints(run, func(e protocol.Event) float64 { return e.ValLoss })
	})}.SVG()
}

func (r *Root) AccuracyChart() string {
	return LineChart{Title: r.chartTitle("accuracy"), XLabel: "epoch", Width: 460, Height: 240, YMin: 0, YMax: 1, Bands: r.AccuracyBands(), Series: r.series(func(run *Run) (step []Point, train, val []Point) {
		return run.StepAccuracy, epochPoints(run, func(e protocol.Event) float64 { return e.TrainAccuracy }), epochPoints(run, func(e protocol.Event) float64 { return e.ValAccuracy })
	})}.SVG()
}

// LRChart plots the rate the current run trained at.
func (r *Root) LRChart() string {
	var pts []Point
	if r.Current != nil {
		pts = r.Current.StepLR
	}
	return LineChart{Title: "learning rate", XLabel: "epoch", Width: 460, Height: 160, LogY: true, Series: []Series{{Name: "lr", Points: pts}}}.SVG()
}

func epochPoints(run *Run, f func(protocol.Event) float64) []Point {
	pts := make([]Point, 0, len(run.Epochs))
	for _, e := range run.Epochs {
		pts = append(pts, Point{float64(e.Epoch), f(e)})
	}
	return pts
}

// series builds the lines: the current run's step curve and its epoch
// train and validation curves, or, with runs ticked for overlay, the
// train (solid) and validation (dashed) curves of each of them.
func (r *Root) series(get func(*Run) (step, train, val []Point)) []Series {
	var overlay []*Run
	for _, run := range r.Runs {
		if r.Overlay[run.ID] {
			overlay = append(overlay, run)
		}
	}
	if len(overlay) == 0 {
		if r.Current == nil {
			return nil
		}
		step, train, val := get(r.Current)
		return []Series{
			{Name: "train (steps)", Color: "#93c5fd", Points: step},
			{Name: "train", Color: Palette[0], Points: train},
			{Name: "validation", Color: Palette[1], Points: val},
		}
	}
	var out []Series
	for i, run := range overlay {
		_, train, val := get(run)
		c := Palette[i%len(Palette)]
		out = append(out, Series{Name: fmt.Sprintf("#%d %s", r.index(run), truncate(overlayName(run), 34)), Color: c, Points: train},
			Series{Color: c, Dashed: true, Points: val})
	}
	return out
}

// overlayName is the part of a run's name that tells it from the others
// overlaid with it.
func overlayName(run *Run) string {
	if i := strings.Index(run.Name, " + fix "); i > 0 {
		return "fix" + strings.TrimPrefix(run.Name[i:], " + fix")
	}
	return run.Name
}

// chartTitle says how overlaid runs are drawn.
func (r *Root) chartTitle(title string) string {
	if r.overlaying() {
		return title + " · solid train, dashed validation"
	}
	return title
}

func (r *Root) index(run *Run) int {
	for i, x := range r.Runs {
		if x == run {
			return i + 1
		}
	}
	return 0
}

// LastEpoch is the current run's latest epoch event.
func (r *Root) LastEpoch() *protocol.Event {
	if r.Current == nil || len(r.Current.Epochs) == 0 {
		return nil
	}
	return &r.Current.Epochs[len(r.Current.Epochs)-1]
}

// Confusion is the heatmap of the latest validation confusion matrix (the
// test one once the run has ended).
func (r *Root) Confusion() string {
	e := r.LastEpoch()
	if r.Current != nil && r.Current.Result != nil && r.Current.Result.Confusion != nil {
		e = r.Current.Result
	}
	if e == nil {
		return `<p class="muted">after the first epoch</p>`
	}
	return Heatmap(e.Confusion, r.classes(), 340)
}

func (r *Root) classes() []string {
	if r.Current != nil && r.Current.Start != nil {
		return r.Current.Start.Classes
	}
	if r.Dataset != nil {
		return r.Dataset.Classes
	}
	return nil
}

// PerClass charts per-class accuracy.
func (r *Root) PerClass() string {
	e := r.LastEpoch()
	if e == nil {
		return ""
	}
	bars := make([]Bar, len(e.PerClassAccuracy))
	for i, v := range e.PerClassAccuracy {
		bars[i] = Bar{className(r.classes(), i), v}
	}
	return BarChart("validation accuracy per class", bars, 340, false, func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) })
}

// GradNorms and DeadReLUs chart the layer statistics of the last epoch.
func (r *Root) GradNorms() string {
	e := r.LastEpoch()
	if e == nil {
		return ""
	}
	var bars []Bar
	for _, l := range e.Layers {
		if l.WeightNorm > 0 {
			bars = append(bars, Bar{l.Name, l.GradNorm})
		}
	}
	return BarChart("gradient norm per layer (log scale)", bars, 340, true, func(v float64) string { return fmt.Sprintf("%.2g", v) })
}

func (r *Root) DeadReLUs() string {
	e := r.LastEpoch()
	if e == nil {
		return ""
	}
	var bars []Bar
	for _, l := range e.Layers {
		if strings.Contains(l.Type, "relu") {
			bars = append(bars, Bar{l.Name, l.DeadFraction})
		}
	}
	if len(bars) == 0 {
		return ""
	}
	return BarChart("dead units per ReLU layer", bars, 340, false, func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) })
}

// WrongURLs, FilterURLs are the current run's galleries.
func (r *Root) WrongURLs() []string {
	if r.Current == nil {
		return nil
	}
	return r.Current.wrongURLs
}

func (r *Root) FilterURLs() []string {
	if r.Current == nil {
		return nil
	}
	return r.Current.filterURLs
}

// WrongCaption labels a misclassified image.
func (r *Root) WrongCaption(i int) string {
	w := r.Current.Wrong
	if w == nil || i >= len(w.Labels) || i >= len(w.Predicted) {
		return ""
	}
	return fmt.Sprintf("true %s, predicted %s", className(r.classes(), w.Labels[i]), className(r.classes(), w.Predicted[i]))
}

// RunSummary is a line of the runs list.
func RunSummary(run *Run) string {
	s := run.State
	if run.Imported != "" {
		s = "imported weights"
	}
	if run.Result != nil {
		s = run.Result.Stopped
		if finite(run.Result.TestAccuracy) {
			s += fmt.Sprintf(", test %.1f%%", 100*run.Result.TestAccuracy)
		}
	}
	if n := len(run.Epochs); n > 0 {
		if v := run.Epochs[n-1].ValAccuracy; finite(v) {
			s += fmt.Sprintf(", val %.1f%% after %d epochs", 100*v, n)
		}
	}
	return s
}

// InputStats describes the dataset's pixels.
func (r *Root) InputStats() string {
	d := r.Dataset
	if d == nil {
		return ""
	}
	var parts []string
	for c := range d.Mean {
		parts = append(parts, fmt.Sprintf("mean %.1f, std %.1f", d.Mean[c], d.Std[c]))
	}
	return fmt.Sprintf("pixels 0–255; channel %s; %.1f MB in the worker", strings.Join(parts, " | "), float64(d.Bytes)/1e6)
}

// PageMemory is the page's wasm linear memory in bytes.
func (r *Root) PageMemory() int64 { return r.Host.PageMemory() }

// MeasureMemory asks the worker to collect garbage and report its memory.
func (r *Root) MeasureMemory() {
	r.Host.Send(protocol.NewCommand("", protocol.CmdMemory))
}

// MemoryCollected says whether the shown memory was measured right after
// a collection ("true" or "false").
func (r *Root) MemoryCollected() string {
	return strconv.FormatBool(r.WorkerMemory != nil && r.WorkerMemory.Collected)
}

// MemoryText says how much memory the worker and the page hold.
func (r *Root) MemoryText() string {
	m := r.WorkerMemory
	if m == nil {
		return ""
	}
	return fmt.Sprintf("memory: worker %s (live Go heap %s, of which images %s) · page %s",
		megabytes(m.Linear), megabytes(m.Live), megabytes(m.Dataset), megabytes(r.PageMemory()))
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// Percent writes a fraction as a percentage, "–" when not measured.
func Percent(v float64) string {
	if !finite(v) || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}
