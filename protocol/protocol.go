package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"plateau/spec"
)

// Version is the protocol version every object carries in "v".
// Version 2: a part carries its dropout key and first row instead of a
// seed.
const Version = 2

// ProgressPerSecond bounds the progress messages a worker posts.
const ProgressPerSecond = 5

// Command names, the value of Command.Cmd.
const (
	CmdLoad   = "load"
	CmdSpec   = "spec"
	CmdStart  = "start"
	CmdPause  = "pause"
	CmdResume = "resume"
	CmdStep   = "step"
	CmdStop   = "stop"
	CmdSetLR  = "set_lr"
	// CmdSetAugment changes a training run's augmentation.
	CmdSetAugment = "set_augment"
	CmdAugment    = "augment"
	CmdExport     = "export"
	CmdLRFind     = "lr_find"
	CmdMemory     = "memory"
	CmdEvaluate   = "evaluate"
	CmdImport     = "import_weights"
	// CmdShard and CmdPart go from a worker training with several workers
	// to the workers it started (see Command.Workers).
	CmdShard = "shard"
	CmdPart  = "part"
	// CmdDecode goes from a worker reading a dataset of large images to
	// the workers it started to decode them (see Command.Workers).
	CmdDecode = "decode"
)

// Commands lists every command name.
var Commands = []string{CmdLoad, CmdSpec, CmdStart, CmdPause, CmdResume, CmdStep, CmdStop, CmdSetLR, CmdSetAugment, CmdAugment, CmdExport, CmdLRFind, CmdMemory, CmdEvaluate, CmdImport, CmdShard, CmdPart, CmdDecode}

// MaxWorkers bounds Command.Workers.
const MaxWorkers = 8

// Message kinds, the value of Message.Kind.
const (
	KindReady         = "ready"
	KindDataset       = "dataset"
	KindSamples       = "samples"
	KindPreview       = "preview"
	KindEvent         = "event"
	KindProgress      = "progress"
	KindMisclassified = "misclassified"
	KindFilters       = "filters"
	KindState         = "state"
	KindWeights       = "weights"
	KindSpecOK        = "spec_ok"
	KindError         = "error"
	KindLRFind        = "lr_find"
	KindMemory        = "memory"
	KindEvaluation    = "evaluation"
	KindWeightsOK     = "weights_ok"
	KindPart          = "part"
	KindLoading       = "loading"
	KindDecoded       = "decoded"
)

// Kinds lists every message kind.
var Kinds = []string{KindReady, KindDataset, KindSamples, KindPreview, KindEvent, KindProgress, KindMisclassified,
	KindFilters, KindState, KindWeights, KindSpecOK, KindError, KindLRFind, KindMemory, KindEvaluation, KindWeightsOK, KindPart,
	KindLoading, KindDecoded}

// Run states, the value of Message.State.
const (
	StateRunning = "running"
	StatePaused  = "paused"
	StateDone    = "done"
)

// Command is what the page asks of a worker (or of the server).
type Command struct {
	V   int    `json:"v"`
	Run string `json:"run"`
	Cmd string `json:"cmd"`
	// Dataset names the data of a load command.
	Dataset *DatasetRef `json:"dataset,omitempty"`
	// Spec is the spec of spec, start, augment and evaluate commands, as
	// the user wrote it (the worker expands it).
	Spec *spec.Spec `json:"spec,omitempty"`
	// LR is the new rate of set_lr.
	LR float64 `json:"lr,omitempty"`
	// Seed varies the augmentation of a preview.
	Seed int64 `json:"seed,omitempty"`
	// File names the bin payload of import_weights, for messages.
	File string `json:"file,omitempty"`
	// Workers is the number of parts every batch of a start command is
	// cut into, trained side by side: one in this worker and one in each
	// of Workers-1 more workers it starts (0 or 1: this worker alone; at
	// most MaxWorkers). For a load command, it is how many workers the
	// worker starts to decode a dataset of large images (photos), while
	// it reads their files and hands them out; 0 or 1: it decodes them
	// itself.
	Workers int `json:"workers,omitempty"`
	// Decode is the image of a decode command, whose file's bytes are in
	// Bytes; the answer is a decoded message with the pixels in Bytes.
	Decode *DecodeJob `json:"decode,omitempty"`
	// Part describes the part of a batch of a part command, and the
	// replica of a shard command.
	Part *Part `json:"part,omitempty"`
	// Bytes is the bin payload: a dataset file's bytes, or safetensors
	// weights to check, evaluate or start from.
	Bytes []byte `json:"bytes,omitempty"`
	// Blob is a load command's dataset file when it travels beside the
	// frame by reference instead of in Bytes: in the page, the File the
	// user chose or dropped (a JavaScript value the bridge posts as it
	// is, never read into wasm memory); in the worker, a Source over it.
	Blob any `json:"-"`
}

