package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// PresetOptions adjusts a preset. Zero fields keep the preset's own choice.
type PresetOptions struct {
	// Width is the number of channels of the first stage of vgg-small,
	// resnet-small and mobilenet-small (default 16); each later stage
	// doubles it.
	Width int
	// Depth is the number of stages of those presets (default 3); each
	// stage after the first halves the height and width.
	Depth int
	// Input ([height, width, channels]) and Classes build the preset for
	// data of another shape than its own dataset's.
	Input   []int
	Classes int
}

type preset struct {
	name        string
	description string
	dataset     string
	input       []int
	scalable    bool // reads Width and Depth
	layers      func(o PresetOptions) ([]Layer, error)
	settings    func(s *Spec)
}

// presets in the order PresetNames gives them: the small classics first.
var presets = []preset{
	{
		name:        "mnist-cnn",
		description: "The classic MNIST network: two 3×3 conv layers with max pooling, a dense layer of 128 with dropout. About 99% on MNIST in a few epochs.",
		dataset:     "mnist",
		input:       []int{28, 28, 1},
		layers:      mnistCNN,
		settings: func(s *Spec) {
			s.Train.BatchSize = 64
			s.Train.Epochs = 5
		},
	},
	{
		name:        "fashion-cnn",
		description: "For Fashion-MNIST: three 3×3 conv layers with batch norm, two poolings, dropout and a dense layer of 128. About 12 MFLOP per image, so a few epochs train quickly in the page.",
		dataset:     "fashion-mnist",
		input:       []int{28, 28, 1},
		layers:      fashionCNN,
		settings: func(s *Spec) {
			s.Train.BatchSize = 64
			s.Train.Epochs = 5
		},
	},
	{
		name:        "fashion-fast",
		description: "For Fashion-MNIST in a few minutes in the page: a 5×5 conv of 8 filters with stride 2, a 3×3 conv of 16, one pooling and a dense layer of 128, about 0.7 MFLOP per image. Five epochs of batch 128 with a one-cycle schedule (Adam, 1e-3 up to 2e-2 and down), label smoothing 0.1 and weight decay 0.02, or 170 seconds if they take longer, so that a run ends, its schedule annealed, within three minutes on any machine (two browser workers on two cores take 150–175 s for the five epochs).",
		dataset:     "fashion-mnist",
		input:       []int{28, 28, 1},
		layers:      fashionFast,
		settings: func(s *Spec) {
			// Batches of 128 spend less of each image's time on the
			// step's fixed costs, which several workers pay at every
			// step, than batches of 64, for the same accuracy per epoch.
			s.Train.BatchSize = 128
			// Five epochs take two wasm workers (the page's default on a
			// two-core machine) 150–175 s, depending on the day (170–200 s
			// before the kernels' instructions under wasm were cut by a
			// tenth); the time limit ends a run that would take longer at
			// 170 s, its one-cycle annealed by then, so the result, its
			// test pass included, is in within three minutes (175 s
			// measured).
			s.Train.Epochs = 5
			s.Train.TimeLimitSeconds = 170
			s.Train.Schedule = Schedule{Type: "one_cycle", MaxLR: 20 * s.Train.LR}
			// The network underfits in so few epochs; smoothed labels
			// gave it 0.3 points of test accuracy after five.
			s.Train.LabelSmoothing = 0.1
			// Without it the last epoch trained two points above
			// validation (93.7% against 91.3%): decoupled weight decay
			// (lr·0.02 of each kernel weight taken off at every step,
			// which alone would shrink the weights by a third over the
			// run) gave 0.4 points of test accuracy in five native
			// epochs and 0.2 in the page's three minutes; anywhere from
			// 0.005 to 0.1 gave 0.25–0.4 (README, "Fashion-MNIST in
			// three minutes").
			s.Train.WeightDecay = 0.02
			// Its epochs take half a minute or so in the page, and its
			// five with two workers end a few seconds inside three
			// minutes: no validation checks within them.
			s.Train.ValCheckSeconds = -1
		},
	},
	{
		name:        "convnetjs-cifar",
		description: "The network of ConvNetJS's CIFAR-10 demo: three 5×5 conv layers of 16, 20 and 20 filters, each with max pooling, and a dense output. Small enough to train in the page.",
		dataset:     "cifar-10",
		input:       []int{32, 32, 3},
		layers:      convnetjsCIFAR,
		settings: func(s *Spec) {
			s.Data.Augment.FlipHorizontal = Transform{P: 0.5}
			s.Data.Augment.Shift = Transform{P: 0.5, Strength: 0.1}
		},
	},
	{
		name:        "keras-cifar10",
		description: "The Keras CIFAR-10 example: two blocks of two 3×3 conv layers with pooling and dropout, then dense 512. RMSprop at 1e-4 as in the example (its decay left out); slow to start.",
		dataset:     "cifar-10",
		input:       []int{32, 32, 3},
		layers:      kerasCIFAR10,
		settings: func(s *Spec) {
			s.Train.Optimizer = "rmsprop"
			s.Train.LR = 1e-4
			// The example ran 100 epochs; half shows where it is going.
			s.Train.Epochs = 50
			s.Data.Augment.FlipHorizontal = Transform{P: 0.5}
			s.Data.Augment.Shift = Transform{P: 1, Strength: 0.1}
		},
	},
	{
		name:        "vgg-small",
		description: "VGG-style stages of two 3×3 conv layers with batch norm, then max pooling; channels double at each stage. Width and depth are adjustable.",
		dataset:     "cifar-10",
		input:       []int{32, 32, 3},
		scalable:    true,
		layers:      vggSmall,
		settings:    deepSettings,
	},
	{
		name:        "resnet-small",
		description: "A small ResNet: a conv stem, then stages of one residual block each (two 3×3 conv layers with batch norm and a skip connection), max pooling between stages, global average pooling. Width and depth are adjustable.",
		dataset:     "cifar-10",
		input:       []int{32, 32, 3},
		scalable:    true,
		layers:      resnetSmall,
		settings:    deepSettings,
	},
	{
		name:        "resnet-bottleneck",
		description: "A small ResNet of bottleneck blocks, as in ResNet-50: a 1×1 conv narrows the channels, a 3×3 conv works at that width, a 1×1 conv widens them fourfold, each with batch norm, and a skip connection (a 1×1 projection where channels change); max pooling between stages, as in resnet-small. Width (of the narrow 3×3 convs) and depth are adjustable.",
		dataset:     "cifar-10",
		input:       []int{32, 32, 3},
		scalable:    true,
		layers:      resnetBottleneck,
		settings:    deepSettings,
	},
	{
		name:        "mobilenet-small",
		description: "MobileNetV2-style inverted residual blocks: 1×1 expansion, 3×3 depthwise conv, linear 1×1 projection, skip connections where shapes allow. Width and depth are adjustable.",
		dataset:     "cifar-10",
		input:       []int{32, 32, 3},
		scalable:    true,
		layers:      mobilenetSmall,
		settings:    deepSettings,
	},
}

