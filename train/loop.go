package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// Config is everything a run needs.
type Config struct {
	// Spec is the expanded, validated spec to train (spec.Expand, then
	// Validate). Run reads it and never changes it.
	Spec *spec.Spec
	// Dataset supplies the class names, the image shape and the splits.
	Dataset *data.Dataset
	// Splits, when set, are trained on as they are; otherwise Run prepares
	// Dataset's with Prepare.
	Splits *Splits
	// Emit receives every event, in order, on the goroutine that runs the
	// loop; nil drops them. Training waits while Emit runs, so a slow
	// consumer should copy the event and return.
	Emit func(Event)
	// Network, when set, gives the starting weights: a network of the same
	// model, copied, never changed. Otherwise the weights are drawn from
	// the seed.
	Network *nn.Network
	// Checkpoint, when set, is the file that receives a checkpoint after
	// every epoch, replacing the previous one (see Resume).
	Checkpoint string
	// ResumeFrom, when set, is a checkpoint file the run continues from:
	// weights, optimizer state, epoch, step and the early-stopping and
	// schedule state. Network is ignored then.
	ResumeFrom string

	// BeforeStep, when set, runs on the loop's goroutine before every
	// training step, before the loop checks ctx. A caller that shares its
	// thread with the loop (the browser worker) yields there, and blocks
	// there to pause a run; canceling ctx while it blocks stops the run at
	// that step.
	BeforeStep func()
	// Augment, when set, is asked before every step for a new
	// augmentation; a non-nil answer replaces spec.data.augment from that
	// step on (what changes mid-run is not in checkpoints' determinism).
	Augment func() *spec.Augment
	// LRScale, when set, multiplies the scheduled rate of every step from
	// then on, so the rate can be changed while a run trains without
	// changing the schedule's shape. Nil means 1.
	LRScale func() float64
	// Inspect, when set, runs after every epoch event with the network and
	// the normalizer training uses, for reports that need the weights
	// (misclassified examples, first-layer filters). It must not change
	// them, and Forward in inference mode is the only call it may make.
	Inspect func(net *nn.Network, norm *data.Normalizer)
	// Started, when set, runs once before the first step with the network
	// the run trains and its normalizer, so that BeforeStep, which runs on
	// the same goroutine between two steps, can measure the weights as
	// they are (Forward in inference mode, as Inspect).
	Started func(net *nn.Network, norm *data.Normalizer)
	// Shards, when set, compute parts of every training batch (see Shard):
	// the batch is cut into len(Shards)+1 parts and the trainer computes
	// the first. Run does not close them.
	Shards []Shard
	// Doctor, when set, reads every event before it is emitted; what it
	// returns for a start, epoch, val_check or result event becomes that
	// event's Diagnoses (package doctor's Doctor.Observe fits). Without it
	// a result event carries an empty list.
	Doctor func(Event) []Diagnosis
	// ValCheckShare is the most of the training time that validation checks
	// within epochs may take (0: DefaultValCheckShare): after a check that
	// took d, the next waits at least d / ValCheckShare of training, beyond
	// spec.Train.ValCheckSeconds. Negative sets no bound (tests use it to
	// check after every step).
	ValCheckShare float64
	// Now, when set, is the clock of spec.Train.TimeLimitSeconds (tests
	// set one); nil means time.Now.
	Now func() time.Time
}

// Splits are the data a run trains, validates and tests on.
type Splits struct {
	Train, Val, Test data.Split
}

// Result is what a run leaves behind.
type Result struct {
	// Network holds the final weights: the best epoch's when early
	// stopping restores them, the last finite ones after a divergence.
	Network *nn.Network
	// Normalizer turns images into network inputs the way training did.
	Normalizer *data.Normalizer
	// Final is the result event; History holds the epoch events.
	Final   Event
	History []Event
}

// Seed streams: every random choice of a run draws from its own stream,
// derived from spec.Train.Seed, so adding one never shifts another.
const (
	streamInit = iota + 1
	streamImbalance
	streamValidation
	streamLoader
	// streamDropout gives the two seed words of the dropout masks' keys
	// (DropoutSeeds).
	streamDropout
	// streamShardDropout gave each shard's part a dropout stream of its
	// own, before the masks were keyed by the step and the row; it keeps
	// its place so the streams after it keep theirs.
	_
	streamLabelNoise
	streamSubsample
	streamValCheck
)

