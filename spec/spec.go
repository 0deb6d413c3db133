package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Spec is one training document: what network to build, how to train it and
// on which data. It is plain data; Expand fills defaults and names, Validate
// says what is wrong with it.
type Spec struct {
	Model Model `json:"model"`
	Train Train `json:"train"`
	Data  Data  `json:"data"`
}

// Model describes the network. Layers form a directed acyclic graph in
// topological order: a layer reads the output of the layer before it unless
// Inputs names other layers (residual connections use an "add" layer with two
// inputs).
type Model struct {
	Name string `json:"name,omitempty"`
	// Input is the shape of one example, [height, width, channels].
	Input []int `json:"input"`
	// Classes is the number of output classes of the final dense layer.
	Classes int `json:"classes"`
	// Init is the default initializer for kernels: he_normal, he_uniform,
	// glorot_normal or glorot_uniform.
	Init   string  `json:"init,omitempty"`
	Layers []Layer `json:"layers"`
}

// Layer types.
const (
	Conv2D          = "conv2d"
	DepthwiseConv2D = "depthwise_conv2d"
	MaxPool         = "maxpool"
	AvgPool         = "avgpool"
	GlobalAvgPool   = "global_avgpool"
	Dense           = "dense"
	BatchNorm       = "batchnorm"
	Dropout         = "dropout"
	ReLU            = "relu"
	LeakyReLU       = "leaky_relu"
	ELU             = "elu"
	Sigmoid         = "sigmoid"
	Tanh            = "tanh"
	Add             = "add"
	Flatten         = "flatten"
)

// Layer is one node of the network. Only the fields its Type uses are set.
type Layer struct {
	Type string `json:"type"`
	// Name is unique within the model; Expand names unnamed layers by type
	// and position (conv1, conv2, bn1, dense1, …). Weights are stored under
	// "<name>/kernel", "<name>/bias", "<name>/scale", "<name>/offset".
	Name string `json:"name,omitempty"`
	// Inputs names the layers this one reads; empty means the previous layer
	// (or the model input for the first layer). Only "add" takes two.
	Inputs []string `json:"inputs,omitempty"`

	// Filters is the number of output channels of conv2d.
	Filters int `json:"filters,omitempty"`
	// Multiplier is the channel multiplier of depthwise_conv2d (default 1).
	Multiplier int `json:"multiplier,omitempty"`
	// Units is the output size of dense.
	Units int `json:"units,omitempty"`
	// Kernel is the square window size of conv2d, depthwise_conv2d and
	// pooling layers (pooling defaults to 2).
	Kernel int `json:"kernel,omitempty"`
	// Stride defaults to 1 for convolutions and to Kernel for pooling.
	Stride int `json:"stride,omitempty"`
	// Padding is "same", "valid" or an explicit number of pixels on every
	// side. Convolutions default to "same", pooling to "valid".
	Padding Padding `json:"padding,omitzero"`
	// UseBias turns the bias of conv2d, depthwise_conv2d and dense off when
	// false (default true).
	UseBias *bool `json:"use_bias,omitempty"`
	// Init overrides the model's initializer for this layer's kernel.
	Init string `json:"init,omitempty"`
	// Activation is a shorthand: Expand turns {"type":"conv2d",
	// "activation":"relu"} into a conv2d followed by a relu layer.
	Activation string `json:"activation,omitempty"`

	// Rate is the drop probability of dropout.
	Rate float64 `json:"rate,omitempty"`
	// Alpha is the negative slope of leaky_relu (default 0.01; 0 makes it
	// a relu) and the saturation of elu (default 1); nil when left out.
	Alpha *float64 `json:"alpha,omitempty"`
	// Momentum and Epsilon configure batchnorm (defaults 0.99 and 1e-3):
	// running = momentum*running + (1-momentum)*batch. Momentum is nil when
	// left out; 0 keeps the last batch's statistics. Epsilon 0 takes the
	// default.
	Momentum *float64 `json:"momentum,omitempty"`
	Epsilon  float64  `json:"epsilon,omitempty"`
}

// Bias reports whether the layer has a bias term.
func (l Layer) Bias() bool { return l.UseBias == nil || *l.UseBias }

// AlphaValue is the layer's alpha, or its type's default when left out:
// 0.01 for leaky_relu, 1 for elu, 0 for the others.
func (l Layer) AlphaValue() float64 {
	switch {
	case l.Alpha != nil:
		return *l.Alpha
	case l.Type == LeakyReLU:
		return DefaultLeakyAlpha
	case l.Type == ELU:
		return DefaultELUAlpha
	}
	return 0
}

// MomentumValue is a batchnorm layer's momentum, DefaultBNMomentum when
// left out.
func (l Layer) MomentumValue() float64 { return valueOr(l.Momentum, DefaultBNMomentum) }