// A Source is a dataset file read in place, such as a load command's
// Blob in the worker (a *bytes.Reader is one too).
type Source interface {
	io.ReaderAt
	Size() int64
}

// DatasetRef says where a dataset comes from: a URL the worker fetches, or
// the command's Blob or Bytes, named Name.
type DatasetRef struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	// ImageSide is the spec's data.image_side: the size a dataset of image
	// files is scaled to.
	ImageSide int `json:"image_side,omitempty"`
}

// Message is what a worker reports.
type Message struct {
	V    int    `json:"v"`
	Run  string `json:"run"`
	Kind string `json:"kind"`

	// Event is a training event exactly as the command line writes it
	// with -json; DecodeEvent reads it.
	Event    json.RawMessage `json:"event,omitempty"`
	Dataset  *Dataset        `json:"dataset,omitempty"`
	Images   *Images         `json:"images,omitempty"`
	Progress *Progress       `json:"progress,omitempty"`
	State    string          `json:"state,omitempty"`
	// Error says what failed and what to change; Field, when set, is the
	// spec path it concerns ("model.layers[2].kernel").
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
	// LRFind is the outcome of an LR range test.
	LRFind *LRFind `json:"lr_find,omitempty"`
	// Memory is the worker's memory (kind memory).
	Memory *Memory `json:"memory,omitempty"`
	// Evaluation measures a run's weights (kind evaluation).
	Evaluation *Evaluation `json:"evaluation,omitempty"`
	// Weights describes weights that fit a spec (kind weights_ok).
	Weights *WeightsInfo `json:"weights,omitempty"`
	// Part is what a part of a batch gave (kind part); its gradient is
	// in Bytes.
	Part *Part `json:"part,omitempty"`
	// Loading is how far the worker has read a dataset of images (kind
	// loading), sent now and then while it reads one.
	Loading *Loading `json:"loading,omitempty"`
	// Bytes is the bin payload: safetensors weights, or a part's gradient.
	Bytes []byte `json:"bytes,omitempty"`
}

// Part is a part of a training batch that a worker hands to another (see
// Command.Workers), and what the other gives back.
//
// The shard command prepares a replica of spec.model for parts of up to
// Rows rows, computing the loss with ClassWeights and spec.train's label
// smoothing. A part command carries Rows rows and their dropout key; its
// bin is the weights (Values floats), the rows' network inputs and their
// labels, each little-endian (float32, float32, int32). The answer, a part
// message, carries the part's mean Loss, its Weight (the sum of its rows'
// class weights), Correct and ConfidentWrong, with the part's gradient as
// little-endian float32 in bin.
type Part struct {
	Rows         int       `json:"rows"`
	ClassWeights []float32 `json:"class_weights,omitempty"`
	// DropoutKey and FirstRow are the part's dropout masks (nn.DropoutKey:
	// the step's key, the part's first row in the batch).
	DropoutKey     uint32  `json:"dropout_key,omitempty"`
	FirstRow       int     `json:"first_row,omitempty"`
	Values         int     `json:"values,omitempty"`
	Loss           float64 `json:"loss,omitempty"`
	Weight         float64 `json:"weight,omitempty"`
	Correct        int     `json:"correct,omitempty"`
	ConfidentWrong int     `json:"confident_wrong,omitempty"`
	// NotFinite stands for a Loss that is NaN or infinite, which JSON
	// cannot carry.
	NotFinite bool `json:"not_finite,omitempty"`
	// Seconds is the time the part took in the worker that computed it,
	// from its command's arrival to its answer.
	Seconds float64 `json:"seconds,omitempty"`
	// Linear is the linear memory of the worker that computed the part
	// (Memory.Linear) when it answered.
	Linear int64 `json:"linear,omitempty"`
	// Inference marks a part of an evaluation: the forward pass alone, in
	// inference mode, whose answer carries the rows' logits instead of a
	// gradient. Its payload has no labels, and no weights when Values is 0
	// (the worker keeps those of its last part).
	Inference bool `json:"inference,omitempty"`
}

// littleEndian reports whether this machine stores numbers as the payloads
// do (wasm and amd64 do), so that they copy as bytes.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// bytesOf is the memory of xs (4 bytes per element) as bytes.
func bytesOf[T float32 | int32](xs []T) []byte {
	if len(xs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), 4*len(xs))
}

