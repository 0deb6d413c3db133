package ui

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

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
	// ChosenFile takes the file chosen in a file input's change event
	// without reading it (a dataset, which the worker reads in place);
	// ok is false when none was chosen.
	ChosenFile(e vugu.DOMEvent) (name string, file any, ok bool)
	// ChosenFolder packs the folder chosen in a folder input's change
	// event into a zip the worker reads, telling PackingFolder how far it
	// is, then LoadFile the zip (or FolderFailed why not).
	ChosenFolder(e vugu.DOMEvent)
	// SaveRun stores a run record; SaveWeights its weights; DeleteRun both.
	SaveRun(id string, record []byte)
	SaveWeights(id string, weights []byte)
	DeleteRun(id string)
	// SubmitJob sends a run to the server's jobs API (request is the body
	// of POST /api/jobs), after the dataset file when there is one (its
	// answer goes to DatasetSent), and feeds what the server reports into Apply as
	// the worker's messages for run: events, state done, weights, errors;
	// ServerJob learns the job's id and backend.
	SubmitJob(run string, request []byte, dataset *Upload)
	// StopSending stops run's waiting for the dataset file SubmitJob
	// began to send, and the run ends as stopped; the sending is aborted
	// when no other run waits for it.
	StopSending(run string, dataset *Upload)
	// CancelJob cancels a server job.
	CancelJob(job string)
	// FollowJob follows a job submitted by an earlier visit of the page as
	// SubmitJob does, its stream from the first event.
	FollowJob(run, job string)
	// ListJobs reads the server's jobs, newest first; OpenJob one job's
	// expanded spec. done runs on the page's goroutine.
	ListJobs(done func([]ServerJob, error))
	OpenJob(job string, done func(*spec.Spec, error))
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
	StepLoss     []Point `json:"step_loss,omitempty"`
	StepAccuracy []Point `json:"step_accuracy,omitempty"`
	StepLR       []Point `json:"step_lr,omitempty"`
	// CheckLoss and CheckAccuracy are the validation checks within epochs,
	// by epoch (fractional).
	CheckLoss     []Point `json:"check_loss,omitempty"`
	CheckAccuracy []Point `json:"check_accuracy,omitempty"`
	// Early is the doctor's latest reading at a check before the first
	// epoch's end, and EarlyCauses every cause it named at those checks.
	Early       []protocol.Diagnosis `json:"early,omitempty"`
	EarlyCauses []string             `json:"early_causes,omitempty"`
	Start       *protocol.Event      `json:"start,omitempty"`
	Epochs      []protocol.Event     `json:"epochs,omitempty"`
	Result      *protocol.Event      `json:"result,omitempty"`
	Wrong       *protocol.Images     `json:"misclassified,omitempty"`
	Filters     *protocol.Images     `json:"filters,omitempty"`
	HasWeights  bool                 `json:"has_weights,omitempty"`
	Error       string               `json:"error,omitempty"`
	// Parent is the run this one forked from to try a fix; Experiment
	// names the experiment it is an arm of.
	Parent     string `json:"parent,omitempty"`
	Experiment string `json:"experiment,omitempty"`
	// Fault names the mistake planted in the run on purpose
	// (spec.Faults), if any.
	Fault string `json:"fault,omitempty"`
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
	// stopAsked is set when Stop was pressed before the server named the
	// run's job; upload is the dataset file sent before the job, if any.
	stopAsked bool
	upload    *Upload
	// weights are the run's weights when the page holds them (an import);
	// from are the weights a queued run starts from.
	weights, from []byte
	wrongURLs     []string
	saliencyURLs  []string
	filterURLs    []string
	// A server run's pace, from its epoch events (the server sends no
	// progress messages): the steps a second of its latest epoch, the
	// seconds its epochs took and the step of the latest epoch's end.
	stepRate      float64
	serverSeconds float64
	epochStep     int
}

