package doctor

import (
	"math"
	"slices"
	"strings"

	"plateau/spec"
	"plateau/train"
)

// Causes, the value of train.Diagnosis.Cause, one per rule.
const (
	BlankInputs           = "blank_inputs"
	UnnormalizedInput     = "unnormalized_input"
	LRTooHigh             = "lr_too_high"
	LRTooLow              = "lr_too_low"
	Overfitting           = "overfitting"
	Underfitting          = "underfitting"
	ClassImbalance        = "class_imbalance"
	AugmentationTooStrong = "augmentation_too_strong"
	VanishingGradients    = "vanishing_gradients"
	ExplodingGradients    = "exploding_gradients"
	DeadReLU              = "dead_relu"
	PlateauNeedsLRDrop    = "plateau_needs_lr_drop"
	BatchSize             = "batch_size"
	BatchNormStatistics   = "batchnorm_statistics"
	ValSetTooSmall        = "val_set_too_small"
	LabelNoise            = "label_noise"
	TrainValLeakage       = "train_val_leakage"
	ClassConfusion        = "class_confusion"
	TestShift             = "test_shift"
	StillLearning         = "still_learning"
)

// Threshold is the confidence below which a finding is not reported: a
// healthy run gets an empty list.
const Threshold = 0.3

// Rule is one cause the doctor knows: Check reads the telemetry and
// returns a finding, or nil when the evidence is absent or too thin.
type Rule struct {
	Cause string
	Check func(t *Telemetry) *train.Diagnosis
}

// Rules lists every rule, in the order ties are reported.
var Rules = []Rule{
	{BlankInputs, checkBlankInputs},
	{TrainValLeakage, checkTrainValLeakage},
	{UnnormalizedInput, checkUnnormalizedInput},
	{LRTooHigh, checkLRTooHigh},
	{ExplodingGradients, checkExplodingGradients},
	{VanishingGradients, checkVanishingGradients},
	{DeadReLU, checkDeadReLU},
	{BatchSize, checkBatchSize},
	{BatchNormStatistics, checkBatchNormStatistics},
	{LRTooLow, checkLRTooLow},
	{ClassImbalance, checkClassImbalance},
	{AugmentationTooStrong, checkAugmentationTooStrong},
	{LabelNoise, checkLabelNoise},
	{Overfitting, checkOverfitting},
	{PlateauNeedsLRDrop, checkPlateauNeedsLRDrop},
	{Underfitting, checkUnderfitting},
	{ClassConfusion, checkClassConfusion},
	{ValSetTooSmall, checkValSetTooSmall},
	{TestShift, checkTestShift},
	{StillLearning, checkStillLearning},
}

// Telemetry is what the doctor reads: the spec and the events of a run so
// far. Add events as they arrive; every field may be empty while a run is
// young.
type Telemetry struct {
	Spec   *spec.Spec
	Start  *train.Event  // the start event
	Epochs []train.Event // epoch events, in order
	Steps  []train.Event // step events, in order
	// Checks are the val_check events (validation checks within an
	// epoch), in order.
	Checks []train.Event
	Result *train.Event // the result event, once the run ended
}

// Add records one event. A start event forgets the epochs and steps after
// its starting point: a fresh run starts from nothing, a resumed one keeps
// the epochs it continues from.
func (t *Telemetry) Add(e train.Event) {
	switch e.Event {
	case train.EventStart:
		t.Start = &e
		t.Epochs = slices.DeleteFunc(t.Epochs, func(x train.Event) bool { return x.Epoch > e.Epoch })
		t.Steps = slices.DeleteFunc(t.Steps, func(x train.Event) bool { return x.Step > e.Step })
		t.Checks = slices.DeleteFunc(t.Checks, func(x train.Event) bool { return x.Step > e.Step })
		t.Result = nil
	case train.EventEpoch:
		t.Epochs = append(t.Epochs, e)
	case train.EventStep:
		t.Steps = append(t.Steps, e)
	case train.EventValCheck:
		t.Checks = append(t.Checks, e)
	case train.EventResult:
		t.Result = &e
	}
}

// testHookEvidence, when a test sets it, sees every number a finding
// reports.
var testHookEvidence func(cause, key string, v float64)