// PutFloats writes xs into b as little-endian float32 and returns the
// rest of b.
func PutFloats(b []byte, xs []float32) []byte {
	if littleEndian {
		return b[copy(b[:4*len(xs)], bytesOf(xs)):]
	}
	for i, v := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b[4*len(xs):]
}

// PutInts writes xs into b as little-endian int32 and returns the rest of b.
func PutInts(b []byte, xs []int32) []byte {
	if littleEndian {
		return b[copy(b[:4*len(xs)], bytesOf(xs)):]
	}
	for i, v := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return b[4*len(xs):]
}

// Floats reads len(dst) little-endian float32 from b into dst and returns
// the rest of b; it fails when b is too short.
func Floats(dst []float32, b []byte) ([]byte, error) {
	if len(b) < 4*len(dst) {
		return nil, fmt.Errorf("%d bytes hold %d of %d floats", len(b), len(b)/4, len(dst))
	}
	if littleEndian {
		return b[copy(bytesOf(dst), b):], nil
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return b[4*len(dst):], nil
}

// Ints reads len(dst) little-endian int32 from b into dst and returns the
// rest of b; it fails when b is too short.
func Ints(dst []int32, b []byte) ([]byte, error) {
	if len(b) < 4*len(dst) {
		return nil, fmt.Errorf("%d bytes hold %d of %d labels", len(b), len(b)/4, len(dst))
	}
	if littleEndian {
		return b[copy(bytesOf(dst), b):], nil
	}
	for i := range dst {
		dst[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return b[4*len(dst):], nil
}

// Dataset summarizes a loaded dataset.
type Dataset struct {
	Name    string   `json:"name"`
	Classes []string `json:"classes"`
	// Shape is [height, width, channels].
	Shape       []int     `json:"shape"`
	TrainSize   int       `json:"train_size"`
	TestSize    int       `json:"test_size"`
	ClassCounts []int     `json:"class_counts"` // training set
	Mean        []float64 `json:"mean"`         // per channel, 0–255
	Std         []float64 `json:"std"`
	Source      string    `json:"source,omitempty"`
	Notes       []string  `json:"notes,omitempty"`
	// Bytes is the memory the images take in the worker.
	Bytes int64 `json:"bytes"`
	// Mirror says whether flipped training images still look like their
	// class; nil when too few images or classes to tell.
	Mirror *MirrorStats `json:"mirror,omitempty"`
	// FromImages says the dataset was read from image files (PNG, JPEG, …), whose
	// size the spec's data.image_side chooses.
	FromImages bool `json:"from_images,omitempty"`
}

// Images is a set of small images, NHWC uint8, with labels: samples,
// augmented previews, misclassified examples (Predicted set) or
// first-layer filters (scaled to 0–255, one channel per input channel).
type Images struct {
	N         int    `json:"n"`
	H         int    `json:"h"`
	W         int    `json:"w"`
	C         int    `json:"c"`
	Labels    []int  `json:"labels,omitempty"`
	Predicted []int  `json:"predicted,omitempty"`
	Pixels    []byte `json:"pixels,omitempty"`
	// Saliency, for misclassified examples, holds an H×W map per image:
	// how much hiding the patch of a 7×7 grid each pixel lies in lowers
	// the probability of the class the network predicted, 255 for the
	// image's largest fall, 0 where it does not fall (train.OcclusionMaps).
	// Absent after the epochs that skip them (at most a twentieth of a
	// run's time goes to the maps).
	Saliency []byte `json:"saliency,omitempty"`
	// Epoch is the epoch after which misclassified examples and filters
	// were taken.
	Epoch int `json:"epoch,omitempty"`
}

// LRFind is the outcome of an LR range test (train.LRFind): the smoothed
// loss at each rate tried and the rate to train with.
type LRFind struct {
	LR        []float64 `json:"lr"`
	Loss      []float64 `json:"loss"` // smoothed
	Suggested float64   `json:"suggested"`
	Steepest  float64   `json:"steepest"`
	MinLoss   float64   `json:"min_loss"`
	Diverged  bool      `json:"diverged,omitempty"`
}

// WeightsInfo describes a safetensors file that fits a spec.
type WeightsInfo struct {
	Tensors int `json:"tensors"`
	// Params counts trainable values, State the others (batch norm's
	// running averages).
	Params int `json:"params"`
	State  int `json:"state,omitempty"`
	// Model is the model name the file records, when it records one.
	Model string `json:"model,omitempty"`
}

// Evaluation measures a run's weights on the validation and test splits
// of the loaded dataset, in inference mode.
type Evaluation struct {
	// Dataset names the dataset measured.
	Dataset string `json:"dataset"`
	// Step counts the optimizer steps the weights have taken when they
	// come from a run training in the worker; 0 for weights sent with the
	// command.
	Step int `json:"step,omitempty"`
	// Val and Test are nil when the split is empty.
	Val  *Score `json:"val,omitempty"`
	Test *Score `json:"test,omitempty"`
}

// Score is a network's loss and accuracy on one split.
type Score struct {
	Images   int    `json:"images"`
	Loss     Number `json:"loss"`
	Accuracy Number `json:"accuracy"`
	// PerClassAccuracy is each class's recall (null for a class the split
	// lacks); Confusion counts true class (row) against predicted class.
	PerClassAccuracy []Number `json:"per_class_accuracy"`
	Confusion        [][]int  `json:"confusion"`
}

// Number is a measurement that may be missing: NaN and infinities, which
// JSON cannot carry, travel as null and come back as NaN.
type Number float64

// MarshalJSON writes a finite number, or null.
func (n Number) MarshalJSON() ([]byte, error) {
	return appendFloat(nil, float64(n)), nil
}

// UnmarshalJSON reads a number; null reads as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("protocol: %q is not a number", b)
	}
	*n = Number(v)
	return nil
}

// Progress says where a run is.
// Loading counts the images of a dataset read so far, of Total.
type Loading struct {
	Done  int `json:"done"`
	Total int `json:"total"`
	// Workers is how many other workers decode them (0: this one).
	Workers int `json:"workers,omitempty"`
}

// DecodeJob is an image of a dataset for another worker to decode: its
// path, for messages, its EXIF orientation and the dataset's image shape
// (data.ImageJob).
type DecodeJob struct {
	Path        string `json:"path"`
	Orientation int    `json:"orientation"`
	H           int    `json:"h"`
	W           int    `json:"w"`
	C           int    `json:"c"`
}

// Progress is how far a run has trained.
type Progress struct {
	Epoch         int `json:"epoch"` // from 1
	Epochs        int `json:"epochs"`
	Step          int `json:"step"` // optimizer steps so far
	StepsPerEpoch int `json:"steps_per_epoch"`
	// EpochStep counts the steps of the current epoch.
	EpochStep       int     `json:"epoch_step"`
	ImagesPerSecond float64 `json:"images_per_second"`
	Seconds         float64 `json:"seconds"`
	// ETA is the estimated seconds to the end of the planned epochs, or
	// of the run's time limit when that comes first.
	ETA float64 `json:"eta"`
	// TimeShare is the share of the run's time limit
	// (spec.Train.TimeLimitSeconds) used so far; 0 without one.
	TimeShare float64 `json:"time_share,omitempty"`
	LR        float64 `json:"lr"`
	// AugmentStep is the step from which the run trains with an
	// augmentation changed by set_augment; 0 when it kept its own.
	AugmentStep int `json:"augment_step,omitempty"`
	// Memory is the worker's memory when the progress was taken.
	Memory *Memory `json:"memory,omitempty"`
	// With several workers (Command.Workers), Waiting is the share of the
	// training time the worker spent waiting for the others' parts, and
	// OthersBusy the share the others spent computing them (their mean).
	Waiting    float64 `json:"waiting,omitempty"`
	OthersBusy float64 `json:"others_busy,omitempty"`
}

// Memory is how much memory a worker holds, in bytes.
type Memory struct {
	// Linear is the size of the worker's WebAssembly linear memory:
	// everything the Go program holds, the free heap it keeps for reuse
	// included. Linear memory never shrinks, so this is also the peak so
	// far. 0 where there is none (a worker tested on the host).
	Linear int64 `json:"linear"`
	// Heap is the Go heap's objects, live and not yet swept; Live is what
	// the last collection found live, the steadier figure.
	Heap int64 `json:"heap"`
	Live int64 `json:"live"`
	// Dataset is what the loaded dataset's images and labels take.
	Dataset int64 `json:"dataset"`
	// Collected says the figures were taken right after a collection, so
	// Heap and Live are what the worker holds.
	Collected bool `json:"collected,omitempty"`
	// OtherWorkers counts the workers a run with several hands parts of
	// batches to, and Others is their linear memories' sum as their last
	// parts reported it (they hold a replica of the network, not the
	// dataset).
	OtherWorkers int   `json:"other_workers,omitempty"`
	Others       int64 `json:"others,omitempty"`
}

// UseTime sets TimeShare and ETA for a run with a time limit of limit
// seconds that has used used of them: the ETA becomes the time the limit
// leaves when that is shorter. A limit of 0 (none) changes nothing.
func (p *Progress) UseTime(limit, used float64) {
	if !(limit > 0) {
		return
	}
	p.TimeShare = min(1, used/limit)
	p.ETA = min(p.ETA, max(0, limit-used))
}

// Fraction is how much of the planned run is done, 0 to 1: of its
// steps, or of its time limit when that is further along.
func (p Progress) Fraction() float64 {
	total := p.Epochs * p.StepsPerEpoch
	if total <= 0 {
		return min(1, p.TimeShare)
	}
	return min(1, max(float64(p.Step)/float64(total), p.TimeShare))
}

// NewCommand returns a command of this version.
func NewCommand(run, cmd string) Command { return Command{V: Version, Run: run, Cmd: cmd} }

// NewMessage returns a message of this version.
func NewMessage(run, kind string) Message { return Message{V: Version, Run: run, Kind: kind} }

// ErrorMessage returns an error message for run.
func ErrorMessage(run string, err error) Message {
	m := NewMessage(run, KindError)
	m.Error = err.Error()
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		m.Field = fe.Path
	}
	return m
}