// Root is the page: it holds the state every view shares and the
// operations on it, and builds the views, each a component that embeds
// it (header.go, data-view.go, run-view.go, …).
type Root struct {
	Host Host          `vugu:"data"`
	Env  vugu.EventEnv `vugu:"data"`

	Tab     string
	Ready   bool
	Message string // the last error, shown until dismissed
	Notice  string

	Datasets []protocol.Listing
	// ServerBackend is where the server's jobs train (GET /api/server),
	// ServerNote why, when it settled for less than asked; empty before
	// the server answered, or without a jobs API.
	ServerBackend, ServerNote string
	// ServerRefused says why the jobs API refused the page (its token:
	// none in the page's address, or another than the server's); shown
	// beside Run on server.
	ServerRefused string
	// ServerJobs are the server's jobs as last listed (Runs tab).
	ServerJobs  []ServerJob
	DatasetName string
	// localFile is the browser's File of a dataset the user chose or
	// dropped, kept to send it to the server for a run there; fileGen
	// counts the files loaded, sentAs is the name the server gave the
	// loaded one once it was sent.
	localFile any
	fileGen   int
	sentAs    string
	Loading   bool
	// loaded counts the images of the dataset being read, while the
	// worker reads one of image files.
	loaded *protocol.Loading
	// packing says the page is packing a folder the user chose or dropped
	// into a zip for the worker (loaded counting its files).
	packing bool
	// loadSide is the data.image_side the last dataset was asked for at,
	// readSide the one the loaded dataset was read at.
	loadSide, readSide int
	Dataset            *protocol.Dataset
	Samples            *protocol.Images
	Preview            *protocol.Images
	sampleURLs         []string
	previewURLs        []string
	previewSeed        int64

	// Spec is the spec the controls edit. A change replaces it with a
	// changed copy, never edits it in place: runs hold the spec they were
	// started with, and the caches below are kept by pointer.
	Spec       *spec.Spec
	Preset     string
	SpecErrors map[string]string
	// refused holds the text of each field whose value the spec refused,
	// by spec path, with the reason: the field keeps showing it, with its
	// error, while other fields are edited, until the field takes a value
	// or the spec is replaced (a preset, an import, a layer added, undo).
	refused  map[string]refusal
	specText string
	// undo holds the specs the page had before its latest changes of the
	// settings, the latest last (at most maxUndo); specs are replaced, never
	// changed in place, so each is kept as it was. validated is the spec
	// as of the last validate, undoing says validate is restoring one.
	undo      []*spec.Spec
	validated *spec.Spec
	undoing   bool
	// initial is the spec the page opened with, before any dataset or
	// change: one nobody chose, replaced for the first dataset unsaid.
	initial *spec.Spec
	// scale caches spec.PresetScale of scaleOf, the spec it was found for.
	scale   [2]int
	scaleOf *spec.Spec
	// diffs caches spec.Diff by the two specs compared (a run's spec does
	// not change), for the Runs tab's renders.
	diffs map[[2]*spec.Spec][]string

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

	// Workers is the number of parts every batch of a run in the page is
	// cut into, each trained in its own worker (protocol.Command.Workers);
	// Cores is the browser's navigator.hardwareConcurrency (0 unknown).
	Workers int
	Cores   int

	// FaultName is the fault picked in the Experiments tab's list
	// (spec.Faults; the first until one is picked).
	FaultName string
}

// pendingImport is a weights file waiting for the worker's check.
type pendingImport struct {
	id, file string
	spec     *spec.Spec
	bytes    []byte
}

// NewRoot returns the page with the default preset for MNIST.
func NewRoot(host Host) *Root {
	r := &Root{Host: host, Tab: "Data", Overlay: map[string]bool{}, SpecErrors: map[string]string{}, Workers: 1}
	r.ChoosePreset(spec.DefaultPreset("mnist"))
	r.initial = r.Spec
	return r
}