// deepMomentum is the batch-norm momentum of the scalable presets
// (vgg-small, resnet-small, resnet-bottleneck, mobilenet-small): 0.9 (PyTorch's default) rather than the spec's default
// 0.99 (Keras's), since these nets often train for a few hundred steps on
// a sample of CIFAR-10 in the page, where averages that forget their start
// over ~100 steps left inference far behind the weights (the doctor's
// batchnorm_statistics): on the CIFAR-10 sample, six epochs of 29 steps,
// vgg-small, resnet-small and mobilenet-small tested 14.4%, 13.0% and
// 18.2% at 0.99, 42.3%, 42.4% and 40.9% at 0.9.
const deepMomentum = 0.9

func deepSettings(s *Spec) {
	s.Train.BatchSize = 64
	s.Train.Epochs = 15
	s.Data.Augment.FlipHorizontal = Transform{P: 0.5}
	s.Data.Augment.Crop = Transform{P: 0.5}
}

// ScalablePresets lists the presets whose width and depth PresetOptions
// sets.
func ScalablePresets() []string {
	var names []string
	for _, p := range presets {
		if p.scalable {
			names = append(names, p.name)
		}
	}
	return names
}

// PresetNames lists the presets, the small classics first.
func PresetNames() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return names
}

// PresetDescription says in a sentence or two what a preset is, or "" for
// an unknown name.
func PresetDescription(name string) string {
	for _, p := range presets {
		if p.name == name {
			return p.description
		}
	}
	return ""
}

