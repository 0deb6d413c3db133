package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"plateau/spec"
	"plateau/train"
)

// lastJSONLine decodes the last line of a command's stdout.
func lastJSONLine(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", sc.Text(), err)
		}
	}
	return last
}

func TestTrainResultCarriesDiagnosesAndDiagnoseRereadsThem(t *testing.T) {
	dir := t.TempDir()
	// Raw pixels and a large rate on a tiny dataset: the doctor has
	// something to say.
	code, stdout, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "2", "-seed", "3",
		"-set", "train.batch_size=2", "-set", "data.normalization=raw", "-json", "-out", dir)
	if code != 0 && !strings.Contains(stderr, "diverged") {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	result := lastJSONLine(t, stdout)
	if result["event"] != "result" {
		t.Fatalf("last line %v, want the result", result)
	}
	list, ok := result["diagnoses"].([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("result diagnoses = %v, want findings", result["diagnoses"])
	}
	first := list[0].(map[string]any)
	if first["cause"] != "unnormalized_input" {
		t.Errorf("top finding %v, want unnormalized_input", first)
	}
	if !strings.Contains(stderr, "doctor: unnormalized_input") {
		t.Errorf("stderr lacks the doctor's findings:\n%s", stderr)
	}

	code, out, errOut := runCLI(t, "diagnose", "-run", dir, "-json")
	if code != 0 {
		t.Fatalf("diagnose exit %d: %s", code, errOut)
	}
	var again []map[string]any
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatalf("diagnose -json: %v in %q", err, out)
	}
	if len(again) != len(list) || again[0]["cause"] != first["cause"] || again[0]["confidence"] != first["confidence"] {
		t.Errorf("diagnose found %v, the run found %v", again, list)
	}
	code, out, _ = runCLI(t, "diagnose", "-run", dir)
	if code != 0 || !strings.Contains(out, "doctor: unnormalized_input") || !strings.Contains(out, "advice: set data.normalization") || !strings.HasPrefix(out, dir+": 2 epochs, stopped ") {
		t.Errorf("diagnose text (exit %d):\n%s", code, out)
	}
}

func TestDiagnoseErrors(t *testing.T) {
	if code, _, _ := runCLI(t, "diagnose"); code != 2 {
		t.Errorf("diagnose without -run: exit %d, want 2", code)
	}
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "diagnose", "-run", dir); code != 1 || !strings.Contains(stderr, "spec.json") {
		t.Errorf("diagnose of an empty folder: exit %d, %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "spec.json"), []byte(`{"model":{"input":[8,8,1],"classes":2,"layers":[{"type":"flatten"},{"type":"dense"}]},"train":{"optimizer":"sgd","lr":0.1,"batch_size":4,"epochs":1},"data":{"normalization":"scale01"}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte("{\"event\":\"start\"}\nnot json\n"), 0o644)
	if code, _, stderr := runCLI(t, "diagnose", "-run", dir); code != 1 || !strings.Contains(stderr, "line 2") {
		t.Errorf("diagnose of a broken log: exit %d, %s", code, stderr)
	}
	// A log whose last line was cut mid-write (a run still writing, or
	// killed): the lines before it are diagnosed, and the cut is said.
	start := `{"event":"start","params":10,"train_size":40,"val_size":8}`
	epoch := `{"event":"epoch","epoch":%d,"train_loss":0.5,"train_accuracy":0.8,"val_loss":0.6,"val_accuracy":0.7}`
	os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(start+"\n"+fmt.Sprintf(epoch, 1)+"\n"+fmt.Sprintf(epoch, 2)[:40]), 0o644)
	code, out, stderr := runCLI(t, "diagnose", "-run", dir)
	if code != 0 || !strings.Contains(out, ": 1 epoch\n") || !strings.Contains(stderr, "incomplete") {
		t.Errorf("diagnose of a log cut short: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// Cut short in the middle is damage, not a run being written.
	os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(start+"\n"+fmt.Sprintf(epoch, 1)[:40]+"\n"+fmt.Sprintf(epoch, 2)+"\n"), 0o644)
	if code, _, stderr := runCLI(t, "diagnose", "-run", dir); code != 1 || !strings.Contains(stderr, "line 2") {
		t.Errorf("diagnose of a log with a line cut short before others: exit %d, %s", code, stderr)
	}
}

func TestLRFindCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "lr-find", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-steps", "30", "-min", "1e-5", "-max", "1",
		"-set", "train.batch_size=4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "suggested: -set train.lr=") || !strings.Contains(stdout, "*") {
		t.Errorf("text output:\n%s", stdout)
	}
	// With one-cycle the suggestion is the peak: the start goes with it.
	code, stdout, stderr = runCLI(t, "lr-find", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-steps", "30", "-min", "1e-5", "-max", "1",
		"-set", "train.batch_size=4", "-set", `train.schedule={"type":"one_cycle","max_lr":0.05}`)
	if code != 0 || !regexp.MustCompile(`suggested: -set train.lr=\S+ -set train.schedule.max_lr=\S+\n`).MatchString(stdout) {
		t.Errorf("one-cycle: exit %d, %s\n%s", code, stderr, stdout)
	}
	code, stdout, stderr = runCLI(t, "lr-find", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-steps", "30", "-json", "-set", "train.batch_size=4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Points    []map[string]float64 `json:"points"`
		Suggested float64              `json:"suggested"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Points) < 3 || !(res.Suggested > 0) {
		t.Errorf("json output %q: %v", stdout, err)
	}
}

func TestExperimentCommand(t *testing.T) {
	code, stdout, _ := runCLI(t, "experiment", "list")
	if code != 0 || !strings.Contains(stdout, "normalization") || !strings.Contains(stdout, "batch 512") {
		t.Errorf("experiment list (exit %d):\n%s", code, stdout)
	}
	if code, _, _ := runCLI(t, "experiment", "nonsense"); code != 2 {
		t.Errorf("unknown experiment: exit %d, want 2", code)
	}
	if code, _, stderr := runCLI(t, "experiment", "normalization", "-dataset", tinyCIFAR, "-backend", "tpu"); code != 2 || !strings.Contains(stderr, "want auto, native or xla") {
		t.Errorf("unknown backend: exit %d, want 2: %s", code, stderr)
	}
	for _, name := range []string{"normalization", "depth", "regularization", "architecture"} {
		code, stdout, stderr := runCLI(t, "experiment", name, "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1",
			"-set", "train.batch_size=4", "-json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		exp, _ := spec.FindExperiment(name)
		want := len(exp.Variants)
		if len(lines) != want {
			t.Errorf("%s: %d rows, want %d:\n%s", name, len(lines), want, stdout)
		}
	}
	// The data experiment's table ends with its reading of the arms.
	code, stdout, stderr := runCLI(t, "experiment", "data", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1", "-set", "train.batch_size=4")
	if code != 0 || !strings.Contains(stdout, "a quarter") || !strings.Contains(stdout, "test images tell apart about ±") {
		t.Errorf("data: exit %d:\n%s%s", code, stdout, stderr)
	}
}

// plateau train ends with the findings it made and dropped.
func TestEarlierLine(t *testing.T) {
	d := func(cause string) []train.Diagnosis { return []train.Diagnosis{{Cause: cause, Confidence: 0.5}} }
	start := d("augmentation_too_strong")
	epochs := []train.Event{{Diagnoses: d("augmentation_too_strong")}, {}, {Diagnoses: d("label_noise")}, {Diagnoses: d("label_noise")}, {Diagnoses: d("class_confusion")}}
	want := "doctor, earlier in the run and not now: augmentation_too_strong (before the first epoch and epoch 1); label_noise (epochs 3–4)"
	if got := earlierLine(start, epochs, d("class_confusion")); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := earlierLine(nil, epochs[4:], d("class_confusion")); got != "" {
		t.Errorf("nothing dropped: %q", got)
	}
}

// A rate that throws the network to a constant guess is named at the
// validation checks before the first epoch's end, and said on the terminal
// when it is first made: a long first epoch need not be waited out.
func TestTrainSaysFindingsBeforeTheFirstEpochEnds(t *testing.T) {
	dir := t.TempDir()
	// An epoch long enough for several checks however long one takes: a
	// check that took d waits 20·d of training for the next
	// (train.DefaultValCheckShare), and one slowed by a busy machine once
	// left a shorter epoch (1,000 images a class, 0.1 s) with one check.
	tinyImages(t, dir, "tiny", 4000)
	specFile := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specFile, []byte(tinySpec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "train", "-spec", specFile, "-dataset", filepath.Join(dir, "tiny"), "-epochs", "1", "-json",
		"-set", "train.lr=0.1", "-set", "data.label_noise=0.5", "-set", "train.batch_size=1", "-set", "data.validation=0.02", "-set", "train.val_check_seconds=1e-9", "-set", "train.log_every=50")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	// The terminal says it once, when first made.
	if n := strings.Count(stderr, "before the first epoch's end: lr_too_high"); n != 1 {
		t.Errorf("lr_too_high said %d times before the first epoch's end:\n%s", n, stderr)
	}
	// The events carry the reading at every check before the first
	// epoch's end, and the epoch's findings after it.
	var checks, found int
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e train.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.Event != train.EventValCheck {
			continue
		}
		checks++
		if e.Diagnoses == nil {
			t.Errorf("a check without the doctor's reading: %s", l)
		}
		if slices.ContainsFunc(e.Diagnoses, func(d train.Diagnosis) bool { return d.Cause == "lr_too_high" }) {
			found++
		}
	}
	if checks < 3 || found == 0 {
		t.Errorf("%d checks, %d with lr_too_high:\n%s", checks, found, stdout)
	}
}

// The experiment table shows short arms' times in tenths of a second,
// longer ones in whole seconds.
func TestExperimentTableSeconds(t *testing.T) {
	exp, _ := spec.FindExperiment("normalization")
	var b strings.Builder
	printExperiment(&b, exp, []experimentRow{
		{Variant: "raw", Epochs: 1, Stopped: train.StoppedCompleted, Seconds: 0.24},
		{Variant: "scale01", Epochs: 1, Stopped: train.StoppedCompleted, Seconds: 73.6},
	})
	lines := strings.Split(b.String(), "\n")
	if len(lines) < 4 || !strings.Contains(lines[2], "     0.2  healthy") || !strings.Contains(lines[3], "      74  healthy") {
		t.Errorf("table:\n%s", b.String())
	}
}