// Apply changes the page's state with one worker message.
func (r *Root) Apply(m protocol.Message) {
	switch m.Kind {
	case protocol.KindReady:
		r.Ready = true
	case protocol.KindError:
		r.Loading, r.loaded = false, nil
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
	case protocol.KindLoading:
		if r.Loading {
			r.loaded = m.Loading
		}
	case protocol.KindDataset:
		r.Loading, r.loaded = false, nil
		r.Dataset, r.readSide = m.Dataset, r.loadSide
		r.Notice = fmt.Sprintf("%s loaded: %s training and %s test images of %d×%d×%d.", m.Dataset.Name, Count(m.Dataset.TrainSize), Count(m.Dataset.TestSize), m.Dataset.Shape[0], m.Dataset.Shape[1], m.Dataset.Shape[2])
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
			run.saliencyURLs = SaliencyURLs(m.Images, 2)
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
		} else if e.Step > run.Progress.Step {
			// The worker's progress messages come at most a few times a
			// second: a step event can be ahead of the last one, as the
			// last steps of a run that diverged are.
			run.Progress.Step, run.Progress.Epoch = e.Step, e.Epoch
		}
		x := float64(e.Step) / spe
		run.StepLoss = append(run.StepLoss, Point{x, e.Loss})
		run.StepAccuracy = append(run.StepAccuracy, Point{x, e.Accuracy})
		run.StepLR = append(run.StepLR, Point{x, e.LR})
	case protocol.EventValCheck:
		x := float64(e.Step) / spe
		run.CheckLoss = append(run.CheckLoss, Point{x, e.ValLoss})
		run.CheckAccuracy = append(run.CheckAccuracy, Point{x, e.ValAccuracy})
		if e.Diagnoses != nil {
			run.Early = e.Diagnoses
			for _, d := range e.Diagnoses {
				if !slices.Contains(run.EarlyCauses, d.Cause) {
					run.EarlyCauses = append(run.EarlyCauses, d.Cause)
				}
			}
		}
	case protocol.EventEpoch:
		run.Epochs = append(run.Epochs, e)
		if run.Server != "" {
			if e.Seconds > 0 && e.Step > run.epochStep {
				run.stepRate = float64(e.Step-run.epochStep) / e.Seconds
			}
			run.serverSeconds += e.Seconds
			run.epochStep = e.Step
			run.Progress.Step = e.Step
			run.Progress.Epoch = min(e.Epoch+1, max(run.Progress.Epochs, 1))
			run.Progress.ImagesPerSecond = e.ImagesPerSecond
		}
	case protocol.EventResult:
		run.Result = &e
	}
	if run.Server != "" && (e.Event == protocol.EventStep || e.Event == protocol.EventEpoch) {
		run.serverETA()
	}
}

// serverETA estimates a server run's time left, and the share of its time
// limit used, at the pace of its latest epoch: from the seconds its epochs
// took and the steps since the latest one ended.
func (run *Run) serverETA() {
	p := &run.Progress
	if run.stepRate <= 0 {
		return
	}
	p.ETA = float64(max(0, p.Epochs*p.StepsPerEpoch-p.Step)) / run.stepRate
	if run.Spec != nil {
		p.UseTime(run.Spec.Train.TimeLimitSeconds, run.serverSeconds+float64(max(0, p.Step-run.epochStep))/run.stepRate)
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
	if err != nil {
		// Said, not swallowed: a run that cannot be written would be
		// missing, or stale, after a reload.
		r.Message = "saving the run " + run.Name + " failed, so a reload will not show it as it is now: " + err.Error()
		return
	}
	r.Host.SaveRun(run.ID, b)
}

// Restore puts back the runs stored by an earlier visit.
func (r *Root) Restore(records [][]byte) {
	var follow []*Run
	defer func() {
		for _, run := range follow {
			r.Host.FollowJob(run.ID, run.Server)
		}
	}()
	for _, b := range records {
		var run Run
		if json.Unmarshal(b, &run) != nil || run.ID == "" || r.run(run.ID) != nil {
			continue
		}
		switch {
		case run.State == protocol.StateDone:
		case run.Server != "" && run.Server != serverSubmitting:
			// The server trains on without the page: follow the job again.
			run.forReplay()
			follow = append(follow, &run)
		default:
			// The worker that trained it is gone with the old page.
			run.State = protocol.StateDone
			if run.Result == nil {
				run.Error = "the page was closed while this run trained; it kept the epochs it finished"
			}
		}
		run.wrongURLs = ImageURLs(run.Wrong, 2)
		run.saliencyURLs = SaliencyURLs(run.Wrong, 2)
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
	// The first load clears no message said before it: a damaged spec in
	// the page's address is said at the start and must stay said.
	msg := r.Message
	defer func() { r.Message = msg }()
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
			r.DatasetName, r.Loading, r.loaded, r.Message = name, true, nil, ""
			r.localFile, r.sentAs, r.loadSide = nil, "", r.Spec.Data.ImageSide
			c := r.loadCommand(name, r.Spec.Data.ImageSide)
			c.Dataset.URL = l.URL
			r.Host.Send(c)
			return
		}
	}
}