// PresetScale finds the width and depth with which the scalable preset
// m.Name builds m's layers for m's input and classes. ok is false when m
// is not named after a scalable preset or its layers have been edited
// since.
func PresetScale(m Model) (width, depth int, ok bool) {
	if !slices.Contains(ScalablePresets(), m.Name) || len(m.Input) != 3 {
		return 0, 0, false
	}
	// Every scalable preset starts with a conv layer of the first
	// stage's width.
	i := slices.IndexFunc(m.Layers, func(l Layer) bool { return l.Type == Conv2D })
	if i < 0 {
		return 0, 0, false
	}
	want, err := json.Marshal(m.Layers)
	if err != nil {
		return 0, 0, false
	}
	width = m.Layers[i].Filters
	for depth = 1; depth <= maxPresetDepth; depth++ {
		s, err := Preset(m.Name, PresetOptions{Width: width, Depth: depth, Input: m.Input, Classes: m.Classes})
		if err != nil {
			continue
		}
		if got, err := json.Marshal(s.Model.Layers); err == nil && string(got) == string(want) {
			return width, depth, true
		}
	}
	return 0, 0, false
}

// DefaultPreset names the preset a dataset starts with: mnist-cnn for
// mnist, fashion-cnn for fashion-mnist, and convnetjs-cifar for cifar-10
// and for anything else, since it is small and works on any input of at
// least 8×8.
func DefaultPreset(dataset string) string {
	switch strings.ToLower(dataset) {
	case "mnist":
		return "mnist-cnn"
	case "fashion-mnist":
		return "fashion-cnn"
	}
	return "convnetjs-cifar"
}

// The widths and depths Preset takes.
const (
	maxPresetWidth = 1024
	maxPresetDepth = 8
)

// Preset returns a new, expanded and validated spec built from the named
// preset, for its own dataset unless opts (at most one) give another input.
// A width or depth that does not fit the input, or that makes the model too
// large, is an error that says so.
func Preset(name string, opts ...PresetOptions) (*Spec, error) {
	if len(opts) > 1 {
		panic("spec: Preset takes at most one PresetOptions")
	}
	var p *preset
	for i := range presets {
		if presets[i].name == name {
			p = &presets[i]
		}
	}
	if p == nil {
		return nil, fmt.Errorf("unknown preset %q; use %s", name, orList(PresetNames()))
	}
	var o PresetOptions
	if len(opts) == 1 {
		o = opts[0]
	}
	if !p.scalable && (o.Width != 0 || o.Depth != 0) {
		return nil, fmt.Errorf("preset %s has a fixed width and depth; %s take them", name, strings.Join(ScalablePresets(), ", "))
	}
	if o.Width == 0 {
		o.Width = 16
	}
	if o.Depth == 0 {
		o.Depth = 3
	}
	if o.Width < 1 || o.Width > maxPresetWidth {
		return nil, fmt.Errorf("preset %s: width %d must be between 1 and %d", name, o.Width, maxPresetWidth)
	}
	if o.Depth < 1 || o.Depth > maxPresetDepth {
		return nil, fmt.Errorf("preset %s: depth %d must be between 1 and %d", name, o.Depth, maxPresetDepth)
	}
	if o.Input == nil {
		o.Input = p.input
	}
	if len(o.Input) != 3 || o.Input[0] < 1 || o.Input[1] < 1 || o.Input[2] < 1 {
		return nil, fmt.Errorf("preset %s: input must be [height, width, channels] with positive sizes, not %v", name, o.Input)
	}
	o.Input = cloneSlice(o.Input)
	if o.Classes == 0 {
		o.Classes = 10
	}
	layers, err := p.layers(o)
	if err != nil {
		return nil, fmt.Errorf("preset %s: %w", name, err)
	}
	s := Default()
	s.Model = Model{Name: name, Input: o.Input, Classes: o.Classes, Layers: layers}
	s.Data.Dataset = p.dataset
	p.settings(s)
	s.Expand()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("preset %s: %w", name, err)
	}
	return s, nil
}

