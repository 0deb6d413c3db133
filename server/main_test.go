package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"plateau/nn"
	"plateau/server/gomlx"
	"plateau/spec"
	"plateau/train"
)

// tinyCIFAR is a CIFAR-10 folder in the official layout with a handful of
// images, shipped with the data package's tests.
const tinyCIFAR = "../data/testdata/cifar"

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTrainJSONContract(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR,
		"-epochs", "2", "-seed", "3", "-set", "train.batch_size=2", "-json", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	var epochs []map[string]any
	for _, e := range events {
		if e["event"] == "epoch" {
			epochs = append(epochs, e)
		}
		if e["event"] == "step" {
			t.Errorf("step events belong on the progress bar, not stdout: %v", e)
		}
	}
	if len(epochs) != 2 {
		t.Fatalf("got %d epoch events, want 2", len(epochs))
	}
	for i, e := range epochs {
		if got := e["epoch"]; got != float64(i+1) {
			t.Errorf("epoch event %d has epoch %v", i, got)
		}
		for _, k := range []string{"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_second", "seconds"} {
			if _, ok := e[k]; !ok {
				t.Errorf("epoch event lacks %q: %v", k, e)
			}
		}
	}
	last := events[len(events)-1]
	if last["event"] != "result" {
		t.Fatalf("last line is %v, want the result event", last["event"])
	}
	for _, k := range []string{"test_accuracy", "test_loss", "epochs", "seconds", "images_per_second", "stopped"} {
		if _, ok := last[k]; !ok {
			t.Errorf("result event lacks %q: %v", k, last)
		}
	}
	if last["stopped"] != "completed" || last["epochs"] != float64(2) {
		t.Errorf("result: stopped %v after %v epochs, want completed after 2", last["stopped"], last["epochs"])
	}

	// The run folder holds what is needed to reproduce and reuse the run.
	b, err := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(b)
	if err != nil {
		t.Fatalf("spec.json does not parse back: %v", err)
	}
	if s.Train.Epochs != 2 || s.Train.Seed != 3 || s.Train.BatchSize != 2 {
		t.Errorf("spec.json lost the flags: epochs %d seed %d batch %d", s.Train.Epochs, s.Train.Seed, s.Train.BatchSize)
	}
	f, err := os.Open(filepath.Join(dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	net, err := nn.Open(f, 1)
	if err != nil {
		t.Fatalf("weights do not load: %v", err)
	}
	if got, _ := net.ParamCount(); got != 22466 {
		t.Errorf("loaded network has %d parameters, want 22466", got)
	}
	log, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte(`"event":"result"`)) {
		t.Error("events.jsonl lacks the result event")
	}
}

func TestTrainErrors(t *testing.T) {
	specFile := filepath.Join(t.TempDir(), "mnist.json")
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := spec.Marshal(s)
	os.WriteFile(specFile, b, 0o644)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stderr
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"fly"}, 2, `unknown command "fly"`},
		{"preset and spec", []string{"train", "-preset", "mnist-cnn", "-spec", specFile, "-dataset", tinyCIFAR}, 2, "not both"},
		{"bad set syntax", []string{"train", "-dataset", tinyCIFAR, "-set", "train.lr"}, 2, "section.field=value"},
		{"unknown field", []string{"train", "-dataset", tinyCIFAR, "-set", "train.learning_rate=0.1"}, 1, "learning_rate"},
		{"invalid value", []string{"train", "-dataset", tinyCIFAR, "-set", "data.normalization=zscore"}, 1, "normalization"},
		{"unknown preset", []string{"train", "-preset", "alexnet", "-dataset", tinyCIFAR}, 1, "alexnet"},
		{"dataset path missing", []string{"train", "-dataset", "./no/such/folder"}, 1, "no/such/folder"},
		{"spec does not fit data", []string{"train", "-spec", specFile, "-dataset", tinyCIFAR}, 1, "model.input"},
		{"unknown backend", []string{"train", "-dataset", tinyCIFAR, "-backend", "tpu"}, 2, "want auto, native or xla"},
		{"xla in a build without it", []string{"train", "-dataset", tinyCIFAR, "-backend", "xla"}, 1, "-tags xla"},
		{"unknown fault", []string{"train", "-dataset", tinyCIFAR, "-fault", "gremlins"}, 2, `-fault "gremlins": want one of raw-pixels, rate-too-high`},
		{"fault already there", []string{"train", "-dataset", tinyCIFAR, "-set", "data.normalization=raw", "-fault", "raw-pixels"}, 1, "already feeds raw pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not mention %q:\n%s", tt.want, stderr)
			}
		})
	}
}