// LoadFile has the worker load a dataset file the user chose or dropped:
// file is the browser's File, which the worker reads where it lies, so
// that a large archive never sits whole in the page's memory.
func (r *Root) LoadFile(name string, file any) {
	r.DatasetName, r.Loading, r.loaded, r.packing, r.Message = name, true, nil, false, ""
	r.localFile, r.sentAs, r.loadSide = file, "", r.Spec.Data.ImageSide
	r.fileGen++
	c := r.loadCommand(name, r.Spec.Data.ImageSide)
	c.Blob = file
	r.Host.Send(c)
}

// loadCommand is a load command for the dataset name read at image side
// side, with the workers a run trains with, which decode a dataset of
// photos side by side.
func (r *Root) loadCommand(name string, side int) protocol.Command {
	c := protocol.NewCommand("", protocol.CmdLoad)
	c.Dataset = &protocol.DatasetRef{Name: name, ImageSide: side}
	c.Workers = r.Workers
	return c
}

// readAtImageSide has the worker read the loaded dataset again when it is
// one of image files read at another data.image_side than the
// spec's, whatever changed it (its field, an imported spec, a run's
// settings used again): the model then takes the new input shape, as for
// any other dataset.
func (r *Root) readAtImageSide() {
	side := r.Spec.Data.ImageSide
	if r.Loading || r.Dataset == nil || !r.Dataset.FromImages || side == r.readSide || r.SpecErrors["data.image_side"] != "" {
		return
	}
	c := r.loadCommand(r.DatasetName, side)
	switch {
	case r.localFile != nil:
		c.Blob = r.localFile
	default:
		for _, l := range r.Datasets {
			if l.Name == r.DatasetName {
				c.Dataset.URL = l.URL
			}
		}
		if c.Dataset.URL == "" {
			return
		}
	}
	r.Loading, r.loaded, r.Message, r.loadSide = true, nil, "", side
	r.Host.Send(c)
}

// PackingFolder says the page is packing folder name for the worker: done
// of total files read so far (0 of 0 while it lists them).
func (r *Root) PackingFolder(name string, done, total int) {
	r.DatasetName, r.Loading, r.packing, r.Message = name, true, true, ""
	r.loaded = &protocol.Loading{Done: done, Total: total}
}

// FolderFailed says why a folder could not be packed; the page keeps the
// dataset it had.
func (r *Root) FolderFailed(name string, err error) {
	r.Loading, r.packing, r.loaded = false, false, nil
	if r.Dataset != nil {
		r.DatasetName = r.Dataset.Name
	}
	r.Message = fmt.Sprintf("%s: %v; the page keeps the dataset it had", name, err)
}

// LoadingText says which dataset the worker is reading and, for one of
// images, how far it is.
func (r *Root) LoadingText() string {
	if r.packing {
		text := "reading the folder " + r.DatasetName + "…"
		if l := r.loaded; l != nil && l.Total > 0 {
			text += fmt.Sprintf(" %s of %s files", Count(l.Done), Count(l.Total))
		}
		return text
	}
	text := "loading " + r.DatasetName + "…"
	if l := r.loaded; l != nil && l.Total > 0 {
		text += fmt.Sprintf(" %s of %s images read", Count(l.Done), Count(l.Total))
		if l.Workers > 1 {
			text += fmt.Sprintf(" by %d workers", l.Workers)
		}
	}
	return text
}

// ShowImageSide says whether the Data tab offers data.image_side: for a
// dataset of image files, or a spec that sets it.
func (r *Root) ShowImageSide() bool {
	return r.Spec.Data.ImageSide != 0 || r.Dataset != nil && r.Dataset.FromImages
}

