package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// remoteRun is plateau train -server: the command line's knobs, sent as a
// job to a plateau serve's jobs API, whose datasets and backend train it.
type remoteRun struct {
	url, token                string
	preset, specFile, dataset string
	scale                     spec.PresetOptions
	epochs, trainLimit        int
	testLimit, workers        int
	seed                      int64
	sets                      []string
	fault                     string
	weights                   string
	out                       string
	jsonOut                   bool
	// retry is the wait between tries to follow a broken event stream
	// again (a second when 0).
	retry time.Duration
}

// trainRemote submits the run, shows its event stream as a local run shows
// its events (progress bar, -json lines, the -out folder with the final
// weights) and cancels the job when ctx is (Ctrl-C).
func trainRemote(ctx context.Context, o remoteRun, stdout, stderr io.Writer) error {
	if st, err := os.Stat(o.dataset); err == nil && st.Mode().IsRegular() {
		name, err := o.sendDataset(ctx, o.dataset, stderr)
		if err != nil {
			return err
		}
		o.dataset = name
	} else if err == nil && st.IsDir() && strings.ContainsAny(o.dataset, `/\`) {
		return usagef("-dataset %s is a folder here: zip it (its class folders at the top) and give the zip, which is sent to the server", o.dataset)
	}
	req, err := o.request()
	if err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var created struct{ ID string }
	if err := o.call(ctx, "POST", "/api/jobs", body, &created); err != nil {
		return fmt.Errorf("the server refused the run: %w", err)
	}
	err = o.show(ctx, created.ID, stdout, stderr)
	if ctx.Err() != nil {
		// Interrupted here: the job stops there too.
		o.call(context.Background(), "DELETE", "/api/jobs/"+created.ID, nil, nil)
		return fmt.Errorf("interrupted; job %s canceled", created.ID)
	}
	return err
}

// show follows job id's run from its start and shows it as a local run:
// progress, -json lines, the -out folder with the final weights, the
// doctor's findings.
func (o remoteRun) show(ctx context.Context, id string, stdout, stderr io.Writer) error {
	var job struct {
		Backend string
		Spec    *spec.Spec
	}
	if err := o.call(ctx, "GET", "/api/jobs/"+id, nil, &job); err != nil {
		return err
	}
	if job.Spec == nil {
		return fmt.Errorf("the server sent no spec for job %s: is it a plateau serve of this version?", id)
	}
	ro, err := openRunOutput(o.out, job.Spec, false, o.jsonOut, stdout, stderr)
	if err != nil {
		return err
	}
	defer ro.close()
	ro.bar.line("job %s on %s", id, o.url)

	result, end, err := o.follow(ctx, id, ro)
	if err != nil {
		return err
	}
	if end.State != "done" {
		return fmt.Errorf("job %s ended %s: %s", id, end.State, end.Error)
	}
	if o.out != "" {
		resp, err := o.do(ctx, "GET", "/api/jobs/"+id+"/weights", nil)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, "weights.safetensors"), b, 0o644); err != nil {
			return err
		}
	}
	if result != nil {
		printDiagnoses(stderr, result.Diagnoses)
		if result.Stopped == train.StoppedDiverged {
			return fmt.Errorf("run diverged: %s", result.Reason)
		}
	}
	return nil
}

// sendDataset sends the dataset file at path to the server's data folder
// (PUT /api/datasets/NAME, streamed from the disk) and returns the name
// jobs give it there.
func (o remoteRun) sendDataset(ctx context.Context, path string, stderr io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	name := protocol.UploadName(filepath.Base(path))
	bar := newProgressBar(stderr)
	bar.line("sending %s (%.1f MB) to %s as %s", path, float64(st.Size())/1e6, o.url, name)
	body := &sentReader{r: f, report: func(sent int64) { bar.bytes("sending "+name, sent, st.Size()) }}
	// rename: a name taken by another file is numbered rather than refused.
	req, err := http.NewRequestWithContext(ctx, "PUT", o.url+protocol.DatasetsPath+"/"+name+"?rename=1", body)
	if err != nil {
		return "", err
	}
	req.ContentLength = st.Size()
	resp, err := o.send(req)
	if err != nil {
		return "", fmt.Errorf("the server refused the dataset: %w", err)
	}
	defer resp.Body.Close()
	var l protocol.Listing
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return "", fmt.Errorf("the server's answer to the dataset: %v", err)
	}
	shape := strings.Trim(strings.ReplaceAll(fmt.Sprint(l.Shape), " ", "×"), "[]")
	bar.line("the server has %s: %d training and %d test images of %s, %d classes", l.Name, l.TrainSize, l.TestSize, shape, l.Classes)
	return l.Name, nil
}

// sentReader reports how much of a request's body has been read (sent).
type sentReader struct {
	r      io.Reader
	sent   int64
	report func(sent int64)
}

func (s *sentReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.sent += int64(n)
	s.report(s.sent)
	return n, err
}

// request is the job for POST /api/jobs.
func (o remoteRun) request() (map[string]any, error) {
	req := map[string]any{"dataset": o.dataset}
	if o.dataset == "" {
		return nil, usagef("-dataset is required: a dataset of the server's (mnist, fashion-mnist, cifar-10 or a name in its data folder)")
	}
	switch {
	case o.specFile != "":
		b, err := os.ReadFile(o.specFile)
		if err != nil {
			return nil, err
		}
		if _, err := spec.Parse(b); err != nil {
			return nil, fmt.Errorf("%s: %w", o.specFile, err)
		}
		req["spec"] = json.RawMessage(b)
	case o.preset != "":
		req["preset"] = o.preset
	}
	if o.scale.Width > 0 {
		req["width"] = o.scale.Width
	}
	if o.scale.Depth > 0 {
		req["depth"] = o.scale.Depth
	}
	for k, v := range map[string]int{"epochs": o.epochs, "train_limit": o.trainLimit, "test_limit": o.testLimit} {
		if v > 0 {
			req[k] = v
		}
	}
	if o.seed >= 0 {
		req["seed"] = o.seed
	}
	if o.workers > 1 {
		req["workers"] = o.workers
	}
	if o.fault != "" {
		req["fault"] = o.fault
	}
	if len(o.sets) > 0 {
		set := map[string]string{}
		for _, kv := range o.sets {
			path, value, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, usagef("-set %q: want section.field=value", kv)
			}
			set[path] = value
		}
		req["set"] = set
	}
	if o.weights != "" {
		b, err := os.ReadFile(o.weights)
		if err != nil {
			return nil, err
		}
		req["weights"] = b
	}
	return req, nil
}

// followAgainFor is how long a broken event stream is followed again (the
// server restarting, a network that drops the connection) before the run
// is given up on here; the page waits as long.
const followAgainFor = 2 * time.Minute

// follow reads the job's event stream into ro to its end event. When the
// stream breaks it follows the job again: a server replays a job's events
// from its start, and a restarted one goes on from the job's last finished
// epoch, so what was shown already is skipped (shownEvents).
func (o remoteRun) follow(ctx context.Context, id string, ro *runOutput) (result *train.Event, end struct{ State, Error string }, err error) {
	var shown shownEvents
	var brokeAt time.Time
	for {
		var done bool
		done, err = o.followOnce(ctx, id, &shown, func(e train.Event) {
			brokeAt = time.Time{}
			if e.Event == train.EventResult {
				result = &e
			}
			ro.emit(e)
		}, &end)
		if done || ctx.Err() != nil {
			return result, end, err
		}
		var refused *refusal
		if errors.As(err, &refused) {
			return result, end, err
		}
		if brokeAt.IsZero() {
			brokeAt = time.Now()
			ro.bar.line("%v; following job %s again", err, id)
		}
		if time.Since(brokeAt) > followAgainFor {
			return result, end, fmt.Errorf("%v, and job %s could not be followed again for %v", err, id, followAgainFor)
		}
		select {
		case <-ctx.Done():
			return result, end, ctx.Err()
		case <-time.After(o.retryEvery()):
		}
	}
}

// followOnce reads one connection's event stream, passing on the events
// shown does not hold yet; done is set when the end event came.
func (o remoteRun) followOnce(ctx context.Context, id string, shown *shownEvents, emit func(train.Event), end *struct{ State, Error string }) (done bool, err error) {
	resp, err := o.do(ctx, "GET", "/api/jobs/"+id+"/events", nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	ended := errors.New("end")
	starts := 0
	err = protocol.ReadEvents(resp.Body, func(event string, data []byte) error {
		if event == "end" {
			if err := json.Unmarshal(data, end); err != nil {
				return err
			}
			return ended
		}
		var e train.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return &refusal{fmt.Errorf("the server sent an event that is not one: %v", err)}
		}
		if e.Event == train.EventStart {
			starts++
		}
		if shown.fresh(e, starts) {
			emit(e)
		}
		return nil
	})
	switch {
	case err == ended:
		return true, nil
	case errors.As(err, new(*refusal)):
		return false, err
	case err != nil:
		return false, fmt.Errorf("the server's event stream broke: %v", err)
	}
	return false, errors.New("the server's event stream ended before the job did")
}

// shownEvents is how far a job's events have been shown: its start events,
// its last step and epoch, its result.
type shownEvents struct {
	starts, step, check, epoch int
	result                     bool
}

// fresh says whether e, the event after starts start events in its
// connection's stream, has not been shown yet, and counts it as shown. A
// stream that is followed again replays the job from its start; after a
// restart of the server the job went on from its last finished epoch, with
// a start event of its own, so the epochs after that one may come twice.
func (s *shownEvents) fresh(e train.Event, starts int) bool {
	switch e.Event {
	case train.EventStart:
		if starts <= s.starts {
			return false
		}
		s.starts = starts
	case train.EventStep:
		if e.Step <= s.step {
			return false
		}
		s.step = e.Step
	case train.EventValCheck:
		if e.Step <= s.check {
			return false
		}
		s.check = e.Step
	case train.EventEpoch:
		if e.Epoch <= s.epoch {
			return false
		}
		s.epoch = e.Epoch
		s.step = max(s.step, e.Step)
	case train.EventResult:
		if s.result {
			return false
		}
		s.result = true
	}
	return true
}

// refusal is an answer of the server's that following the job again
// would not change: a refused request, an event that is not one.
type refusal struct{ error }

func (r *refusal) Unwrap() error { return r.error }

// retryEvery is the wait between two tries to follow a job again.
func (o remoteRun) retryEvery() time.Duration {
	if o.retry > 0 {
		return o.retry
	}
	return time.Second
}

// call sends a request to the jobs API and decodes its JSON answer into
// v (when v is not nil), or returns the API's error.
func (o remoteRun) call(ctx context.Context, method, path string, body []byte, v any) error {
	resp, err := o.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// do sends a request with the token and turns an error answer into an
// error that says what the server said.
func (o remoteRun) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, o.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return o.send(req)
}

// send sends req with the token; see do.
func (o remoteRun) send(req *http.Request) (*http.Response, error) {
	method, path := req.Method, req.URL.Path
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching the server: %v", err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// The server's words are for any client; these are the flags.
		resp.Body.Close()
		if o.token == "" {
			return nil, &refusal{errors.New("the server needs its token: give it with -token T or $PLATEAU_TOKEN")}
		}
		return nil, &refusal{errors.New("the server refused the token given (-token or $PLATEAU_TOKEN): it is not the one its plateau serve -token set")}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e apiError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if e.Field != "" {
				return nil, &refusal{fmt.Errorf("%s (%s)", e.Error, e.Field)}
			}
			return nil, &refusal{errors.New(e.Error)}
		}
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil, &refusal{fmt.Errorf("%s %s: %s", method, path, resp.Status)}
	}
	return resp, nil
}

// jobsCommand is plateau jobs: the jobs of a plateau serve, listed,
// followed (shown as plateau train -server shows its own) or canceled.
func jobsCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultServer := os.Getenv("PLATEAU_SERVER")
	if defaultServer == "" {
		defaultServer = "http://127.0.0.1:8080"
	}
	var (
		server  = fs.String("server", defaultServer, "the plateau serve's URL (default $PLATEAU_SERVER, else http://127.0.0.1:8080)")
		token   = fs.String("token", os.Getenv("PLATEAU_TOKEN"), "the server's token (default $PLATEAU_TOKEN)")
		follow  = fs.String("follow", "", "show this job's run from its start, live, as plateau train -server does (Ctrl-C stops following, not the job)")
		cancel  = fs.String("cancel", "", "cancel this queued or running job")
		out     = fs.String("out", "", "with -follow: folder for the spec, the event log and the final weights")
		jsonOut = fs.Bool("json", false, "the list as the API's JSON; with -follow, one JSON event per line on stdout")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *follow != "" && *cancel != "" {
		return usagef("give -follow or -cancel, not both")
	}
	if *out != "" && *follow == "" {
		return usagef("-out saves a followed job's run: give -follow ID")
	}
	o := remoteRun{url: strings.TrimRight(*server, "/"), token: *token, out: *out, jsonOut: *jsonOut}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch {
	case *follow != "":
		err := o.show(ctx, *follow, stdout, stderr)
		if ctx.Err() != nil {
			return fmt.Errorf("stopped following job %s; it goes on there (plateau jobs -cancel %s stops it)", *follow, *follow)
		}
		return err
	case *cancel != "":
		if err := o.call(ctx, "DELETE", "/api/jobs/"+*cancel, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %s canceled\n", *cancel)
		return nil
	}
	var jobs []jobStatus
	if err := o.call(ctx, "GET", "/api/jobs", nil, &jobs); err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(jobs)
	}
	if len(jobs) == 0 {
		fmt.Fprintf(stdout, "no jobs on %s\n", o.url)
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tBACKEND\tMODEL\tDATASET\tEPOCH\tTEST ACCURACY")
	for _, j := range jobs {
		acc := "—"
		if j.Result != nil && !math.IsNaN(j.Result.TestAccuracy) {
			acc = fmt.Sprintf("%.2f%%", 100*j.Result.TestAccuracy)
		}
		state := j.State
		if j.Error != "" {
			state += ": " + j.Error
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", j.ID, state, j.Backend, j.Model, j.Dataset, j.Epoch, j.Epochs, acc)
	}
	return w.Flush()
}
