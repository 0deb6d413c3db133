package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"plateau/data"
	"plateau/nn"
	"plateau/protocol"
	"plateau/server/gomlx"
	"plateau/spec"
	"plateau/train"
)

// tinyImages writes a folder dataset of two classes of 8×8 grey images
// (bright on the left, bright on the right) into dataDir/name.
func tinyImages(t *testing.T, dataDir, name string, perClass int) {
	t.Helper()
	for c, class := range []string{"left", "right"} {
		dir := filepath.Join(dataDir, name, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			img := image.NewGray(image.Rect(0, 0, 8, 8))
			for y := range 8 {
				for x := range 8 {
					v := uint8((x*13 + y*7 + i*29) % 60)
					if (x < 4) == (c == 0) {
						v += 150
					}
					img.SetGray(x, y, color.Gray{v})
				}
			}
			var buf bytes.Buffer
			png.Encode(&buf, img)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.png", i)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

const tinySpec = `{"model":{"input":[8,8,1],"classes":2,"layers":[
 {"type":"conv2d","filters":4,"kernel":3,"activation":"relu"},{"type":"maxpool"},{"type":"dense"}]},
 "train":{"optimizer":"adam","lr":0.01,"batch_size":8,"epochs":2,"seed":1},
 "data":{"normalization":"scale01","validation":0.2}}`

type jobsEnv struct {
	t       *testing.T
	dataDir string
	jobsDir string
	jobs    *jobServer
	srv     *httptest.Server
	token   string
	trainer trainer // nil: native
	addr    string  // the first start's, which a restart listens on again
}

func newJobsEnv(t *testing.T, limits jobLimits, token string) *jobsEnv {
	t.Helper()
	dataDir := t.TempDir()
	tinyImages(t, dataDir, "tiny", 20)
	e := &jobsEnv{t: t, dataDir: dataDir, jobsDir: filepath.Join(dataDir, ".plateau-jobs"), token: token}
	e.start(limits)
	return e
}

func (e *jobsEnv) start(limits jobLimits) {
	e.t.Helper()
	jobs, err := newJobServer(jobServerOptions{Dir: e.jobsDir, DataDir: e.dataDir, Token: e.token, Limits: limits,
		Heartbeat: 50 * time.Millisecond, Logf: e.t.Logf, Trainer: e.trainer})
	if err != nil {
		e.t.Fatal(err)
	}
	e.jobs = jobs
	e.srv = httptest.NewUnstartedServer(withJobs(newPageServer("..", e.dataDir), jobs))
	if e.addr != "" {
		// A restart: the same address, as a restarted plateau serve has.
		l, err := net.Listen("tcp", e.addr)
		if err != nil {
			e.t.Fatal(err)
		}
		e.srv.Listener.Close()
		e.srv.Listener = l
	}
	e.srv.Start()
	e.addr = e.srv.Listener.Addr().String()
	e.t.Cleanup(e.stop)
}

func (e *jobsEnv) stop() {
	if e.srv != nil {
		e.srv.CloseClientConnections() // event streams end, as when a server stops
		e.srv.Close()
		e.jobs.Close()
		e.srv = nil
	}
}

func (e *jobsEnv) do(method, path string, body string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (e *jobsEnv) submit(body string) string {
	e.t.Helper()
	code, b := e.do("POST", "/api/jobs", body)
	if code != http.StatusCreated {
		e.t.Fatalf("POST /api/jobs: %d %s", code, b)
	}
	var r struct{ ID string }
	json.Unmarshal(b, &r)
	return r.ID
}

func (e *jobsEnv) status(id string) jobStatus {
	e.t.Helper()
	code, b := e.do("GET", "/api/jobs/"+id, "")
	if code != 200 {
		e.t.Fatalf("GET job: %d %s", code, b)
	}
	var st jobStatus
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *jobsEnv) waitState(id string, states ...string) jobStatus {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st := e.status(id)
		for _, s := range states {
			if st.State == s {
				return st
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("job %s never reached %v", id, states)
	return jobStatus{}
}

// followSSE reads a job's event stream to its end and returns the data
// lines of training events and the end event's state.
func followSSE(url string) (events []map[string]any, end map[string]any, heartbeats int, err error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, nil, 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return nil, nil, 0, fmt.Errorf("status %d, type %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 16<<20)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ":"):
			heartbeats++
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var v map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v); err != nil {
				return nil, nil, 0, fmt.Errorf("data line is not JSON: %q", line)
			}
			if name == "end" {
				return events, v, heartbeats, nil
			}
			events = append(events, v)
		case line == "":
			name = ""
		}
	}
	return events, nil, heartbeats, fmt.Errorf("stream ended without an end event (%v)", sc.Err())
}

// A job with a fault planted trains its spec with the fault's changes,
// after "set": the rate a thousand times the one set.
func TestJobPlantsAFault(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	id := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1,"set":{"train.lr":0.002},"fault":"rate-too-high"}`)
	events, _, _, err := followSSE(e.srv.URL + "/api/jobs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[len(events)-1]["event"] != "result" {
		t.Fatalf("the planted job's events end with %v", events[len(events)-1:])
	}
	b, err := os.ReadFile(filepath.Join(e.jobsDir, id, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.LR != 2 {
		t.Errorf("the planted job's spec: rate %g, want 2", s.Train.LR)
	}
}

func TestJobRunsAndStreams(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	id := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":3,"seed":2,"set":{"train.lr":0.02}}`)
	events, end, _, err := followSSE(e.srv.URL + "/api/jobs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	if end["state"] != jobDone {
		t.Fatalf("end %v", end)
	}
	var kinds []string
	for _, ev := range events {
		if ev["event"] != "step" {
			kinds = append(kinds, ev["event"].(string))
		}
	}
	if got, want := strings.Join(kinds, ","), "start,epoch,epoch,epoch,result"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	last := events[len(events)-1]
	if _, ok := last["test_accuracy"]; !ok {
		t.Errorf("result event without test_accuracy: %v", last)
	}
	if events[len(events)-2]["lr"] != 0.02 {
		t.Errorf("set train.lr was not applied: %v", events[len(events)-2]["lr"])
	}
	st := e.status(id)
	if st.Backend != "native" || st.Result == nil || st.Epoch != 3 || st.Started == nil || st.Finished == nil {
		t.Errorf("status %+v", st)
	}
	// The stream's lines are the CLI's -json lines: the same as events.jsonl.
	log := readLines(filepath.Join(e.jobsDir, id, "events.jsonl"))
	if len(log) != len(events) {
		t.Errorf("events.jsonl has %d lines, the stream %d", len(log), len(events))
	}
	// The weights load as a network.
	code, b := e.do("GET", "/api/jobs/"+id+"/weights", "")
	if code != 200 {
		t.Fatalf("weights: %d %s", code, b)
	}
	net, err := nn.Open(bytes.NewReader(b), 1)
	if err != nil {
		t.Fatalf("weights do not open: %v", err)
	}
	if net == nil {
		t.Fatal("no network")
	}
	// A late subscriber gets the whole run again.
	again, end2, _, err := followSSE(e.srv.URL + "/api/jobs/" + id + "/events")
	if err != nil || len(again) != len(events) || end2["state"] != jobDone {
		t.Errorf("replay: %d events, end %v, %v", len(again), end2, err)
	}
	// The list has it, without the spec.
	code, b = e.do("GET", "/api/jobs", "")
	var list []jobStatus
	json.Unmarshal(b, &list)
	if code != 200 || len(list) != 1 || list[0].ID != id {
		t.Errorf("list: %d %s", code, b)
	}
}

// A job with workers trains every batch in parts on the native backend,
// and says so in its start event; its validation checks within epochs
// (here after every step) reach the stream.
func TestJobWithWorkers(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	id := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":2,"workers":2,"set":{"train.val_check_seconds":1e-9}}`)
	events, end, _, err := followSSE(e.srv.URL + "/api/jobs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	if end["state"] != jobDone || len(events) == 0 || events[0]["event"] != "start" {
		t.Fatalf("end %v after %d events", end, len(events))
	}
	if events[0]["workers"] != 2.0 {
		t.Errorf("start event %v does not say two workers", events[0])
	}
	if _, ok := events[len(events)-1]["test_accuracy"]; !ok {
		t.Errorf("no result: %v", events[len(events)-1])
	}
	checks := 0
	for _, ev := range events {
		if ev["event"] == "val_check" {
			checks++
			if _, ok := ev["val_accuracy"].(float64); !ok || ev["val_size"].(float64) < 1 {
				t.Errorf("check %v", ev)
			}
		}
	}
	if checks == 0 {
		t.Error("no validation checks in the stream")
	}
}

// longJob trains long enough to be canceled.
const longJob = `{"spec":` + tinySpec + `,"dataset":"tiny","epochs":400}`

func TestJobCancelFreesTheWorker(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	long := e.submit(longJob)
	next := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1}`)
	queued := e.submit(longJob)
	e.waitState(long, jobRunning)
	if st := e.status(next); st.State != jobQueued {
		t.Fatalf("second job is %s while the first runs", st.State)
	}
	code, b := e.do("DELETE", "/api/jobs/"+queued, "")
	if code != http.StatusAccepted || e.status(queued).State != jobCanceled {
		t.Fatalf("cancel queued: %d %s", code, b)
	}
	if code, b := e.do("DELETE", "/api/jobs/"+long, ""); code != http.StatusAccepted {
		t.Fatalf("cancel running: %d %s", code, b)
	}
	st := e.waitState(long, jobCanceled)
	if st.Result == nil || st.Result.Stopped != "canceled" {
		t.Errorf("canceled job's result: %+v", st.Result)
	}
	e.waitState(next, jobDone)
	_, end, _, err := followSSE(e.srv.URL + "/api/jobs/" + queued + "/events")
	if err != nil || end["state"] != jobCanceled {
		t.Errorf("canceled job's stream: %v %v", end, err)
	}
}

func TestJobQueueFull(t *testing.T) {
	limits := defaultJobLimits
	limits.MaxQueue = 2
	e := newJobsEnv(t, limits, "")
	long := e.submit(longJob)
	e.waitState(long, jobRunning)
	e.submit(longJob)
	e.submit(longJob)
	code, b := e.do("POST", "/api/jobs", longJob)
	if code != http.StatusTooManyRequests || !strings.Contains(string(b), "queue is full") {
		t.Fatalf("third queued job: %d %s", code, b)
	}
	e.do("DELETE", "/api/jobs/"+long, "")
}

func TestJobRequestErrors(t *testing.T) {
	limits := defaultJobLimits
	limits.MaxEpochs = 50
	limits.MaxBatch = 64
	limits.MaxParams = 10_000
	limits.MaxImages = 1000
	limits.MaxSeconds = 60
	e := newJobsEnv(t, limits, "")
	tinyImages(t, e.dataDir, "big", 600)
	outside := t.TempDir()
	tinyImages(t, outside, "secret", 4)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(e.dataDir, "link"))
	for _, c := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"not JSON", `{`, 400, "not valid JSON: it ends too early"},
		{"broken JSON", `{"preset":"mnist-cnn",,}`, 400, "not valid JSON: at byte 23, invalid character ','"},
		{"empty", ``, 400, "the request is empty"},
		{"not an object", `[]`, 400, "the request is a JSON array, not an object"},
		{"epochs of the wrong kind", `{"preset":"mnist-cnn","dataset":"tiny","epochs":1.5}`, 400, "epochs: want a whole number, not a JSON number 1.5"},
		{"seed of the wrong kind", `{"preset":"mnist-cnn","dataset":"tiny","seed":"one"}`, 400, "seed: want a whole number, not a JSON string"},
		{"unknown field", `{"preset":"mnist-mlp","dataset":"tiny","learning_rate":1}`, 400, "learning_rate"},
		{"no dataset", `{"spec":` + tinySpec + `}`, 400, "dataset"},
		{"spec and preset", `{"spec":` + tinySpec + `,"preset":"x","dataset":"tiny"}`, 400, "not both"},
		{"bad preset", `{"preset":"nope","dataset":"tiny"}`, 400, "nope"},
		{"bad set", `{"spec":` + tinySpec + `,"dataset":"tiny","set":{"train.nope":1}}`, 400, "train.nope"},
		{"invalid spec", `{"spec":{"model":{"input":[8,8,1],"classes":2,"layers":[{"type":"conv2d"}]}},"dataset":"tiny"}`, 400, "filters"},
		{"path", `{"spec":` + tinySpec + `,"dataset":"../../etc"}`, 400, "not a name"},
		{"absolute path", `{"spec":` + tinySpec + `,"dataset":"/etc"}`, 400, "not a name"},
		{"dot name", `{"spec":` + tinySpec + `,"dataset":".."}`, 400, "not a name"},
		{"symlink out", `{"spec":` + tinySpec + `,"dataset":"link"}`, 400, "out of the server's data folder"},
		{"missing", `{"spec":` + tinySpec + `,"dataset":"nothere"}`, 404, "no dataset"},
		{"epochs", `{"spec":` + tinySpec + `,"dataset":"tiny","epochs":51}`, 422, "fewer epochs"},
		{"batch", `{"spec":` + tinySpec + `,"dataset":"tiny","set":{"train.batch_size":128}}`, 422, "train.batch_size to 64"},
		{"time", `{"spec":` + tinySpec + `,"dataset":"tiny","set":{"train.time_limit_seconds":61}}`, 422, "set train.time_limit_seconds to 60 or less"},
		{"params", `{"spec":` + strings.Replace(tinySpec, `"filters":4`, `"filters":400`, 1) + `,"dataset":"tiny"}`, 422, "parameters"},
		{"images", `{"spec":` + tinySpec + `,"dataset":"big"}`, 422, "train_limit"},
		{"wrong input", `{"spec":` + strings.Replace(tinySpec, `[8,8,1]`, `[28,28,1]`, 1) + `,"dataset":"tiny"}`, 400, "model.input"},
		{"workers", `{"spec":` + tinySpec + `,"dataset":"tiny","workers":4096}`, 400, "workers must be 1 to"},
		{"width of a spec", `{"spec":` + tinySpec + `,"dataset":"tiny","width":8}`, 400, `a "spec" gives its own layers`},
		{"negative depth", `{"preset":"vgg-small","dataset":"tiny","depth":-1}`, 400, "must be at least 1"},
		{"width of a fixed preset", `{"preset":"mnist-cnn","dataset":"tiny","width":8}`, 400, "fixed width and depth"},
		{"too deep for the images", `{"preset":"vgg-small","dataset":"tiny","width":2,"depth":5}`, 400, "this input allows 3 halvings"},
		{"unknown fault", `{"spec":` + tinySpec + `,"dataset":"tiny","fault":"gremlins"}`, 400, `fault "gremlins": want one of raw-pixels`},
		{"fault already there", `{"spec":` + tinySpec + `,"dataset":"tiny","set":{"data.label_noise":0.5},"fault":"wrong-labels"}`, 400, "already makes 0.5 of the labels wrong"},
		{"image side", `{"spec":` + tinySpec + `,"dataset":"tiny","set":{"data.image_side":2}}`, 400, "data.image_side 2 must be between 4 and 1024"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, b := e.do("POST", "/api/jobs", c.body)
			var ae apiError
			if err := json.Unmarshal(b, &ae); err != nil {
				t.Fatalf("answer is not a JSON error: %s", b)
			}
			if code != c.code || !strings.Contains(ae.Error, c.want) {
				t.Errorf("got %d %q, want %d mentioning %q", code, ae.Error, c.code, c.want)
			}
		})
	}
	// A scalable preset at a width and depth, built for the 8×8 images.
	id := e.submit(`{"preset":"resnet-bottleneck","width":2,"depth":2,"dataset":"tiny","epochs":1,"set":{"data.augment.crop.strength":1}}`)
	want, err := spec.Preset("resnet-bottleneck", spec.PresetOptions{Width: 2, Depth: 2, Input: []int{8, 8, 1}, Classes: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := want.Model.ParamCount(); e.status(id).Params != n {
		t.Errorf("resnet-bottleneck at width 2, depth 2 has %d parameters, want %d", e.status(id).Params, n)
	}
	// A spec without its input and classes takes the dataset's.
	id = e.submit(`{"spec":{"model":{"layers":[{"type":"dense"}]},"train":{"batch_size":4}},"dataset":"tiny","epochs":1}`)
	if st := e.status(id); st.Params != 8*8*1*2+2 {
		t.Errorf("a spec without input on the 8×8 two-class tiny set has %d parameters, want %d", st.Params, 8*8*1*2+2)
	}
	// The images are read at the spec's data.image_side: 4×4 here.
	id = e.submit(`{"spec":{"model":{"layers":[{"type":"dense"}]},"train":{"batch_size":4},"data":{"image_side":4}},"dataset":"tiny","epochs":1}`)
	if st := e.status(id); st.Params != 4*4*1*2+2 {
		t.Errorf("a spec with data.image_side 4 on the 8×8 tiny set has %d parameters, want %d (4×4 inputs)", st.Params, 4*4*1*2+2)
	}
	// A limit that the request's knobs bring under the bound is accepted.
	e.submit(`{"spec":` + tinySpec + `,"dataset":"big","train_limit":100,"test_limit":50,"epochs":1}`)
	// A job without a time limit gets the server's; a shorter one keeps
	// its own.
	for want, body := range map[float64]string{
		60: `{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1}`,
		30: `{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1,"set":{"train.time_limit_seconds":30}}`,
	} {
		id := e.submit(body)
		_, b := e.do("GET", "/api/jobs/"+id, "")
		var job struct{ Spec *spec.Spec }
		if err := json.Unmarshal(b, &job); err != nil || job.Spec == nil {
			t.Fatalf("job %s: %v %s", id, err, b)
		}
		if got := job.Spec.Train.TimeLimitSeconds; got != want {
			t.Errorf("job %s trains with a time limit of %g s, want %g", id, got, want)
		}
	}
	for _, path := range []string{"/api/jobs/nope", "/api/jobs/20260101-000000-00000000", "/api/jobs/../../etc/passwd"} {
		if code, _ := e.do("GET", path, ""); code != 404 {
			t.Errorf("GET %s: %d", path, code)
		}
	}
}

func TestJobToken(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "s3cret")
	for _, c := range []struct {
		name string
		set  func(*http.Request)
		code int
		want string
	}{
		{"none", func(*http.Request) {}, 401, "this server needs its token"},
		{"wrong", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, 401, "the token sent is not this server's"},
		{"wrong in the query", func(r *http.Request) { r.URL.RawQuery = "token=nope" }, 401, "the token sent is not this server's"},
		{"header", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }, 200, ""},
		{"query", func(r *http.Request) { r.URL.RawQuery = "token=s3cret" }, 200, ""},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/jobs", nil)
		c.set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, res.StatusCode, b, c.code, c.want)
		}
	}
	// The page itself needs no token.
	if res, err := http.Get(e.srv.URL + "/"); err != nil || res.StatusCode != 200 {
		t.Errorf("page: %v %v", res, err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "-root", "..", "-addr", "0.0.0.0:0"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-token") {
		t.Errorf("serve on all interfaces without a token: exit %d, %s", code, errOut.String())
	}
	// A data folder that is not there is refused, and not made.
	missing := filepath.Join(t.TempDir(), "typo")
	errOut.Reset()
	if code := run([]string{"serve", "-root", "..", "-addr", "127.0.0.1:0", "-data", missing}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "is not a folder") {
		t.Errorf("serve -data %s: exit %d, %s", missing, code, errOut.String())
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("serve -data %s made the folder", missing)
	}
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "0.0.0.0:80": false, ":8080": false, "10.0.0.1:80": false} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%s) = %v", addr, !want)
		}
	}
}

func TestJobsSurviveARestart(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	done := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1}`)
	e.waitState(done, jobDone)
	running := e.submit(longJob)
	waiting := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1}`)
	e.waitState(running, jobRunning)
	doneEvents, _, _, _ := followSSE(e.srv.URL + "/api/jobs/" + done + "/events")
	e.stop()
	// A line cut short at the end of the finished job's log (a write the
	// machine's crash interrupted) must not reach the streams.
	logFile, err := os.OpenFile(filepath.Join(e.jobsDir, done, "events.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	logFile.WriteString(`{"event":"epoch","epo`)
	logFile.Close()

	e.start(defaultJobLimits)
	st := e.status(done)
	if st.State != jobDone || st.Result == nil {
		t.Errorf("finished job after restart: %+v", st)
	}
	again, end, _, err := followSSE(e.srv.URL + "/api/jobs/" + done + "/events")
	if err != nil || len(again) != len(doneEvents) || end["state"] != jobDone {
		t.Errorf("finished job's events after restart: %d of %d, %v", len(again), len(doneEvents), err)
	}
	if code, _ := e.do("GET", "/api/jobs/"+done+"/weights", ""); code != 200 {
		t.Errorf("weights after restart: %d", code)
	}
	// The interrupted job trains again first, then the waiting one.
	e.waitState(running, jobRunning)
	if st := e.status(waiting); st.State != jobQueued {
		t.Errorf("waiting job after restart: %s", st.State)
	}
	e.do("DELETE", "/api/jobs/"+running, "")
	e.waitState(waiting, jobDone)
}

// TestJobsLoad has 30 clients load the page and follow job streams at
// once on loopback; every one must see every event and the end.
func TestJobsLoad(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	ids := []string{
		e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":3}`),
		e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":2,"seed":5}`),
	}
	const clients = 30
	var wg sync.WaitGroup
	counts := make([]int, clients)
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			for _, p := range []string{"/", "/assets/wasm_exec.js", protocol.DatasetsPath} {
				res, err := http.Get(e.srv.URL + p)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Errorf("client %d: GET %s: %d", c, p, res.StatusCode)
					return
				}
			}
			events, end, _, err := followSSE(e.srv.URL + "/api/jobs/" + ids[c%2] + "/events")
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", c, err)
				return
			}
			if end["state"] != jobDone || events[len(events)-1]["event"] != "result" {
				errs <- fmt.Errorf("client %d: ended %v after %v", c, end, events[len(events)-1]["event"])
			}
			counts[c] = len(events)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for c := range clients {
		if counts[c] != counts[c%2] {
			t.Errorf("client %d saw %d events, client %d saw %d", c, counts[c], c%2, counts[c%2])
		}
	}
}