// SetInput adapts the model to data of another shape: it sets the input
// and the number of classes, and the units of a final dense layer that gave
// the old number of classes. Layers are left as they are; Validate says
// whether they still fit (three poolings need an input of at least 8×8).
func (s *Spec) SetInput(h, w, c, classes int) {
	m := &s.Model
	if n := len(m.Layers); n > 0 {
		last := &m.Layers[n-1]
		if last.Type == Dense && (last.Units == m.Classes || last.Units == 0) {
			last.Units = classes
		}
	}
	m.Input = []int{h, w, c}
	m.Classes = classes
}

func conv(filters, kernel int, activation string) Layer {
	return Layer{Type: Conv2D, Filters: filters, Kernel: kernel, Activation: activation}
}

// convBN is a convolution without bias (batch norm's offset takes its
// place) followed by batch norm (momentum nil for the default) and relu.
func convBN(filters, kernel int, momentum *float64) []Layer {
	return []Layer{
		{Type: Conv2D, Filters: filters, Kernel: kernel, UseBias: noBias()},
		{Type: BatchNorm, Momentum: momentum},
		{Type: ReLU},
	}
}

func noBias() *bool { b := false; return &b }

func maxPool() Layer { return Layer{Type: MaxPool, Kernel: 2} }

func mnistCNN(o PresetOptions) ([]Layer, error) {
	return []Layer{
		conv(32, 3, ReLU),
		maxPool(),
		conv(64, 3, ReLU),
		maxPool(),
		{Type: Dense, Units: 128, Activation: ReLU},
		{Type: Dropout, Rate: 0.5},
		{Type: Dense, Units: o.Classes},
	}, nil
}

func fashionCNN(o PresetOptions) ([]Layer, error) {
	var l []Layer
	l = append(l, convBN(32, 3, nil)...)
	l = append(l, maxPool())
	l = append(l, convBN(64, 3, nil)...)
	l = append(l, maxPool())
	l = append(l, convBN(64, 3, nil)...)
	l = append(l,
		Layer{Type: Dropout, Rate: 0.25},
		Layer{Type: Dense, Units: 128, Activation: ReLU},
		Layer{Type: Dropout, Rate: 0.5},
		Layer{Type: Dense, Units: o.Classes},
	)
	return l, nil
}

// fashionFast spends its few FLOPs after a strided first layer: the 3×3
// conv works at half the input's resolution, and nothing runs at full
// resolution but the strided 5×5 conv.
func fashionFast(o PresetOptions) ([]Layer, error) {
	return []Layer{
		{Type: Conv2D, Filters: 8, Kernel: 5, Stride: 2, Activation: ReLU},
		conv(16, 3, ReLU),
		maxPool(),
		{Type: Dense, Units: 128, Activation: ReLU},
		{Type: Dense, Units: o.Classes},
	}, nil
}

func convnetjsCIFAR(o PresetOptions) ([]Layer, error) {
	pad2 := Padding{Mode: PadExplicit, Size: 2}
	c := func(filters int) Layer {
		return Layer{Type: Conv2D, Filters: filters, Kernel: 5, Padding: pad2, Activation: ReLU}
	}
	return []Layer{
		c(16), maxPool(),
		c(20), maxPool(),
		c(20), maxPool(),
		{Type: Dense, Units: o.Classes},
	}, nil
}

func kerasCIFAR10(o PresetOptions) ([]Layer, error) {
	valid := Padding{Mode: PadValid}
	return []Layer{
		conv(32, 3, ReLU),
		{Type: Conv2D, Filters: 32, Kernel: 3, Padding: valid, Activation: ReLU},
		maxPool(),
		{Type: Dropout, Rate: 0.25},
		conv(64, 3, ReLU),
		{Type: Conv2D, Filters: 64, Kernel: 3, Padding: valid, Activation: ReLU},
		maxPool(),
		{Type: Dropout, Rate: 0.25},
		{Type: Flatten},
		{Type: Dense, Units: 512, Activation: ReLU},
		{Type: Dropout, Rate: 0.5},
		{Type: Dense, Units: o.Classes},
	}, nil
}

