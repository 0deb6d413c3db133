package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// remoteRun is plateau train -server: the command line's knobs, sent as a
// job to a plateau serve's jobs API, whose datasets and backend train it.
type remoteRun struct {
	url, token                string
	preset, specFile, dataset string
	epochs, trainLimit        int
	testLimit, workers        int
	seed                      int64
	sets                      []string
	weights                   string
	out                       string
	jsonOut                   bool
}

// trainRemote submits the run, shows its event stream as a local run shows
// its events (progress bar, -json lines, the -out folder with the final
// weights) and cancels the job when ctx is (Ctrl-C).
func trainRemote(ctx context.Context, o remoteRun, stdout, stderr io.Writer) error {
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
	var job struct {
		Backend string
		Spec    *spec.Spec
	}
	if err := o.call(ctx, "GET", "/api/jobs/"+created.ID, nil, &job); err != nil {
		return err
	}
	if job.Spec == nil {
		return fmt.Errorf("the server sent no spec for job %s: is it a plateau serve of this version?", created.ID)
	}
	ro, err := openRunOutput(o.out, job.Spec, false, o.jsonOut, stdout, stderr)
	if err != nil {
		return err
	}
	defer ro.close()
	ro.bar.line("job %s on %s", created.ID, o.url)

	result, end, err := o.follow(ctx, created.ID, ro)
	if ctx.Err() != nil {
		// Interrupted here: the job stops there too.
		o.call(context.Background(), "DELETE", "/api/jobs/"+created.ID, nil, nil)
		return fmt.Errorf("interrupted; job %s canceled", created.ID)
	}
	if err != nil {
		return err
	}
	if end.State != "done" {
		return fmt.Errorf("job %s ended %s: %s", created.ID, end.State, end.Error)
	}
	if o.out != "" {
		resp, err := o.do(ctx, "GET", "/api/jobs/"+created.ID+"/weights", nil)
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

// follow reads the job's event stream into ro to its end event.
func (o remoteRun) follow(ctx context.Context, id string, ro *runOutput) (result *train.Event, end struct{ State, Error string }, err error) {
	resp, err := o.do(ctx, "GET", "/api/jobs/"+id+"/events", nil)
	if err != nil {
		return nil, end, err
	}
	defer resp.Body.Close()
	ended := errors.New("end")
	err = protocol.ReadEvents(resp.Body, func(event string, data []byte) error {
		if event == "end" {
			if err := json.Unmarshal(data, &end); err != nil {
				return err
			}
			return ended
		}
		var e train.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("the server sent an event that is not one: %v", err)
		}
		if e.Event == train.EventResult {
			result = &e
		}
		ro.emit(e)
		return nil
	})
	switch {
	case err == ended:
		return result, end, nil
	case err != nil:
		return result, end, fmt.Errorf("the server's event stream broke: %v", err)
	}
	return result, end, errors.New("the server's event stream ended before the job did")
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
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching the server: %v", err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e apiError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if e.Field != "" {
				return nil, fmt.Errorf("%s (%s)", e.Error, e.Field)
			}
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return resp, nil
}
