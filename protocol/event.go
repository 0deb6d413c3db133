package protocol

import (
	"encoding/json"
	"math"
)

// Event kinds and stop reasons, as package train writes them.
const (
	EventStart  = "start"
	EventStep   = "step"
	EventEpoch  = "epoch"
	EventResult = "result"

	StoppedCompleted     = "completed"
	StoppedEarlyStopping = "early_stopping"
	StoppedDiverged      = "diverged"
	StoppedCanceled      = "canceled"
)

// Event is the reader's view of a training event: the JSON object that
// package train's Event writes (see train.Event.MarshalJSON for which
// fields each kind has). A measurement written as null (not taken, or not
// finite) reads as NaN. The page reads events through this type so that it
// needs no training code; a test checks that it reads every field train
// writes.
type Event struct {
	Event string `json:"event"`

	Dataset       string      `json:"dataset,omitempty"`
	Classes       []string    `json:"classes,omitempty"`
	InputShape    []int       `json:"input_shape,omitempty"`
	TrainSize     int         `json:"train_size,omitempty"`
	ValSize       int         `json:"val_size,omitempty"`
	TestSize      int         `json:"test_size,omitempty"`
	ClassCounts   []int       `json:"class_counts,omitempty"`
	Params        int         `json:"params,omitempty"`
	BatchSize     int         `json:"batch_size,omitempty"`
	StepsPerEpoch int         `json:"steps_per_epoch,omitempty"`
	Workers       int         `json:"workers,omitempty"`
	Input         *InputStats `json:"input,omitempty"`
	// ValDuplicates and TestDuplicates count held-out images with an
	// exact copy in the training split.
	ValDuplicates  int `json:"val_duplicates,omitempty"`
	TestDuplicates int `json:"test_duplicates,omitempty"`

	Epoch    int     `json:"epoch,omitempty"`
	Step     int     `json:"step,omitempty"`
	Loss     float64 `json:"loss,omitempty"`
	Accuracy float64 `json:"accuracy,omitempty"`
	LR       float64 `json:"lr,omitempty"`

	TrainLoss       float64 `json:"train_loss,omitempty"`
	TrainAccuracy   float64 `json:"train_accuracy,omitempty"`
	ValLoss         float64 `json:"val_loss,omitempty"`
	ValAccuracy     float64 `json:"val_accuracy,omitempty"`
	GradNorm        float64 `json:"grad_norm,omitempty"`
	Improved        bool    `json:"improved,omitempty"`
	LRReduced       bool    `json:"lr_reduced,omitempty"`
	WeightChange    float64 `json:"weight_change,omitempty"`
	ConfidentWrong  float64 `json:"confident_wrong,omitempty"`
	ImagesPerSecond float64 `json:"images_per_second,omitempty"`
	Seconds         float64 `json:"seconds,omitempty"`

	PerClassAccuracy []float64    `json:"per_class_accuracy,omitempty"`
	Confusion        [][]int      `json:"confusion,omitempty"`
	Layers           []LayerStats `json:"layers,omitempty"`

	TestLoss     float64 `json:"test_loss,omitempty"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	Epochs       int     `json:"epochs,omitempty"`
	BestEpoch    int     `json:"best_epoch,omitempty"`
	Stopped      string  `json:"stopped,omitempty"`
	Reason       string  `json:"reason,omitempty"`

	// Diagnoses is what the doctor found, most confident first.
	Diagnoses []Diagnosis `json:"diagnoses,omitempty"`
}

// Diagnosis is one cause the doctor names, with the numbers it read and
// what to change.
type Diagnosis struct {
	Cause      string             `json:"cause"`
	Confidence float64            `json:"confidence"`
	Evidence   map[string]float64 `json:"evidence"`
	Advice     string             `json:"advice"`
	// Fix is the advice as spec changes ("path=value" pairs for
	// spec.Set), when a setting can express it.
	Fix []string `json:"fix,omitempty"`
}

// LayerStats is one layer's statistics after an epoch's last step.
type LayerStats struct {
	Name         string  `json:"name"`
	Type         string  `json:"type,omitempty"`
	GradNorm     float64 `json:"grad_norm"`
	WeightNorm   float64 `json:"weight_norm"`
	DeadFraction float64 `json:"dead_fraction"`
	ActMean      float64 `json:"act_mean"`
	ActStd       float64 `json:"act_std"`
}

// InputStats summarizes the first normalized training batch.
type InputStats struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// DecodeEvent reads the event a message of kind event carries.
func (m Message) DecodeEvent() (Event, error) {
	var e Event
	err := json.Unmarshal(m.Event, &e)
	return e, err
}

// UnmarshalJSON reads an event; null measurements become NaN.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = Event(p)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	floats := map[string]*float64{
		"loss": &e.Loss, "accuracy": &e.Accuracy, "lr": &e.LR,
		"train_loss": &e.TrainLoss, "train_accuracy": &e.TrainAccuracy,
		"val_loss": &e.ValLoss, "val_accuracy": &e.ValAccuracy,
		"grad_norm": &e.GradNorm, "images_per_second": &e.ImagesPerSecond,
		"seconds": &e.Seconds, "weight_change": &e.WeightChange, "confident_wrong": &e.ConfidentWrong, "test_loss": &e.TestLoss, "test_accuracy": &e.TestAccuracy,
	}
	for k, v := range fields {
		if f := floats[k]; f != nil && string(v) == "null" {
			*f = math.NaN()
		}
	}
	if raw, ok := fields["per_class_accuracy"]; ok {
		var xs []*float64
		if json.Unmarshal(raw, &xs) == nil {
			for i, x := range xs {
				if x == nil {
					e.PerClassAccuracy[i] = math.NaN()
				}
			}
		}
	}
	return nil
}