// Check reports whether c is a command this version understands.
func (c Command) Check() error {
	if c.V != Version {
		return fmt.Errorf("protocol version %d, this worker speaks version %d: reload the page", c.V, Version)
	}
	for _, k := range Commands {
		if c.Cmd == k {
			return nil
		}
	}
	return fmt.Errorf("unknown command %q", c.Cmd)
}

// Frame splits a command or message into its JSON text and its binary
// payload (the Bytes field), which travel separately; see the package
// documentation.
func Frame(v any) (text []byte, bin []byte, err error) {
	switch x := v.(type) {
	case *Command:
		c := *x
		bin, c.Bytes = c.Bytes, nil
		text, err = json.Marshal(c)
	case *Message:
		m := *x
		if m.Images != nil && m.Images.Pixels != nil {
			im := *m.Images
			bin, im.Pixels = im.Pixels, nil
			m.Images = &im
		} else {
			bin, m.Bytes = m.Bytes, nil
		}
		text, err = json.Marshal(m)
	default:
		return nil, nil, fmt.Errorf("protocol: cannot frame %T", v)
	}
	return text, bin, err
}

// UnframeCommand joins a command's JSON text and binary payload.
func UnframeCommand(text, bin []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(text, &c); err != nil {
		return c, fmt.Errorf("a command that is not JSON: %v", err)
	}
	if bin != nil {
		c.Bytes = bin
	}
	return c, c.Check()
}

