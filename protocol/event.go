package protocol

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// Event kinds, the value of Event.Event, as package train writes them.
const (
	EventStart  = "start"
	EventStep   = "step"
	EventEpoch  = "epoch"
	EventResult = "result"
	// EventValCheck is a validation check within an epoch (see
	// spec.Train.ValCheckSeconds): the validation loss and accuracy of the
	// weights at that step, on a stratified part of the validation split.
	EventValCheck = "val_check"
)

// Why a run stopped, the value of Event.Stopped in a result event.
const (
	StoppedCompleted     = "completed"
	StoppedEarlyStopping = "early_stopping"
	StoppedDiverged      = "diverged"
	StoppedCanceled      = "canceled"
	// StoppedTimeLimit: spec.Train.TimeLimitSeconds ended the run.
	StoppedTimeLimit = "time_limit"
)

// Event is one thing a run reports (package train writes them, as
// train.Event). A single type with an "event" discriminator carries every
// kind, so one decoder reads a whole stream (the CLI's -json lines, the
// worker channel, server-sent events), and the page reads them with no
// training code. Each kind
// writes only its own fields; see MarshalJSON for the lists. A measurement
// that was not taken (validation metrics without a validation split, test
// metrics of a canceled run) is NaN in Go and null in JSON.
type Event struct {
	Event string `json:"event"`

	// start: the run as planned.
	Dataset    string   `json:"dataset,omitempty"`
	Classes    []string `json:"classes,omitempty"`
	InputShape []int    `json:"input_shape,omitempty"`
	TrainSize  int      `json:"train_size,omitempty"`
	// ValSize is the validation split's size in start, and the number of
	// validation images measured in val_check.
	ValSize       int   `json:"val_size,omitempty"`
	TestSize      int   `json:"test_size,omitempty"`
	ClassCounts   []int `json:"class_counts,omitempty"` // training split, after imbalance
	Params        int   `json:"params,omitempty"`       // trainable parameters
	BatchSize     int   `json:"batch_size,omitempty"`
	StepsPerEpoch int   `json:"steps_per_epoch,omitempty"`
	// Workers is the number of parts every batch is cut into (Shard); 0
	// for a run that does not cut its batches.
	Workers int         `json:"workers,omitempty"`
	Input   *InputStats `json:"input,omitempty"` // first normalized training batch
	// ValDuplicates and TestDuplicates count the validation and test images
	// that have an exact copy in the training split (see train.Duplicates): a
	// validation accuracy measured on images the network trained on is
	// optimistic.
	ValDuplicates  int `json:"val_duplicates,omitempty"`
	TestDuplicates int `json:"test_duplicates,omitempty"`
	// Mirror says whether flipped training images still look like their
	// class (see MirrorStats); nil when too few images or classes to tell.
	Mirror *MirrorStats `json:"mirror,omitempty"`

	// step and epoch. Epoch counts from 1; Step counts optimizer steps from
	// 1 over the whole run.
	Epoch int `json:"epoch,omitempty"`
	Step  int `json:"step,omitempty"`
	// step: mean loss and accuracy over the steps since the previous step event.
	Loss     float64 `json:"loss,omitempty"`
	Accuracy float64 `json:"accuracy,omitempty"`
	// step and epoch: the rate of the latest step.
	LR float64 `json:"lr,omitempty"`

	// epoch: training metrics are means over the epoch's batches in
	// training mode (dropout on), validation metrics are measured after it
	// (val_check: at its step, on ValSize images).
	// Losses are the data loss, without the L1/L2 penalty.
	TrainLoss     float64 `json:"train_loss,omitempty"`
	TrainAccuracy float64 `json:"train_accuracy,omitempty"`
	ValLoss       float64 `json:"val_loss,omitempty"`
	ValAccuracy   float64 `json:"val_accuracy,omitempty"`
	// GradNorm is the mean global gradient norm of the epoch's steps,
	// before clipping.
	GradNorm float64 `json:"grad_norm,omitempty"`
	// Improved is set when the early-stopping metric reached a new best.
	Improved bool `json:"improved,omitempty"`
	// LRReduced is set when reduce_on_plateau lowered the rate after this epoch.
	LRReduced bool `json:"lr_reduced,omitempty"`
	// WeightChange is ‖w_end − w_start‖ / ‖w_start‖ over the epoch's
	// trainable weights: how far the optimizer moved them. A rate too low
	// for the model leaves it near 0.
	WeightChange float64 `json:"weight_change,omitempty"`
	// ConfidentWrong is the fraction of the epoch's training examples that
	// the network (in training mode) gave a probability of at least
	// train.ConfidentProbability to a class other than their label: the network
	// has settled on an answer and the label disagrees. Mislabelled
	// examples of a learnable task end up here.
	ConfidentWrong float64 `json:"confident_wrong,omitempty"`

	// epoch and result: training images per second and wall time, of the
	// epoch or of the whole run.
	ImagesPerSecond float64 `json:"images_per_second,omitempty"`
	Seconds         float64 `json:"seconds,omitempty"`

	// epoch (validation) and result (test): per-class recall and the
	// confusion matrix, Confusion[true][predicted].
	PerClassAccuracy []float64 `json:"per_class_accuracy,omitempty"`
	Confusion        [][]int   `json:"confusion,omitempty"`
	// epoch: per-layer statistics from the epoch's last training step;
	// val_check: from the step before the check (the GoMLX trainer's in the
	// first epoch only, whose checks the doctor reads).
	Layers []LayerStats `json:"layers,omitempty"`

	// result.
	TestLoss     float64 `json:"test_loss,omitempty"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	// Epochs is the planned count in start and the completed count in result.
	Epochs    int    `json:"epochs,omitempty"`
	BestEpoch int    `json:"best_epoch,omitempty"`
	Stopped   string `json:"stopped,omitempty"`
	// Reason says why the run stopped early and what to change.
	Reason string `json:"reason,omitempty"`

	// epoch and result: what the doctor (train.Config.Doctor) found so far,
	// most confident first. A result event always carries the list; an
	// empty one means the run looks healthy. A val_check before the first
	// epoch's end carries what the steps and checks so far show (with the
	// start's findings); later ones carry none.
	Diagnoses []Diagnosis `json:"diagnoses,omitempty"`
}

// Diagnosis is one cause the doctor names for a run that does not learn
// as it should.
type Diagnosis struct {
	// Cause is the rule's identifier, such as "lr_too_high".
	Cause string `json:"cause"`
	// Confidence in [0, 1]; findings are ordered by it.
	Confidence float64 `json:"confidence"`
	// Evidence holds the numbers the rule read, by name.
	Evidence map[string]float64 `json:"evidence"`
	// Advice says what to change, in terms of spec fields.
	Advice string `json:"advice"`
	// Fix, when set, is the advice as spec changes ("path=value" pairs
	// for spec.Set), so a page can retry the run with them in one click.
	Fix []string `json:"fix,omitempty"`
}

// LayerStats describes one layer after a training step: what the doctor
// reads to spot vanishing or exploding gradients and dead units.
type LayerStats struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// GradNorm and WeightNorm are L2 norms over the layer's parameters
	// (0 for layers without any).
	GradNorm   float64 `json:"grad_norm"`
	WeightNorm float64 `json:"weight_norm"`
	// DeadFraction is, for the ReLU family, the fraction of units (channels
	// of a feature map) that were ≤ 0 for every example of the batch.
	DeadFraction float64 `json:"dead_fraction"`
	ActMean      float64 `json:"act_mean"`
	ActStd       float64 `json:"act_std"`
}

// InputStats summarizes a batch as the network sees it, after
// normalization: the doctor flags inputs far from mean 0, std 1.
type InputStats struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// MirrorStats measures, on a sample of training images, whether a flip
// keeps an image looking like its class: Match is the share of the
// sampled images whose pixels lie nearer their own class's mean image than
// any other class's, Horizontal and Vertical the same share after a
// left–right and an upside-down flip. The class means come from the
// other half of the sample. A flip that costs most of Match above chance
// (mirrored digits, upside-down clothes) shows the network views its
// test images never have; one that costs nothing (photographs of objects
// seen from either side) preserves the label.
type MirrorStats struct {
	Sample     int     `json:"sample"` // images classified
	Match      float64 `json:"match"`
	Horizontal float64 `json:"horizontal"`
	Vertical   float64 `json:"vertical"`
}

// FlipKeepBar is the share of its matches above chance (see
// MirrorStats.Kept) a flip must keep to preserve the label: the doctor
// names a flip below it, and advises none.
const FlipKeepBar = 0.7

// Kept returns the share of the matches above chance (1/classes) that a
// flip keeps, from 0 (flipped images are no likelier to match their class
// than chance) to 1 (no fewer matches than unflipped); false when m is
// nil or Match is under 0.1 above chance, too few to tell.
func (m *MirrorStats) Kept(classes int, vertical bool) (float64, bool) {
	if m == nil || classes < 2 {
		return 0, false
	}
	chance := 1 / float64(classes)
	above := m.Match - chance
	if !(above >= 0.1) {
		return 0, false
	}
	flipped := m.Horizontal
	if vertical {
		flipped = m.Vertical
	}
	return max(0, min(1, (flipped-chance)/above)), true
}

// DecodeEvent reads the event a message of kind event carries.
func (m Message) DecodeEvent() (Event, error) {
	var e Event
	err := json.Unmarshal(m.Event, &e)
	return e, err
}

// MarshalJSON writes the fields of the event's kind, in a fixed order:
//
//	start:  event dataset classes input_shape train_size val_size test_size class_counts
//	        params batch_size steps_per_epoch epochs, then when set: epoch step (a resumed
//	        run's starting point, epochs and steps already done) workers input
//	        val_duplicates test_duplicates mirror diagnoses (what the doctor
//	        finds before any epoch)
//	step:   event epoch step loss accuracy lr
//	epoch:  event epoch step train_loss train_accuracy val_loss val_accuracy lr
//	        images_per_second seconds grad_norm, then when set: improved lr_reduced
//	        weight_change confident_wrong per_class_accuracy confusion layers diagnoses
//	val_check: event epoch step val_loss val_accuracy val_size, then when set:
//	        layers diagnoses
//	result: event test_loss test_accuracy epochs best_epoch seconds images_per_second
//	        stopped, then when set: reason per_class_accuracy confusion, and always
//	        diagnoses ([] when none)
//
// Other kinds write every non-empty field. NaN and ±Inf become null.
func (e Event) MarshalJSON() ([]byte, error) {
	w := jsonObject{b: make([]byte, 0, 256)}
	w.str("event", e.Event)
	switch e.Event {
	case EventStart:
		w.str("dataset", e.Dataset)
		w.strings("classes", e.Classes)
		w.ints("input_shape", e.InputShape)
		w.int("train_size", e.TrainSize)
		w.int("val_size", e.ValSize)
		w.int("test_size", e.TestSize)
		w.ints("class_counts", e.ClassCounts)
		w.int("params", e.Params)
		w.int("batch_size", e.BatchSize)
		w.int("steps_per_epoch", e.StepsPerEpoch)
		w.int("epochs", e.Epochs)
		if e.Epoch > 0 || e.Step > 0 {
			w.int("epoch", e.Epoch)
			w.int("step", e.Step)
		}
		if e.Workers > 1 {
			w.int("workers", e.Workers)
		}
		if e.Input != nil {
			w.key("input")
			w.b = appendInputStats(w.b, *e.Input)
		}
		if e.ValDuplicates > 0 || e.TestDuplicates > 0 {
			w.int("val_duplicates", e.ValDuplicates)
			w.int("test_duplicates", e.TestDuplicates)
		}
		if e.Mirror != nil {
			w.key("mirror")
			w.b = appendMirrorStats(w.b, *e.Mirror)
		}
		if len(e.Diagnoses) > 0 {
			w.diagnoses(e.Diagnoses)
		}
	case EventStep:
		w.int("epoch", e.Epoch)
		w.int("step", e.Step)
		w.float("loss", e.Loss)
		w.float("accuracy", e.Accuracy)
		w.float("lr", e.LR)
	case EventEpoch:
		w.int("epoch", e.Epoch)
		w.int("step", e.Step)
		w.float("train_loss", e.TrainLoss)
		w.float("train_accuracy", e.TrainAccuracy)
		w.float("val_loss", e.ValLoss)
		w.float("val_accuracy", e.ValAccuracy)
		w.float("lr", e.LR)
		w.float("images_per_second", e.ImagesPerSecond)
		w.float("seconds", e.Seconds)
		w.float("grad_norm", e.GradNorm)
		w.optionalBool("improved", e.Improved)
		w.optionalBool("lr_reduced", e.LRReduced)
		if e.WeightChange != 0 {
			w.float("weight_change", e.WeightChange)
		}
		if e.ConfidentWrong != 0 {
			w.float("confident_wrong", e.ConfidentWrong)
		}
		w.floats("per_class_accuracy", e.PerClassAccuracy)
		w.matrix("confusion", e.Confusion)
		w.layers(e.Layers)
		if e.Diagnoses != nil {
			w.diagnoses(e.Diagnoses)
		}
	case EventValCheck:
		w.int("epoch", e.Epoch)
		w.int("step", e.Step)
		w.float("val_loss", e.ValLoss)
		w.float("val_accuracy", e.ValAccuracy)
		w.int("val_size", e.ValSize)
		if len(e.Layers) > 0 {
			w.layers(e.Layers)
		}
		if e.Diagnoses != nil {
			w.diagnoses(e.Diagnoses)
		}
	case EventResult:
		w.float("test_loss", e.TestLoss)
		w.float("test_accuracy", e.TestAccuracy)
		w.int("epochs", e.Epochs)
		w.int("best_epoch", e.BestEpoch)
		w.float("seconds", e.Seconds)
		w.float("images_per_second", e.ImagesPerSecond)
		w.str("stopped", e.Stopped)
		if e.Reason != "" {
			w.str("reason", e.Reason)
		}
		w.floats("per_class_accuracy", e.PerClassAccuracy)
		w.matrix("confusion", e.Confusion)
		w.diagnoses(e.Diagnoses)
	default:
		// An unknown kind still round-trips: the standard encoding of every
		// field, with the discriminator first.
		type plain Event
		b, err := json.Marshal(plain(e))
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	w.close()
	return w.b, nil
}

// UnmarshalJSON reads any event; a null measurement becomes NaN.
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
	for k, v := range fields {
		if string(v) == "null" {
			if f := e.floatField(k); f != nil {
				*f = math.NaN()
			}
		}
	}
	if raw, ok := fields["per_class_accuracy"]; ok {
		var xs []*float64
		if err := json.Unmarshal(raw, &xs); err == nil {
			for i, x := range xs {
				if x == nil && i < len(e.PerClassAccuracy) {
					e.PerClassAccuracy[i] = math.NaN()
				}
			}
		}
	}
	return nil
}

func (e *Event) floatField(key string) *float64 {
	switch key {
	case "loss":
		return &e.Loss
	case "accuracy":
		return &e.Accuracy
	case "lr":
		return &e.LR
	case "train_loss":
		return &e.TrainLoss
	case "train_accuracy":
		return &e.TrainAccuracy
	case "val_loss":
		return &e.ValLoss
	case "val_accuracy":
		return &e.ValAccuracy
	case "grad_norm":
		return &e.GradNorm
	case "images_per_second":
		return &e.ImagesPerSecond
	case "seconds":
		return &e.Seconds
	case "test_loss":
		return &e.TestLoss
	case "test_accuracy":
		return &e.TestAccuracy
	case "weight_change":
		return &e.WeightChange
	case "confident_wrong":
		return &e.ConfidentWrong
	}
	return nil
}

// jsonObject appends the members of one JSON object.
type jsonObject struct {
	b       []byte
	members int
}

func (w *jsonObject) key(k string) {
	if w.members == 0 {
		w.b = append(w.b, '{')
	} else {
		w.b = append(w.b, ',')
	}
	w.members++
	w.b = strconv.AppendQuote(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jsonObject) close() {
	if w.members == 0 {
		w.b = append(w.b, '{')
	}
	w.b = append(w.b, '}')
}

func (w *jsonObject) str(k, v string) {
	w.key(k)
	w.b = appendString(w.b, v)
}

func (w *jsonObject) int(k string, v int) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
}

func (w *jsonObject) float(k string, v float64) {
	w.key(k)
	w.b = appendFloat(w.b, v)
}

func (w *jsonObject) optionalBool(k string, v bool) {
	if v {
		w.key(k)
		w.b = append(w.b, "true"...)
	}
}

// list writes the array vs under k, each element by each; nothing when vs
// is nil.
func list[T any](w *jsonObject, k string, vs []T, each func([]byte, T) []byte) {
	if vs == nil {
		return
	}
	w.key(k)
	w.b = appendList(w.b, vs, each)
}

func (w *jsonObject) strings(k string, vs []string) { list(w, k, vs, appendString) }

func (w *jsonObject) ints(k string, vs []int) { list(w, k, vs, appendInt) }

func (w *jsonObject) floats(k string, vs []float64) { list(w, k, vs, appendFloat) }

func (w *jsonObject) matrix(k string, rows [][]int) { list(w, k, rows, appendInts) }

func (w *jsonObject) layers(ls []LayerStats) {
	if ls == nil {
		return
	}
	w.key("layers")
	w.b = append(w.b, '[')
	for i, l := range ls {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		o := jsonObject{b: w.b}
		o.str("name", l.Name)
		if l.Type != "" {
			o.str("type", l.Type)
		}
		o.float("grad_norm", l.GradNorm)
		o.float("weight_norm", l.WeightNorm)
		o.float("dead_fraction", l.DeadFraction)
		o.float("act_mean", l.ActMean)
		o.float("act_std", l.ActStd)
		o.close()
		w.b = o.b
	}
	w.b = append(w.b, ']')
}

func (w *jsonObject) diagnoses(ds []Diagnosis) {
	w.key("diagnoses")
	w.b = append(w.b, '[')
	for i, d := range ds {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		o := jsonObject{b: w.b}
		o.str("cause", d.Cause)
		o.float("confidence", d.Confidence)
		o.key("evidence")
		keys := make([]string, 0, len(d.Evidence))
		for k := range d.Evidence {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ev := jsonObject{b: o.b}
		for _, k := range keys {
			ev.float(k, d.Evidence[k])
		}
		ev.close()
		o.b = ev.b
		o.str("advice", d.Advice)
		if len(d.Fix) > 0 {
			o.strings("fix", d.Fix)
		}
		o.close()
		w.b = o.b
	}
	w.b = append(w.b, ']')
}

func appendInputStats(b []byte, s InputStats) []byte {
	o := jsonObject{b: b}
	o.float("mean", s.Mean)
	o.float("std", s.Std)
	o.float("min", s.Min)
	o.float("max", s.Max)
	o.close()
	return o.b
}

func appendMirrorStats(b []byte, m MirrorStats) []byte {
	o := jsonObject{b: b}
	o.int("sample", m.Sample)
	o.float("match", m.Match)
	o.float("horizontal", m.Horizontal)
	o.float("vertical", m.Vertical)
	o.close()
	return o.b
}

// appendList writes vs as a JSON array, each element by each.
func appendList[T any](b []byte, vs []T, each func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, v)
	}
	return append(b, ']')
}

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

func appendInts(b []byte, vs []int) []byte { return appendList(b, vs, appendInt) }

// appendString quotes s as JSON (strconv.AppendQuote writes Go escapes
// such as \x00 that JSON does not allow).
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// appendFloat writes v as encoding/json would, and null for NaN and ±Inf,
// which JSON cannot represent.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// Shorten e-07 to e-7, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