// Defaults of the settings a spec may leave out where 0 is a setting of
// its own.
const (
	DefaultLeakyAlpha = 0.01
	DefaultELUAlpha   = 1
	DefaultBNMomentum = 0.99
	DefaultBeta1      = 0.9
	DefaultBeta2      = 0.999
	DefaultRho        = 0.9
)

// Float returns a pointer to v, for the settings that are nil when left
// out: Layer{Type: BatchNorm, Momentum: Float(0.9)}.
func Float(v float64) *float64 { return &v }

// Beta1Value, Beta2Value and RhoValue are the optimizer's settings, or
// their defaults when left out.
func (t Train) Beta1Value() float64 { return valueOr(t.Beta1, DefaultBeta1) }
func (t Train) Beta2Value() float64 { return valueOr(t.Beta2, DefaultBeta2) }
func (t Train) RhoValue() float64   { return valueOr(t.Rho, DefaultRho) }

func valueOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// Padding is "same", "valid" or an explicit pixel count. In JSON it is
// either a string or a number.
type Padding struct {
	Mode string // "same", "valid" or "explicit"
	Size int    // pixels on every side when Mode is "explicit"
}

// Padding modes.
const (
	PadSame     = "same"
	PadValid    = "valid"
	PadExplicit = "explicit"
)

// IsZero reports whether the padding was left unset.
func (p Padding) IsZero() bool { return p.Mode == "" }

func (p Padding) String() string {
	if p.Mode == PadExplicit {
		return strconv.Itoa(p.Size)
	}
	return p.Mode
}

// MarshalJSON writes "same", "valid" or a number.
func (p Padding) MarshalJSON() ([]byte, error) {
	switch p.Mode {
	case PadExplicit:
		return []byte(strconv.Itoa(p.Size)), nil
	case "":
		return []byte(`""`), nil
	}
	return json.Marshal(p.Mode)
}

// UnmarshalJSON reads "same", "valid", a number, or a string holding a number.
func (p *Padding) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // leave unset, as encoding/json does for other types
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = Padding{Mode: PadExplicit, Size: n}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("padding must be \"same\", \"valid\" or a number of pixels, not %s", b)
	}
	if n, err := strconv.Atoi(s); err == nil {
		*p = Padding{Mode: PadExplicit, Size: n}
		return nil
	}
	*p = Padding{Mode: s}
	return nil
}

