package spec

import (
	"math"
	"strconv"
)

// InputName is the name by which a layer's Inputs refer to the model input.
// No layer may take it.
const InputName = "input"

// layerKind describes one layer type: the prefix Expand names it with, the
// fields it reads besides type, name, inputs and activation, and whether it
// needs a (height, width, channels) input.
type layerKind struct {
	prefix  string
	fields  []string
	spatial bool
}

var layerKinds = map[string]layerKind{
	Conv2D:          {"conv", []string{"filters", "kernel", "stride", "padding", "use_bias", "init"}, true},
	DepthwiseConv2D: {"dwconv", []string{"multiplier", "kernel", "stride", "padding", "use_bias", "init"}, true},
	MaxPool:         {"pool", []string{"kernel", "stride", "padding"}, true},
	AvgPool:         {"avgpool", []string{"kernel", "stride", "padding"}, true},
	GlobalAvgPool:   {"globalpool", nil, true},
	Dense:           {"dense", []string{"units", "use_bias", "init"}, false},
	BatchNorm:       {"bn", []string{"momentum", "epsilon"}, false},
	Dropout:         {"dropout", []string{"rate"}, false},
	ReLU:            {"relu", nil, false},
	LeakyReLU:       {"leaky_relu", []string{"alpha"}, false},
	ELU:             {"elu", []string{"alpha"}, false},
	Sigmoid:         {"sigmoid", nil, false},
	Tanh:            {"tanh", nil, false},
	Add:             {"add", nil, false},
	Flatten:         {"flatten", nil, false},
}

// LayerTypes lists the layer types in the order the documentation gives them.
var LayerTypes = []string{Conv2D, DepthwiseConv2D, MaxPool, AvgPool, GlobalAvgPool, Dense,
	BatchNorm, Dropout, ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Add, Flatten}

// Activations lists the layer types the "activation" shorthand may name.
// "linear" (or "none") means no activation, and "softmax" is accepted on the
// final layer only, where it is dropped: the loss applies the softmax.
var Activations = []string{ReLU, LeakyReLU, ELU, Sigmoid, Tanh}

// Initializers lists the kernel initializers.
var Initializers = []string{"he_normal", "he_uniform", "glorot_normal", "glorot_uniform"}

// origin records which layer of the document an expanded layer came from,
// so that problems are reported against what the user wrote.
type origin struct {
	index      int  // position in the unexpanded layer list
	activation bool // made from the activation field of that layer
}

// Expand turns the shorthands of s into plain settings, in place. It fills
// every default (see the package documentation for the list), turns each
// layer's activation field into a layer of its own, names unnamed layers,
// gives a final dense layer without units model.classes units, and fills
// training defaults for settings left at zero where zero means "unset".
// Expand never fails: what it cannot make sense of is left for Validate to
// report. Expanding an expanded spec changes nothing.
func (s *Spec) Expand() { s.expand() }

func (s *Spec) expand() []origin {
	origins := s.Model.expand()
	s.Train.expand()
	s.Data.expand(s.Model.Input)
	return origins
}

// Expand expands the model part of a spec; see Spec.Expand.
func (m *Model) Expand() { m.expand() }

func (m *Model) expand() []origin {
	if m.Init == "" {
		m.Init = "he_normal"
	}
	taken := map[string]bool{InputName: true}
	for _, l := range m.Layers {
		if l.Name != "" {
			taken[l.Name] = true
		}
	}
	counters := map[string]int{}
	newName := func(typ string) string {
		prefix := namePrefix(typ)
		for {
			counters[prefix]++
			n := prefix + strconv.Itoa(counters[prefix])
			if !taken[n] {
				taken[n] = true
				return n
			}
		}
	}
	// A layer written with an activation is read, by the layers after it,
	// after its activation, as in Keras: references move to the new layer.
	activated := map[string]string{}
	layers := make([]Layer, 0, len(m.Layers))
	origins := make([]origin, 0, len(m.Layers))
	for i, l := range m.Layers {
		l = l.clone()
		if len(l.Inputs) == 0 {
			l.Inputs = nil
		}
		for k, in := range l.Inputs {
			if a, ok := activated[in]; ok {
				l.Inputs[k] = a
			}
		}
		if l.Name == "" {
			l.Name = newName(l.Type)
		}
		l.fillDefaults(m.Init)
		act := l.Activation
		l.Activation = ""
		if act == "linear" || act == "none" || (act == "softmax" && i == len(m.Layers)-1) {
			act = ""
		}
		layers = append(layers, l)
		origins = append(origins, origin{index: i})
		if act != "" {
			a := Layer{Type: act, Name: newName(act)}
			a.fillDefaults(m.Init)
			layers = append(layers, a)
			origins = append(origins, origin{index: i, activation: true})
			activated[l.Name] = a.Name
		}
	}
	if n := len(layers); n > 0 && layers[n-1].Type == Dense && layers[n-1].Units == 0 && m.Classes > 0 {
		layers[n-1].Units = m.Classes
	}
	if m.Layers != nil {
		m.Layers = layers
	}
	return origins
}

// namePrefix returns the prefix of generated names for a layer type; an
// unknown type is used as it is when it makes a readable name.
func namePrefix(typ string) string {
	if k, ok := layerKinds[typ]; ok {
		return k.prefix
	}
	if typ == "" || len(typ) > 32 || !validName(typ) {
		return "layer"
	}
	if last := typ[len(typ)-1]; last >= '0' && last <= '9' {
		return typ + "_" // relu6_1, not relu61
	}
	return typ
}

