package spec

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Experiment is one item of the troubleshooting checklist as runs that
// differ in that item alone: the command line's experiment command and
// the page's experiment buttons run its variants on the same spec and
// data and compare them.
type Experiment struct {
	Name, Claim string
	Variants    []Variant
}

// readings say, for the experiments that have one, what the arms' test
// accuracies (in the order of the variants) on n test images say about
// the claim, and short, the arms that ended still learning ("all
// (still_learning)").
var readings = map[string]func(test []float64, n int, short []string) string{"data": readDataCurve}

// Reading says what the arms' test accuracies, in the order of the
// variants, measured on n test images, say about the experiment's claim;
// "" for an experiment without a reading, or when an arm has none yet.
// learning, when not nil, names for each arm the doctor's finding that it
// ended still learning (still_learning, lr_too_low), or "": a curve read
// on undertrained arms says so.
func (e Experiment) Reading(test []float64, n int, learning []string) string {
	read := readings[e.Name]
	if read == nil || len(test) != len(e.Variants) || n <= 0 {
		return ""
	}
	for _, a := range test {
		if !(a >= 0 && a <= 1) {
			return ""
		}
	}
	var short []string
	for i, c := range learning {
		if c != "" && i < len(e.Variants) {
			short = append(short, fmt.Sprintf("%s (%s)", e.Variants[i].Name, c))
		}
	}
	return read(test, n, short)
}

// StillLearning is the cause among a run's final findings that says it
// ended short of trained, or "".
func StillLearning(causes []string) string {
	for _, c := range causes {
		if c == "still_learning" || c == "lr_too_low" {
			return c
		}
	}
	return ""
}

// readDataCurve reads the data experiment's test accuracies (a quarter,
// half and all of the training images) against the noise of n test
// images: the half-width of the 95% interval of the last arm's accuracy
// (the arms share the test images, so this overstates the noise of their
// differences a little, and a gain past it is a real one).
//
// A curve that flattens is read at the arms' steps: when an arm ended
// still learning (the doctor's still_learning or lr_too_low), the reading
// says the training, not the images, may be what flattens it (a flat
// curve on 3,000 Fashion-MNIST images after one epoch of the full set
// says little about the images).
func readDataCurve(test []float64, n int, short []string) string {
	p := test[2]
	noise := 1.96 * math.Sqrt(max(p*(1-p), 0.01)/float64(n))
	first, second := test[1]-test[0], test[2]-test[1]
	gains := fmt.Sprintf("%+.1f points of test accuracy from a quarter to half of the images, %+.1f from half to all (%s test images tell apart about ±%.1f)",
		100*first, 100*second, Thousands(n), 100*noise)
	if second > noise {
		return "The last doubling still paid: " + gains + ". More images, or augmentation that makes more of them, should lift it further."
	}
	if len(short) > 0 {
		return fmt.Sprintf("Not yet read: %s. The arms on %s ended still learning, so their training, not the number of images, may be what flattens the curve: "+
			"train every arm longer (more epochs in the Training tab) and run it again.", gains, strings.Join(short, " and "))
	}
	if first > noise {
		return "Levelling off: " + gains + ". More images of the same kind would add little; the model or its training is the limit now."
	}
	return "Flat within the noise: " + gains + ". At these steps the model or its training is the limit, not the number of images."
}

// Variant is one arm of an experiment: Set pairs ("path=value", as
// Spec.Set reads them) applied to the base spec and, for model changes
// that Set cannot say briefly, an edit of the expanded model.
type Variant struct {
	Name string
	Sets []string
	// LRFactor, when not 0, multiplies the learning rate the spec has
	// after Sets: arms relative to the rate the user chose.
	LRFactor float64
	Edit     func(s *Spec)
	// Note says what LRFactor and Edit do, for listings.
	Note string
}