// fitSpecToDataset adapts the model to the loaded data: a scalable preset
// the user chose (its layers unedited) built again for the data at the
// same width and depth, keeping the training settings; else the preset
// made for that dataset when there is one (with its augmentation, unless
// the user has some on), else the current model with the dataset's input
// shape and classes.
func (r *Root) fitSpecToDataset() {
	d := r.Dataset
	if d == nil || len(d.Shape) != 3 {
		return
	}
	// Fitting the spec to the data is no change of the user's to undo; a
	// model made for another shape leaves the earlier specs unfit for the
	// data, so Undo starts again from it.
	r.undoing = true
	defer func() { r.undoing = false }()
	m := r.Spec.Model
	if fitsDataset(m, d) {
		s := r.Spec.Clone()
		s.Data.Dataset = d.Name
		r.Spec = s
		r.validate()
		return
	}
	r.undo = nil
	// Said, so that a model brought by a link or an import for other
	// images is not replaced unseen.
	was := fmt.Sprintf(" The model %s, made for %s images and %d classes, does not take these", m.Name, shapeText(m.Input), m.Classes)
	if r.Spec == r.initial {
		was = ""
	}
	if w, depth, ok := spec.PresetScale(m); ok {
		p, err := spec.Preset(m.Name, spec.PresetOptions{Width: w, Depth: depth, Input: d.Shape, Classes: len(d.Classes)})
		if err == nil {
			s := r.Spec.Clone()
			s.Model = p.Model
			s.Data.Dataset = d.Name
			s.Expand()
			r.Spec, r.Preset = s, m.Name
			r.validate()
			if was != "" {
				r.Notice += was + ": it is built again for them, at the same width and depth."
			}
			return
		}
	}
	name := spec.DefaultPreset(d.Name)
	s, err := spec.Preset(name, spec.PresetOptions{Input: d.Shape, Classes: len(d.Classes)})
	if err != nil {
		s = r.Spec.Clone()
		s.SetInput(d.Shape[0], d.Shape[1], d.Shape[2], len(d.Classes))
		if was != "" {
			r.Notice += was + ": its input and output are made for them."
		}
	} else {
		if was != "" {
			r.Notice += was + ": the page took " + name + ", made for them, with its training settings."
		}
		s.Train.LogEvery = 10
		// The data settings are the user's; the preset's augmentation,
		// made for this data (flips and shifts for photographs), comes
		// along when the user has none on.
		own := s.Data.Augment
		s.Data = r.Spec.Data
		if !s.Data.Augment.On() {
			s.Data.Augment = own
		}
		r.Preset = name
	}
	s.Data.Dataset = d.Name
	r.Spec = s
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

// validate refreshes the errors shown at the fields and the shared URL.
func (r *Root) validate() {
	r.refused = nil
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
		if prev := r.validated; prev != nil && r.specText != string(b) && !r.undoing {
			r.undo = append(r.undo, prev)
			if len(r.undo) > maxUndo {
				r.undo = slices.Delete(r.undo, 0, len(r.undo)-maxUndo)
			}
		}
		r.specText, r.validated = string(b), r.Spec
		r.Host.SetHash("spec=" + base64.RawURLEncoding.EncodeToString(b))
	}
	r.readAtImageSide()
}

// fitsDataset reports whether model m takes dataset d's images and
// classes.
func fitsDataset(m spec.Model, d *protocol.Dataset) bool {
	return len(m.Input) == 3 && len(d.Shape) == 3 && m.Input[0] == d.Shape[0] && m.Input[1] == d.Shape[1] && m.Input[2] == d.Shape[2] && m.Classes == len(d.Classes)
}

// maxUndo is how many earlier specs Undo can go back through.
const maxUndo = 50

// CanUndo reports whether there is a change of the settings to undo.
func (r *Root) CanUndo() bool { return len(r.undo) > 0 }

// UndoTitle is the undo button's tooltip.
func (r *Root) UndoTitle() string {
	if len(r.undo) == 0 {
		return "no change of the settings to undo since the dataset loaded"
	}
	return fmt.Sprintf("undo the last change of the model, training or data settings (%d kept)", len(r.undo))
}