// checkHalvings refuses a depth that would pool the input below one pixel.
func checkHalvings(o PresetOptions, halvings int) error {
	side := min(o.Input[0], o.Input[1])
	if side>>halvings < 1 {
		most := 0
		for side>>(most+1) >= 1 {
			most++
		}
		return fmt.Errorf("depth %d halves the %d×%d input %d times, below one pixel; use a smaller depth (this input allows %d halvings)",
			o.Depth, o.Input[0], o.Input[1], halvings, most)
	}
	return nil
}

func vggSmall(o PresetOptions) ([]Layer, error) {
	if err := checkHalvings(o, o.Depth); err != nil {
		return nil, err
	}
	var l []Layer
	for stage := range o.Depth {
		ch := o.Width << stage
		l = append(l, convBN(ch, 3, Float(deepMomentum))...)
		l = append(l, convBN(ch, 3, Float(deepMomentum))...)
		l = append(l, maxPool())
	}
	return append(l, Layer{Type: GlobalAvgPool}, Layer{Type: Dense, Units: o.Classes}), nil
}

// resnetSmall follows the ResNet of the PyTorch throughput reference beside
// the server's benchmarks (stem, one block per stage, max pooling between
// stages, a 1×1 projection without batch norm where channels change), so
// that with width 64 both time the same network.
func resnetSmall(o PresetOptions) ([]Layer, error) {
	return residualNet(o, func(p string, ch int) ([]Layer, string, int) {
		return []Layer{
			{Type: Conv2D, Name: p + "conv1", Filters: ch, Kernel: 3, UseBias: noBias()},
			{Type: BatchNorm, Name: p + "bn1", Momentum: Float(deepMomentum)},
			{Type: ReLU, Name: p + "relu1"},
			{Type: Conv2D, Name: p + "conv2", Filters: ch, Kernel: 3, UseBias: noBias()},
			{Type: BatchNorm, Name: p + "bn2", Momentum: Float(deepMomentum)},
		}, p + "bn2", ch
	})
}

// bottleneckExpansion is how many times wider a bottleneck block's output
// is than its 3×3 conv, 4 as in ResNet-50.
const bottleneckExpansion = 4

// resnetBottleneck is resnetSmall with bottleneck blocks: 1×1 down to the
// stage's width, 3×3, 1×1 up to four times it.
func resnetBottleneck(o PresetOptions) ([]Layer, error) {
	return residualNet(o, func(p string, ch int) ([]Layer, string, int) {
		return []Layer{
			{Type: Conv2D, Name: p + "reduce", Filters: ch, Kernel: 1, UseBias: noBias()},
			{Type: BatchNorm, Name: p + "reduce_bn", Momentum: Float(deepMomentum)},
			{Type: ReLU, Name: p + "reduce_relu"},
			{Type: Conv2D, Name: p + "conv", Filters: ch, Kernel: 3, UseBias: noBias()},
			{Type: BatchNorm, Name: p + "conv_bn", Momentum: Float(deepMomentum)},
			{Type: ReLU, Name: p + "conv_relu"},
			{Type: Conv2D, Name: p + "expand", Filters: ch * bottleneckExpansion, Kernel: 1, UseBias: noBias()},
			{Type: BatchNorm, Name: p + "expand_bn", Momentum: Float(deepMomentum)},
		}, p + "expand_bn", ch * bottleneckExpansion
	})
}