func TestBackendAutoFallsBackToNative(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("VIRTUAL_ENV", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	var logged []string
	tr, note, err := chooseTrainer("auto", func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	if err != nil || tr.Name() != "native" || note == "" || len(logged) != 1 {
		t.Fatalf("auto without a plugin: %v %q %v %v", tr, note, logged, err)
	}
	if _, _, err := chooseTrainer("xla", t.Logf); err == nil {
		t.Errorf("-backend xla without a plugin opened")
	}
	if _, _, err := chooseTrainer("cuda", t.Logf); err == nil {
		t.Errorf("-backend cuda was accepted")
	}
}

// TestJobStartsFromAnotherJobsWeights continues a finished job: a second
// job with "from_job" and a negligible learning rate ends where the first
// did, and a job of another model or of no job is refused with the field.
func TestJobStartsFromAnotherJobsWeights(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	first := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":3,"seed":2,"set":{"train.lr":0.02}}`)
	a := e.waitState(first, jobDone)
	second := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1,"seed":5,"from_job":"` + first + `","set":{"train.lr":1e-9}}`)
	b := e.waitState(second, jobDone)
	if a.Result == nil || b.Result == nil {
		t.Fatalf("results %v, %v", a.Result, b.Result)
	}
	if d := math.Abs(a.Result.TestLoss - b.Result.TestLoss); d > 1e-5*(1+a.Result.TestLoss) {
		t.Errorf("test loss %g after continuing, %g where it started", b.Result.TestLoss, a.Result.TestLoss)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"spec":` + tinySpec + `,"dataset":"tiny","from_job":"nope"}`, "no job"},
		{`{"spec":` + strings.Replace(tinySpec, `"filters":4`, `"filters":5`, 1) + `,"dataset":"tiny","from_job":"` + first + `"}`, "do not fit"},
	} {
		code, body := e.do("POST", "/api/jobs", tt.body)
		var ae apiError
		json.Unmarshal(body, &ae)
		if code != http.StatusBadRequest || ae.Field != "from_job" || !strings.Contains(ae.Error, tt.want) {
			t.Errorf("%s: %d %s; want 400 on from_job saying %q", tt.body, code, body, tt.want)
		}
	}
}

