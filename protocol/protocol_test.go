package protocol_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

func TestFrameRoundTrip(t *testing.T) {
	t.Run("command with a dropped file", func(t *testing.T) {
		c := protocol.NewCommand("run-1", protocol.CmdLoad)
		c.Dataset = &protocol.DatasetRef{Name: "digits.zip"}
		c.Bytes = []byte{1, 2, 3}
		text, bin, err := protocol.Frame(&c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), "bytes") || !slices.Equal(bin, c.Bytes) {
			t.Errorf("text %s bin %v: want the bytes outside the JSON", text, bin)
		}
		got, err := protocol.UnframeCommand(text, bin)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("got %+v, want %+v", got, c)
		}
	})
	t.Run("message with pixels", func(t *testing.T) {
		m := protocol.NewMessage("run-2", protocol.KindSamples)
		m.Images = &protocol.Images{N: 1, H: 2, W: 2, C: 1, Labels: []int{3}, Pixels: []byte{0, 64, 128, 255}}
		text, bin, err := protocol.Frame(&m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Images.Pixels == nil {
			t.Fatal("Frame changed its argument")
		}
		got, err := protocol.UnframeMessage(text, bin)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("got %+v, want %+v", got, m)
		}
	})
	t.Run("message with weights", func(t *testing.T) {
		m := protocol.NewMessage("run-3", protocol.KindWeights)
		m.Bytes = []byte("safetensors")
		text, bin, _ := protocol.Frame(&m)
		got, err := protocol.UnframeMessage(text, bin)
		if err != nil || string(got.Bytes) != "safetensors" {
			t.Errorf("got %q, %v", got.Bytes, err)
		}
	})
}