// Train describes the optimization.
type Train struct {
	// Optimizer is sgd, adam, adamw or rmsprop.
	Optimizer string  `json:"optimizer"`
	LR        float64 `json:"lr"`
	// Momentum is SGD's momentum and RMSprop's momentum.
	Momentum float64 `json:"momentum,omitempty"`
	Nesterov bool    `json:"nesterov,omitempty"`
	// Beta1, Beta2 and Epsilon configure adam and adamw (defaults 0.9,
	// 0.999, 1e-7); Rho is RMSprop's decay (default 0.9) and uses Epsilon.
	// Beta1, Beta2 and Rho are nil when left out, so that 0 is a setting
	// (beta1 0 is Adam without momentum); Epsilon 0 takes the default.
	Beta1   *float64 `json:"beta1,omitempty"`
	Beta2   *float64 `json:"beta2,omitempty"`
	Epsilon float64  `json:"epsilon,omitempty"`
	Rho     *float64 `json:"rho,omitempty"`

	BatchSize int      `json:"batch_size"`
	Epochs    int      `json:"epochs"`
	Schedule  Schedule `json:"schedule"`

	// L1 and L2 add λ|w| and λ/2·w² of every kernel (not biases, not batch
	// norm) to the loss; WeightDecay is decoupled decay (lr·wd·w per step,
	// AdamW style; with sgd it is applied the same way).
	L1          float64 `json:"l1,omitempty"`
	L2          float64 `json:"l2,omitempty"`
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// GradClip clips the global gradient norm when positive.
	GradClip       float64 `json:"grad_clip,omitempty"`
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`

	EarlyStopping EarlyStopping `json:"early_stopping,omitzero"`
	Seed          int64         `json:"seed"`
	// LogEvery is the number of steps between step events (default 50).
	LogEvery int `json:"log_every,omitempty"`
	// ValCheckSeconds is the training time between validation checks within
	// an epoch (default DefaultValCheckSeconds; negative turns them off):
	// in a long epoch the validation curve gets points before the epoch
	// ends, measured on up to ValCheckImages validation images. After a
	// check the next also waits twenty times as long as it took, so the
	// checks take at most a twentieth of the training time. A check reads
	// the weights and changes nothing, so a run trains the same with or
	// without them.
	ValCheckSeconds float64 `json:"val_check_seconds,omitempty"`
	// TimeLimitSeconds, when positive, ends the run after that much of its
	// time (training steps, validation checks and the epochs' validation;
	// not pauses, not the final test), within an epoch if need be, leaving
	// the time the latest epoch's validation took for the last one; Epochs
	// is then the most the run trains. The schedule follows whichever of
	// the two is further along, the epochs or the time, so a cosine or
	// one_cycle schedule anneals by the time limit on a slow machine and by
	// the epochs on a fast one. How far a run with a time limit gets
	// depends on the machine, so two runs of it do not repeat each other
	// step for step.
	TimeLimitSeconds float64 `json:"time_limit_seconds,omitempty"`
}

// DefaultValCheckSeconds is train.val_check_seconds when a spec leaves it
// out, and ValCheckImages the most validation images a check measures (a
// stratified sample of the split): about a second of a browser worker's
// time for a small network, and a 95% interval of ±2 points or less.
const (
	DefaultValCheckSeconds = 30
	ValCheckImages         = 1000
	// maxValCheckSeconds is a week: a longer wait is no check at all.
	maxValCheckSeconds = 7 * 24 * 3600
	// MaxTimeLimitSeconds is a year.
	MaxTimeLimitSeconds = 365 * 24 * 3600
)

// Schedule sets the learning rate over the run. Epoch counts are fractional:
// the rate is updated every step.
type Schedule struct {
	// Type is constant, step, exponential, cosine, one_cycle or
	// reduce_on_plateau.
	Type string `json:"type"`
	// step: lr0 · Factor^floor(epoch/Every). reduce_on_plateau: multiply by
	// Factor after Patience epochs without validation-loss improvement.
	Factor float64 `json:"factor,omitempty"`
	Every  float64 `json:"every,omitempty"`
	// exponential: lr0 · Gamma^epoch.
	Gamma float64 `json:"gamma,omitempty"`
	// one_cycle: peak rate MaxLR (default 10·lr) reached at PctStart of the
	// run (default 0.3).
	MaxLR    float64 `json:"max_lr,omitempty"`
	PctStart float64 `json:"pct_start,omitempty"`
	// cosine and one_cycle anneal to MinLR; reduce_on_plateau never goes below it.
	MinLR    float64 `json:"min_lr,omitempty"`
	Patience int     `json:"patience,omitempty"`
	// WarmupEpochs ramps the rate linearly from 0 before any schedule.
	WarmupEpochs float64 `json:"warmup_epochs,omitempty"`
}

// EarlyStopping stops a run whose monitored metric stopped improving.
type EarlyStopping struct {
	// Patience in epochs; 0 disables early stopping.
	Patience int `json:"patience,omitempty"`
	// Monitor is val_loss (default) or val_accuracy.
	Monitor     string  `json:"monitor,omitempty"`
	MinDelta    float64 `json:"min_delta,omitempty"`
	RestoreBest bool    `json:"restore_best,omitempty"`
}

// Data describes the dataset and what happens to it before the network.
type Data struct {
	// Dataset is a registry name (mnist, fashion-mnist, cifar-10) or a path
	// to an archive or folder.
	Dataset string `json:"dataset,omitempty"`
	// Normalization is raw (0–255 as floats), scale01 or standardize
	// (per-channel mean and std of the training split).
	Normalization string `json:"normalization"`
	// Validation is the fraction of the training set held out for
	// validation (default 0.1); it is never augmented.
	Validation float64 `json:"validation"`
	// TrainLimit and TestLimit keep only the first N examples (0: all).
	TrainLimit int `json:"train_limit,omitempty"`
	TestLimit  int `json:"test_limit,omitempty"`
	// ImageSide is the longer side, in pixels, that the images of a dataset
	// of image files (PNG, JPEG, …) are scaled to, the most common shape of its images kept
	// and others cropped to it at the centre; 0 scales images whose longer
	// side is over 64 down to 64 (photos of 4032×3024 become 64×48) and
	// keeps smaller ones. Datasets in IDX or CIFAR-10 files keep their size.
	ImageSide int `json:"image_side,omitempty"`
	// Imbalance reproduces class imbalance: class k keeps a fraction
	// Imbalance^(k/(K-1)) of its training examples, so the last class keeps
	// Imbalance of them. 0 or 1 leaves the data as it is.
	Imbalance float64 `json:"imbalance,omitempty"`
	// TrainFraction trains on this fraction of each class's training
	// images, drawn at random, after the validation images are held out:
	// the validation and test images stay the same whatever the fraction,
	// so runs at different fractions draw a learning curve (would more
	// data help?). 0 or 1 trains on all of them.
	TrainFraction float64 `json:"train_fraction,omitempty"`
	// LabelNoise gives this fraction of the training and of the validation
	// examples a wrong label, another class drawn at random: the noisy
	// labels of collected data, to study. The test split keeps its labels.
	// 0 leaves the labels as they are.
	LabelNoise float64 `json:"label_noise,omitempty"`
	// Balance is none, oversample or class_weights.
	Balance string  `json:"balance,omitempty"`
	Augment Augment `json:"augment,omitzero"`
}

// Planted is one change the data spec makes to a dataset on purpose, to
// study a cause: a run trained on it should not be taken for one on the
// data as collected. Short names it in a run's name, Long says it in full.
type Planted struct{ Short, Long string }

// Planted lists what d does to the dataset on purpose: a class imbalance,
// wrong labels, a fraction of the training images.
func (d Data) Planted() []Planted {
	var out []Planted
	if d.LabelNoise > 0 {
		out = append(out, Planted{fmt.Sprintf("%.0f%% labels wrong", 100*d.LabelNoise),
			fmt.Sprintf("data.label_noise %g: %.0f%% of the training and validation labels are made wrong (the test labels are right)", d.LabelNoise, 100*d.LabelNoise)})
	}
	if d.Imbalance > 0 && d.Imbalance < 1 {
		out = append(out, Planted{fmt.Sprintf("imbalance %g", d.Imbalance),
			fmt.Sprintf("data.imbalance %g: the first class keeps all its training images, the last %.0f%%, the classes between fewer from first to last", d.Imbalance, 100*d.Imbalance)})
	}
	if d.TrainFraction > 0 && d.TrainFraction < 1 {
		out = append(out, Planted{fmt.Sprintf("%.0f%% of the training images", 100*d.TrainFraction),
			fmt.Sprintf("data.train_fraction %g: trains on %.0f%% of each class's training images (the validation and test images are all there)", d.TrainFraction, 100*d.TrainFraction)})
	}
	return out
}

// Transform is one augmentation: applied to each training image with
// probability P, with a Strength whose unit depends on the transform.
type Transform struct {
	P        float64 `json:"p,omitempty"`
	Strength float64 `json:"strength,omitempty"`
}

// On reports whether the transform can change an image.
func (t Transform) On() bool { return t.P > 0 }

// Augment lists the training-time transforms, applied in this order.
type Augment struct {
	// FlipHorizontal and FlipVertical ignore Strength.
	FlipHorizontal Transform `json:"flip_horizontal,omitzero"`
	FlipVertical   Transform `json:"flip_vertical,omitzero"`
	// Crop pads by Strength pixels (zeros) and crops back at a random offset.
	Crop Transform `json:"crop,omitzero"`
	// Shift translates by up to Strength × size in each direction.
	Shift Transform `json:"shift,omitzero"`
	// Rotation rotates by up to ±Strength degrees.
	Rotation Transform `json:"rotation,omitzero"`
	// Zoom scales by a factor in [1-Strength, 1+Strength].
	Zoom Transform `json:"zoom,omitzero"`
	// Brightness adds up to ±Strength × 255; Contrast and Saturation scale
	// by a factor in [1-Strength, 1+Strength]; Hue rotates by up to
	// ±Strength × 180 degrees.
	Brightness Transform `json:"brightness,omitzero"`
	Contrast   Transform `json:"contrast,omitzero"`
	Saturation Transform `json:"saturation,omitzero"`
	Hue        Transform `json:"hue,omitzero"`
	// Cutout zeroes a square of side Strength × size at a random place.
	Cutout Transform `json:"cutout,omitzero"`
}

// On reports whether any transform can change an image.
func (a Augment) On() bool {
	for _, tr := range []Transform{a.FlipHorizontal, a.FlipVertical, a.Crop, a.Shift, a.Rotation, a.Zoom,
		a.Brightness, a.Contrast, a.Saturation, a.Hue, a.Cutout} {
		if tr.On() {
			return true
		}
	}
	return false
}

// Transform returns the transform of a JSON field name ("flip_vertical",
// "rotation", …); the zero Transform for a name that is none.
func (a Augment) Transform(name string) Transform {
	switch name {
	case "flip_horizontal":
		return a.FlipHorizontal
	case "flip_vertical":
		return a.FlipVertical
	case "crop":
		return a.Crop
	case "shift":
		return a.Shift
	case "rotation":
		return a.Rotation
	case "zoom":
		return a.Zoom
	case "brightness":
		return a.Brightness
	case "contrast":
		return a.Contrast
	case "saturation":
		return a.Saturation
	case "hue":
		return a.Hue
	case "cutout":
		return a.Cutout
	}
	return Transform{}
}