func (l *Layer) fillDefaults(init string) {
	switch l.Type {
	case Conv2D, DepthwiseConv2D:
		if l.Kernel == 0 {
			l.Kernel = 3
		}
		if l.Stride == 0 {
			l.Stride = 1
		}
		if l.Padding.IsZero() {
			l.Padding = Padding{Mode: PadSame}
		}
		if l.Type == DepthwiseConv2D && l.Multiplier == 0 {
			l.Multiplier = 1
		}
		if l.Init == "" {
			l.Init = init
		}
	case MaxPool, AvgPool:
		if l.Kernel == 0 {
			l.Kernel = 2
		}
		if l.Stride == 0 {
			l.Stride = l.Kernel
		}
		if l.Padding.IsZero() {
			l.Padding = Padding{Mode: PadValid}
		}
	case Dense:
		if l.Init == "" {
			l.Init = init
		}
	case BatchNorm:
		if l.Momentum == nil {
			l.Momentum = Float(DefaultBNMomentum)
		}
		if l.Epsilon == 0 {
			l.Epsilon = 1e-3
		}
	case LeakyReLU, ELU:
		if l.Alpha == nil {
			l.Alpha = Float(l.AlphaValue())
		}
	}
}

func (t *Train) expand() {
	if t.Optimizer == "" {
		t.Optimizer = "adam"
	}
	if t.BatchSize == 0 {
		t.BatchSize = 32
	}
	if t.Epochs == 0 {
		t.Epochs = 10
	}
	switch t.Optimizer {
	case "adam", "adamw":
		t.Beta1 = Float(t.Beta1Value())
		t.Beta2 = Float(t.Beta2Value())
		t.Epsilon = orDefault(t.Epsilon, 1e-7)
	case "rmsprop":
		t.Rho = Float(t.RhoValue())
		t.Epsilon = orDefault(t.Epsilon, 1e-7)
	}
	sc := &t.Schedule
	if sc.Type == "" {
		sc.Type = "constant"
	}
	switch sc.Type {
	case "step":
		sc.Factor = orDefault(sc.Factor, 0.1)
		// Three drops over the run unless told otherwise.
		sc.Every = orDefault(sc.Every, math.Max(1, math.Floor(float64(t.Epochs)/3)))
	case "exponential":
		sc.Gamma = orDefault(sc.Gamma, 0.9)
	case "one_cycle":
		sc.MaxLR = orDefault(sc.MaxLR, 10*t.LR)
		sc.PctStart = orDefault(sc.PctStart, 0.3)
	case "reduce_on_plateau":
		sc.Factor = orDefault(sc.Factor, 0.1)
		if sc.Patience == 0 {
			sc.Patience = 2
		}
	}
	if t.EarlyStopping.Monitor == "" {
		t.EarlyStopping.Monitor = "val_loss"
	}
	if t.LogEvery == 0 {
		t.LogEvery = 50
	}
	if t.ValCheckSeconds == 0 {
		t.ValCheckSeconds = DefaultValCheckSeconds
	}
}

func (d *Data) expand(input []int) {
	if d.Normalization == "" {
		d.Normalization = "scale01"
	}
	if d.Balance == "" {
		d.Balance = "none"
	}
	// A transform switched on without a strength gets a moderate one, so
	// {"p": 0.5} is enough to try it.
	crop := 4.0
	if len(input) == 3 && input[0] > 0 && input[1] > 0 {
		crop = math.Max(1, float64(min(input[0], input[1])/8))
	}
	a := &d.Augment
	for _, t := range []struct {
		tr       *Transform
		strength float64
	}{
		{&a.Crop, crop}, {&a.Shift, 0.1}, {&a.Rotation, 15}, {&a.Zoom, 0.1},
		{&a.Brightness, 0.2}, {&a.Contrast, 0.2}, {&a.Saturation, 0.2}, {&a.Hue, 0.05},
		{&a.Cutout, 0.25},
	} {
		if t.tr.P > 0 && t.tr.Strength == 0 {
			t.tr.Strength = t.strength
		}
	}
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// RemoveLayer deletes layer i and gives its readers what it read, so that
// a network whose layers name their inputs stays connected: a layer that
// named it as an input names its input instead, and the layer after it,
// which read it implicitly, names its input explicitly where that was not
// the layer before. A layer with several inputs (add) leaves its readers
// pointing at its name, for Validate to report, and so does a layer
// without a name (only named layers can be read by name).
func (m *Model) RemoveLayer(i int) {
	if i < 0 || i >= len(m.Layers) {
		return
	}
	removed := m.Layers[i]
	input := ""
	switch {
	case len(removed.Inputs) == 1:
		input = removed.Inputs[0]
	case len(removed.Inputs) == 0 && i > 0:
		input = m.Layers[i-1].Name
	}
	m.Layers = append(m.Layers[:i:i], m.Layers[i+1:]...)
	if input == "" || removed.Name == "" {
		return
	}
	for j := range m.Layers {
		for k, in := range m.Layers[j].Inputs {
			if in == removed.Name {
				m.Layers[j].Inputs = append([]string(nil), m.Layers[j].Inputs...)
				m.Layers[j].Inputs[k] = input
			}
		}
	}
	// The next layer read the removed one implicitly; it now reads the
	// layer before it implicitly, which is right only if that was the
	// removed layer's input.
	if i < len(m.Layers) && len(m.Layers[i].Inputs) == 0 && (i == 0 || m.Layers[i-1].Name != input) {
		m.Layers[i].Inputs = []string{input}
	}
}