// deriveSeed derives the seed of one random stream of a run (splitmix64 of
// the run seed, the stream and the epoch). The loader draws epoch e's order
// and augmentations from its seed and e, and dropout's masks are keyed by
// the step (DropoutSeeds), so a run resumed at an epoch boundary draws what
// the uninterrupted run would have.
func deriveSeed(seed int64, stream, epoch int) uint64 {
	x := uint64(seed) ^ uint64(stream)<<48 ^ uint64(epoch)*0x9e3779b97f4a7c15
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// DropoutSeeds are the two words of a run's seed that key its dropout
// masks: the masks of step s (counted from 1, the optimizer's step) are
// nn.DropoutKey{Step: nn.DropoutStepKey(s0, s1, s)}. The GoMLX trainer
// keys its masks so too, and draws the engine's.
func DropoutSeeds(seed int64) (s0, s1 uint32) {
	x := deriveSeed(seed, streamDropout, 0)
	return uint32(x), uint32(x >> 32)
}

// dropoutKey is the key of the masks of the step the trainer takes next,
// for the batch's rows from firstRow on.
func (t *trainer) dropoutKey(firstRow int) nn.DropoutKey {
	return nn.DropoutKey{Step: nn.DropoutStepKey(t.dropoutSeeds[0], t.dropoutSeeds[1], uint32(t.state.Step+1)), FirstRow: firstRow}
}

// LoaderSeed is the seed of a run's data loader (shuffling, oversampling
// and augmentation), so that another trainer given the same spec sees the
// batches in the order train.Run does.
func LoaderSeed(seed int64) uint64 { return deriveSeed(seed, streamLoader, 0) }

// Prepare applies the data spec to a dataset: the train and test limits,
// then the class imbalance and the validation split of the training set,
// then the training fraction of what is left for training, then the
// label noise of both parts, each drawn from the seed. The test set is left
// balanced and correctly labelled, as collected.
func Prepare(d *data.Dataset, s spec.Data, seed int64) Splits {
	size := d.H * d.W * d.C
	train, test := limit(d.Train, s.TrainLimit, size), limit(d.Test, s.TestLimit, size)
	train = data.Imbalance(train, len(d.Classes), s.Imbalance, deriveSeed(seed, streamImbalance, 0))
	var val data.Split
	if s.Validation > 0 && s.Validation < 1 {
		train, val = data.SplitValidation(train, s.Validation, deriveSeed(seed, streamValidation, 0))
	}
	train = subsample(train, len(d.Classes), s.TrainFraction, seed)
	return noisy(Splits{Train: train, Val: val, Test: test}, len(d.Classes), s.LabelNoise, seed)
}

// PrepareInPlace gives the splits Prepare gives without copying the
// training set: the validation examples are moved to the end of d's
// training images in place (data.HoldOut), and the splits are views of
// d's arrays. A class imbalance or a training fraction, when the spec asks
// for one, is still a copy of the examples it keeps, and label noise a
// copy of the labels.
// restore puts d back in its original order; until it is called, d must
// not be prepared or read again.
func PrepareInPlace(d *data.Dataset, s spec.Data, seed int64) (splits Splits, restore func()) {
	size := d.H * d.W * d.C
	train, test := limit(d.Train, s.TrainLimit, size), limit(d.Test, s.TestLimit, size)
	train = data.Imbalance(train, len(d.Classes), s.Imbalance, deriveSeed(seed, streamImbalance, 0))
	restore = func() {}
	var val data.Split
	if s.Validation > 0 && s.Validation < 1 {
		train, val, restore = data.HoldOut(train, s.Validation, deriveSeed(seed, streamValidation, 0))
	}
	train = subsample(train, len(d.Classes), s.TrainFraction, seed)
	return noisy(Splits{Train: train, Val: val, Test: test}, len(d.Classes), s.LabelNoise, seed), restore
}

// subsample keeps data.train_fraction of the training split (a copy,
// when it keeps less than all).
func subsample(train data.Split, classes int, frac float64, seed int64) data.Split {
	return data.Subsample(train, classes, frac, deriveSeed(seed, streamSubsample, 0))
}

// noisy gives frac of the training and of the validation labels another
// class (data.LabelNoise, each split from a seed of its own), after the
// split, so that the same examples are held out as without noise.
func noisy(s Splits, classes int, frac float64, seed int64) Splits {
	s.Train = data.LabelNoise(s.Train, classes, frac, deriveSeed(seed, streamLabelNoise, 0))
	s.Val = data.LabelNoise(s.Val, classes, frac, deriveSeed(seed, streamLabelNoise, 1))
	return s
}

func limit(s data.Split, n, size int) data.Split {
	if n <= 0 || n >= s.Len() {
		return s
	}
	return data.Split{Images: s.Images[:n*size], Labels: s.Labels[:n]}
}

// Run trains the network that cfg.Spec describes and reports through
// cfg.Emit: a start event, step events every train.log_every steps, an
// epoch event after each epoch, and a result event. It returns an error
// when the run cannot start (a spec that does not fit the data, a
// checkpoint that cannot be read) or a checkpoint cannot be written, in
// which case the run stops after emitting its result; a run that diverges,
// stops early or is canceled through ctx ends normally, with Final.Stopped
// saying which.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	t, err := newTrainer(cfg)
	if err != nil {
		return nil, err
	}
	return t.run(ctx)
}

// trainer is one run in progress. Everything the training step touches is
// allocated in newTrainer, so a step allocates nothing.
type trainer struct {
	cfg     Config
	spec    *spec.Spec
	tr      spec.Train
	classes int
	splits  Splits

	net          *nn.Network
	dropoutSeeds [2]uint32 // DropoutSeeds of the run's seed
	opt          Optimizer
	groups       []Group
	slots        [][]float32 // the optimizer's state, aligned with Grads
	norm         *data.Normalizer
	loader       *data.Loader
	classWeights []float32

	x       []float32
	y       []int32
	dlogits []float32

	state         Progress
	stepsPerEpoch int
	bestValues    []float32 // the best epoch's weights, for restore_best
	goodValues    []float32 // the weights at the last epoch end
	emitted       []Event
	// confidentWrong counts the epoch's confidently wrong training
	// predictions (Event.ConfidentWrong).
	confidentWrong int

	// stepCorrect counts the current step's right predictions, shardGrads
	// receives a shard's gradient, and shardErr is the failure of a shard
	// that ended the run.
	stepCorrect int
	shardGrads  []float32
	shardErr    error
	// normParts is set when the network has batch norm, whose parts of a
	// batch keep minNormRows rows or more (parts).
	normParts bool
	// evalLogits receives a shard's logits in an evaluation; hasValues
	// says which shards hold the weights being evaluated.
	evalLogits []float32
	hasValues  []bool
	// checkSplit is the part of the validation split a check within an
	// epoch measures (ValCheckSplit).
	checkSplit data.Split
	// limit keeps the run within spec.Train.TimeLimitSeconds.
	limit *TimeLimit
	// resumeCut is the part of its first epoch a resumed run trained
	// before (Progress.Cut).
	resumeCut *EpochCut
}

