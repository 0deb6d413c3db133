package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"plateau/data"
	"plateau/doctor"
	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// The jobs API trains specs on the server, one job at a time, and streams
// each job's events as server-sent events:
//
//	POST   /api/jobs               submit {"spec"|"preset", "dataset", ...}; 201 {"id"}
//	GET    /api/jobs               every job, newest first
//	GET    /api/jobs/{id}          one job's state
//	GET    /api/jobs/{id}/events   its events, replayed from the start, then live
//	DELETE /api/jobs/{id}          cancel it (queued or running)
//	GET    /api/jobs/{id}/weights  its final weights as safetensors
//	GET    /api/server             where jobs train (the backend, and why) and the limits
//	PUT    /api/datasets/{name}    a dataset file into the data folder, for jobs to name
//	DELETE /api/datasets/{name}    a dataset file out of it, unless a job waits for it
//
// A job lives in a folder of the jobs directory: job.json (the request and
// state), spec.json, events.jsonl (one event per line, exactly as
// plateau train -json writes them), weights.safetensors and, while it
// trains, the checkpoint of its last finished epoch. A
// restarted server reads them back: finished jobs stay, queued ones train,
// and an interrupted one goes on from its checkpoint (when the trainer
// resumes and the checkpoint's epoch is in the log; else it starts over).

// serverInfo is what GET /api/server answers: where jobs train, so a
// client can say it before it sends one.
type serverInfo struct {
	Backend string    `json:"backend"`
	Note    string    `json:"note,omitempty"` // why the backend is what it is
	Queued  int       `json:"queued"`
	Limits  jobLimits `json:"limits"`
}

// jobRequest is the body of POST /api/jobs: the command line's knobs.
type jobRequest struct {
	Spec   json.RawMessage `json:"spec,omitempty"`
	Preset string          `json:"preset,omitempty"`
	// Width and Depth size a scalable preset (0: its own).
	Width      int               `json:"width,omitempty"`
	Depth      int               `json:"depth,omitempty"`
	Dataset    string            `json:"dataset"`
	Epochs     int               `json:"epochs,omitempty"`
	TrainLimit int               `json:"train_limit,omitempty"`
	TestLimit  int               `json:"test_limit,omitempty"`
	Seed       *int64            `json:"seed,omitempty"`
	Set        map[string]string `json:"set,omitempty"`
	// FromJob names a finished job whose weights the run starts from (the
	// same model: every parameter with its shape).
	FromJob string `json:"from_job,omitempty"`
	// Weights are safetensors weights the run starts from (base64 in the
	// JSON), as the page downloads them: a run trained elsewhere goes on
	// here. They are kept in the job's folder, not in job.json.
	Weights []byte `json:"weights,omitempty"`
	// Workers cuts every batch into that many parts trained side by side,
	// one per core, as plateau train -workers does; the native backend
	// only (0 or 1: the kernels share the cores instead).
	Workers int `json:"workers,omitempty"`
	// Fault plants a classic mistake on purpose after "set" (spec.Faults,
	// plateau train -fault).
	Fault string `json:"fault,omitempty"`
}

