//go:build js && wasm

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hack-pad/safejs"

	"plateau/protocol"
	"plateau/spec"
	"plateau/ui"
	"plateau/wasm/bridge"
)

// The page's side of the server's jobs API: a run sent to the server is
// fed into the page as if the worker had trained it. Each SSE data line is
// one event exactly as the worker posts it, so one decoder serves both.

func (h *host) api(method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return http.DefaultClient.Do(req)
}

// apiError reads a jobs API error answer: {"error":…,"field":…}.
func (h *host) apiError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return errors.New(apiErrorText(resp.Status, resp.StatusCode, b, h.token != ""))
}

func (h *host) SubmitJob(run string, request []byte, dataset *ui.Upload) {
	go func() {
		fail := func(err error) {
			h.update(func() { h.root.ApplyServerEnd(run, "failed", err.Error()) })
		}
		if dataset != nil {
			l, err := h.sendDatasetOnce(run, dataset)
			if errors.Is(err, bridge.ErrStopped) {
				h.update(func() { h.root.ApplyServerEnd(run, "canceled", "") })
				return
			}
			if err != nil {
				fail(fmt.Errorf("sending the dataset to the server: %v", err))
				return
			}
			if l.Name != dataset.Name {
				// The server numbered it: its name was another file's.
				if request, err = withDataset(request, l.Name); err != nil {
					fail(err)
					return
				}
			}
			h.update(func() { h.root.DatasetSent(dataset, l) })
		}
		resp, err := h.api("POST", "/api/jobs", request)
		if err != nil {
			fail(err)
			return
		}
		if resp.StatusCode != http.StatusCreated {
			err := h.apiError(resp)
			resp.Body.Close()
			fail(err)
			return
		}
		var created struct{ ID string }
		err = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if err != nil || created.ID == "" {
			fail(fmt.Errorf("the server's answer has no job id: %v", err))
			return
		}
		h.update(func() { h.root.ServerJob(run, created.ID, "", "") })
		h.follow(run, created.ID)
	}()
}

// sending is a dataset file on its way to the server: done closes when
// the server answered; closing stop (once) aborts it. waiting holds the
// runs that wait for it, each with a channel that its Stop closes.
type sending struct {
	done, stop chan struct{}
	stopOnce   sync.Once
	waiting    map[string]chan struct{}
	l          protocol.Listing
	err        error
}

// StopSending takes run off the runs waiting for a dataset file on its
// way to the server, and the run ends as stopped; the sending itself is
// aborted when no other run waits for it (an experiment's arms wait for
// one sending, and stopping one arm leaves the others theirs).
// A Stop that comes before the run waits is kept for sendDatasetOnce.
func (h *host) StopSending(run string, u *ui.Upload) {
	h.sendMu.Lock()
	s := h.sends[sendKey(u)]
	var c chan struct{}
	if s != nil {
		c = s.waiting[run]
	}
	abort := false
	if c != nil {
		close(c)
		delete(s.waiting, run)
		abort = len(s.waiting) == 0
	} else {
		if h.stopped == nil {
			h.stopped = map[string]bool{}
		}
		h.stopped[run] = true
	}
	h.sendMu.Unlock()
	if abort {
		s.stopOnce.Do(func() { close(s.stop) })
	}
}

// sendKey tells the files the page sends apart: by load and name.
func sendKey(u *ui.Upload) string { return fmt.Sprintf("%d %s", u.Gen, u.Name) }