// Progress is how far a run has come: what a checkpoint must carry besides
// weights and optimizer slots to continue a run exactly.
type Progress struct {
	Epoch     int // completed epochs
	Step      int // optimizer steps taken
	Plateau   PlateauState
	Best      float64 // best monitored value so far
	BestEpoch int
	Wait      int // epochs since the best
	// Seconds and TrainSeconds are the wall time so far, and the part of it
	// spent training; Images counts training examples seen.
	Seconds      float64
	TrainSeconds float64
	Images       int
	// FirstLoss is the first step's loss (at least ln classes), the yardstick
	// of an exploding loss.
	FirstLoss float64
	// TimeUsed is the run's time as spec.Train.TimeLimitSeconds counts it,
	// and TimeReserve the time the latest epoch's validation took (see
	// TimeLimit), in seconds.
	TimeUsed, TimeReserve float64
	// Cut is the part of the last epoch trained when the run ended within
	// it (at its time limit), nil when that epoch was whole. A resumed run
	// trains the rest of the epoch and reports it whole, as its epoch
	// Epoch; until then Epoch counts the cut epoch among those completed.
	Cut *EpochCut
}

// An EpochCut is an epoch a run ended within: its batches trained and what
// they measured, and the early-stopping and plateau memory as it stood
// before the cut epoch's event. The event a resumed run reports for the
// whole epoch measures its weight change from the cut.
type EpochCut struct {
	Steps          int     // the epoch's batches trained
	Train          Running // their loss and accuracy
	NormSum        float64 // Σ of their gradient norms
	ConfidentWrong int     // their confidently wrong predictions
	// TrainSeconds is the time the batches took; Seconds the epoch's time
	// up to its validation.
	TrainSeconds, Seconds float64

	Best      float64
	BestEpoch int
	Wait      int
	Plateau   PlateauState
	// BestValues are the best weights before the cut epoch when its event
	// replaced them (restore_best), else nil.
	BestValues []float32
}

// explosion is how many times the first step's loss a loss may reach
// before the run counts as diverged. Cross-entropy that grows a
// thousandfold means logits in the thousands: the weights are running
// away, and a NaN is usually a few steps off.
const explosion = 1000

func newTrainer(cfg Config) (*trainer, error) {
	if cfg.Spec == nil || cfg.Dataset == nil {
		return nil, errors.New("train: a run needs a spec and a dataset")
	}
	s, d := cfg.Spec, cfg.Dataset
	m, tr := s.Model, s.Train
	if len(m.Input) != 3 || m.Input[0] != d.H || m.Input[1] != d.W || m.Input[2] != d.C {
		return nil, fmt.Errorf("model.input %v does not match the %s images, which are %d×%d×%d: set model.input to [%d, %d, %d]", m.Input, d.Name, d.H, d.W, d.C, d.H, d.W, d.C)
	}
	if m.Classes != len(d.Classes) {
		return nil, fmt.Errorf("model.classes is %d but %s has %d classes: set model.classes to %d", m.Classes, d.Name, len(d.Classes), len(d.Classes))
	}
	if tr.BatchSize < 1 {
		return nil, fmt.Errorf("train.batch_size %d must be at least 1", tr.BatchSize)
	}
	if tr.Epochs < 1 {
		return nil, fmt.Errorf("train.epochs %d must be at least 1", tr.Epochs)
	}
	if !(tr.LR > 0) {
		return nil, fmt.Errorf("train.lr %g must be positive", tr.LR)
	}
	if err := CheckSchedule(tr.Schedule); err != nil {
		return nil, err
	}
	if mon := tr.EarlyStopping.Monitor; mon != "" && mon != "val_loss" && mon != "val_accuracy" {
		return nil, fmt.Errorf("train.early_stopping.monitor %q must be val_loss or val_accuracy", mon)
	}
	opt, err := NewOptimizer(tr)
	if err != nil {
		return nil, err
	}
	if opt.Slots() > nn.MaxOptimizerSlots {
		panic("train: optimizer needs more slots than the network reserves")
	}

	t := &trainer{cfg: cfg, spec: s, tr: tr, classes: m.Classes, opt: opt}
	t.dropoutSeeds[0], t.dropoutSeeds[1] = DropoutSeeds(tr.Seed)
	if cfg.Splits != nil {
		t.splits = *cfg.Splits
	} else {
		t.splits = Prepare(d, s.Data, tr.Seed)
	}
	if t.splits.Train.Len() == 0 {
		return nil, fmt.Errorf("the training split of %s is empty", d.Name)
	}

	t.net, err = nn.New(m, tr.BatchSize, deriveSeed(tr.Seed, streamInit, 0))
	if err != nil {
		return nil, fmt.Errorf("building the network: %v", err)
	}
	if cfg.Network != nil && cfg.ResumeFrom == "" {
		if err := copyWeights(t.net, cfg.Network); err != nil {
			return nil, err
		}
	}
	t.slots = t.net.OptimizerSlots(opt.Slots())
	t.groups = groupsOf(t.net, t.slots)

	t.norm, err = data.NewNormalizer(s.Data.Normalization, t.splits.Train, d.C)
	if err != nil {
		return nil, fmt.Errorf("data.normalization: %v", err)
	}
	var aug *data.Augmenter
	if s.Data.Augment.On() {
		aug, err = data.NewAugmenter(s.Data.Augment, d.H, d.W, d.C)
		if err != nil {
			return nil, err
		}
	}
	switch s.Data.Balance {
	case "", "none", "oversample":
	case "class_weights":
		t.classWeights = data.ClassWeights(data.ClassCounts(t.splits.Train, t.classes))
	default:
		return nil, fmt.Errorf("data.balance %q must be none, oversample or class_weights", s.Data.Balance)
	}
	t.loader = data.NewLoader(t.splits.Train, tr.BatchSize, t.norm, aug, data.LoaderOptions{
		Shuffle:    true,
		Oversample: s.Data.Balance == "oversample",
		Classes:    t.classes,
		Seed:       deriveSeed(tr.Seed, streamLoader, 0),
		H:          d.H, W: d.W, C: d.C,
	})
	t.stepsPerEpoch = t.loader.Steps()

	size := d.H * d.W * d.C
	t.x = make([]float32, tr.BatchSize*size)
	t.y = make([]int32, tr.BatchSize)
	t.dlogits = make([]float32, tr.BatchSize*t.classes)
	if err := t.initShards(); err != nil {
		return nil, err
	}
	t.goodValues = slices.Clone(t.net.Values())
	if tr.EarlyStopping.RestoreBest {
		t.bestValues = make([]float32, len(t.goodValues))
	}
	t.state = Progress{Plateau: NewPlateauState(), Best: math.NaN()}

	if cfg.ResumeFrom != "" {
		if err := t.resume(cfg.ResumeFrom); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func copyWeights(dst, src *nn.Network) (err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("the starting network has different layers or shapes than model: train it from scratch or use its spec")
		}
	}()
	dst.CopyWeightsFrom(src)
	return nil
}