// TestJobStartsFromWeightsSent continues a run trained elsewhere: a job
// whose request brings weights (as the page sends a run of its own) with a
// negligible learning rate ends where they were, survives a restart of the
// server before it runs, and keeps them beside job.json, not in it;
// weights that do not fit, or sent with from_job, are refused with the
// field, and weights over the server's limit with 413.
func TestJobStartsFromWeightsSent(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	first := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":3,"seed":2,"set":{"train.lr":0.02}}`)
	a := e.waitState(first, jobDone)
	code, weights := e.do("GET", "/api/jobs/"+first+"/weights", "")
	if code != http.StatusOK {
		t.Fatalf("weights: %d", code)
	}
	b64, _ := json.Marshal(weights)
	body := `{"spec":` + tinySpec + `,"dataset":"tiny","epochs":1,"seed":5,"set":{"train.lr":1e-9},"weights":` + string(b64) + `}`
	second := e.submit(body)
	b := e.waitState(second, jobDone)
	if d := math.Abs(a.Result.TestLoss - b.Result.TestLoss); d > 1e-5*(1+a.Result.TestLoss) {
		t.Errorf("test loss %g from the weights sent, %g where they were", b.Result.TestLoss, a.Result.TestLoss)
	}
	if js, _ := os.ReadFile(filepath.Join(e.jobsDir, second, "job.json")); strings.Contains(string(js), string(b64[1:40])) || len(js) > 64<<10 {
		t.Errorf("job.json holds the weights (%d bytes)", len(js))
	}

	// Queued behind a long job, stopped, and trained after the restart.
	long := e.submit(`{"spec":` + tinySpec + `,"dataset":"tiny","epochs":400}`)
	e.waitState(long, jobRunning)
	third := e.submit(body)
	e.stop()
	e.start(defaultJobLimits)
	e.do("DELETE", "/api/jobs/"+long, "")
	if c := e.waitState(third, jobDone); math.Abs(a.Result.TestLoss-c.Result.TestLoss) > 1e-5*(1+a.Result.TestLoss) {
		t.Errorf("after a restart: test loss %g from the weights sent, %g where they were", c.Result.TestLoss, a.Result.TestLoss)
	}

	for _, tt := range []struct{ body, want string }{
		{`{"spec":` + strings.Replace(tinySpec, `"filters":4`, `"filters":5`, 1) + `,"dataset":"tiny","weights":` + string(b64) + `}`, "do not fit"},
		{`{"spec":` + tinySpec + `,"dataset":"tiny","weights":"bm90IHdlaWdodHM="}`, "do not fit"},
		{`{"spec":` + tinySpec + `,"dataset":"tiny","from_job":"` + first + `","weights":` + string(b64) + `}`, "not both"},
	} {
		code, body := e.do("POST", "/api/jobs", tt.body)
		var ae apiError
		json.Unmarshal(body, &ae)
		if code != http.StatusBadRequest || ae.Field != "weights" || !strings.Contains(ae.Error, tt.want) {
			t.Errorf("%.80s…: %d %s; want 400 on weights saying %q", tt.body, code, body, tt.want)
		}
	}
	small := defaultJobLimits
	small.MaxWeightsSize = int64(len(weights) - 1)
	e.stop()
	e.start(small)
	if code, body := e.do("POST", "/api/jobs", body); code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "weights") {
		t.Errorf("weights over the limit: %d %s", code, body)
	}
}