// sendDatasetOnce sends a dataset file for run unless it is on its way
// already, and waits for the server's answer or for the run's Stop
// (bridge.ErrStopped); a failed or aborted send is tried again by the next
// run.
func (h *host) sendDatasetOnce(run string, u *ui.Upload) (protocol.Listing, error) {
	key := sendKey(u)
	mine := make(chan struct{})
	h.sendMu.Lock()
	if h.stopped[run] {
		delete(h.stopped, run)
		h.sendMu.Unlock()
		return protocol.Listing{}, bridge.ErrStopped
	}
	s := h.sends[key]
	if s == nil {
		s = &sending{done: make(chan struct{}), stop: make(chan struct{}), waiting: map[string]chan struct{}{}}
		if h.sends == nil {
			h.sends = map[string]*sending{}
		}
		h.sends[key] = s
		go func() {
			s.l, s.err = h.sendDataset(u, s.stop)
			h.sendMu.Lock()
			if s.err != nil && h.sends[key] == s {
				delete(h.sends, key)
			}
			h.sendMu.Unlock()
			close(s.done)
		}()
	}
	s.waiting[run] = mine
	h.sendMu.Unlock()
	select {
	case <-s.done:
		h.sendMu.Lock()
		delete(s.waiting, run)
		h.sendMu.Unlock()
		return s.l, s.err
	case <-mine:
		return protocol.Listing{}, bridge.ErrStopped
	}
}

// sendDataset puts the user's dataset file in the server's data folder
// (PUT /api/datasets/NAME), streamed by the browser from where it lies.
func (h *host) sendDataset(u *ui.Upload, stop <-chan struct{}) (protocol.Listing, error) {
	var l protocol.Listing
	file, ok := u.File.(safejs.Value)
	if !ok {
		return l, errors.New("the page has no file to send")
	}
	// The browser reports the bytes sent on its event loop, which must
	// not wait for the page's lock: the latest count goes through a
	// channel of one to a goroutine that shows it.
	moved := make(chan [2]int64, 1)
	shown := make(chan struct{})
	go func() {
		defer close(shown)
		for m := range moved {
			h.update(func() { h.root.SendingDataset(u.Name, m[0], m[1]) })
			time.Sleep(250 * time.Millisecond)
		}
	}()
	// rename: a name taken by another file (a classroom's many data.zip)
	// is numbered rather than refused.
	status, text, err := bridge.PutBlob(protocol.DatasetsPath+"/"+u.Name+"?rename=1", h.token, file, stop, func(sent, total int64) {
		select {
		case <-moved: // an older count not shown yet: this one replaces it
		default:
		}
		select {
		case moved <- [2]int64{sent, total}:
		default:
		}
	})
	close(moved)
	<-shown
	if err != nil {
		return l, err
	}
	if status >= 300 {
		return l, errors.New(apiErrorText(fmt.Sprintf("status %d", status), status, []byte(text), h.token != ""))
	}
	if err := json.Unmarshal([]byte(text), &l); err != nil || l.Name == "" {
		return l, fmt.Errorf("the server's answer is not a dataset listing: %q", text)
	}
	return l, nil
}

// withDataset is a jobs API request with its dataset replaced.
func withDataset(request []byte, name string) ([]byte, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, err
	}
	b, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	req["dataset"] = b
	return json.Marshal(req)
}

// FollowJob follows a job an earlier visit of the page submitted.
func (h *host) FollowJob(run, job string) { go h.follow(run, job) }

// follow reads a job's event stream to its end, then its status and its
// weights. A stream that breaks before its end (the server restarted, the
// network dropped) is followed again for up to followAgainFor: the server
// keeps the job, and its stream replays the run from the start.
func (h *host) follow(run, job string) {
	deadline := time.Now().Add(followAgainFor)
	delay := time.Second
	again := false
	for {
		end, fatal, err := h.stream(run, job, again)
		if err == nil {
			h.finish(run, job, end)
			return
		}
		if fatal || time.Now().After(deadline) {
			h.update(func() { h.root.ApplyServerEnd(run, "failed", "lost the server: "+err.Error()) })
			return
		}
		h.update(func() { h.root.Notice = followingAgain })
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Second)
		again = true
	}
}

// followAgainFor is how long a broken job stream is tried again: about a
// server's restart.
const followAgainFor = 2 * time.Minute

const followingAgain = "lost the server's event stream; following the job again…"

type streamEnd struct{ State, Error string }

