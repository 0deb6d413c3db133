package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plateau/nn"
	"plateau/spec"
	"plateau/train"
)

// plateau train -server trains on a jobs API and shows the run as a local
// one: the same -json lines, an -out folder with the spec, the events and
// the weights, and the server's refusals as errors that say what to change.
func TestTrainOnServer(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "secret")
	specFile := filepath.Join(t.TempDir(), "spec.json")
	os.WriteFile(specFile, []byte(tinySpec), 0o644)
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "train", "-server", e.srv.URL, "-token", "secret", "-spec", specFile, "-dataset", "tiny",
		"-epochs", "3", "-seed", "2", "-set", "train.lr=0.02", "-json", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "job ") || !strings.Contains(stderr, "epoch 3/3") {
		t.Errorf("the progress on stderr does not show the job's epochs:\n%s", stderr)
	}
	if kinds := eventKinds(t, stdout); strings.Join(kinds, " ") != "start epoch epoch epoch result" {
		t.Errorf("stdout events %v; want start, 3 epochs, result", kinds)
	}
	// The same run as the job API's own: its result and its weights.
	var jobs []jobStatus
	_, b := e.do("GET", "/api/jobs", "")
	json.Unmarshal(b, &jobs)
	if len(jobs) != 1 || jobs[0].State != jobDone || jobs[0].Result == nil {
		t.Fatalf("jobs: %s", b)
	}
	if got := lastResult(t, stdout); got.TestLoss != jobs[0].Result.TestLoss {
		t.Errorf("test loss %v here, %v in the job", got.TestLoss, jobs[0].Result.TestLoss)
	}
	f, err := os.Open(filepath.Join(dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sb, _ := os.ReadFile(filepath.Join(dir, "spec.json"))
	s, err := spec.Parse(sb)
	if err != nil {
		t.Fatalf("spec.json: %v", err)
	}
	net, err := nn.New(s.Model, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Load(f); err != nil {
		t.Errorf("the weights in the -out folder do not load into its spec: %v", err)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "events.jsonl")); strings.Count(string(log), `"event":"epoch"`) != 3 {
		t.Errorf("events.jsonl:\n%s", log)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-token", "wrong", "-dataset", "tiny"}, 1, "the server refused the token given (-token or $PLATEAU_TOKEN)"},
		{[]string{"-dataset", "tiny"}, 1, "the server needs its token: give it with -token T or $PLATEAU_TOKEN"},
		{[]string{"-token", "secret", "-dataset", "tiny", "-set", "train.lr=-1"}, 1, "train.lr"},
		{[]string{"-token", "secret", "-dataset", "../etc"}, 1, "refused"},
		{[]string{"-token", "secret", "-dataset", "tiny", "-resume", dir}, 2, "drop -resume"},
		{[]string{"-token", "secret"}, 2, "-dataset is required"},
		{[]string{"-token", "secret", "-dataset", "tiny", "-fault", "gremlins"}, 2, "want one of raw-pixels"},
		// The fault goes to the server, which plants it after -set.
		{[]string{"-token", "secret", "-dataset", "tiny", "-set", "data.label_noise=0.5", "-fault", "wrong-labels"}, 1, "already makes 0.5 of the labels wrong"},
	} {
		code, _, stderr := runCLI(t, append([]string{"train", "-server", e.srv.URL}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, want %d mentioning %q:\n%s", tt.args, code, tt.code, tt.want, stderr)
		}
	}
}

// Interrupting plateau train -server cancels its job on the server.
func TestTrainOnServerInterrupted(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- trainRemote(ctx, remoteRun{url: e.srv.URL, specFile: "", preset: "", dataset: "tiny", epochs: 400, seed: -1}, io.Discard, io.Discard)
	}()
	job := e.onlyJobAt(1)
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("interrupted: %v", err)
	}
	if st := e.waitState(job.ID, jobCanceled, jobDone); st.State != jobCanceled {
		t.Errorf("the job is %s after the interrupt", st.State)
	}
}

// plateau train -server follows its job through a restart of the server:
// the job goes on from its last finished epoch, and the command line shows
// every epoch once and the job's result, as the page does.
func TestTrainOnServerThroughARestart(t *testing.T) {
	const epochs = 300
	e := newJobsEnv(t, defaultJobLimits, "")
	dir := filepath.Join(t.TempDir(), "run")
	var stdout, stderr strings.Builder
	done := make(chan error)
	go func() {
		done <- trainRemote(context.Background(), remoteRun{url: e.srv.URL, dataset: "tiny", epochs: epochs, seed: 3,
			out: dir, jsonOut: true, retry: 50 * time.Millisecond}, &stdout, &stderr)
	}()
	job := e.onlyJobAt(3)
	e.stop()
	time.Sleep(200 * time.Millisecond) // the command line finds no server for a while
	e.start(defaultJobLimits)
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("plateau train -server did not end after the server came back")
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "following job") {
		t.Errorf("the progress does not say the stream broke:\n%s", stderr.String())
	}
	st := e.status(job.ID)
	if st.State != jobDone || st.Result == nil {
		t.Fatalf("the job: %+v", st)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	for name, text := range map[string]string{"stdout": stdout.String(), "events.jsonl": string(log)} {
		seen := map[int]int{}
		starts, results := 0, 0
		for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
			var ev train.Event
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("%s: not an event line: %q", name, l)
			}
			switch ev.Event {
			case train.EventStart:
				starts++
			case train.EventEpoch:
				seen[ev.Epoch]++
			case train.EventResult:
				results++
				if ev.TestLoss != st.Result.TestLoss {
					t.Errorf("%s: test loss %v, the job's %v", name, ev.TestLoss, st.Result.TestLoss)
				}
			}
		}
		for ep := 1; ep <= epochs; ep++ {
			if seen[ep] != 1 {
				t.Errorf("%s: epoch %d shown %d times", name, ep, seen[ep])
				break
			}
		}
		if starts < 1 || starts > 2 || results != 1 {
			t.Errorf("%s: %d start and %d result events", name, starts, results)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "weights.safetensors")); err != nil {
		t.Errorf("no final weights: %v", err)
	}
}