// xlaNamed stands for a backend other than native.
type xlaNamed struct{ nativeTrainer }

func (xlaNamed) Name() string { return "xla:cuda" }

// Workers split batches on the native backend only; another backend
// refuses them with what to do.
func TestJobWorkersNeedTheNativeBackend(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	e.jobs.trainer = xlaNamed{}
	code, b := e.do("POST", "/api/jobs", `{"spec":`+tinySpec+`,"dataset":"tiny","workers":2}`)
	var ae apiError
	json.Unmarshal(b, &ae)
	if code != 400 || ae.Field != "workers" || !strings.Contains(ae.Error, "leave workers out") {
		t.Errorf("workers on xla: %d %s", code, b)
	}
}

// A job the server was running when it stopped goes on after a restart
// from the checkpoint of its last finished epoch: its event stream holds
// every epoch once, the doctor has read the whole run, and it ends where
// the same job run without a break ends, to the bit.
func TestJobGoesOnAfterARestart(t *testing.T) {
	t.Run("native", func(t *testing.T) { jobGoesOnAfterARestart(t, nil, tinySpec) })
	// GoMLX's pure-Go backend trains dense networks: the GoMLX trainer's
	// checkpoints, as an XLA server writes them.
	t.Run("gomlx", func(t *testing.T) {
		tr, err := gomlx.New("go:ops_sequential")
		if err != nil {
			t.Skipf("GoMLX's pure-Go backend does not open: %v", err)
		}
		jobGoesOnAfterARestart(t, tr, denseSpec)
	})
}