func TestVersionAndCommandChecks(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"old version", `{"v":1,"run":"a","cmd":"start"}`, "version 1"},
		{"unknown command", `{"v":2,"run":"a","cmd":"fly"}`, `unknown command "fly"`},
		{"not json", `{"v":2,`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := protocol.UnframeCommand([]byte(tt.text), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := protocol.UnframeMessage([]byte(`{"v":1,"run":"a","kind":"ready"}`), nil); err == nil {
		t.Error("a message of another version was accepted")
	}
}

func TestErrorMessageNamesTheField(t *testing.T) {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.Model.Layers[0].Filters = -3
	err = s.Validate()
	if err == nil {
		t.Fatal("negative filters validated")
	}
	m := protocol.ErrorMessage("r", err)
	if m.Field != "model.layers[0].filters" {
		t.Errorf("field %q, want model.layers[0].filters (error: %s)", m.Field, m.Error)
	}
	plain := protocol.ErrorMessage("r", errors.New("bad file"))
	if plain.Field != "" || plain.Error != "bad file" {
		t.Errorf("got %+v", plain)
	}
}

// An event train writes travels in a message unchanged and reads back
// with its missing measurements as NaN.
func TestEventTravelsInAMessage(t *testing.T) {
	in := train.Event{
		Event: train.EventEpoch, Epoch: 2, Step: 40, TrainLoss: 0.5, TrainAccuracy: 0.8,
		ValLoss: math.NaN(), ValAccuracy: math.NaN(), LR: 1e-3, ImagesPerSecond: 900, Seconds: 1.5,
		GradNorm: 2, PerClassAccuracy: []float64{1, math.NaN()}, Confusion: [][]int{{3, 0}, {1, 0}},
		Layers: []train.LayerStats{{Name: "conv1", Type: "conv2d", GradNorm: 0.1, WeightNorm: 3, DeadFraction: 0.25}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	m := protocol.NewMessage("r", protocol.KindEvent)
	m.Event = b
	text, bin, _ := protocol.Frame(&m)
	back, err := protocol.UnframeMessage(text, bin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.DecodeEvent()
	if err != nil {
		t.Fatal(err)
	}
	if got.Event != "epoch" || got.Epoch != 2 || got.TrainLoss != 0.5 || !math.IsNaN(got.ValLoss) ||
		!math.IsNaN(got.PerClassAccuracy[1]) || got.Confusion[1][0] != 1 || got.Layers[0].DeadFraction != 0.25 {
		t.Errorf("got %+v", got)
	}
	if string(back.Event) != string(b) {
		t.Errorf("event JSON changed on the way: %s, want %s", back.Event, b)
	}
}

func TestProgressFraction(t *testing.T) {
	p := protocol.Progress{Epochs: 2, StepsPerEpoch: 10, Step: 5}
	if got := p.Fraction(); got != 0.25 {
		t.Errorf("got %g, want 0.25", got)
	}
	// A time limit further along than the steps.
	p.TimeShare = 0.6
	if got := p.Fraction(); got != 0.6 {
		t.Errorf("with 60%% of the time limit used: got %g, want 0.6", got)
	}
	p.TimeShare = 0.1
	if got := p.Fraction(); got != 0.25 {
		t.Errorf("with 10%% of the time limit used: got %g, want the steps' 0.25", got)
	}
	// UseTime: the limit's share, and its ETA when that is shorter.
	p = protocol.Progress{ETA: 100}
	p.UseTime(0, 50)
	if p.TimeShare != 0 || p.ETA != 100 {
		t.Errorf("without a limit: %+v", p)
	}
	p.UseTime(80, 20)
	if p.TimeShare != 0.25 || p.ETA != 60 {
		t.Errorf("20 s of a limit of 80 with 100 s of steps left: share %g, ETA %g; want 0.25, 60", p.TimeShare, p.ETA)
	}
	p.UseTime(80, 90)
	if p.TimeShare != 1 || p.ETA != 0 {
		t.Errorf("past the limit: share %g, ETA %g; want 1, 0", p.TimeShare, p.ETA)
	}
}

func TestEvaluationTravelsWithMissingNumbers(t *testing.T) {
	m := protocol.NewMessage("run-4", protocol.KindEvaluation)
	m.Evaluation = &protocol.Evaluation{Step: 120,
		Val: &protocol.Score{Images: 3, Loss: 0.25, Accuracy: 2.0 / 3,
			PerClassAccuracy: []protocol.Number{1, protocol.Number(math.NaN())}, Confusion: [][]int{{2, 0}, {1, 0}}},
		Test: &protocol.Score{Images: 2, Loss: protocol.Number(math.Inf(1)), Accuracy: 0,
			PerClassAccuracy: []protocol.Number{0, 0}, Confusion: [][]int{{0, 1}, {1, 0}}},
	}
	text, bin, err := protocol.Frame(&m)
	if err != nil {
		t.Fatalf("framing an evaluation with NaN and Inf: %v", err)
	}
	if !strings.Contains(string(text), `"per_class_accuracy":[1,null]`) || !strings.Contains(string(text), `"loss":null`) {
		t.Errorf("missing numbers are not null: %s", text)
	}
	got, err := protocol.UnframeMessage(text, bin)
	if err != nil {
		t.Fatal(err)
	}
	e := got.Evaluation
	if e.Step != 120 || e.Val.Accuracy != 2.0/3 || e.Val.Confusion[1][0] != 1 || !math.IsNaN(float64(e.Val.PerClassAccuracy[1])) ||
		!math.IsNaN(float64(e.Test.Loss)) || e.Test.Images != 2 {
		t.Errorf("got %+v %+v", e.Val, e.Test)
	}
	var n protocol.Number
	if err := json.Unmarshal([]byte(`"0.5"`), &n); err == nil {
		t.Error("a string read as a number")
	}
}

// The package documentation is the wire spec: it names every command and
// every message kind.
func TestDocumentationNamesEveryCommandAndKind(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "//\t"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				listed[f[0]] = true
			}
		}
	}
	for _, name := range append(slices.Clone(protocol.Commands), protocol.Kinds...) {
		if !listed[name] {
			t.Errorf("doc.go does not describe %q", name)
		}
	}
}

// A part's weights, inputs and labels survive the bytes they travel as,
// and a short payload is refused with what is missing.
func TestPartPayload(t *testing.T) {
	values := []float32{1.5, -2, float32(math.Inf(1)), 3e-38}
	labels := []int32{0, 9, -1}
	b := make([]byte, 4*(len(values)+len(labels)))
	rest := protocol.PutInts(protocol.PutFloats(b, values), labels)
	if len(rest) != 0 {
		t.Fatalf("%d bytes left over", len(rest))
	}
	c := protocol.NewCommand("r1", protocol.CmdPart)
	c.Part = &protocol.Part{Rows: 3, DropoutKey: 1<<31 + 5, FirstRow: 4, Values: len(values)}
	c.Bytes = b
	text, bin, err := protocol.Frame(&c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocol.UnframeCommand(text, bin)
	if err != nil {
		t.Fatal(err)
	}
	if got.Part == nil || got.Part.DropoutKey != 1<<31+5 || got.Part.FirstRow != 4 || got.Part.Rows != 3 {
		t.Fatalf("part %+v after framing", got.Part)
	}
	v := make([]float32, len(values))
	y := make([]int32, len(labels))
	rest, err = protocol.Floats(v, got.Bytes)
	if err == nil {
		rest, err = protocol.Ints(y, rest)
	}
	if err != nil || len(rest) != 0 || !slices.Equal(v, values) || !slices.Equal(y, labels) {
		t.Fatalf("read back %v %v (%d left, %v), want %v %v", v, y, len(rest), err, values, labels)
	}
	if _, err := protocol.Floats(make([]float32, 5), b[:8]); err == nil || !strings.Contains(err.Error(), "2 of 5") {
		t.Errorf("5 floats from 8 bytes: %v", err)
	}
	if _, err := protocol.Ints(make([]int32, 3), b[:4]); err == nil || !strings.Contains(err.Error(), "1 of 3") {
		t.Errorf("3 labels from 4 bytes: %v", err)
	}
}

func TestUploadName(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{"flowers.zip", "flowers.zip"},
		{"My Photos (2024).tar.gz", "My-Photos--2024-.tar.gz"},
		{"../../etc/passwd.zip", "etc-passwd.zip"},
		{".hidden.tgz", "hidden.tgz"},
		{"fleurs-été.zip", "fleurs--t-.zip"},
		{strings.Repeat("a", 150) + ".zip", strings.Repeat("a", 96) + ".zip"},
	} {
		if got := protocol.UploadName(tt.file); got != tt.want {
			t.Errorf("UploadName(%q) = %q, want %q", tt.file, got, tt.want)
		}
	}
}