// groupsOf cuts the network's trainable arena into runs of parameters with
// the same Decay, so each optimizer loop runs over a few long slices.
func groupsOf(net *nn.Network, slots [][]float32) []Group {
	values, grads := net.Values(), net.Grads()
	var groups []Group
	start, off := 0, 0
	flush := func(end int, decay bool) {
		if end == start {
			return
		}
		g := Group{Value: values[start:end:end], Grad: grads[start:end:end], Decay: decay}
		for _, s := range slots {
			g.Slots = append(g.Slots, s[start:end:end])
		}
		groups = append(groups, g)
		start = end
	}
	params := net.Trainable()
	for i, p := range params {
		if len(p.Value) > 0 && &p.Value[0] != &values[off] {
			panic("train: trainable parameters do not tile the network's arena")
		}
		if i > 0 && p.Decay != params[i-1].Decay {
			flush(off, params[i-1].Decay)
		}
		off += len(p.Value)
	}
	if len(params) > 0 {
		flush(off, params[len(params)-1].Decay)
	}
	return groups
}

// emit sends e, with the doctor's findings when one is set, and returns
// what it sent.
func (t *trainer) emit(e Event) Event {
	if t.cfg.Doctor != nil {
		switch d := t.cfg.Doctor(e); e.Event {
		case EventStart, EventEpoch, EventResult, EventValCheck:
			// A check carries a reading only before the first epoch's
			// end; after it, nil: the epochs' findings stand.
			e.Diagnoses = d
		}
	}
	if e.Event == EventResult && e.Diagnoses == nil {
		e.Diagnoses = []Diagnosis{}
	}
	if e.Event == EventEpoch {
		t.emitted = append(t.emitted, e)
	}
	if t.cfg.Emit != nil {
		t.cfg.Emit(e)
	}
	return e
}

// trainStep trains on the batch in t.x, t.y: forward, loss, backward,
// L1/L2, clipping and the optimizer's update. It allocates nothing. A
// loss that is not finite or above lossLimit, or a non-finite gradient
// norm, skips the update and is returned for the caller to report.
func (t *trainer) trainStep(n int, lr float64) (loss float64, correct int, gradNorm float64) {
	t.net.ZeroGrads()
	t.stepCorrect = 0
	var ok bool
	if len(t.cfg.Shards) == 0 {
		loss, ok = t.ownPart(n)
	} else {
		var err error
		loss, ok, err = t.shardedStep(n)
		if err != nil {
			t.shardErr = err
			return math.NaN(), t.stepCorrect, 0
		}
	}
	correct = t.stepCorrect
	if !ok || !finite(loss) || loss > t.lossLimit() {
		return loss, correct, 0
	}
	Regularize(t.groups, t.tr.L1, t.tr.L2)
	gradNorm = ClipGlobalNorm(t.groups, t.tr.GradClip)
	if !finite(gradNorm) {
		return loss, correct, gradNorm
	}
	t.state.Step++
	t.opt.Step(t.groups, lr, t.state.Step)
	return loss, correct, gradNorm
}

// ownPart runs the forward and backward pass of the first rows of the
// batch in t.x, t.y on the trainer's network, counting its right
// predictions into stepCorrect, and returns its mean loss and whether the
// backward pass ran (not for a loss that is not finite or above
// lossLimit).
func (t *trainer) ownPart(rows int) (loss float64, ok bool) {
	t.net.SetDropout(t.dropoutKey(0))
	logits := t.net.Forward(t.x, rows, true)
	correct, wrong := tally(logits, t.y, rows, t.classes)
	t.stepCorrect += correct
	t.confidentWrong += wrong
	loss = nn.SoftmaxCrossEntropy(t.dlogits, logits, t.y, t.classWeights, t.tr.LabelSmoothing, rows, t.classes)
	if !finite(loss) || loss > t.lossLimit() {
		return loss, false
	}
	t.net.Backward(t.dlogits)
	return loss, true
}

