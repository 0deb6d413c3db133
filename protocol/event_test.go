package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestEventJSON(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{
			"step",
			Event{Event: EventStep, Epoch: 2, Step: 130, Loss: 0.25, Accuracy: 0.875, LR: 0.001, TrainLoss: 9},
			`{"event":"step","epoch":2,"step":130,"loss":0.25,"accuracy":0.875,"lr":0.001}`,
		},
		{
			"epoch with zero accuracy and no validation",
			Event{Event: EventEpoch, Epoch: 1, Step: 10, TrainLoss: 2.5, TrainAccuracy: 0, ValLoss: nan, ValAccuracy: nan, LR: 0.1, ImagesPerSecond: 1000, Seconds: 1.5, GradNorm: 3},
			`{"event":"epoch","epoch":1,"step":10,"train_loss":2.5,"train_accuracy":0,"val_loss":null,"val_accuracy":null,"lr":0.1,"images_per_second":1000,"seconds":1.5,"grad_norm":3}`,
		},
		{
			"epoch with details",
			Event{
				Event: EventEpoch, Epoch: 3, Step: 30, TrainLoss: 0.5, TrainAccuracy: 0.75, ValLoss: 0.625, ValAccuracy: 0.5, LR: 1e-7,
				Improved: true, PerClassAccuracy: []float64{1, 0, nan}, Confusion: [][]int{{1, 0, 0}, {1, 0, 0}, {0, 0, 0}},
				Layers: []LayerStats{{Name: "conv1", Type: "conv2d", GradNorm: 0.5, WeightNorm: 2, ActMean: 0.25, ActStd: 1}},
			},
			`{"event":"epoch","epoch":3,"step":30,"train_loss":0.5,"train_accuracy":0.75,"val_loss":0.625,"val_accuracy":0.5,"lr":1e-7,` +
				`"images_per_second":0,"seconds":0,"grad_norm":0,"improved":true,"per_class_accuracy":[1,0,null],"confusion":[[1,0,0],[1,0,0],[0,0,0]],` +
				`"layers":[{"name":"conv1","type":"conv2d","grad_norm":0.5,"weight_norm":2,"dead_fraction":0,"act_mean":0.25,"act_std":1}]}`,
		},
		{
			"start",
			Event{Event: EventStart, Dataset: "quadrants", Classes: []string{"a", "b"}, InputShape: []int{8, 8, 1}, TrainSize: 90, ValSize: 10, TestSize: 20,
				ClassCounts: []int{45, 45}, Params: 120, BatchSize: 16, StepsPerEpoch: 6, Epochs: 5, Input: &InputStats{Mean: 0, Std: 1, Min: -1, Max: 2}},
			`{"event":"start","dataset":"quadrants","classes":["a","b"],"input_shape":[8,8,1],"train_size":90,"val_size":10,"test_size":20,` +
				`"class_counts":[45,45],"params":120,"batch_size":16,"steps_per_epoch":6,"epochs":5,"input":{"mean":0,"std":1,"min":-1,"max":2}}`,
		},
		{
			"result",
			Event{Event: EventResult, TestLoss: 0.5, TestAccuracy: 0.9, Epochs: 2, BestEpoch: 2, Seconds: 3, ImagesPerSecond: 100,
				Stopped: StoppedDiverged, Reason: "loss became NaN"},
			`{"event":"result","test_loss":0.5,"test_accuracy":0.9,"epochs":2,"best_epoch":2,"seconds":3,"images_per_second":100,"stopped":"diverged","reason":"loss became NaN","diagnoses":[]}`,
		},
		{
			"canceled result",
			Event{Event: EventResult, TestLoss: nan, TestAccuracy: nan, Epochs: 1, Stopped: StoppedCanceled},
			`{"event":"result","test_loss":null,"test_accuracy":null,"epochs":1,"best_epoch":0,"seconds":0,"images_per_second":0,"stopped":"canceled","diagnoses":[]}`,
		},
		{
			"result with a diagnosis",
			Event{Event: EventResult, TestLoss: 2.3, TestAccuracy: 0.1, Epochs: 3, Stopped: StoppedCompleted,
				Diagnoses: []Diagnosis{{Cause: "lr_too_low", Confidence: 0.75, Evidence: map[string]float64{"weight_change": 0.001, "lr": 1e-5}, Advice: "raise train.lr", Fix: []string{"train.lr=0.0001"}}}},
			`{"event":"result","test_loss":2.3,"test_accuracy":0.1,"epochs":3,"best_epoch":0,"seconds":0,"images_per_second":0,"stopped":"completed",` +
				`"diagnoses":[{"cause":"lr_too_low","confidence":0.75,"evidence":{"lr":0.00001,"weight_change":0.001},"advice":"raise train.lr","fix":["train.lr=0.0001"]}]}`,
		},
		{
			"start with mirror statistics",
			Event{Event: EventStart, Dataset: "d", TrainSize: 9, Mirror: &MirrorStats{Sample: 500, Match: 0.78, Horizontal: 0.45, Vertical: 0.25}},
			`{"event":"start","dataset":"d","train_size":9,"val_size":0,"test_size":0,"params":0,"batch_size":0,"steps_per_epoch":0,"epochs":0,` +
				`"mirror":{"sample":500,"match":0.78,"horizontal":0.45,"vertical":0.25}}`,
		},
		{
			"validation check",
			Event{Event: EventValCheck, Epoch: 2, Step: 450, ValLoss: 0.25, ValAccuracy: 0.875, ValSize: 1000, TrainLoss: 9},
			`{"event":"val_check","epoch":2,"step":450,"val_loss":0.25,"val_accuracy":0.875,"val_size":1000}`,
		},
		{
			"validation check before the first epoch's end, with the doctor's reading",
			Event{Event: EventValCheck, Epoch: 1, Step: 130, ValLoss: 2.3, ValAccuracy: 0.1, ValSize: 1000,
				Diagnoses: []Diagnosis{{Cause: "lr_too_high", Confidence: 0.75, Evidence: map[string]float64{"since_step": 40}, Advice: "lower train.lr", Fix: []string{"train.lr=0.01"}}}},
			`{"event":"val_check","epoch":1,"step":130,"val_loss":2.3,"val_accuracy":0.1,"val_size":1000,` +
				`"diagnoses":[{"cause":"lr_too_high","confidence":0.75,"evidence":{"since_step":40},"advice":"lower train.lr","fix":["train.lr=0.01"]}]}`,
		},
		{
			"validation check with the latest step's layer statistics",
			Event{Event: EventValCheck, Epoch: 1, Step: 60, ValLoss: 2.3, ValAccuracy: 0.1, ValSize: 1000,
				Layers: []LayerStats{{Name: "conv1", Type: "conv2d", GradNorm: 1e-5, WeightNorm: 2}}},
			`{"event":"val_check","epoch":1,"step":60,"val_loss":2.3,"val_accuracy":0.1,"val_size":1000,` +
				`"layers":[{"name":"conv1","type":"conv2d","grad_norm":0.00001,"weight_norm":2,"dead_fraction":0,"act_mean":0,"act_std":0}]}`,
		},
		{
			"validation check with a reading that found nothing",
			Event{Event: EventValCheck, Epoch: 1, Step: 60, ValLoss: 0.5, ValAccuracy: 0.8, ValSize: 1000, Diagnoses: []Diagnosis{}},
			`{"event":"val_check","epoch":1,"step":60,"val_loss":0.5,"val_accuracy":0.8,"val_size":1000,"diagnoses":[]}`,
		},
		{
			"start with duplicates",
			Event{Event: EventStart, Dataset: "d", TrainSize: 9, ValSize: 1, ValDuplicates: 1},
			`{"event":"start","dataset":"d","train_size":9,"val_size":1,"test_size":0,"params":0,"batch_size":0,"steps_per_epoch":0,"epochs":0,"val_duplicates":1,"test_duplicates":0}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var back Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			// Re-encoding what was decoded gives the same bytes: nulls came
			// back as NaN, every field of the kind survived.
			again, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(b) {
				t.Errorf("round trip:\ngot  %s\nwant %s", again, b)
			}
		})
	}
}

func TestEventUnknownKindRoundTrips(t *testing.T) {
	e := Event{Event: "diagnosis", Reason: "learning rate too high", Epoch: 4}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("got %+v, want %+v", back, e)
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1.5, "1.5"}, {-2, "-2"}, {1e-7, "1e-7"}, {1e21, "1e+21"}, {123456789, "123456789"},
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"},
	}
	for _, tt := range tests {
		if got := string(appendFloat(nil, tt.v)); got != tt.want {
			t.Errorf("appendFloat(%g) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestMirrorKept(t *testing.T) {
	digits := &MirrorStats{Sample: 1000, Match: 0.786, Horizontal: 0.429, Vertical: 0.25}
	for _, c := range []struct {
		name     string
		m        *MirrorStats
		classes  int
		vertical bool
		want     float64
		ok       bool
	}{
		{"digits mirrored", digits, 10, false, (0.429 - 0.1) / (0.786 - 0.1), true},
		{"digits upside down", digits, 10, true, (0.25 - 0.1) / (0.786 - 0.1), true},
		{"below chance", &MirrorStats{Match: 0.5, Horizontal: 0.05}, 10, false, 0, true},
		{"above the unflipped", &MirrorStats{Match: 0.5, Vertical: 0.55}, 10, true, 1, true},
		{"too few matches above chance", &MirrorStats{Match: 0.19, Horizontal: 0.19}, 10, false, 0, false},
		{"unmeasured", nil, 10, false, 0, false},
		{"one class", digits, 1, false, 0, false},
	} {
		got, ok := c.m.Kept(c.classes, c.vertical)
		if ok != c.ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: %g, %v; want %g, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestEpochSpans(t *testing.T) {
	for _, c := range []struct {
		epochs []int
		want   string
	}{
		{[]int{0}, "before the first epoch"},
		{[]int{3}, "epoch 3"},
		{[]int{2, 3}, "epochs 2–3"},
		{[]int{4, 6}, "epochs 4 and 6"},
		{[]int{0, 1}, "before the first epoch and epoch 1"},
		{[]int{1, 2, 3, 5, 8, 9}, "epochs 1–3, 5 and 8–9"},
	} {
		if got := EpochSpans(c.epochs); got != c.want {
			t.Errorf("EpochSpans(%v) = %q, want %q", c.epochs, got, c.want)
		}
	}
}