// Diagnose runs every rule over the telemetry and returns the findings at
// or above Threshold, most confident first. A healthy run gets an empty,
// non-nil list.
func Diagnose(t *Telemetry) []train.Diagnosis {
	out := []train.Diagnosis{}
	if t.Spec == nil {
		return out
	}
	for _, r := range Rules {
		d := r.Check(t)
		if d == nil || !(d.Confidence >= Threshold) {
			continue
		}
		d.Cause = r.Cause
		d.Confidence = math.Round(min(d.Confidence, 0.99)*100) / 100
		for k, v := range d.Evidence {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				delete(d.Evidence, k)
			} else if testHookEvidence != nil {
				testHookEvidence(r.Cause, k, v)
			}
		}
		out = append(out, *d)
	}
	slices.SortStableFunc(out, func(a, b train.Diagnosis) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	return out
}

// Doctor diagnoses a run while it trains: feed it every event with
// Observe (train.Config.Doctor takes Observe as it is).
type Doctor struct {
	Telemetry
	// before holds the causes the rules found at the previous epoch,
	// shown or not (see Observe).
	before map[string]bool
}

// firstSighting is the confidence under which a finding the rules did not
// make at the previous epoch waits an epoch before it shows: a low
// finding that holds for one epoch only, as a stall read on a few hundred
// validation images can, is noise to the person watching.
const firstSighting = 0.45

// New returns a doctor for a run of s (expanded).
func New(s *spec.Spec) *Doctor { return &Doctor{Telemetry: Telemetry{Spec: s}} }

// Observe records e and, for start, epoch and result events, returns the
// diagnosis so far (at the start, what the data and the spec show before
// any training: raw inputs, duplicates across the split). A validation
// check before the first epoch's end returns it too: what the steps and
// the checks so far show (firstEpoch), with the start's findings. Other
// events return nil.
//
// At an epoch, a finding under firstSighting that the rules did not also
// make at the previous epoch (or, at the first, at the start or the
// latest check) waits for the next one; the start's, the checks' and the
// result's findings show as they are (the checks' rules want two checks
// or more that agree).
func (d *Doctor) Observe(e train.Event) []train.Diagnosis {
	d.Add(e)
	switch e.Event {
	case train.EventStart, train.EventEpoch, train.EventResult:
	case train.EventValCheck:
		if len(d.Epochs) > 0 {
			return nil
		}
	default:
		return nil
	}
	found := Diagnose(&d.Telemetry)
	if e.Event == train.EventResult {
		return found
	}
	before := d.before
	d.before = map[string]bool{}
	for _, f := range found {
		d.before[f.Cause] = true
	}
	if e.Event != train.EventEpoch {
		return found
	}
	return slices.DeleteFunc(found, func(f train.Diagnosis) bool { return f.Confidence < firstSighting && !before[f.Cause] })
}

// ValCI returns the 95% Wilson score interval of an accuracy measured on n
// examples. Two accuracies whose intervals overlap widely differ by noise.
func ValCI(accuracy float64, n int) (low, high float64) {
	if n <= 0 || math.IsNaN(accuracy) {
		return 0, 1
	}
	const z = 1.96
	nf := float64(n)
	center := (accuracy + z*z/(2*nf)) / (1 + z*z/nf)
	half := z / (1 + z*z/nf) * math.Sqrt(accuracy*(1-accuracy)/nf+z*z/(4*nf*nf))
	return max(0, center-half), min(1, center+half)
}

// --- helpers the rules share ---

// classes is the number of classes of the run.
func (t *Telemetry) classes() int {
	if t.Spec != nil && t.Spec.Model.Classes > 0 {
		return t.Spec.Model.Classes
	}
	if t.Start != nil && len(t.Start.Classes) > 0 {
		return len(t.Start.Classes)
	}
	return 2
}

// chanceLoss is the cross-entropy of a uniform guess, ln K.
func (t *Telemetry) chanceLoss() float64 { return math.Log(float64(t.classes())) }

// diverged reports whether the run stopped on a NaN, Inf or exploding
// loss, or the last epoch's training loss is not finite.
func (t *Telemetry) diverged() bool {
	if t.Result != nil && t.Result.Stopped == train.StoppedDiverged {
		return true
	}
	for _, e := range t.Epochs {
		if !finite(e.TrainLoss) {
			return true
		}
	}
	return false
}