// tally counts the rows of logits whose argmax is their label, and the
// confidently wrong ones among the others.
func tally(logits []float32, y []int32, rows, classes int) (correct, confidentWrong int) {
	for i := range rows {
		row := logits[i*classes : (i+1)*classes]
		if p := Argmax(row); p == int(y[i]) {
			correct++
		} else if confident(row, p) {
			confidentWrong++
		}
	}
	return correct, confidentWrong
}

// confident reports whether the softmax of logits gives class p (the
// argmax) a probability of at least ConfidentProbability.
func confident(logits []float32, p int) bool {
	top := float64(logits[p])
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - top)
	}
	return 1/sum >= ConfidentProbability
}

// lossLimit is the loss above which a run counts as diverged.
func (t *trainer) lossLimit() float64 { return LossLimit(t.state.FirstLoss) }

// LossLimit is the loss above which a run whose first step's loss was
// firstLoss counts as diverged: explosion times it, no limit before the
// first step (firstLoss 0).
func LossLimit(firstLoss float64) float64 {
	if firstLoss == 0 {
		return math.Inf(1)
	}
	return explosion * firstLoss
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// FiniteAll reports whether every value is neither NaN nor infinite.
func FiniteAll(xs []float32) bool {
	for _, v := range xs {
		if v-v != 0 { // NaN or ±Inf
			return false
		}
	}
	return true
}

// setAugment replaces the loader's augmentation from the next batch on.
func (t *trainer) setAugment(a spec.Augment) error {
	var aug *data.Augmenter
	if a.On() {
		var err error
		d := t.cfg.Dataset
		if aug, err = data.NewAugmenter(a, d.H, d.W, d.C); err != nil {
			return fmt.Errorf("data.augment: %v", err)
		}
	}
	t.loader.SetAugmenter(aug)
	s := t.spec.Clone() // the caller's spec stays as it was
	s.Data.Augment = a
	t.spec = s
	return nil
}

// lr is the rate of step i of epoch e (both from 0).
func (t *trainer) lr(epoch, i int) float64 {
	s := t.tr.Schedule
	pos := float64(epoch) + float64(i)/float64(t.stepsPerEpoch)
	if t.limit != nil {
		pos = t.limit.Position(pos, t.tr.Epochs)
	}
	r := LR(s, t.tr.LR, pos, t.tr.Epochs)
	if t.cfg.LRScale != nil {
		r *= t.cfg.LRScale()
	}
	return t.state.Plateau.Apply(s, r)
}

// StartEvent is the start event of a run of spec s on d's splits, with
// trainable parameters and steps per epoch: the splits' sizes, the
// training class counts, the statistics of the first batch as the
// normalizer gives it to the network, duplicates across the splits, and
// whether flipped training images still look like their class (Mirror).
// Every trainer emits it; the caller sets what only it knows (workers, the
// epoch and step a resumed run goes on from).
func StartEvent(d *data.Dataset, splits Splits, norm *data.Normalizer, s *spec.Spec, trainable, stepsPerEpoch int) Event {
	size := d.H * d.W * d.C
	first := min(splits.Train.Len(), s.Train.BatchSize)
	sample := make([]float32, first*size)
	norm.Apply(sample, splits.Train.Images[:first*size])
	stats := InputStatistics(sample)
	return Event{
		Event:          EventStart,
		Dataset:        d.Name,
		Classes:        d.Classes,
		InputShape:     []int{d.H, d.W, d.C},
		TrainSize:      splits.Train.Len(),
		ValSize:        splits.Val.Len(),
		TestSize:       splits.Test.Len(),
		ClassCounts:    data.ClassCounts(splits.Train, s.Model.Classes),
		Params:         trainable,
		BatchSize:      s.Train.BatchSize,
		StepsPerEpoch:  stepsPerEpoch,
		Epochs:         s.Train.Epochs,
		Input:          &stats,
		ValDuplicates:  Duplicates(splits.Train, splits.Val),
		TestDuplicates: Duplicates(splits.Train, splits.Test),
		Mirror:         Mirror(splits.Train, d.H, d.W, d.C, s.Model.Classes),
	}
}

func (t *trainer) run(ctx context.Context) (*Result, error) {
	d := t.cfg.Dataset
	trainable, _ := t.net.ParamCount()
	start := StartEvent(d, t.splits, t.norm, t.spec, trainable, t.stepsPerEpoch)
	start.Workers, start.Epoch, start.Step = t.workers(), t.state.Epoch, t.state.Step
	t.emit(start)

	if t.cfg.Started != nil {
		t.cfg.Started(t.net, t.norm)
	}
	stopped, reason := StoppedCompleted, ""
	logEvery := t.tr.LogEvery
	if logEvery <= 0 {
		logEvery = 50
	}
	runStart := time.Now()
	priorSeconds := t.state.Seconds
	var err error
	lr := t.lr(t.state.Epoch, 0)
	// Validation checks within an epoch come after checkEvery of training
	// time (pauses and the checks themselves not counted), until the last
	// tenth of the epoch, whose end measures the whole split anyway.
	// A check that took d makes the next wait d / share of training too.
	var checkEvery, checkWait time.Duration
	if t.tr.ValCheckSeconds > 0 && t.splits.Val.Len() > 0 {
		checkEvery = time.Duration(t.tr.ValCheckSeconds * float64(time.Second))
		checkWait = checkEvery
		t.checkSplit = ValCheckSplit(t.splits.Val, t.classes, t.tr.Seed)
	}
	share := t.cfg.ValCheckShare
	if share == 0 {
		share = DefaultValCheckShare
	}
	t.limit = NewTimeLimit(t.tr.TimeLimitSeconds, t.state.TimeUsed, t.state.TimeReserve, t.cfg.Now)
	t.limit.Start()
	timeUp := false
epochs:
	for epoch := t.state.Epoch; epoch < t.tr.Epochs; epoch++ {
		epochStart := time.Now()
		t.loader.Epoch(epoch)
		// Step events average over the steps since the previous one in the
		// same epoch, so a resumed run reports what the whole run did.
		var running, window Running
		var normSum float64
		var sinceCheck, checking time.Duration
		t.confidentWrong = 0
		i := 0
		// An epoch the run ended within before goes on after its batches
		// trained then, and is reported whole.
		var before EpochCut
		if cut := t.resumeCut; cut != nil {
			t.resumeCut = nil
			before = *cut
			i = t.loader.Skip(cut.Steps)
			running, normSum, t.confidentWrong = cut.Train, cut.NormSum, cut.ConfidentWrong
		}
		for {
			if t.cfg.BeforeStep != nil {
				t.limit.Stop() // a pause is not the run's time
				t.cfg.BeforeStep()
				t.limit.Start()
			}
			if t.cfg.Augment != nil {
				if a := t.cfg.Augment(); a != nil {
					if err = t.setAugment(*a); err != nil {
						break epochs
					}
				}
			}
			if ctx.Err() != nil {
				stopped = StoppedCanceled
				break epochs
			}
			stepStart := time.Now()
			n := t.loader.Next(t.x, t.y)
			if n == 0 {
				break
			}
			lr = t.lr(epoch, i)
			loss, correct, norm := t.trainStep(n, lr)
			sinceCheck += time.Since(stepStart)
			if t.shardErr != nil {
				return nil, t.shardErr
			}
			if !finite(loss) || !finite(norm) || loss > t.lossLimit() {
				stopped, reason = StoppedDiverged, t.divergence(loss, norm, epoch, lr)
				// The steps since the last step event, the exploding
				// loss among them when it is a number: the curve shows
				// the explosion, however early it came.
				if finite(loss) {
					window.Add(loss, correct, n)
				}
				if window.Count > 0 {
					t.emit(Event{Event: EventStep, Epoch: epoch + 1, Step: t.state.Step, Loss: window.Loss(), Accuracy: window.Accuracy(), LR: lr})
				}
				break epochs
			}
			if t.state.FirstLoss == 0 {
				t.state.FirstLoss = max(loss, math.Log(float64(t.classes)))
			}
			running.Add(loss, correct, n)
			window.Add(loss, correct, n)
			normSum += norm
			i++
			if t.state.Step%logEvery == 0 {
				t.emit(Event{Event: EventStep, Epoch: epoch + 1, Step: t.state.Step, Loss: window.Loss(), Accuracy: window.Accuracy(), LR: lr})
				window.Reset()
			}
			if checkEvery > 0 && sinceCheck >= checkWait && 10*i < 9*t.stepsPerEpoch {
				checkStart := time.Now()
				// The latest step's layer statistics, before the check's
				// forward passes replace its activations: the doctor
				// reads them before the first epoch's end.
				layers := t.layerStats()
				valLoss, valAcc, _ := t.evaluate(t.checkSplit)
				if t.shardErr != nil {
					return nil, t.shardErr
				}
				took := time.Since(checkStart)
				t.emit(Event{Event: EventValCheck, Epoch: epoch + 1, Step: t.state.Step, ValLoss: valLoss, ValAccuracy: valAcc, ValSize: t.checkSplit.Len(), Layers: layers})
				checking += took
				sinceCheck = 0
				checkWait = checkEvery
				if share > 0 {
					checkWait = max(checkEvery, time.Duration(float64(took)/share))
				}
			}
			if t.limit.Up() {
				timeUp = true
				break
			}
		}
		// The epoch's steps since its last step event: the step curves
		// reach the end of every epoch, not the last multiple of LogEvery.
		if window.Count > 0 {
			t.emit(Event{Event: EventStep, Epoch: epoch + 1, Step: t.state.Step, Loss: window.Loss(), Accuracy: window.Accuracy(), LR: lr})
		}
		trainTime := time.Since(epochStart) - checking
		t.state.TrainSeconds += trainTime.Seconds()
		t.state.Images += running.Count - before.Train.Count
		epochTrain := trainTime + fromSeconds(before.TrainSeconds)
		layers := t.layerStats()
		if !FiniteAll(t.net.Values()) {
			stopped = StoppedDiverged
			reason = fmt.Sprintf("the weights became NaN or Inf in epoch %d with lr %.3g; %s", epoch+1, lr, DivergenceAdvice(t.spec))
			break
		}

		untilVal := time.Since(epochStart) + fromSeconds(before.Seconds)
		valStart := t.limit.Now()
		valLoss, valAcc, conf := t.evaluate(t.splits.Val)
		if t.splits.Val.Len() > 0 {
			t.limit.Reserve(t.limit.Now().Sub(valStart))
		}
		e := Event{
			Event: EventEpoch, Epoch: epoch + 1, Step: t.state.Step,
			TrainLoss: running.Loss(), TrainAccuracy: running.Accuracy(),
			ValLoss: valLoss, ValAccuracy: valAcc, LR: lr,
			ImagesPerSecond: Throughput(running.Count, epochTrain),
			GradNorm:        normSum / float64(max(i, 1)),
			Layers:          layers,
			WeightChange:    RelativeChange(t.net.Values(), t.goodValues),
		}
		if running.Count > 0 {
			e.ConfidentWrong = float64(t.confidentWrong) / float64(running.Count)
		}
		if conf != nil {
			e.PerClassAccuracy, e.Confusion = conf.Recall(), conf.Matrix()
		}
		// A run that ends within the epoch keeps what a resumed run needs
		// to train the rest of it.
		var cut *EpochCut
		if timeUp && i < t.stepsPerEpoch {
			cut = &EpochCut{Steps: i, Train: running, NormSum: normSum, ConfidentWrong: t.confidentWrong,
				TrainSeconds: epochTrain.Seconds(), Seconds: untilVal.Seconds(),
				Best: t.state.Best, BestEpoch: t.state.BestEpoch, Wait: t.state.Wait, Plateau: t.state.Plateau}
			if t.bestValues != nil && t.state.BestEpoch > 0 {
				cut.BestValues = slices.Clone(t.bestValues)
			}
		}
		e.Improved = t.observe(e)
		if cut != nil && !e.Improved {
			cut.BestValues = nil // best/values still holds them
		}
		plateauLoss := valLoss
		if t.splits.Val.Len() == 0 {
			plateauLoss = e.TrainLoss
		}
		e.LRReduced = t.state.Plateau.Observe(t.tr.Schedule, plateauLoss)
		t.state.Epoch = epoch + 1
		t.state.Seconds = priorSeconds + time.Since(runStart).Seconds()
		t.state.TimeUsed, t.state.TimeReserve = t.limit.Used().Seconds(), t.limit.Reserved().Seconds()
		t.state.Cut = cut
		e.Seconds = (time.Since(epochStart) + fromSeconds(before.Seconds)).Seconds()
		t.emit(e)
		if t.cfg.Inspect != nil {
			t.cfg.Inspect(t.net, t.norm)
		}
		copy(t.goodValues, t.net.Values())
		if t.cfg.Checkpoint != "" {
			if err = t.saveCheckpoint(t.cfg.Checkpoint); err != nil {
				stopped, reason = StoppedCanceled, fmt.Sprintf("writing the checkpoint failed: %v", err)
				break
			}
		}
		if es := t.tr.EarlyStopping; es.Patience > 0 && t.state.Wait >= es.Patience {
			stopped = StoppedEarlyStopping
			reason = fmt.Sprintf("%s did not improve for %d epochs; the best was epoch %d", t.monitor(), t.state.Wait, t.state.BestEpoch)
			break
		}
		// The limit ends the run unless it came at the last step of all.
		if timeUp && (epoch+1 < t.tr.Epochs || i < t.stepsPerEpoch) {
			stopped, reason = StoppedTimeLimit, t.limit.Reason(epoch+1, t.tr.Epochs)
			break
		}
	}
	t.limit.Stop()

	switch {
	case stopped == StoppedDiverged:
		copy(t.net.Values(), t.goodValues)
		reason += "; " + DivergedWeights(t.state.Epoch)
	case t.bestValues != nil && t.state.BestEpoch > 0 && t.state.BestEpoch != t.state.Epoch:
		copy(t.net.Values(), t.bestValues)
		if reason != "" {
			reason += fmt.Sprintf("; restored the weights of epoch %d", t.state.BestEpoch)
		}
	}
	t.state.Seconds = priorSeconds + time.Since(runStart).Seconds()
	final := Event{
		Event: EventResult, TestLoss: math.NaN(), TestAccuracy: math.NaN(),
		Epochs: t.state.Epoch, BestEpoch: t.state.BestEpoch,
		Seconds:         t.state.Seconds,
		ImagesPerSecond: Throughput(t.state.Images, time.Duration(t.state.TrainSeconds*float64(time.Second))),
		Stopped:         stopped, Reason: reason,
	}
	if stopped != StoppedCanceled {
		var conf *Confusion
		final.TestLoss, final.TestAccuracy, conf = t.evaluate(t.splits.Test)
		if conf != nil {
			final.PerClassAccuracy, final.Confusion = conf.Recall(), conf.Matrix()
		}
	}
	final = t.emit(final)
	return &Result{Network: t.net, Normalizer: t.norm, Final: final, History: t.emitted}, err
}

// DefaultValCheckShare is Config.ValCheckShare when unset: checks take at
// most a twentieth of the training time. In node, a check of 1,000
// images took mnist-cnn 2.3 s, and checks every 5 s cost 30% of the
// steps of 40 s of training (BENCHMARKS.md).
const DefaultValCheckShare = 0.05

// ValCheckSplit is the part of a validation split that a check within an
// epoch measures: all of it up to spec.ValCheckImages images, else a
// stratified sample of about that many, drawn from the run's seed.
func ValCheckSplit(val data.Split, classes int, seed int64) data.Split {
	if val.Len() <= spec.ValCheckImages {
		return val
	}
	return data.Subsample(val, classes, float64(spec.ValCheckImages)/float64(val.Len()), deriveSeed(seed, streamValCheck, 0))
}

// RelativeChange is ‖now − before‖ / ‖before‖, Event.WeightChange (0 when
// before is all zero).
func RelativeChange(now, before []float32) float64 {
	var diff, base float64
	for i, v := range before {
		d := float64(now[i]) - float64(v)
		diff += d * d
		base += float64(v) * float64(v)
	}
	if base == 0 {
		return 0
	}
	return math.Sqrt(diff / base)
}

func (t *trainer) layerStats() []LayerStats { return LayerStatsOf(t.net) }

// LayerStatsOf is the per-layer statistics of a network's last Forward and
// Backward, as epoch events carry them.
func LayerStatsOf(net *nn.Network) []LayerStats {
	src := net.LayerStats()
	out := make([]LayerStats, len(src))
	for i, s := range src {
		out[i] = LayerStats{Name: s.Name, Type: s.Type, GradNorm: s.GradNorm, WeightNorm: s.WeightNorm,
			DeadFraction: s.DeadFraction, ActMean: s.ActMean, ActStd: s.ActStd}
	}
	return out
}

// divergence explains a non-finite loss or gradient and what to change.
func (t *trainer) divergence(loss, norm float64, epoch int, lr float64) string {
	return Divergence(t.spec, loss, norm, t.state.FirstLoss, t.state.Step+1, epoch, lr)
}

// Divergence explains why a run of s diverged at step (counted from 1) of
// epoch (from 0) with learning rate lr, and what to change: a non-finite
// loss, a loss above LossLimit(firstLoss), or else a non-finite gradient
// norm.
func Divergence(s *spec.Spec, loss, norm, firstLoss float64, step, epoch int, lr float64) string {
	var what string
	switch {
	case !finite(loss):
		what = fmt.Sprintf("loss became %s", nonFinite(loss))
	case loss > LossLimit(firstLoss):
		what = fmt.Sprintf("loss exploded to %.3g (first step: %.3g)", loss, firstLoss)
	default:
		what = fmt.Sprintf("gradient norm became %s", nonFinite(norm))
	}
	return fmt.Sprintf("%s at step %d (epoch %d) with lr %.3g; %s", what, step, epoch+1, lr, DivergenceAdvice(s))
}

func nonFinite(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return "Inf"
}

// DivergedWeights says which weights a diverged run ends with, and so
// what its test measures: those of its last finished epoch, epochs, or the
// initial ones when it finished none.
func DivergedWeights(epochs int) string {
	if epochs == 0 {
		return "the test measures the initial weights, since no epoch finished"
	}
	return fmt.Sprintf("the test measures the weights of epoch %d, the last one finished", epochs)
}

// DivergenceAdvice is what to change in s after its run diverged.
func DivergenceAdvice(sp *spec.Spec) string {
	s := fmt.Sprintf("lower train.lr (try %.3g)", sp.Train.LR/10)
	if sp.Data.Normalization == data.Raw {
		s += " or normalize the inputs (data.normalization scale01 or standardize)"
	} else if sp.Train.GradClip == 0 {
		s += " or clip gradients (train.grad_clip 1)"
	}
	return s
}

func (t *trainer) monitor() string {
	return Monitor(t.tr.EarlyStopping, t.splits.Val.Len() > 0)
}

// Monitor is the metric early stopping watches: the spec's monitor
// (val_loss by default), or its training counterpart when the run has no
// validation split.
func Monitor(es spec.EarlyStopping, hasVal bool) string {
	m := es.Monitor
	if m == "" {
		m = "val_loss"
	}
	if !hasVal {
		m = "train" + m[len("val"):]
	}
	return m
}

// Improves reports whether an epoch's value of the monitored metric beats
// best (NaN before the first epoch) by more than minDelta, as Keras's
// EarlyStopping counts it; a value that is not finite never does.
func Improves(monitor string, e Event, best, minDelta float64) (v float64, better bool) {
	switch monitor {
	case "val_loss":
		v = e.ValLoss
	case "val_accuracy":
		v = e.ValAccuracy
	case "train_loss":
		v = e.TrainLoss
	default:
		v = e.TrainAccuracy
	}
	delta := math.Abs(minDelta)
	switch {
	case !finite(v):
		better = false
	case math.IsNaN(best):
		better = true
	case monitor == "val_loss" || monitor == "train_loss":
		better = v < best-delta
	default:
		better = v > best+delta
	}
	return v, better
}

// observe updates the early-stopping memory with an epoch's metrics and
// reports whether the monitored one reached a new best.
func (t *trainer) observe(e Event) bool {
	v, better := Improves(t.monitor(), e, t.state.Best, t.tr.EarlyStopping.MinDelta)
	if !better {
		t.state.Wait++
		return false
	}
	t.state.Best, t.state.BestEpoch, t.state.Wait = v, e.Epoch, 0
	if t.bestValues != nil {
		copy(t.bestValues, t.net.Values())
	}
	return true
}

// evaluate measures a split with the trainer's buffers, and its shards
// when it has some.
func (t *trainer) evaluate(s data.Split) (loss, accuracy float64, conf *Confusion) {
	if len(t.cfg.Shards) > 0 {
		return t.shardedEvaluate(s)
	}
	return evaluate(t.net, t.norm, s, t.tr.LabelSmoothing, t.x)
}

// Evaluate measures a network on a split in inference mode, without
// augmentation, class weights or dropout, in batches of the network's
// maximum batch. smoothing is the label smoothing the loss uses (training
// reports validation losses with it, so that they compare with training's).
// An empty split gives NaN and no confusion matrix.
func Evaluate(net *nn.Network, norm *data.Normalizer, s data.Split, smoothing float64) (loss, accuracy float64, conf *Confusion) {
	return evaluate(net, norm, s, smoothing, make([]float32, net.MaxBatch()*net.InputSize()))
}

func evaluate(net *nn.Network, norm *data.Normalizer, s data.Split, smoothing float64, x []float32) (loss, accuracy float64, conf *Confusion) {
	if s.Len() == 0 {
		return math.NaN(), math.NaN(), nil
	}
	batch, size, classes := net.MaxBatch(), net.InputSize(), net.Classes()
	conf = NewConfusion(classes)
	var r Running
	for i := 0; i < s.Len(); i += batch {
		n := min(batch, s.Len()-i)
		norm.Apply(x[:n*size], s.Images[i*size:(i+n)*size])
		labels := s.Labels[i : i+n]
		logits := net.Forward(x, n, false)
		l := nn.SoftmaxCrossEntropy(nil, logits, labels, nil, smoothing, n, classes)
		r.Add(l, conf.Add(logits, labels, n), n)
	}
	return r.Loss(), r.Accuracy(), conf
}