// Apply returns the base spec changed by the variant, expanded. Layer
// names are given again after an edit, so they follow the new list, unless
// a layer names its inputs (a residual network's graph): then the names
// stay, and only new layers get theirs.
func (v Variant) Apply(base *Spec) (*Spec, error) {
	s := base.Clone()
	for _, kv := range v.Sets {
		path, value, ok := cut(kv)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not path=value", v.Name, kv)
		}
		if err := s.Set(path, value); err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	v.ApplyEdits(s)
	s.Expand()
	return s, nil
}

// ApplyEdits applies what the variant changes beyond its Sets, its
// learning-rate factor and its edit of the model, to s in place: Apply's
// second half, for a caller that fits the model to its data between the
// Sets and the edit (an edit that builds layers for the input needs the
// input it will have). s is left to expand.
func (v Variant) ApplyEdits(s *Spec) {
	if v.LRFactor != 0 {
		for _, kv := range s.RateSets(v.LRFactor) {
			path, value, _ := cut(kv)
			s.Set(path, value) // numbers RateSets formatted: Set takes them
		}
	}
	if v.Edit == nil {
		return
	}
	s.Model.Expand() // name layers before editing, so edits see the final list
	v.Edit(s)
	if !slices.ContainsFunc(s.Model.Layers, func(l Layer) bool { return len(l.Inputs) > 0 }) {
		for i := range s.Model.Layers {
			s.Model.Layers[i].Name = ""
		}
	}
}

func cut(kv string) (path, value string, ok bool) {
	for i := range len(kv) {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], i > 0
		}
	}
	return "", "", false
}

// FindExperiment returns the experiment of a name.
func FindExperiment(name string) (Experiment, bool) {
	i := slices.IndexFunc(Experiments, func(e Experiment) bool { return e.Name == name })
	if i < 0 {
		return Experiment{}, false
	}
	return Experiments[i], true
}