// -backend auto trains with XLA when a PJRT plugin loads, and says why it
// settles for the native engine when none does.
func TestTrainBackendAuto(t *testing.T) {
	if gomlx.XLACompiled {
		t.Skip("this test binary has XLA: auto may find a plugin")
	}
	code, _, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1", "-backend", "auto")
	if code != 0 || !strings.Contains(stderr, "backend auto: native: this binary was built without XLA") {
		t.Errorf("exit %d; stderr:\n%s", code, stderr)
	}
}

// A run on data changed on purpose says so before it trains.
func TestTrainSaysWhatTheDataSpecPlants(t *testing.T) {
	code, _, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1",
		"-set", "data.label_noise=0.2", "-set", "data.imbalance=0.5", "-set", "data.train_fraction=0.5")
	if code != 0 || !strings.Contains(stderr, "data.label_noise 0.2: 20% of the training and validation labels are made wrong") ||
		!strings.Contains(stderr, "data.imbalance 0.5: the first class keeps all its training images, the last 50%") ||
		!strings.Contains(stderr, "data.train_fraction 0.5: trains on 50% of each class's training images") {
		t.Errorf("exit %d; stderr:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1"); code != 0 || strings.Contains(stderr, "made wrong") || strings.Contains(stderr, "keeps all its") {
		t.Errorf("a run on the data as it is: exit %d; stderr:\n%s", code, stderr)
	}
}

// -fault plants a mistake after -set, says what it changed, and the
// doctor names it.
func TestTrainPlantsAFault(t *testing.T) {
	code, stdout, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "2", "-set", "train.lr=0.002", "-fault", "rate-too-high", "-json")
	if code != 0 && !strings.Contains(stderr, "diverged") || !strings.Contains(stderr, "planted on purpose, A learning rate 1,000 times too high: train.lr=2; the doctor should name lr_too_high") {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	result := lastJSONLine(t, stdout)
	if list, ok := result["diagnoses"].([]any); !ok || len(list) == 0 || list[0].(map[string]any)["cause"] != "lr_too_high" {
		t.Errorf("the result's findings: %v", result["diagnoses"])
	}
}