// UnmarshalJSON takes "set" values as strings or as JSON numbers and
// booleans ({"train.lr": 0.01}), which Spec.Set reads from their text.
func (r *jobRequest) UnmarshalJSON(b []byte) error {
	type plain jobRequest
	var raw struct {
		plain
		Set map[string]json.RawMessage `json:"set,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	*r = jobRequest(raw.plain)
	if raw.Set != nil {
		r.Set = map[string]string{}
		for k, v := range raw.Set {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			r.Set[k] = s
		}
	}
	return nil
}

// requestDecodeError says what makes a POST /api/jobs body no job, in
// the request's own terms: where its JSON breaks, or which field holds a
// value of the wrong kind, rather than encoding/json's Go types.
func requestDecodeError(body []byte, err error) *requestError {
	const want = `send {"preset": NAME} or {"spec": {...}} with "dataset"`
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return badRequest("", "the request is empty: %s", want)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syntax) && syntax.Offset >= int64(len(body)):
		return badRequest("", "the request is not valid JSON: it ends too early: %s", want)
	case syntax != nil:
		return badRequest("", "the request is not valid JSON: at byte %d, %s: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "), want)
	case errors.As(err, &typeErr):
		// The fields sit in UnmarshalJSON's embedded "plain" struct.
		field := strings.TrimPrefix(strings.TrimPrefix(typeErr.Field, "."), "plain")
		field = strings.TrimPrefix(field, ".")
		if field == "" {
			return badRequest("", "the request is a JSON %s, not an object: %s", typeErr.Value, want)
		}
		return badRequest(field, "%s: want %s, not a JSON %s", field, spec.KindWord(typeErr.Type), typeErr.Value)
	}
	return badRequest("", "the request is not a job: %s: %s", strings.TrimPrefix(err.Error(), "json: "), want)
}

// Job states.
const (
	jobQueued   = "queued"
	jobRunning  = "running"
	jobDone     = "done"
	jobFailed   = "failed"
	jobCanceled = "canceled"
)

// jobStatus is what GET /api/jobs/{id} answers and job.json holds.
type jobStatus struct {
	ID       string       `json:"id"`
	State    string       `json:"state"`
	Backend  string       `json:"backend,omitempty"`
	Note     string       `json:"note,omitempty"` // why the backend is what it is
	Request  jobRequest   `json:"request"`
	Model    string       `json:"model,omitempty"` // the model's name
	Dataset  string       `json:"dataset"`
	Params   int          `json:"params"`
	Created  time.Time    `json:"created"`
	Started  *time.Time   `json:"started,omitempty"`
	Finished *time.Time   `json:"finished,omitempty"`
	Error    string       `json:"error,omitempty"`
	Epoch    int          `json:"epoch,omitempty"`
	Epochs   int          `json:"epochs"`
	Result   *train.Event `json:"result,omitempty"`
}

// jobLimits bound what one job may ask for, so one request cannot take the
// server's memory or its device for days.
type jobLimits struct {
	MaxParams int `json:"max_params"` // trainable parameters
	MaxBatch  int `json:"max_batch"`
	MaxEpochs int `json:"max_epochs"`
	// MaxSeconds bounds a job's time (spec.Train.TimeLimitSeconds): a job
	// without a time limit gets this one, a longer one is refused. 0 sets
	// no bound.
	MaxSeconds     int64 `json:"max_seconds"`
	MaxImages      int   `json:"max_images"`       // training plus test images after the limits
	MaxQueue       int   `json:"max_queue"`        // queued jobs, not counting the running one
	MaxRequestSize int64 `json:"max_request_size"` // the request without its weights
	MaxWeightsSize int64 `json:"max_weights_size"` // the weights a request brings, decoded
	MaxDatasetSize int64 `json:"max_dataset_size"` // a dataset file sent to the server
	// MaxMemory bounds what a job on the native backend holds (its
	// networks for the batch, the dataset); 0 is three fifths of the
	// machine's memory.
	MaxMemory int64 `json:"max_memory"`
}

var defaultJobLimits = jobLimits{
	MaxParams:      50_000_000,
	MaxBatch:       4096,
	MaxEpochs:      500,
	MaxImages:      2_000_000,
	MaxQueue:       16,
	MaxRequestSize: 1 << 20,
	MaxWeightsSize: 64 << 20,
	MaxDatasetSize: 1 << 30,
}

// trainer trains one prepared run; native and GoMLX trainers implement it.
type trainer interface {
	// Name is the backend as the job reports it: "native", "xla:cuda", ….
	Name() string
	Train(ctx context.Context, cfg train.Config) (*train.Result, error)
}

// nativeTrainer is the project's own kernels on all CPU cores.
type nativeTrainer struct{}

func (nativeTrainer) Name() string { return "native" }
func (nativeTrainer) Train(ctx context.Context, cfg train.Config) (*train.Result, error) {
	return train.Run(ctx, cfg)
}
func (nativeTrainer) Resumes() bool { return true }

// A resumer is a trainer whose runs honour train.Config.Checkpoint and
// ResumeFrom (train.Run's and gomlx.Trainer's do): a job it was running
// when the server stopped goes on after a restart from its last finished
// epoch instead of starting over.
type resumer interface{ Resumes() bool }

func (s *jobServer) canResume() bool {
	r, ok := s.trainer.(resumer)
	return ok && r.Resumes()
}

// job is one job in memory: its status and its event lines.
type job struct {
	mu      sync.Mutex
	status  jobStatus
	spec    *spec.Spec
	lines   [][]byte      // JSON events, without newline
	changed chan struct{} // closed and replaced whenever lines or state change
	cancel  context.CancelFunc
	// resume says the job's next run goes on from its folder's checkpoint,
	// after the events in lines.
	resume bool
}

func (j *job) notifyLocked() {
	close(j.changed)
	j.changed = make(chan struct{})
}

func (j *job) finished() bool {
	s := j.status.State
	return s == jobDone || s == jobFailed || s == jobCanceled
}

// jobServer holds the jobs, the queue and the one worker that trains.
type jobServer struct {
	dir, dataDir string
	token        string
	limits       jobLimits
	trainer      trainer
	note         string // why this backend, for the jobs' status
	heartbeat    time.Duration
	logf         func(format string, args ...any)

	mu    sync.Mutex
	jobs  map[string]*job
	queue []string
	wake  chan struct{}

	uploadMu sync.Mutex // one dataset file kept at a time
	loadMu   sync.Mutex // one dataset load at a time
	cacheKey string
	cached   *data.Dataset

	stop    context.CancelFunc
	stopped chan struct{}
}

type jobServerOptions struct {
	Dir, DataDir string
	Token        string
	Limits       jobLimits
	Trainer      trainer
	Note         string
	Heartbeat    time.Duration
	Logf         func(format string, args ...any)
}

// newJobServer reads the jobs folder, requeues unfinished jobs and starts
// the worker. Close stops it.
func newJobServer(o jobServerOptions) (*jobServer, error) {
	if o.Dir == "" {
		return nil, errors.New("no jobs folder")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if o.Trainer == nil {
		o.Trainer = nativeTrainer{}
	}
	if o.Limits == (jobLimits{}) {
		o.Limits = defaultJobLimits
	}
	if o.Limits.MaxMemory == 0 {
		o.Limits.MaxMemory = machineMemory() / 5 * 3
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.DataDir == "" {
		o.DataDir = data.DefaultDataDir()
	}
	s := &jobServer{dir: o.Dir, dataDir: o.DataDir, token: o.Token, limits: o.Limits, trainer: o.Trainer,
		note: o.Note, heartbeat: o.Heartbeat, logf: o.Logf, jobs: map[string]*job{}, wake: make(chan struct{}, 1),
		stopped: make(chan struct{})}
	if err := s.restore(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go s.work(ctx)
	return s, nil
}

// Close cancels the running job (it is requeued on the next start) and
// stops the worker.
func (s *jobServer) Close() {
	s.stop()
	<-s.stopped
}

// restore reads the jobs of an earlier server.
func (s *jobServer) restore() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var requeue []*job
	for _, e := range entries {
		if !e.IsDir() || !validJobID(e.Name()) {
			continue
		}
		folder := filepath.Join(s.dir, e.Name())
		b, err := os.ReadFile(filepath.Join(folder, "job.json"))
		if err != nil {
			continue
		}
		var st jobStatus
		if err := json.Unmarshal(b, &st); err != nil || st.ID != e.Name() {
			s.logf("jobs: skipping %s: unreadable job.json", folder)
			continue
		}
		j := &job{status: st, changed: make(chan struct{})}
		if sb, err := os.ReadFile(filepath.Join(folder, "spec.json")); err == nil {
			j.spec, _ = spec.Parse(sb)
		}
		switch st.State {
		case jobQueued, jobRunning:
			if j.spec == nil {
				j.status.State, j.status.Error = jobFailed, "spec.json is missing; submit the job again"
				s.save(j)
				break
			}
			// An interrupted run goes on from its checkpoint, with its
			// events up to the checkpoint's epoch; without one it starts
			// over and its events so far are dropped.
			j.status.State, j.status.Started, j.status.Result = jobQueued, nil, nil
			if epoch, lines, ok := s.resumable(folder); ok {
				j.resume, j.lines, j.status.Epoch = true, lines, epoch
				writeLines(filepath.Join(folder, "events.jsonl"), lines)
				s.logf("jobs: %s goes on after epoch %d", st.ID, epoch)
			} else {
				j.status.Epoch = 0
				os.Remove(filepath.Join(folder, "events.jsonl"))
				os.Remove(filepath.Join(folder, checkpointFile))
			}
			s.save(j)
			requeue = append(requeue, j)
		default:
			j.lines = readLines(filepath.Join(folder, "events.jsonl"))
		}
		s.jobs[st.ID] = j
	}
	sort.Slice(requeue, func(a, b int) bool { return requeue[a].status.Created.Before(requeue[b].status.Created) })
	for _, j := range requeue {
		s.queue = append(s.queue, j.status.ID)
	}
	if len(requeue) > 0 {
		s.logf("jobs: %d waiting job(s) requeued from %s", len(requeue), s.dir)
	}
	return nil
}

// resumable says whether the interrupted job in folder can go on from its
// checkpoint: this server's trainer resumes, the checkpoint is readable
// and the event log holds its epoch's event. It returns the epochs done
// and the log's lines up to that event; what came after is redone. A
// checkpoint of an epoch the run ended within (its time limit) keeps the
// lines before that epoch's event: the resumed run trains the rest of the
// epoch and reports it whole.
func (s *jobServer) resumable(folder string) (epoch int, lines [][]byte, ok bool) {
	if !s.canResume() {
		return 0, nil, false
	}
	epoch, cut, err := train.CheckpointEpoch(filepath.Join(folder, checkpointFile))
	if err != nil || epoch < 1 {
		return 0, nil, false
	}
	all := readLines(filepath.Join(folder, "events.jsonl"))
	for i, l := range all {
		var e struct {
			Event string `json:"event"`
			Epoch int    `json:"epoch"`
		}
		if json.Unmarshal(l, &e) == nil && e.Event == train.EventEpoch && e.Epoch == epoch {
			if cut {
				return epoch - 1, all[:i], true
			}
			return epoch, all[:i+1], true
		}
	}
	return 0, nil, false
}

// writeLines replaces a file with lines, one per line.
func writeLines(name string, lines [][]byte) error {
	return os.WriteFile(name, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644)
}

// readLines reads a job's event log, one event a line.
func readLines(name string) [][]byte {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		// A line that is not one whole JSON value (a write cut short by
		// a crash, a damaged file) would reach every stream's decoder:
		// it is left out.
		if b := sc.Bytes(); len(bytes.TrimSpace(b)) > 0 && json.Valid(b) {
			lines = append(lines, bytes.Clone(b))
		}
	}
	return lines
}

var jobIDPattern = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$`)

func validJobID(id string) bool { return jobIDPattern.MatchString(id) }

func newJobID() string {
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// save writes job.json atomically. The caller holds j.mu or owns j. A
// job that cannot be saved goes on in memory; the log says that a restart
// would not find its latest state, and why.
func (s *jobServer) save(j *job) {
	b, err := json.MarshalIndent(j.status, "", "  ")
	if err == nil {
		folder := filepath.Join(s.dir, j.status.ID)
		tmp := filepath.Join(folder, "job.json.tmp")
		if err = os.WriteFile(tmp, append(b, '\n'), 0o644); err == nil {
			err = os.Rename(tmp, filepath.Join(folder, "job.json"))
		}
	}
	if err != nil {
		s.logf("jobs: %s: saving its state failed (a restart would not find its latest state): %v", j.status.ID, err)
	}
}

// apiError is every 4xx and 5xx answer: what went wrong and what to change.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	Limit any    `json:"limit,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, field, format string, args ...any) {
	writeJSON(w, code, apiError{Error: fmt.Sprintf(format, args...), Field: field})
}

// ServeHTTP routes /api/jobs and below.
func (s *jobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ok, sent := s.authorized(r); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="plateau"`)
		if sent {
			fail(w, http.StatusUnauthorized, "", "the token sent is not this server's (plateau serve -token): send Authorization: Bearer TOKEN or add ?token=TOKEN with the one it was started with")
		} else {
			fail(w, http.StatusUnauthorized, "", "this server needs its token: send Authorization: Bearer TOKEN or add ?token=TOKEN")
		}
		return
	}
	if r.URL.Path == "/api/server" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			fail(w, http.StatusMethodNotAllowed, "", "/api/server takes GET")
			return
		}
		s.mu.Lock()
		queued := len(s.queue)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, serverInfo{Backend: s.trainer.Name(), Note: s.note, Queued: queued, Limits: s.limits})
		return
	}
	if isDatasetWrite(r) {
		name := strings.TrimPrefix(r.URL.Path, protocol.DatasetsPath+"/")
		if r.Method == http.MethodDelete {
			s.deleteDataset(w, name)
		} else {
			s.upload(w, r, name)
		}
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/jobs"), "/")
	if rest == "" {
		switch r.Method {
		case http.MethodPost:
			s.submit(w, r)
		case http.MethodGet, http.MethodHead:
			s.list(w)
		default:
			fail(w, http.StatusMethodNotAllowed, "", "/api/jobs takes GET and POST")
		}
		return
	}
	id, what, _ := strings.Cut(rest, "/")
	if !validJobID(id) {
		fail(w, http.StatusNotFound, "", "no job %q", id)
		return
	}
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		fail(w, http.StatusNotFound, "", "no job %q", id)
		return
	}
	switch {
	case what == "" && r.Method == http.MethodDelete:
		s.cancel(w, j)
	case what == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		j.mu.Lock()
		st, sp := j.status, j.spec
		j.mu.Unlock()
		// With the expanded spec the job trains, so a client that did not
		// submit it (another page, the command line) can show it.
		writeJSON(w, http.StatusOK, struct {
			jobStatus
			Spec *spec.Spec `json:"spec"`
		}{st, sp})
	case what == "events" && r.Method == http.MethodGet:
		s.events(w, r, j)
	case what == "weights" && r.Method == http.MethodGet:
		s.weights(w, r, j)
	default:
		fail(w, http.StatusNotFound, "", "no route %s %s", r.Method, r.URL.Path)
	}
}

func (s *jobServer) authorized(r *http.Request) (ok, sent bool) {
	got := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got = strings.TrimPrefix(h, "Bearer ")
	}
	if s.token == "" {
		return true, got != ""
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1, got != ""
}

func (s *jobServer) list(w http.ResponseWriter) {
	s.mu.Lock()
	all := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		all = append(all, j)
	}
	s.mu.Unlock()
	out := make([]jobStatus, 0, len(all))
	for _, j := range all {
		j.mu.Lock()
		st := j.status
		j.mu.Unlock()
		st.Request.Spec = nil // the list stays small; GET /api/jobs/{id} has it
		out = append(out, st)
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].Created.After(out[b].Created) || out[a].Created.Equal(out[b].Created) && out[a].ID > out[b].ID
	})
	writeJSON(w, http.StatusOK, out)
}

// requestError is a submission the server refuses, with its HTTP status.
type requestError struct {
	code  int
	field string
	msg   string
	limit any
}

func (e *requestError) Error() string { return e.msg }

func badRequest(field, format string, args ...any) *requestError {
	return &requestError{code: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

func tooLarge(field string, limit any, format string, args ...any) *requestError {
	return &requestError{code: http.StatusUnprocessableEntity, field: field, limit: limit, msg: fmt.Sprintf(format, args...)}
}

func (s *jobServer) submit(w http.ResponseWriter, r *http.Request) {
	// Weights travel in base64: 4 bytes for every 3.
	limit := s.limits.MaxRequestSize + (s.limits.MaxWeightsSize+2)/3*4
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		fail(w, http.StatusBadRequest, "", "reading the request: %v", err)
		return
	}
	tooBig := func() {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("the request is over %d bytes besides its weights (and weights up to %d bytes); send the spec without embedded data",
			s.limits.MaxRequestSize, s.limits.MaxWeightsSize), Limit: s.limits.MaxRequestSize})
	}
	if int64(len(body)) > limit {
		tooBig()
		return
	}
	var req jobRequest
	if err := json.Unmarshal(body, &req); err != nil {
		rerr := requestDecodeError(body, err)
		writeJSON(w, rerr.code, apiError{Error: rerr.msg, Field: rerr.field})
		return
	}
	if int64(len(body))-int64(len(req.Weights)+2)/3*4 > s.limits.MaxRequestSize {
		tooBig()
		return
	}
	if int64(len(req.Weights)) > s.limits.MaxWeightsSize {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("the weights are %d bytes, over this server's %d", len(req.Weights), s.limits.MaxWeightsSize),
			Field: "weights", Limit: s.limits.MaxWeightsSize})
		return
	}
	weights := req.Weights
	req.Weights = nil // kept beside job.json, not in it
	sp, params, dsName, rerr := s.prepare(req)
	switch {
	case rerr != nil:
	case req.FromJob != "" && weights != nil:
		rerr = badRequest("weights", "give \"from_job\" or \"weights\", not both")
	case req.FromJob != "":
		_, rerr = s.startingWeights(req.FromJob, sp)
	case weights != nil:
		_, rerr = weightsFor(sp, bytes.NewReader(weights), "weights", "the weights sent")
	}
	if rerr != nil {
		writeJSON(w, rerr.code, apiError{Error: rerr.msg, Field: rerr.field, Limit: rerr.limit})
		return
	}

	s.mu.Lock()
	if len(s.queue) >= s.limits.MaxQueue {
		n := len(s.queue)
		s.mu.Unlock()
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusTooManyRequests, apiError{Error: fmt.Sprintf("the queue is full (%d jobs waiting); try again when one finishes, or cancel one", n), Limit: s.limits.MaxQueue})
		return
	}
	id := newJobID()
	for s.jobs[id] != nil {
		id = newJobID()
	}
	j := &job{spec: sp, changed: make(chan struct{}), status: jobStatus{ID: id, State: jobQueued, Request: req,
		Model: sp.Model.Name, Dataset: dsName, Params: params, Created: time.Now().UTC(), Epochs: sp.Train.Epochs}}
	folder := filepath.Join(s.dir, id)
	err = os.MkdirAll(folder, 0o755)
	if err == nil {
		var b []byte
		b, err = json.MarshalIndent(sp, "", "  ")
		if err == nil {
			err = os.WriteFile(filepath.Join(folder, "spec.json"), append(b, '\n'), 0o644)
		}
	}
	if err == nil && weights != nil {
		err = os.WriteFile(filepath.Join(folder, initialWeightsFile), weights, 0o644)
	}
	if err != nil {
		s.mu.Unlock()
		fail(w, http.StatusInternalServerError, "", "storing the job: %v", err)
		return
	}
	s.save(j)
	s.jobs[id] = j
	s.queue = append(s.queue, id)
	s.mu.Unlock()
	s.poke()
	s.logf("jobs: %s queued (%s on %s, %s parameters)", id, sp.Model.Name, dsName, spec.Thousands(params))
	w.Header().Set("Location", "/api/jobs/"+id)
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// startingWeights loads the weights of finished job id into a network of
// sp's model, or says why they cannot start a run of it.
func (s *jobServer) startingWeights(id string, sp *spec.Spec) (*nn.Network, *requestError) {
	s.mu.Lock()
	src := s.jobs[id]
	s.mu.Unlock()
	if src == nil {
		return nil, badRequest("from_job", "there is no job %q to start from; GET /api/jobs lists them", id)
	}
	src.mu.Lock()
	state := src.status.State
	src.mu.Unlock()
	f, err := os.Open(filepath.Join(s.dir, id, "weights.safetensors"))
	if err != nil {
		return nil, badRequest("from_job", "job %s is %s and has no weights to start from; they are written when it finishes", id, state)
	}
	defer f.Close()
	return weightsFor(sp, f, "from_job", "the weights of job "+id)
}

// initialWeightsFile holds, in a job's folder, the weights its request
// brought.
const initialWeightsFile = "initial.safetensors"

// weightsFor loads safetensors weights into a network of sp's model, or
// says, for the request's field, why they cannot start a run of it.
func weightsFor(sp *spec.Spec, r io.Reader, field, what string) (*nn.Network, *requestError) {
	net, err := nn.New(sp.Model, 1, uint64(sp.Train.Seed))
	if err != nil {
		return nil, badRequest("spec.model", "%v", err)
	}
	if err := net.Load(r); err != nil {
		return nil, badRequest(field, "%s do not fit this model: %v; start from weights of the same model", what, err)
	}
	return net, nil
}

// prepare turns a request into an expanded, validated spec within the
// limits, reading the dataset to fit the model's input to it.
func (s *jobServer) prepare(req jobRequest) (*spec.Spec, int, string, *requestError) {
	var sp *spec.Spec
	switch {
	case len(req.Spec) > 0 && req.Preset != "":
		return nil, 0, "", badRequest("preset", "give \"spec\" or \"preset\", not both")
	case len(req.Spec) > 0 && (req.Width != 0 || req.Depth != 0):
		return nil, 0, "", badRequest("width", "\"width\" and \"depth\" size a preset; a \"spec\" gives its own layers")
	case req.Width < 0 || req.Depth < 0:
		return nil, 0, "", badRequest("width", "\"width\" and \"depth\" must be at least 1, not %d and %d (leave them out for the preset's own)", req.Width, req.Depth)
	case len(req.Spec) > 0:
		var err error
		if sp, err = spec.Parse(req.Spec); err != nil {
			return nil, 0, "", badRequest("spec", "spec: %v", err)
		}
	default:
		name := req.Preset
		if name == "" {
			name = spec.DefaultPreset(req.Dataset)
		}
		var err error
		if sp, err = spec.Preset(name, spec.PresetOptions{Width: req.Width, Depth: req.Depth}); err != nil {
			return nil, 0, "", badRequest("preset", "%v; plateau presets lists them", err)
		}
	}
	if req.Dataset != "" {
		sp.Data.Dataset = req.Dataset
	}
	if sp.Data.Dataset == "" {
		return nil, 0, "", badRequest("dataset", "\"dataset\" is required: mnist, fashion-mnist, cifar-10 or a name in the server's data folder")
	}
	for _, n := range []struct {
		field string
		v     int
	}{{"epochs", req.Epochs}, {"train_limit", req.TrainLimit}, {"test_limit", req.TestLimit}} {
		if n.v < 0 {
			return nil, 0, "", badRequest(n.field, "%s must be positive, not %d", n.field, n.v)
		}
	}
	if req.Workers < 0 || req.Workers > runtime.NumCPU() {
		return nil, 0, "", badRequest("workers", "workers must be 1 to %d, this server's cores, not %d", runtime.NumCPU(), req.Workers)
	}
	if req.Workers > 1 && s.trainer.Name() != "native" {
		return nil, 0, "", badRequest("workers", "workers applies to the native backend; this server trains on %s: leave workers out", s.trainer.Name())
	}
	if req.Epochs > 0 {
		sp.Train.Epochs = req.Epochs
	}
	if req.TrainLimit > 0 {
		sp.Data.TrainLimit = req.TrainLimit
	}
	if req.TestLimit > 0 {
		sp.Data.TestLimit = req.TestLimit
	}
	if req.Seed != nil {
		sp.Train.Seed = *req.Seed
	}
	keys := make([]string, 0, len(req.Set))
	for k := range req.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := sp.Set(k, req.Set[k]); err != nil {
			return nil, 0, "", badRequest("set."+k, "set %s: %v", k, err)
		}
	}
	source, rerr := s.resolveDataset(sp.Data.Dataset)
	if rerr != nil {
		return nil, 0, "", rerr
	}
	sp.Expand()
	l := s.limits
	if sp.Train.Epochs > l.MaxEpochs {
		return nil, 0, "", tooLarge("epochs", l.MaxEpochs, "%d epochs is over this server's limit of %d; ask for fewer epochs", sp.Train.Epochs, l.MaxEpochs)
	}
	if most := float64(l.MaxSeconds); most > 0 {
		switch tl := sp.Train.TimeLimitSeconds; {
		case tl == 0:
			sp.Train.TimeLimitSeconds = most
		case tl > most:
			return nil, 0, "", tooLarge("train.time_limit_seconds", l.MaxSeconds, "a time limit of %s s is over this server's limit of %d s a job; set train.time_limit_seconds to %d or less",
				strconv.FormatFloat(tl, 'g', -1, 64), l.MaxSeconds, l.MaxSeconds)
		}
	}
	if sp.Train.BatchSize > l.MaxBatch {
		return nil, 0, "", tooLarge("train.batch_size", l.MaxBatch, "batch size %d is over this server's limit of %d; set train.batch_size to %d or less", sp.Train.BatchSize, l.MaxBatch, l.MaxBatch)
	}
	ds, err := s.loadDataset(source, sp.Data)
	if err != nil {
		return nil, 0, "", badRequest("dataset", "dataset %s: %v", sp.Data.Dataset, err)
	}
	if n := ds.Train.Len() + ds.Test.Len(); n > l.MaxImages {
		return nil, 0, "", tooLarge("train_limit", l.MaxImages, "dataset %s has %s images, over this server's limit of %s; set train_limit and test_limit", sp.Data.Dataset, spec.Thousands(n), spec.Thousands(l.MaxImages))
	}
	if len(req.Spec) > 0 {
		if err := fitInput(sp, ds, "spec", spec.PresetOptions{}, nil); err != nil {
			return nil, 0, "", badRequest("spec.model.input", "%v", err)
		}
	} else {
		sets := make([]string, len(keys))
		for i, k := range keys {
			sets[i] = k + "=" + req.Set[k]
		}
		if err := fitInput(sp, ds, "", spec.PresetOptions{Width: req.Width, Depth: req.Depth}, sets); err != nil {
			return nil, 0, "", badRequest("preset", "%v", err)
		}
	}
	sp.Expand()
	if err := sp.Validate(); err != nil {
		return nil, 0, "", badRequest("spec", "%v", err)
	}
	if req.Fault != "" {
		f, ok := spec.FindFault(req.Fault)
		if !ok {
			return nil, 0, "", badRequest("fault", "fault %q: want one of %s", req.Fault, strings.Join(faultNames(), ", "))
		}
		planted, _, err := f.Plant(sp)
		if err != nil {
			return nil, 0, "", badRequest("fault", "%v", err)
		}
		sp = planted
	}
	params, err := sp.Model.ParamCount()
	if err != nil {
		return nil, 0, "", badRequest("spec.model", "%v", err)
	}
	if params > l.MaxParams {
		return nil, 0, "", tooLarge("spec.model", l.MaxParams, "the model has %s parameters, over this server's limit of %s; use fewer filters or units", spec.Thousands(params), spec.Thousands(l.MaxParams))
	}
	if s.trainer.Name() == "native" {
		if rerr := checkMemory(sp, max(req.Workers, 1), ds, l.MaxMemory, "this server's %s for a job"); rerr != nil {
			return nil, 0, "", rerr
		}
	}
	// The run reads the dataset from where it was found, never from a path
	// the request named.
	sp.Data.Dataset = source
	return sp, params, ds.Name, nil
}

// resolveDataset maps a requested dataset to what data.Load reads: a
// registry name as it is, or an entry of the data folder. Paths, and
// names that lead out of the data folder, are refused.
func (s *jobServer) resolveDataset(name string) (string, *requestError) {
	for _, reg := range data.Names {
		if strings.EqualFold(strings.NewReplacer("_", "-").Replace(name), reg) {
			return reg, nil
		}
	}
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") || filepath.IsAbs(name) {
		return "", &requestError{code: http.StatusBadRequest, field: "dataset",
			msg: fmt.Sprintf("dataset %q is not a name in the server's data folder; give mnist, fashion-mnist, cifar-10 or one of the names GET %s lists", name, protocol.DatasetsPath)}
	}
	p := filepath.Join(s.dataDir, name)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", &requestError{code: http.StatusNotFound, field: "dataset", msg: fmt.Sprintf("no dataset %q in the server's data folder", name)}
	}
	root, err := filepath.EvalSymlinks(s.dataDir)
	if err != nil {
		root = s.dataDir
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", &requestError{code: http.StatusBadRequest, field: "dataset", msg: fmt.Sprintf("dataset %q leads out of the server's data folder", name)}
	}
	return real, nil
}

// loadDataset reads a dataset, reusing the last one read: jobs on the same
// data do not read it twice.
func (s *jobServer) loadDataset(source string, d spec.Data) (*data.Dataset, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%d", source, d.TrainLimit, d.TestLimit, d.ImageSide)
	if s.cacheKey == key {
		return s.cached, nil
	}
	ds, err := data.Load(source, data.LoadOptions{DataDir: s.dataDir, TrainLimit: d.TrainLimit, TestLimit: d.TestLimit, ImageSide: d.ImageSide})
	if err != nil {
		return nil, err
	}
	s.cacheKey, s.cached = key, ds
	return ds, nil
}

func (s *jobServer) cancel(w http.ResponseWriter, j *job) {
	s.mu.Lock()
	for i, id := range s.queue {
		if id == j.status.ID {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	j.mu.Lock()
	switch {
	case j.status.State == jobQueued:
		now := time.Now().UTC()
		j.status.State, j.status.Finished = jobCanceled, &now
		s.save(j)
		j.notifyLocked()
	case j.status.State == jobRunning && j.cancel != nil:
		j.cancel() // the worker records the end
	}
	st := j.status
	j.mu.Unlock()
	writeJSON(w, http.StatusAccepted, st)
}

func (s *jobServer) weights(w http.ResponseWriter, r *http.Request, j *job) {
	j.mu.Lock()
	state := j.status.State
	j.mu.Unlock()
	name := filepath.Join(s.dir, j.status.ID, "weights.safetensors")
	if !exists(name) {
		fail(w, http.StatusConflict, "", "job %s is %s and has no weights yet; they are written when it finishes", j.status.ID, state)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", j.status.ID+".safetensors"))
	http.ServeFile(w, r, name)
}

// events streams a job's events as server-sent events: every event so
// far, then each new one as it comes, a comment line as a heartbeat while
// nothing happens, and a final "end" event with the job's state.
func (s *jobServer) events(w http.ResponseWriter, r *http.Request, j *job) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		fail(w, http.StatusInternalServerError, "", "streaming is not supported here")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	sent := 0
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		j.mu.Lock()
		lines := j.lines[sent:len(j.lines):len(j.lines)]
		done := j.finished()
		st := j.status
		changed := j.changed
		j.mu.Unlock()
		for _, l := range lines {
			bw.WriteString("data: ")
			bw.Write(l)
			bw.WriteString("\n\n")
		}
		sent += len(lines)
		if done {
			end, _ := json.Marshal(map[string]string{"id": st.ID, "state": st.State, "error": st.Error})
			fmt.Fprintf(bw, "event: end\ndata: %s\n\n", end)
		}
		if err := bw.Flush(); err != nil {
			return
		}
		flusher.Flush()
		if done {
			return
		}
		select {
		case <-changed:
		case <-tick.C:
			bw.WriteString(": heartbeat\n\n")
		case <-r.Context().Done():
			return
		}
	}
}

func (s *jobServer) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// work trains the queued jobs one after the other until ctx ends.
func (s *jobServer) work(ctx context.Context) {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		var j *job
		if len(s.queue) > 0 {
			j = s.jobs[s.queue[0]]
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		if j == nil {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		s.runJob(ctx, j)
		if ctx.Err() != nil {
			return
		}
	}
}

// runJob trains one job and records how it ended.
func (s *jobServer) runJob(serverCtx context.Context, j *job) {
	ctx, cancel := context.WithCancel(serverCtx)
	defer cancel()
	folder := filepath.Join(s.dir, j.status.ID)
	j.mu.Lock()
	if j.status.State != jobQueued {
		j.mu.Unlock()
		return
	}
	now := time.Now().UTC()
	j.status.State, j.status.Started, j.status.Backend, j.status.Note = jobRunning, &now, s.trainer.Name(), s.note
	j.cancel = cancel
	s.save(j)
	j.notifyLocked()
	sp := j.spec
	j.mu.Unlock()
	s.logf("jobs: %s running on %s", j.status.ID, s.trainer.Name())

	res, err := s.train(ctx, j, sp, folder)

	j.mu.Lock()
	defer j.mu.Unlock()
	end := time.Now().UTC()
	j.status.Finished = &end
	j.cancel = nil
	switch {
	case serverCtx.Err() != nil:
		// The server is stopping: the job trains again after a restart,
		// from its checkpoint when there is one.
		j.status.State, j.status.Finished = jobRunning, nil
	case err != nil:
		j.status.State, j.status.Error = jobFailed, err.Error()
	case ctx.Err() != nil:
		j.status.State = jobCanceled
	default:
		j.status.State = jobDone
		if res.Final.Stopped == train.StoppedDiverged {
			j.status.Error = "diverged: " + res.Final.Reason
		}
	}
	if j.status.State != jobRunning {
		// Only an interrupted run needs its checkpoint (weights and
		// optimizer state, three times the weights with Adam).
		os.Remove(filepath.Join(folder, checkpointFile))
	}
	if res != nil {
		f := res.Final
		f.Diagnoses = nil
		j.status.Result = &f
	}
	s.save(j)
	j.notifyLocked()
	s.logf("jobs: %s %s %s", j.status.ID, j.status.State, j.status.Error)
}

func (s *jobServer) train(ctx context.Context, j *job, sp *spec.Spec, folder string) (*train.Result, error) {
	ds, err := s.loadDataset(sp.Data.Dataset, sp.Data)
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	resume, before := j.resume, j.lines
	j.resume = false
	if !resume {
		j.lines = nil
	}
	j.mu.Unlock()
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	log, err := os.OpenFile(filepath.Join(folder, "events.jsonl"), flags, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	emit := func(e train.Event) {
		if e.Event == train.EventStart && e.Dataset == "" {
			e.Dataset = ds.Name
		}
		b, err := json.Marshal(e)
		if err != nil {
			return
		}
		log.Write(append(b, '\n'))
		j.mu.Lock()
		j.lines = append(j.lines, b)
		if e.Event == train.EventEpoch {
			j.status.Epoch = e.Epoch
		}
		j.notifyLocked()
		j.mu.Unlock()
	}
	live := doctor.Live(sp) // findings carry their fix, so the page can retry a server run too
	if resume {
		// The doctor reads the whole run, not just the part that goes on.
		for _, l := range before {
			var e train.Event
			if json.Unmarshal(l, &e) == nil {
				live(e)
			}
		}
	}
	cfg := train.Config{Spec: sp, Dataset: ds, Emit: emit, Doctor: live}
	if s.canResume() {
		cfg.Checkpoint = filepath.Join(folder, checkpointFile)
		if resume {
			cfg.ResumeFrom = cfg.Checkpoint
		}
	}
	if from := j.status.Request.FromJob; from != "" {
		net, rerr := s.startingWeights(from, sp)
		if rerr != nil {
			return nil, errors.New(rerr.msg)
		}
		cfg.Network = net
	}
	if f, err := os.Open(filepath.Join(folder, initialWeightsFile)); err == nil {
		net, rerr := weightsFor(sp, f, "weights", "the weights sent")
		f.Close()
		if rerr != nil {
			return nil, errors.New(rerr.msg)
		}
		cfg.Network = net
	}
	defer useWorkers(&cfg, j.status.Request.Workers)()
	res, err := s.trainer.Train(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if res != nil && res.Network != nil {
		if err := saveWeights(filepath.Join(folder, "weights.safetensors"), res); err != nil {
			return res, err
		}
	}
	return res, nil
}