// Experiments are the checklist's A/B comparisons.
var Experiments = []Experiment{
	{"normalization", "inputs scaled to [0,1] train faster and more stably than raw 0–255 pixels", []Variant{
		{Name: "raw", Sets: []string{"data.normalization=raw"}},
		{Name: "scale01", Sets: []string{"data.normalization=scale01"}},
	}},
	{"augmentation", "flip/crop/jitter narrows the train–validation gap; excessive rotation hurts, and so does a flip to views the data never shows", []Variant{
		{Name: "none", Sets: []string{"data.augment={}"}},
		{Name: "flip+crop+jitter", Sets: []string{"data.augment={}", "data.augment.flip_horizontal.p=0.5", "data.augment.crop.p=0.5", "data.augment.crop.strength=2",
			"data.augment.brightness.p=0.5", "data.augment.brightness.strength=0.1", "data.augment.contrast.p=0.5", "data.augment.contrast.strength=0.1"}},
		{Name: "rotation 180", Sets: []string{"data.augment={}", "data.augment.rotation.p=1", "data.augment.rotation.strength=180"}},
		{Name: "flip upside down", Sets: []string{"data.augment={}", "data.augment.flip_vertical.p=0.5"}},
	}},
	{"data", "at the same steps, each doubling of the training images gains about as much accuracy as the last until the model or its training is the limit: a gain from half to all as large as from a quarter to half says more images (or augmentation, which makes more of them) would help; none says they would not", []Variant{
		{Name: "a quarter", Edit: fewerImages(0.25), Note: "a quarter of each class's training images, 4× the epochs"},
		{Name: "half", Edit: fewerImages(0.5), Note: "half of each class's training images, 2× the epochs"},
		{Name: "all", Edit: fewerImages(1), Note: "every training image"},
	}},
	{"lr", "ten times too small a rate crawls and a hundred times too large stalls at chance or diverges; the range between them trains", []Variant{
		{Name: "÷ 10", LRFactor: 0.1, Note: "the spec's learning rate ÷ 10"},
		{Name: "as set", Note: "the spec's learning rate"},
		{Name: "× 10", LRFactor: 10, Note: "the spec's learning rate × 10"},
		{Name: "× 100", LRFactor: 100, Note: "the spec's learning rate × 100"},
	}},
	{"schedule", "step decay (×0.1 every 5 epochs) or one-cycle beat a constant rate", []Variant{
		{Name: "constant", Sets: []string{"train.schedule={\"type\":\"constant\"}"}},
		{Name: "step ×0.1/5", Sets: []string{"train.schedule={\"type\":\"step\",\"factor\":0.1,\"every\":5}"}},
		{Name: "one_cycle", Sets: []string{"train.schedule={\"type\":\"one_cycle\"}"}},
	}},
	{"optimizer", "Adam converges fastest out of the box; SGD+momentum catches up with tuning; RMSprop in between", []Variant{
		{Name: "adam 1e-3", Sets: []string{"train.optimizer=adam", "train.lr=0.001"}},
		{Name: "sgd+momentum 0.01", Sets: []string{"train.optimizer=sgd", "train.lr=0.01", "train.momentum=0.9"}},
		{Name: "rmsprop 1e-3", Sets: []string{"train.optimizer=rmsprop", "train.lr=0.001"}},
	}},
	{"regularization", "dropout, L2 and early stopping each narrow the gap of an overfitting run", []Variant{
		{Name: "none", Edit: withoutDropout, Note: "dropout layers removed"},
		{Name: "dropout 0.5", Edit: withDropout(0.5), Note: "dropout 0.5 before the last dense layer"},
		{Name: "l2 5e-4", Sets: []string{"train.l2=0.0005"}, Edit: withoutDropout, Note: "dropout layers removed"},
		{Name: "early stopping", Sets: []string{"train.early_stopping={\"patience\":3,\"restore_best\":true}"}, Edit: withoutDropout, Note: "dropout layers removed"},
	}},
	{"imbalance", "with 10:1 imbalance, oversampling or class weights restore the rare classes' recall", []Variant{
		{Name: "none", Sets: []string{"data.imbalance=0.1", "data.balance=none"}},
		{Name: "oversample", Sets: []string{"data.imbalance=0.1", "data.balance=oversample"}},
		{Name: "class_weights", Sets: []string{"data.imbalance=0.1", "data.balance=class_weights"}},
	}},
	{"labels", "wrong labels cap validation accuracy and the network memorizes them as it trains on; early stopping and label smoothing limit the harm", []Variant{
		{Name: "clean", Sets: []string{"data.label_noise=0"}},
		{Name: "30% wrong", Sets: []string{"data.label_noise=0.3"}},
		{Name: "30% wrong + early stopping", Sets: []string{"data.label_noise=0.3", "train.early_stopping={\"patience\":2,\"restore_best\":true}"}},
		{Name: "30% wrong + label smoothing", Sets: []string{"data.label_noise=0.3", "train.label_smoothing=0.2"}},
	}},
	{"depth", "a too-deep plain net trains badly; batch norm or fewer layers fix it", []Variant{
		{Name: "deep plain (10 conv)", Edit: deepNet(10, false), Note: "10 conv layers of 16 filters, relu, no batch norm"},
		{Name: "deep + batch norm", Edit: deepNet(10, true), Note: "the same with batchnorm (momentum 0.9) after every conv"},
		{Name: "shallow (2 conv)", Edit: deepNet(2, false), Note: "2 conv layers"},
	}},
	{"architecture", "deeper nets with batch norm (VGG-, ResNet-, bottleneck ResNet-, MobileNet-like) beat a plain two-conv net when the data and epochs allow; on a few thousand images a small net can match them", []Variant{
		{Name: "plain (2 conv)", Edit: deepNet(2, false), Note: "2 conv layers of 16 filters, relu, max pooling"},
		{Name: "vgg-like", Edit: presetNet("vgg-small"), Note: "vgg-small's layers: stages of two 3×3 convs with batch norm, max pooling"},
		{Name: "resnet-like", Edit: presetNet("resnet-small"), Note: "resnet-small's layers: residual blocks with batch norm and 1×1 shortcuts"},
		{Name: "bottleneck-like", Edit: presetNet("resnet-bottleneck"), Note: "resnet-bottleneck's layers: residual blocks of 1×1, 3×3 and 1×1 convs that widen fourfold"},
		{Name: "mobilenet-like", Edit: presetNet("mobilenet-small"), Note: "mobilenet-small's layers: inverted bottlenecks of 1×1 and depthwise 3×3 convs"},
	}},
	{"batch", "batch 64 balances speed and generalization; 8 is slow and noisy, 512 takes too few steps", []Variant{
		{Name: "batch 8", Sets: []string{"train.batch_size=8"}},
		{Name: "batch 64", Sets: []string{"train.batch_size=64"}},
		{Name: "batch 512", Sets: []string{"train.batch_size=512"}},
	}},
}