// UnframeMessage joins a message's JSON text and binary payload.
func UnframeMessage(text, bin []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(text, &m); err != nil {
		return m, fmt.Errorf("a message that is not JSON: %v", err)
	}
	if m.V != Version {
		return m, fmt.Errorf("message of protocol version %d, the page speaks version %d: reload the page", m.V, Version)
	}
	if bin != nil {
		if m.Images != nil {
			m.Images.Pixels = bin
		} else {
			m.Bytes = bin
		}
	}
	return m, nil
}

// DatasetsPath is where the server lists its datasets (GET, JSON array of
// Listing); each listing's URL serves the dataset as one archive that a
// load command's dataset.url can name. A PUT of a dataset file to
// DatasetsPath/NAME (NAME from UploadName) keeps it in the server's data
// folder, answered with its Listing, for jobs to train on.
const DatasetsPath = "/api/datasets"

// UploadName is the name a dataset file named fileName takes in a server's
// data folder when the page or the command line sends it (PUT
// DatasetsPath/NAME): letters, digits, '.', '_' and '-', other characters
// becoming '-', without a leading '.' or '-', at most 100 bytes. The
// extension, which says the archive's format, is kept.
func UploadName(fileName string) string {
	name := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			return c
		}
		return '-'
	}, fileName)
	name = strings.TrimLeft(name, ".-")
	if len(name) > 100 {
		name = name[len(name)-100:]
		name = strings.TrimLeft(name, ".-")
	}
	return name
}

// Listing is one dataset the server offers.
type Listing struct {
	Name string `json:"name"`
	// Title is what the page shows, with the size when known.
	Title string `json:"title"`
	URL   string `json:"url"`
	// Shape and Classes, TrainSize and TestSize describe the data when the
	// server has read it.
	Shape     []int `json:"shape,omitempty"`
	Classes   int   `json:"classes,omitempty"`
	TrainSize int   `json:"train_size,omitempty"`
	TestSize  int   `json:"test_size,omitempty"`
}