// Undo puts back the spec the page had before its latest change of the
// settings (a field, a layer, a preset, an imported spec, a fix), and says
// what it set back. Undo goes back through the changes made since the
// dataset was loaded: a dataset of another shape makes the earlier specs
// unfit for it.
func (r *Root) Undo() {
	// A spec made for another dataset's images (one a run's settings
	// brought before its dataset loaded) is passed over.
	for n := len(r.undo); n > 0 && r.Dataset != nil && !fitsDataset(r.undo[n-1].Model, r.Dataset); n-- {
		r.undo = r.undo[:n-1]
	}
	n := len(r.undo)
	if n == 0 {
		return
	}
	prev := r.undo[n-1]
	r.undo = r.undo[:n-1]
	if prev.Data.Dataset != r.Spec.Data.Dataset {
		// The dataset loaded since (of the same shape) stays the spec's.
		prev = prev.Clone()
		prev.Data.Dataset = r.Spec.Data.Dataset
	}
	back := spec.Diff(r.Spec, prev)
	r.undoing = true
	r.Spec, r.Preset = prev, prev.Model.Name
	r.validate()
	r.undoing = false
	switch {
	case len(back) == 0:
		r.Notice = "undone"
	case len(back) > 4:
		r.Notice = "undone: " + strings.Join(back[:4], ", ") + fmt.Sprintf(" and %d more", len(back)-4)
	default:
		r.Notice = "undone: " + strings.Join(back, ", ")
	}
}

// Valid reports whether the spec has no errors.
func (r *Root) Valid() bool { return len(r.SpecErrors) == 0 }

// FieldError is the error at a spec path, or "".
func (r *Root) FieldError(path string) string { return r.SpecErrors[path] }

// InputClass marks a control whose spec path has an error.
func (r *Root) InputClass(path string) string {
	if r.FieldError(path) != "" {
		return "invalid"
	}
	return ""
}

// ErrorList lists every spec error, by path.
func (r *Root) ErrorList() []string {
	var out []string
	for p, m := range r.SpecErrors {
		out = append(out, p+": "+m)
	}
	sort.Strings(out)
	return out
}

// refusal is a field's text that the spec refused, and why.
type refusal struct{ text, err string }

// refuse validates the spec again and keeps text in the field at path, with
// msg as its error, beside the other fields' refusals in kept.
func (r *Root) refuse(kept map[string]refusal, path, text, msg string) {
	r.validate()
	r.keepRefused(kept, path)
	if r.refused == nil {
		r.refused = map[string]refusal{}
	}
	r.refused[path] = refusal{text, msg}
	r.SpecErrors[path] = msg
}

// keepRefused puts back, after validate, the refusals of the fields other
// than the one just edited (path).
func (r *Root) keepRefused(kept map[string]refusal, path string) {
	for p, f := range kept {
		if p == path {
			continue
		}
		if r.refused == nil {
			r.refused = map[string]refusal{}
		}
		r.refused[p] = f
		r.SpecErrors[p] = f.err
	}
}

// Set changes one spec field from a text value, as spec.Set reads it. A
// value the spec refuses stays in its field with the reason, and so do
// other fields' refused values, until each takes a value.
func (r *Root) Set(path, value string) {
	kept := r.refused
	s := r.Spec.Clone()
	if err := s.Set(path, value); err != nil {
		r.refuse(kept, path, value, err.Error())
		return
	}
	r.Spec = s
	r.validate()
	r.keepRefused(kept, path)
	if strings.HasPrefix(path, "data.augment.") {
		r.RequestPreview()
		if run := r.Current; run != nil && run.Server == "" && run.started &&
			(run.State == protocol.StateRunning || run.State == protocol.StatePaused) && r.Valid() {
			// The worker's run trains with the new augmentation from its
			// next step.
			c := protocol.NewCommand(run.ID, protocol.CmdSetAugment)
			c.Spec = s
			r.Host.Send(c)
		}
	}
	if path == "train.lr" && r.Current != nil && r.Current.State != protocol.StateDone && r.Current.State != "" {
		c := protocol.NewCommand(r.Current.ID, protocol.CmdSetLR)
		c.LR = s.Train.LR
		r.Host.Send(c)
	}
}

// Show puts a setting into the control el that edits it, after each
// render (vg-js-populate='c.Show(value, path, text)'): text becomes an
// input's value, a select's chosen option, or a checkbox's check ("true").
// path is the setting's spec path, or another name for one that is not in
// the spec; a field whose text the spec refused keeps that text.
//
// vugu's :value and :checked set attributes, which a browser stops showing
// once the user has edited the control, so after a preset, an imported
// spec or a fix the page would go on showing the old setting. Show sets the
// control's property instead. It leaves alone the control that has the
// focus while its setting is the one Show last put there (kept on the
// element): renders while a run trains do not reset what a user is typing
// before its change event commits it, nor erase the "0." of a decimal half
// typed in a number field, whose value reads "0" meanwhile.
func (r *Root) Show(el js.Value, path, text string) {
	if refused, ok := r.refused[path]; ok {
		text = refused.text
	}
	shown := path + "=" + text
	if el.Get("plateauShown").String() == shown && el.Call("isSameNode", el.Get("ownerDocument").Get("activeElement")).Bool() {
		return
	}
	el.Set("plateauShown", shown)
	if el.Get("type").String() == "checkbox" {
		if checked := text == "true"; el.Get("checked").Bool() != checked {
			el.Set("checked", checked)
		}
	} else if el.Get("value").String() != text {
		el.Set("value", text)
	}
}