// denseSpec is tinySpec without convolutions, for GoMLX's pure-Go backend.
const denseSpec = `{"model":{"input":[8,8,1],"classes":2,"layers":[
 {"type":"dense","units":6,"activation":"relu"},{"type":"dropout","rate":0.2},{"type":"dense"}]},
 "train":{"optimizer":"adam","lr":0.01,"batch_size":8,"epochs":2,"seed":1},
 "data":{"normalization":"scale01","validation":0.2}}`

func jobGoesOnAfterARestart(t *testing.T, tr trainer, js string) {
	const epochs = 400
	req := `{"spec":` + js + `,"dataset":"tiny","epochs":` + strconv.Itoa(epochs) + `}`
	e := &jobsEnv{t: t, dataDir: t.TempDir(), trainer: tr}
	tinyImages(t, e.dataDir, "tiny", 20)
	e.jobsDir = filepath.Join(e.dataDir, ".plateau-jobs")
	e.start(defaultJobLimits)
	started := time.Now()
	whole := e.submit(req)
	want := e.waitState(whole, jobDone)
	t.Logf("%d epochs in %.1f s", epochs, time.Since(started).Seconds())

	broken := e.submit(req)
	deadline := time.Now().Add(60 * time.Second)
	for e.status(broken).Epoch < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	e.stop()
	at := readLines(filepath.Join(e.jobsDir, broken, "events.jsonl"))
	if len(at) == 0 {
		t.Fatal("the interrupted job left no events")
	}

	e.start(defaultJobLimits)
	st := e.status(broken)
	if st.State != jobQueued && st.State != jobRunning && st.State != jobDone {
		t.Fatalf("the interrupted job after the restart: %+v", st)
	}
	if st.State != jobDone && (st.Epoch < 1 || st.Epoch >= epochs) {
		t.Errorf("the interrupted job goes on after epoch %d", st.Epoch)
	}
	got := e.waitState(broken, jobDone)
	if got.Result == nil || want.Result == nil {
		t.Fatalf("results: %+v and %+v", got.Result, want.Result)
	}
	if got.Result.TestLoss != want.Result.TestLoss || got.Result.TestAccuracy != want.Result.TestAccuracy {
		t.Errorf("the job that went on after a restart ended with test loss %v accuracy %v; without the break %v %v",
			got.Result.TestLoss, got.Result.TestAccuracy, want.Result.TestLoss, want.Result.TestAccuracy)
	}
	events, end, _, err := followSSE(e.srv.URL + "/api/jobs/" + broken + "/events")
	if err != nil || end["state"] != jobDone {
		t.Fatalf("stream: %v, end %v", err, end)
	}
	seen := map[int]int{}
	starts := 0
	for _, ev := range events {
		switch ev["event"] {
		case "epoch":
			seen[int(ev["epoch"].(float64))]++
		case "start":
			starts++
		}
	}
	for ep := 1; ep <= epochs; ep++ {
		if seen[ep] != 1 {
			t.Errorf("epoch %d is in the stream %d times", ep, seen[ep])
			break
		}
	}
	if starts != 2 {
		t.Errorf("%d start events; want the run's and the one where it went on", starts)
	}
	if _, err := os.Stat(filepath.Join(e.jobsDir, broken, checkpointFile)); !os.IsNotExist(err) {
		t.Errorf("the finished job's checkpoint is still there (%v)", err)
	}
}