// onlyJobAt waits until the server's one job has finished epoch (or more).
func (e *jobsEnv) onlyJobAt(epoch int) jobStatus {
	e.t.Helper()
	var jobs []jobStatus
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		_, b := e.do("GET", "/api/jobs", "")
		json.Unmarshal(b, &jobs)
		if len(jobs) == 1 && jobs[0].Epoch >= epoch {
			return jobs[0]
		}
	}
	e.t.Fatalf("the server's one job never finished epoch %d: %+v", epoch, jobs)
	return jobStatus{}
}

// plateau jobs lists a server's jobs, follows one as plateau train -server
// shows its own (the events from the start, the -out folder) and cancels
// one; an unknown job or a wrong token is an error that says so.
func TestJobsCommand(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "secret")
	done := e.submit(`{"dataset":"tiny","epochs":3,"seed":4}`)
	finished := e.waitState(done, jobDone)
	running := e.submit(`{"dataset":"tiny","epochs":400}`)
	e.waitState(running, jobRunning)

	code, stdout, stderr := runCLI(t, "jobs", "-server", e.srv.URL, "-token", "secret")
	if code != 0 {
		t.Fatalf("list: exit %d\n%s", code, stderr)
	}
	acc := fmt.Sprintf("%.2f%%", 100*finished.Result.TestAccuracy)
	for _, want := range []string{"STATE", done, "done", running, "running", "3/3", acc, "native", "tiny"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the list does not show %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "jobs", "-server", e.srv.URL, "-token", "secret", "-json")
	var jobs []jobStatus
	if err := json.Unmarshal([]byte(stdout), &jobs); code != 0 || err != nil || len(jobs) != 2 {
		t.Errorf("-json: exit %d, %v, %d jobs:\n%s", code, err, len(jobs), stdout)
	}

	dir := filepath.Join(t.TempDir(), "followed")
	code, stdout, stderr = runCLI(t, "jobs", "-server", e.srv.URL, "-token", "secret", "-follow", done, "-json", "-out", dir)
	if code != 0 {
		t.Fatalf("follow: exit %d\n%s", code, stderr)
	}
	if kinds := eventKinds(t, stdout); strings.Join(kinds, " ") != "start epoch epoch epoch result" {
		t.Errorf("followed events %v; want start, 3 epochs, result", kinds)
	}
	if got := lastResult(t, stdout); got.TestLoss != finished.Result.TestLoss {
		t.Errorf("followed result's test loss %v, the job's %v", got.TestLoss, finished.Result.TestLoss)
	}
	for _, f := range []string{"spec.json", "events.jsonl", "weights.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the -out folder lacks %s: %v", f, err)
		}
	}

	code, stdout, stderr = runCLI(t, "jobs", "-server", e.srv.URL, "-token", "secret", "-cancel", running)
	if code != 0 || !strings.Contains(stdout, "canceled") {
		t.Errorf("cancel: exit %d\n%s%s", code, stdout, stderr)
	}
	if st := e.waitState(running, jobCanceled, jobDone); st.State != jobCanceled {
		t.Errorf("the job is %s after plateau jobs -cancel", st.State)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-token", "secret", "-follow", "nosuchjob"}, 1, "nosuchjob"},
		{[]string{"-token", "wrong"}, 1, "token"},
		{[]string{"-token", "secret", "-out", dir}, 2, "-follow"},
		{[]string{"-token", "secret", "-follow", done, "-cancel", done}, 2, "not both"},
	} {
		code, _, stderr := runCLI(t, append([]string{"jobs", "-server", e.srv.URL}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, want %d mentioning %q:\n%s", tt.args, code, tt.code, tt.want, stderr)
		}
	}
}

// plateau train -server with a dataset file of this machine sends it to
// the server, which trains on it; a folder is refused with what to do.
func TestTrainOnServerWithALocalDataset(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	src := t.TempDir()
	tinyImages(t, src, "mine", 20)
	zipPath := filepath.Join(src, "my data.zip")
	os.WriteFile(zipPath, zipFolder(t, filepath.Join(src, "mine")), 0o644)
	specFile := filepath.Join(src, "spec.json")
	os.WriteFile(specFile, []byte(tinySpec), 0o644)
	for range 2 { // the second time, the server has it already
		code, stdout, stderr := runCLI(t, "train", "-server", e.srv.URL, "-spec", specFile, "-dataset", zipPath, "-epochs", "2", "-json")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if !strings.Contains(stderr, "the server has my-data.zip: 32 training and 8 test images of 8×8×1, 2 classes") {
			t.Errorf("stderr does not say what the server got:\n%s", stderr)
		}
		if r := lastResult(t, stdout); !(r.TestAccuracy >= 0) {
			t.Errorf("result %+v", r)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "my-data.zip")); err != nil {
		t.Errorf("the server's data folder: %v", err)
	}
	code, _, stderr := runCLI(t, "train", "-server", e.srv.URL, "-dataset", filepath.Join(src, "mine"))
	if code != 2 || !strings.Contains(stderr, "zip it") {
		t.Errorf("a folder: exit %d\n%s", code, stderr)
	}
}

// eventKinds reads -json output, one event a line, into the events' kinds.
func eventKinds(t *testing.T, stdout string) []string {
	t.Helper()
	var kinds []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var ev train.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not an event line: %q", l)
		}
		kinds = append(kinds, ev.Event)
	}
	return kinds
}