// SetCores records the browser's core count and picks the workers a run
// trains with by default: one per core but one, left to the page and the
// browser, up to four; two on two cores, where the page stays as
// responsive with two as with one and trains 1.3–1.4 times as fast; one
// on one core or when the browser does not say.
func (r *Root) SetCores(n int) {
	r.Cores = n
	switch {
	case n <= 1:
		r.Workers = 1
	case n == 2:
		r.Workers = 2
	default:
		r.Workers = min(n-1, 4)
	}
}

// WorkerChoices are the worker counts the page offers.
func (r *Root) WorkerChoices() []int {
	n := min(protocol.MaxWorkers, max(r.Cores, 4))
	choices := make([]int, n)
	for i := range choices {
		choices[i] = i + 1
	}
	return choices
}

// SetWorkers takes the workers select's change.
func (r *Root) SetWorkers(e vugu.DOMEvent) { r.UseWorkers(e.PropString("target", "value")) }

// UseWorkers sets the workers from text (the select, the page's
// ?workers=), when it is a count from 1 to protocol.MaxWorkers.
func (r *Root) UseWorkers(text string) {
	if n, err := strconv.Atoi(text); err == nil && n >= 1 && n <= protocol.MaxWorkers {
		r.Workers = n
	}
}

// CoresText says how many cores the browser reports.
func (r *Root) CoresText() string {
	if r.Cores <= 0 {
		return "(the browser does not say how many cores this device has)"
	}
	return fmt.Sprintf("(this device has %d cores)", r.Cores)
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
	if d := r.Dataset; d != nil && len(d.Shape) == 3 && len(s.Model.Input) == 0 && s.Model.Classes == 0 {
		// A spec that leaves out its input and classes takes the data's,
		// as plateau train -spec does.
		s.SetInput(d.Shape[0], d.Shape[1], d.Shape[2], len(d.Classes))
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
		r.Message = "the spec in the page's address is damaged (" + err.Error() + "): the link was cut short or changed on its way; the page keeps its own spec"
		return
	}
	if err := r.ImportSpecText(b); err != nil {
		r.Message = "the spec in the page's address was not imported: " + err.Error() + "; the page keeps its own spec"
	} else if r.PreferDataset == "" {
		// The link's model trains on its dataset when the server has it.
		r.PreferDataset = r.Spec.Data.Dataset
	}
	// The link's spec is where the page starts: nothing before it to undo.
	r.undo = nil
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
	if r.Loading {
		r.Message = "the dataset is still loading: start once it has loaded"
		return false
	}
	return true
}

// HasData reports whether a dataset is loaded and none is loading, which
// a run needs: one started while another loads would train on the old
// images with a spec made for the new.
func (r *Root) HasData() bool { return r.Dataset != nil && !r.Loading }

// newRun records a run of s that has not started yet.
func (r *Root) newRun(s *spec.Spec, dataset, name string) *Run {
	r.counter++
	id := fmt.Sprintf("run-%d-%d", time.Now().UnixMilli(), r.counter)
	run := &Run{ID: id, Name: name, Dataset: dataset, Spec: s, Created: time.Now(), State: protocol.StateRunning, queued: true}
	run.Progress.Epochs = s.Train.Epochs
	r.Runs = append(r.Runs, run)
	if r.overlaying() {
		// Drawn beside the runs overlaid now, rather than not at all.
		r.Overlay[run.ID] = true
	}
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

// TrainsInPage reports whether a run trains, is paused or waits in this
// page's worker: its progress lives in the page alone, so leaving the
// page loses it (a server run goes on without the page).
func (r *Root) TrainsInPage() bool { return r.workerRun() != nil || len(r.Queue) > 0 }

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
	c.Workers = r.Workers
	run.from = nil
	r.Host.Send(c)
}

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
	r.Notice = fmt.Sprintf("%s fits %s: %d tensors, %s parameters.", p.file, p.spec.Model.Name, info.Tensors, Count(info.Params))
}