// residualNet builds the ResNet presets: a 3×3 conv stem with batch norm,
// then one residual block per stage, max pooling before every stage but
// the first, global average pooling and the logits. block gives a stage's
// layers for its width ch, their names prefixed with p, with the name of
// the last and its channels; residualNet adds the skip connection (a 1×1
// projection where the channels change), the add and its relu.
func residualNet(o PresetOptions, block func(p string, ch int) (layers []Layer, last string, out int)) ([]Layer, error) {
	if err := checkHalvings(o, o.Depth-1); err != nil {
		return nil, err
	}
	w := o.Width
	l := []Layer{
		{Type: Conv2D, Name: "stem_conv", Filters: w, Kernel: 3, UseBias: noBias()},
		{Type: BatchNorm, Name: "stem_bn", Momentum: Float(deepMomentum)},
		{Type: ReLU, Name: "stem_relu"},
	}
	prev, in := "stem_relu", w
	for stage := range o.Depth {
		p := fmt.Sprintf("stage%d_", stage+1)
		if stage > 0 {
			l = append(l, Layer{Type: MaxPool, Name: p + "pool", Kernel: 2})
			prev = p + "pool"
		}
		layers, last, out := block(p, w<<stage)
		l = append(l, layers...)
		shortcut := prev
		if in != out {
			shortcut = p + "shortcut"
			l = append(l, Layer{Type: Conv2D, Name: shortcut, Inputs: []string{prev}, Filters: out, Kernel: 1, UseBias: noBias()})
		}
		l = append(l,
			Layer{Type: Add, Name: p + "add", Inputs: []string{last, shortcut}},
			Layer{Type: ReLU, Name: p + "out"},
		)
		prev, in = p+"out", out
	}
	return append(l,
		Layer{Type: GlobalAvgPool, Name: "global_pool"},
		Layer{Type: Dense, Name: "logits", Units: o.Classes},
	), nil
}

// mobilenetExpansion is the channel expansion of the inverted residual
// blocks; MobileNetV2 uses 6, 4 keeps small inputs cheap.
const mobilenetExpansion = 4

func mobilenetSmall(o PresetOptions) ([]Layer, error) {
	// Large inputs get a strided stem, as in MobileNet; small ones would
	// lose too much too early.
	stemStride := 1
	if min(o.Input[0], o.Input[1]) >= 64 {
		stemStride = 2
	}
	halvings := o.Depth - 1
	if stemStride == 2 {
		halvings++
	}
	if err := checkHalvings(o, halvings); err != nil {
		return nil, err
	}
	w := o.Width
	l := []Layer{
		{Type: Conv2D, Name: "stem_conv", Filters: w, Kernel: 3, Stride: stemStride, UseBias: noBias()},
		{Type: BatchNorm, Name: "stem_bn", Momentum: Float(deepMomentum)},
		{Type: ReLU, Name: "stem_relu"},
	}
	prev, in, block := "stem_relu", w, 0
	for stage := range o.Depth {
		ch := w << stage
		for b := range 2 {
			block++
			stride := 1
			if stage > 0 && b == 0 {
				stride = 2
			}
			p := fmt.Sprintf("block%d_", block)
			l = append(l,
				Layer{Type: Conv2D, Name: p + "expand", Filters: in * mobilenetExpansion, Kernel: 1, UseBias: noBias()},
				Layer{Type: BatchNorm, Name: p + "expand_bn", Momentum: Float(deepMomentum)},
				Layer{Type: ReLU, Name: p + "expand_relu"},
				Layer{Type: DepthwiseConv2D, Name: p + "depthwise", Kernel: 3, Stride: stride, UseBias: noBias()},
				Layer{Type: BatchNorm, Name: p + "depthwise_bn", Momentum: Float(deepMomentum)},
				Layer{Type: ReLU, Name: p + "depthwise_relu"},
				// The projection stays linear: a relu here would destroy
				// information in the narrow bottleneck.
				Layer{Type: Conv2D, Name: p + "project", Filters: ch, Kernel: 1, UseBias: noBias()},
				Layer{Type: BatchNorm, Name: p + "project_bn", Momentum: Float(deepMomentum)},
			)
			out := p + "project_bn"
			if stride == 1 && in == ch {
				l = append(l, Layer{Type: Add, Name: p + "add", Inputs: []string{out, prev}})
				out = p + "add"
			}
			prev, in = out, ch
		}
	}
	return append(l,
		Layer{Type: Conv2D, Name: "head_conv", Filters: in * mobilenetExpansion, Kernel: 1, UseBias: noBias()},
		Layer{Type: BatchNorm, Name: "head_bn", Momentum: Float(deepMomentum)},
		Layer{Type: ReLU, Name: "head_relu"},
		Layer{Type: GlobalAvgPool, Name: "global_pool"},
		Layer{Type: Dense, Name: "logits", Units: o.Classes},
	), nil
}