// GET /api/server says where jobs train and within which limits, behind
// the token like the rest of the API.
func TestServerInfo(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "secret")
	code, body := e.do("GET", "/api/server", "")
	var info serverInfo
	if err := json.Unmarshal(body, &info); code != http.StatusOK || err != nil || info.Backend != "native" ||
		info.Limits.MaxParams != defaultJobLimits.MaxParams || info.Limits.MaxWeightsSize != defaultJobLimits.MaxWeightsSize {
		t.Errorf("GET /api/server: %d %s", code, body)
	}
	res, err := http.Get(e.srv.URL + "/api/server")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d", res.StatusCode)
	}
}

// A job whose state cannot be written goes on, and the log says so.
func TestSaveFailureIsLogged(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	s, err := newJobServer(jobServerOptions{Dir: t.TempDir(), DataDir: t.TempDir(),
		Logf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			logged = append(logged, fmt.Sprintf(format, args...))
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j := &job{status: jobStatus{ID: "no-such-folder"}} // its folder was never made
	s.save(j)
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "no-such-folder") || !strings.Contains(logged[0], "saving its state failed") {
		t.Errorf("log %q, want one line naming the job and the failure", logged)
	}
}

// A job's checkpoint of an epoch its time limit ended within, found by a
// restart: the job goes on with the epochs before it done and the log's
// lines before that epoch's event (its steps kept), since the resumed run
// trains the rest of the epoch and reports it whole.
func TestResumableWithinACutEpoch(t *testing.T) {
	dir := t.TempDir()
	tinyImages(t, dir, "tiny", 40)
	ds, err := data.Load(filepath.Join(dir, "tiny"), data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse([]byte(tinySpec))
	if err != nil {
		t.Fatal(err)
	}
	s.Train.BatchSize, s.Train.Epochs, s.Train.LogEvery, s.Train.TimeLimitSeconds = 1, 4, 5, 0.12
	folder := filepath.Join(dir, "job")
	os.MkdirAll(folder, 0o755)
	var lines [][]byte
	clock := time.Time{}
	res, err := train.Run(context.Background(), train.Config{Spec: s, Dataset: ds, Checkpoint: filepath.Join(folder, checkpointFile),
		Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock },
		Emit: func(e train.Event) {
			b, _ := json.Marshal(e)
			lines = append(lines, b)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeLines(filepath.Join(folder, "events.jsonl"), lines); err != nil {
		t.Fatal(err)
	}
	epoch, cut, err := train.CheckpointEpoch(filepath.Join(folder, checkpointFile))
	if err != nil || !cut || epoch < 2 {
		t.Fatalf("the run stopped %q after %d epochs (cut %v, %v): the test wants a cut within the second epoch or later", res.Final.Stopped, epoch, cut, err)
	}
	jobs, err := newJobServer(jobServerOptions{Dir: filepath.Join(dir, "jobs"), DataDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	done, kept, ok := jobs.resumable(folder)
	if !ok || done != epoch-1 {
		t.Fatalf("resumable: %v after %d epochs; want it to go on after %d", ok, done, epoch-1)
	}
	var last, next struct {
		Event string `json:"event"`
		Epoch int    `json:"epoch"`
	}
	json.Unmarshal(kept[len(kept)-1], &last)
	json.Unmarshal(lines[len(kept)], &next)
	if last.Event != train.EventStep || next.Event != train.EventEpoch || next.Epoch != epoch {
		t.Errorf("the kept lines end with a %s event of epoch %d, before a %s of epoch %d; want the cut epoch's steps, up to its event", last.Event, last.Epoch, next.Event, next.Epoch)
	}
}