// evaluated ends an evaluation and starts the runs that waited for it.
func (r *Root) evaluated() {
	wasHolding := r.weightsInWorker
	r.evaluating, r.weightsInWorker = "", false
	if wasHolding {
		r.startQueued()
	}
}

// Running reports whether the current run trains or is paused.
func (r *Root) Running() bool {
	return r.Current != nil && (r.Current.State == protocol.StateRunning || r.Current.State == protocol.StatePaused)
}

// LocalRunning reports whether the current run trains, or is paused, in
// this page's worker. A server run goes on by itself, so a run can start
// in the page beside it (the server run keeps reporting to its record).
func (r *Root) LocalRunning() bool { return r.Running() && r.Current.Server == "" }

// Paused reports whether the current run is paused.
func (r *Root) Paused() bool { return r.Current != nil && r.Current.State == protocol.StatePaused }

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

// index is a run's number in the runs list, from 1.
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

// Diagnoses are the doctor's findings on the current run so far: those
// of the result once it has ended, else of the latest epoch.
func (r *Root) Diagnoses() []protocol.Diagnosis {
	if r.Current == nil {
		return nil
	}
	return r.Current.diagnoses()
}

// ShowRun makes a stored run the current one, in the Run tab.
func (r *Root) ShowRun(id string) {
	if run := r.run(id); run != nil {
		r.Current = run
		r.Tab = "Run"
	}
}

// UseRunSpec makes run id's spec the page's: its model, training and data
// settings, to change and train again (a run tried earlier that did best,
// say). When the run trained on another of the server's datasets, that
// one loads too; a file of the user's has to be chosen again.
func (r *Root) UseRunSpec(id string) {
	run := r.run(id)
	if run == nil || run.Spec == nil {
		return
	}
	s := run.Spec.Clone()
	r.Spec, r.Preset = s, s.Model.Name
	r.validate()
	r.Notice = "the settings of " + run.Name + " are the page's now"
	if run.Dataset == "" || run.Dataset == r.DatasetName {
		return
	}
	if r.DatasetName == "" && len(r.Datasets) == 0 {
		// The server's datasets are not listed yet (the page has just
		// opened): the first to load is the run's.
		r.PreferDataset = run.Dataset
		return
	}
	for _, l := range r.Datasets {
		if l.Name == run.Dataset {
			r.LoadDataset(l.Name)
			r.Notice += "; loading " + l.Name + ", which it trained on"
			return
		}
	}
	r.Notice += "; it trained on " + run.Dataset + ", which is not loaded: drop or choose that file or folder again to train on it"
}

// diagnoses are the doctor's latest findings on a run: its result's, else
// its last epoch's, else its latest check's (what the steps and checks
// before the first epoch's end show), else its start's (what the data and
// the spec show before any training).
func (run *Run) diagnoses() []protocol.Diagnosis {
	if run.Result != nil && run.Result.Diagnoses != nil {
		return run.Result.Diagnoses
	}
	if n := len(run.Epochs); n > 0 {
		return run.Epochs[n-1].Diagnoses
	}
	if run.Early != nil {
		return run.Early
	}
	if run.Start != nil {
		return run.Start.Diagnoses
	}
	return nil
}

// before are the findings made before the first epoch's end: the start's,
// and every cause named at a check since (protocol.Earlier's before).
func (run *Run) before() []protocol.Diagnosis {
	var out []protocol.Diagnosis
	if run.Start != nil {
		out = append(out, run.Start.Diagnoses...)
	}
	for _, c := range run.EarlyCauses {
		out = append(out, protocol.Diagnosis{Cause: c})
	}
	return out
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

// FormatFloat writes a setting compactly.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Count writes a whole number with its thousands grouped: 421,642.
var Count = spec.Thousands

// FormatBool writes a checkbox's setting for Show.
func FormatBool(b bool) string { return strconv.FormatBool(b) }

// Percent writes a fraction as a percentage, "–" when not measured.
func Percent(v float64) string {
	if !finite(v) || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}