// stream reads a job's event stream once, to its end event. again says the
// run already holds events of an earlier stream, which this one sends
// again from the start. A refusal of the server (the job is unknown, the
// token is wrong) is fatal; a lost connection is not.
func (h *host) stream(run, job string, again bool) (end streamEnd, fatal bool, err error) {
	resp, err := h.api("GET", "/api/jobs/"+job+"/events", nil)
	if err != nil {
		return end, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return end, resp.StatusCode < 500, h.apiError(resp)
	}
	if again {
		h.update(func() {
			h.root.ReplayServerRun(run)
			if h.root.Notice == followingAgain {
				h.root.Notice = ""
			}
		})
	}
	ended := errors.New("end")
	backendKnown := false
	err = protocol.ReadEvents(resp.Body, func(event string, data []byte) error {
		if event == "end" {
			json.Unmarshal(data, &end)
			return ended
		}
		m := protocol.NewMessage(run, protocol.KindEvent)
		m.Event = json.RawMessage(bytes.Clone(data)) // data is the scanner's until the next line
		h.update(func() { h.root.Apply(m) })
		if !backendKnown {
			// The backend is known once the job runs.
			backendKnown = true
			go h.status(run, job)
		}
		return nil
	})
	if err == ended {
		return end, false, nil
	}
	if err != nil {
		return end, false, fmt.Errorf("the event stream broke: %v", err)
	}
	return end, false, errors.New("the event stream ended before the job did")
}

// finish ends a followed run: the job's status, its weights when it is
// done, and its end state.
func (h *host) finish(run, job string, end streamEnd) {
	h.status(run, job)
	if end.State == "done" {
		if w, err := h.api("GET", "/api/jobs/"+job+"/weights", nil); err == nil {
			b, rerr := io.ReadAll(w.Body)
			w.Body.Close()
			if rerr == nil && w.StatusCode == http.StatusOK && len(b) > 0 {
				m := protocol.NewMessage(run, protocol.KindWeights)
				m.Bytes = b
				h.update(func() { h.root.Apply(m) })
			}
		}
	}
	h.update(func() { h.root.ApplyServerEnd(run, end.State, end.Error) })
}

// status reads a job's backend.
func (h *host) status(run, job string) {
	resp, err := h.api("GET", "/api/jobs/"+job, nil)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var st struct{ Backend, Note string }
	if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil {
		h.update(func() { h.root.ServerJob(run, job, st.Backend, st.Note) })
	}
}

// loadServer learns where the server's jobs train, to say it beside Run
// on server; a page served without the jobs API leaves it unsaid.
func (h *host) loadServer() {
	resp, err := h.api("GET", "/api/server", nil)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		err := h.apiError(resp)
		h.update(func() { h.root.ServerRefused = err.Error() })
		return
	}
	var info struct{ Backend, Note string }
	if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&info) == nil {
		h.update(func() {
			h.root.ServerBackend, h.root.ServerNote = info.Backend, info.Note
			h.root.RefreshJobs()
		})
	}
}

func (h *host) ListJobs(done func([]ui.ServerJob, error)) {
	go func() {
		var jobs []ui.ServerJob
		err := h.getJSON("/api/jobs", &jobs)
		h.update(func() { done(jobs, err) })
	}()
}

func (h *host) OpenJob(job string, done func(*spec.Spec, error)) {
	go func() {
		var st struct{ Spec *spec.Spec }
		err := h.getJSON("/api/jobs/"+job, &st)
		if err == nil && st.Spec == nil {
			err = fmt.Errorf("the server sent no spec for job %s", job)
		}
		h.update(func() { done(st.Spec, err) })
	}()
}

// getJSON decodes the jobs API's answer to GET path into v.
func (h *host) getJSON(path string, v any) error {
	resp, err := h.api("GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h.apiError(resp)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (h *host) CancelJob(job string) {
	go func() {
		if resp, err := h.api("DELETE", "/api/jobs/"+job, nil); err == nil {
			resp.Body.Close()
		}
	}()
}