// What the doctor sees before any training (raw pixels) is printed before
// the first epoch's line, not only with the findings at the end.
func TestTrainSaysTheFindingsBeforeTheFirstEpoch(t *testing.T) {
	code, _, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1", "-set", "data.normalization=raw")
	before, _, ok := strings.Cut(stderr, "epoch 1/1")
	if code != 0 || !ok || !strings.Contains(before, "doctor, before the first epoch: unnormalized_input (confidence") {
		t.Errorf("exit %d; stderr:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1"); code != 0 || strings.Contains(stderr, "before the first epoch") {
		t.Errorf("a run with scaled inputs: exit %d; stderr:\n%s", code, stderr)
	}
}

func TestTrainResume(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-seed", "5", "-set", "train.batch_size=2", "-json"}
	if code, _, stderr := runCLI(t, append(args, "-epochs", "1", "-out", dir)...); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "train", "-resume", dir, "-dataset", tinyCIFAR, "-epochs", "2", "-json")
	if code != 0 {
		t.Fatalf("resumed run: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stdout, `"event":"epoch","epoch":1,`) || !strings.Contains(stdout, `"event":"epoch","epoch":2,`) {
		t.Errorf("resumed run should train epoch 2 only:\n%s", stdout)
	}
	if !strings.Contains(stdout, `"stopped":"completed"`) {
		t.Errorf("resumed run did not complete:\n%s", stdout)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if n := strings.Count(string(log), `"event":"epoch"`); n != 2 {
		t.Errorf("events.jsonl holds %d epoch events after resuming, want 2", n)
	}
	if code, _, stderr := runCLI(t, "train", "-resume", dir, "-preset", "mnist-cnn"); code != 2 || !strings.Contains(stderr, "drop -preset") {
		t.Errorf("-resume with -preset: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "train", "-resume", dir, "-set", "train.lr=1"); code != 2 || !strings.Contains(stderr, "drop -preset, -spec, -set") {
		t.Errorf("-resume with -set train.lr: exit %d, stderr %q", code, stderr)
	}
}

// A run its time limit ended goes on with -resume and a longer limit (or
// none), as one that ran out of epochs goes on with more.
func TestTrainResumeWithMoreTime(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-set", "train.batch_size=1",
		"-epochs", "50", "-set", "train.time_limit_seconds=0.001", "-json", "-out", dir)
	if code != 0 || !strings.Contains(stdout, `"stopped":"time_limit"`) {
		t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Resumed as it was, it has no time left: refused, with what to give.
	if code, _, stderr := runCLI(t, "train", "-resume", dir); code != 2 || !strings.Contains(stderr, "train.time_limit_seconds: the run has used its time limit of 0.001 s") ||
		!strings.Contains(stderr, "-set train.time_limit_seconds=N") {
		t.Errorf("resumed without more time: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "train", "-resume", dir, "-epochs", "2", "-set", "train.time_limit_seconds=0", "-json")
	if code != 0 || !strings.Contains(stdout, `"stopped":"completed"`) || !strings.Contains(stdout, `"event":"epoch","epoch":2,`) {
		t.Errorf("resumed without a limit: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Its epochs done, it is refused too, unless given more.
	if code, _, stderr := runCLI(t, "train", "-resume", dir); code != 2 || !strings.Contains(stderr, "train.epochs: the run has trained all its 2 epochs: give it more, 4 for instance (-epochs N)") {
		t.Errorf("resumed after its last epoch: exit %d: %s", code, stderr)
	}
}

// -weights starts a run from saved weights: with the model saved in the
// file when no -spec or -preset is given. At lr 1e-30 the run ends where the
// weights began (an update of 1e-30 moves no float32 weight), on the same
// test images to the last digit.
func TestTrainFromWeights(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1", "-seed", "4",
		"-set", "train.batch_size=4", "-out", dir, "-json")
	if code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	first := lastResult(t, stdout)
	weights := filepath.Join(dir, "weights.safetensors")

	code, stdout, stderr = runCLI(t, "train", "-weights", weights, "-dataset", tinyCIFAR, "-epochs", "1", "-seed", "4",
		"-set", "train.batch_size=4", "-set", "train.lr=1e-30", "-json")
	if code != 0 {
		t.Fatalf("from the weights: exit %d\n%s", code, stderr)
	}
	if again := lastResult(t, stdout); again.TestLoss != first.TestLoss || again.TestAccuracy != first.TestAccuracy {
		t.Errorf("at lr 1e-30 from the first run's weights: test loss %v accuracy %v; the first run ended with %v %v",
			again.TestLoss, again.TestAccuracy, first.TestLoss, first.TestAccuracy)
	}

	if code, _, stderr := runCLI(t, "train", "-weights", weights, "-preset", "mnist-cnn", "-dataset", tinyCIFAR); code != 1 || !strings.Contains(stderr, "do not fit the model") {
		t.Errorf("weights of another model: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "train", "-weights", weights, "-resume", dir, "-dataset", tinyCIFAR); code != 2 || !strings.Contains(stderr, "give one of them") {
		t.Errorf("-weights with -resume: exit %d: %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("not weights"), 0o644)
	if code, _, stderr := runCLI(t, "train", "-weights", bad, "-dataset", tinyCIFAR); code != 1 || !strings.Contains(stderr, "not a safetensors file") {
		t.Errorf("a file that is not weights: exit %d: %s", code, stderr)
	}
}

// lastResult decodes the result line of plateau train -json.
func lastResult(t *testing.T, stdout string) train.Event {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var e train.Event
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil || e.Event != train.EventResult {
		t.Fatalf("no result line (%v):\n%s", err, stdout)
	}
	return e
}

// plateau train refuses a run that would not fit the machine's memory,
// with the batch size that would, before the Go runtime ends the process.
func TestTrainRefusesARunOverTheMemory(t *testing.T) {
	code, _, stderr := runCLI(t, "train", "-preset", "mobilenet-small", "-dataset", tinyCIFAR, "-set", "train.batch_size=60000", "-epochs", "1")
	if code != 1 || !strings.Contains(stderr, "set train.batch_size to ") || !strings.Contains(stderr, "this machine") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// Every command takes only flags: a word after them is refused with exit
// status 2 and names the word, before anything runs.
func TestCommandsRefuseArguments(t *testing.T) {
	for _, args := range [][]string{
		{"train", "-dataset", "mnist", "stray"},
		{"lr-find", "stray"},
		{"experiment", "normalization", "stray"},
		{"bench", "stray"},
		{"serve", "stray"},
		{"jobs", "stray"},
	} {
		var out, errOut strings.Builder
		if code := run(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unexpected argument "stray"`) {
			t.Errorf("plateau %s: exit %d, %q; want 2 and the stray argument named", strings.Join(args, " "), code, errOut.String())
		}
	}
}

// Numbers that make no sense are refused before anything loads, with what
// to give instead: an explicit -epochs 0 does not silently mean the spec's.
func TestTrainRefusesNonsenseNumbers(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "-dataset", "mnist", "-epochs", "0"}, "-epochs must be at least 1"},
		{[]string{"train", "-dataset", "mnist", "-epochs", "-3"}, "-epochs must be at least 1"},
		{[]string{"train", "-dataset", "mnist", "-train-limit", "-5"}, "-train-limit and -test-limit"},
		{[]string{"train", "-dataset", "mnist", "-test-limit", "-1"}, "-train-limit and -test-limit"},
		{[]string{"train", "-dataset", "mnist", "-workers", "0"}, "-workers must be at least 1"},
		{[]string{"experiment", "normalization", "-dataset", "mnist", "-epochs", "0"}, "-epochs must be at least 1"},
		{[]string{"lr-find", "-dataset", "mnist", "-train-limit", "-1"}, "-train-limit and -test-limit"},
		{[]string{"lr-find", "-dataset", "mnist", "-steps", "1"}, "-steps 1: the sweep needs 20 steps or more"},
		{[]string{"lr-find", "-dataset", "mnist", "-min", "1", "-max", "0.1"}, "want 0 < min < max"},
		{[]string{"lr-find", "-dataset", "mnist", "-min", "0"}, "want 0 < min < max"},
	} {
		var out, errOut strings.Builder
		if code := run(tc.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("plateau %s: exit %d, %q; want 2 and %q", strings.Join(tc.args, " "), code, errOut.String(), tc.want)
		}
	}
}

// -width and -depth size a scalable preset, built for the dataset's shape
// as the page builds it, with the -set pairs that edit its model applied
// to it; numbers it cannot take are refused with what to give.
func TestPresetWidthAndDepthFlags(t *testing.T) {
	for _, tc := range []struct {
		dataset string
		input   []int
		classes int
	}{{tinyCIFAR, []int{32, 32, 3}, 10}, {"../data/testdata/idx", []int{6, 5, 1}, 3}} {
		dir := t.TempDir()
		code, _, stderr := runCLI(t, "train", "-preset", "resnet-bottleneck", "-width", "4", "-depth", "2", "-dataset", tc.dataset,
			"-epochs", "1", "-train-limit", "20", "-test-limit", "10", "-set", "model.layers[0].kernel=5", "-set", "train.batch_size=4", "-set", "data.augment.crop.strength=1", "-out", dir)
		if code != 0 {
			t.Fatalf("%s: exit %d; stderr:\n%s", tc.dataset, code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "spec.json"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := spec.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		want, err := spec.Preset("resnet-bottleneck", spec.PresetOptions{Width: 4, Depth: 2, Input: tc.input, Classes: tc.classes})
		if err != nil {
			t.Fatal(err)
		}
		want.Model.Layers[0].Kernel = 5
		gb, _ := json.Marshal(got.Model.Layers)
		wb, _ := json.Marshal(want.Model.Layers)
		if string(gb) != string(wb) {
			t.Errorf("%s: the run's layers are\n%s\nwant\n%s", tc.dataset, gb, wb)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "-preset", "vgg-small", "-dataset", tinyCIFAR, "-width", "0"}, 2, "-width and -depth must be at least 1"},
		{[]string{"lr-find", "-preset", "vgg-small", "-dataset", tinyCIFAR, "-depth", "-2"}, 2, "-width and -depth must be at least 1"},
		{[]string{"train", "-spec", "testdata/small-cnn.json", "-dataset", tinyCIFAR, "-width", "8"}, 2, "a -spec file gives its own layers"},
		{[]string{"train", "-preset", "mnist-cnn", "-dataset", tinyCIFAR, "-width", "8"}, 1, "fixed width and depth"},
		{[]string{"train", "-preset", "vgg-small", "-dataset", "../data/testdata/idx", "-depth", "4"}, 1, "this input allows 2 halvings"},
		{[]string{"experiment", "architecture", "-preset", "vgg-small", "-dataset", tinyCIFAR, "-width", "2000"}, 1, "width 2000 must be between 1 and 1024"},
	} {
		var out, errOut strings.Builder
		if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("plateau %s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, errOut.String(), tc.code, tc.want)
		}
	}
}

// plateau presets lists every preset with its size, says which take
// -width and -depth, and what each is.
func TestPresetsCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "presets")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range spec.PresetNames() {
		s, _ := spec.Preset(name)
		n, _ := s.Model.ParamCount()
		line := fmt.Sprintf("%s parameters", spec.Thousands(n))
		i := strings.Index(stdout, name+" ")
		if i < 0 || !strings.Contains(stdout[i:], line) {
			t.Errorf("plateau presets does not list %s with %s:\n%s", name, line, stdout)
			continue
		}
		first := stdout[i : i+strings.IndexByte(stdout[i:], '\n')]
		if scalable := slices.Contains(spec.ScalablePresets(), name); scalable != strings.Contains(first, "-width") {
			t.Errorf("%s: %q (scalable %v)", name, first, scalable)
		}
	}
	if !strings.Contains(stdout, "bottleneck blocks, as in ResNet-50") {
		t.Errorf("plateau presets does not describe them:\n%s", stdout)
	}
}

// plateau diff says what one spec changes from another: run folders,
// spec files and presets, the flag before or after them.
func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "train", "-preset", "convnetjs-cifar", "-dataset", tinyCIFAR, "-epochs", "1",
		"-set", "train.batch_size=2", "-set", "train.lr=0.01", "-out", dir)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "diff", "convnetjs-cifar", dir)
	if code != 0 || stdout != "data.dataset=../data/testdata/cifar\ntrain.batch_size=2\ntrain.epochs=1\ntrain.lr=0.01\n" {
		t.Errorf("diff preset run: exit %d, %q %s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "diff", "-json", filepath.Join(dir, "spec.json"), dir)
	if code != 0 || stdout != "[]\n" {
		t.Errorf("diff -json of a run with its own spec: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, "diff", "mnist-cnn", "mnist-cnn", "-json")
	if code != 0 || stdout != "[]\n" {
		t.Errorf("diff A A -json: exit %d, %q", code, stdout)
	}
	if code, _, stderr := runCLI(t, "diff", "mnist-cnn"); code != 2 || !strings.Contains(stderr, "want two specs") {
		t.Errorf("diff with one spec: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "diff", "mnist-cnn", "alexnet"); code != 1 || !strings.Contains(stderr, "alexnet is neither") {
		t.Errorf("diff with an unknown name: exit %d, %q", code, stderr)
	}
}

// A spec file that leaves out the model's input and classes takes the
// dataset's, its last dense layer without units included.
func TestTrainSpecWithoutInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "net.json")
	os.WriteFile(file, []byte(`{"model": {"layers": [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "relu"}, {"type": "dense"}]},
		"train": {"batch_size": 8}}`), 0o644)
	out := filepath.Join(dir, "run")
	code, _, stderr := runCLI(t, "train", "-spec", file, "-dataset", tinyCIFAR, "-epochs", "1", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Model; !slices.Equal(m.Input, []int{32, 32, 3}) || m.Classes != 10 || m.Layers[len(m.Layers)-1].Units != 10 {
		t.Errorf("the run's model: input %v, %d classes, last layer %+v; want the CIFAR-10 sample's 32×32×3 and 10", m.Input, m.Classes, m.Layers[len(m.Layers)-1])
	}
}