func (t *Telemetry) last() *train.Event {
	if len(t.Epochs) == 0 {
		return nil
	}
	return &t.Epochs[len(t.Epochs)-1]
}

func (t *Telemetry) series(f func(e train.Event) float64) []float64 {
	out := make([]float64, len(t.Epochs))
	for i, e := range t.Epochs {
		out[i] = f(e)
	}
	return out
}

func (t *Telemetry) trainLoss() []float64 {
	return t.series(func(e train.Event) float64 { return e.TrainLoss })
}
func (t *Telemetry) trainAcc() []float64 {
	return t.series(func(e train.Event) float64 { return e.TrainAccuracy })
}
func (t *Telemetry) valLoss() []float64 {
	return t.series(func(e train.Event) float64 { return e.ValLoss })
}
func (t *Telemetry) valAcc() []float64 {
	return t.series(func(e train.Event) float64 { return e.ValAccuracy })
}

// hasVal reports whether the run measures a validation split.
func (t *Telemetry) hasVal() bool {
	l := t.last()
	return l != nil && finite(l.ValAccuracy)
}

// progress is how far the best training loss came from a uniform guess:
// 0 at ln K, 1 at zero loss.
func (t *Telemetry) progress() float64 {
	best := t.lowestTrainLoss()
	if math.IsInf(best, 1) {
		return 0
	}
	return clamp(1-best/t.chanceLoss(), 0, 1)
}

// hasLayer reports whether the model has a layer of one of the types.
func (t *Telemetry) hasLayer(types ...string) bool { return t.countLayers(types...) > 0 }

func (t *Telemetry) countLayers(types ...string) int {
	n := 0
	for _, l := range t.Spec.Model.Layers {
		if slices.Contains(types, l.Type) {
			n++
		}
	}
	return n
}

// relativeLR compares the rate with what the optimizer usually
// wants: 0.01 for sgd with momentum, 0.1 for plain sgd (momentum m
// carries each step on for 1/(1−m) steps, so 0.01 with momentum 0.9
// moves as far as 0.1 without: small-cnn on 3,000 Fashion-MNIST images
// with plain sgd tested 55.0% at 0.001, 70.0% at 0.01, 72.5% at 0.03
// and 77.8% at 0.1, with momentum 0.9 at 0.01 81.7%), 1e-3 for adaptive
// optimizers. It returns lr divided by that. For a
// one-cycle schedule it weighs the peak, whose usual value is ten times
// the usual constant rate (fast.ai's and PyTorch's OneCycleLR's practice):
// train.lr is only where such a run starts.
func (t *Telemetry) relativeLR() float64 {
	tr := t.Spec.Train
	lr := tr.LR
	if tr.Schedule.Type == "one_cycle" && tr.Schedule.MaxLR > 0 {
		lr = tr.Schedule.MaxLR / 10
	}
	typical := 1e-3
	if tr.Optimizer == "sgd" {
		typical = 0.1
		if tr.Momentum >= 0.5 {
			typical = 0.01
		}
	}
	return lr / typical
}

// constantSchedule reports whether the rate never decays on its own.
func (t *Telemetry) constantSchedule() bool {
	switch t.Spec.Train.Schedule.Type {
	case "", "constant":
		return true
	}
	return false
}

// relChange is the relative change of the last value of xs against the
// one k entries before it (positive: it rose).
func relChange(xs []float64, k int) float64 {
	if len(xs) <= k {
		return math.NaN()
	}
	a, b := xs[len(xs)-1-k], xs[len(xs)-1]
	if a == 0 {
		return math.NaN()
	}
	return (b - a) / math.Abs(a)
}

func argmin(xs []float64) int {
	best := -1
	for i, v := range xs {
		if finite(v) && (best < 0 || v < xs[best]) {
			best = i
		}
	}
	return best
}

func argmax(xs []float64) int {
	best := -1
	for i, v := range xs {
		if finite(v) && (best < 0 || v > xs[best]) {
			best = i
		}
	}
	return best
}

// ramp rises linearly from 0 at lo to 1 at hi.
func ramp(x, lo, hi float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return clamp((x-lo)/(hi-lo), 0, 1)
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// joinAdvice joins the non-empty parts into one sentence list.
func joinAdvice(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "; ")
}