// fewerImages trains on frac of each class's training images
// (data.train_fraction; the validation and test images stay the same) for
// 1/frac times the epochs, with the schedule's and early stopping's epoch
// counts stretched alike, so that every arm of a learning curve takes
// about the same steps at the same rates: the arms differ in the images
// they learn from, not in how long they train.
func fewerImages(frac float64) func(*Spec) {
	return func(s *Spec) {
		s.Expand() // the schedule's defaults depend on the epochs: fix them first
		s.Data.TrainFraction = frac
		if frac >= 1 {
			s.Data.TrainFraction = 0
			return
		}
		k := 1 / frac
		stretch := func(n int) int { return int(math.Round(float64(n) * k)) }
		t := &s.Train
		t.Epochs = stretch(t.Epochs)
		t.EarlyStopping.Patience = stretch(t.EarlyStopping.Patience)
		sc := &t.Schedule
		sc.Every *= k
		sc.WarmupEpochs *= k
		sc.Patience = stretch(sc.Patience)
		if sc.Gamma > 0 {
			sc.Gamma = math.Pow(sc.Gamma, frac) // per epoch: the same decay per step
		}
	}
}

func withoutDropout(s *Spec) {
	s.Model.Layers = slices.DeleteFunc(s.Model.Layers, func(l Layer) bool { return l.Type == Dropout })
}

func withDropout(rate float64) func(*Spec) {
	return func(s *Spec) {
		withoutDropout(s)
		last := len(s.Model.Layers) - 1
		s.Model.Layers = slices.Insert(s.Model.Layers, last, Layer{Type: Dropout, Rate: rate})
	}
}

// deepNet replaces the model with depth 3×3 conv layers of 16 filters,
// max pooling after every depth/3 of them (at most three times), and the
// output layer on the flattened features (global average pooling would
// leave a shallow stack no way to tell where a pattern is).
func deepNet(depth int, batchNorm bool) func(*Spec) {
	return func(s *Spec) {
		var layers []Layer
		pools, every := 0, max(1, depth/3)
		for i := range depth {
			layers = append(layers, Layer{Type: Conv2D, Filters: 16, Kernel: 3})
			if batchNorm {
				// The presets' momentum: at the default 0.99 the
				// running averages of a short run lag the weights, and
				// the arm would measure that instead of depth.
				layers = append(layers, Layer{Type: BatchNorm, Momentum: Float(deepMomentum)})
			}
			layers = append(layers, Layer{Type: ReLU})
			if (i+1)%every == 0 && pools < 3 {
				layers = append(layers, Layer{Type: MaxPool, Kernel: 2})
				pools++
			}
		}
		layers = append(layers, Layer{Type: Flatten}, Layer{Type: Dense, Units: s.Model.Classes})
		s.Model.Layers = layers
	}
}

// presetNet replaces the model with the named scalable preset's layers
// built for the spec's input and classes (width 16), with as many of its
// three stages as the input's size allows.
func presetNet(name string) func(*Spec) {
	return func(s *Spec) {
		for depth := 3; depth >= 1; depth-- {
			p, err := Preset(name, PresetOptions{Depth: depth, Input: s.Model.Input, Classes: s.Model.Classes})
			if err == nil {
				s.Model.Layers = p.Model.Layers
				return
			}
		}
	}
}
