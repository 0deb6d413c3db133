package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// LayerInfo describes one layer of an expanded model as shape inference
// sees it, so that a page can show shapes and sizes without building the
// network, and a builder need not redo the arithmetic.
type LayerInfo struct {
	Name string
	Type string
	// Inputs names the layers read, InputName for the model input;
	// InputIndex gives their positions, -1 for the model input.
	Inputs     []string
	InputIndex []int
	// InputShape is the shape of the (first) input, Shape the shape of the
	// output, both for one example: [height, width, channels] or [units].
	// A nil Shape means it could not be inferred (see the returned error).
	InputShape []int
	Shape      []int
	// Pad is the padding of convolution and pooling layers as pixels on
	// the top, left, bottom and right, with "same" worked out the way
	// TensorFlow does it (the odd pixel goes to the bottom and right).
	Pad [4]int
	// Params counts trainable parameters (kernels, biases, batch-norm scale
	// and offset); State counts the batch-norm running mean and variance.
	Params int
	State  int
	// FLOPs is the forward cost for one example: two per multiply-add in
	// convolutions and dense layers, one per output value elsewhere (per
	// window element for pooling, two for batch norm).
	FLOPs int64
}

// Elements returns the number of values in the layer's output for one
// example.
func (l LayerInfo) Elements() int {
	if l.Shape == nil {
		return 0
	}
	return product(l.Shape)
}

// Shapes infers every layer's output shape, parameter count and cost. It
// works on an expanded copy of m, so there is one LayerInfo per layer of the
// expanded model. A dense layer reading a (height, width, channels) tensor
// flattens it in NHWC order (row, then column, then channel), as a flatten
// layer would. When the model has problems Shapes returns them as Errors,
// together with the layers it could describe.
func (m Model) Shapes() ([]LayerInfo, error) {
	c := m.Clone()
	ch := &checker{origins: c.expand()}
	infos := ch.model(&c)
	return infos, ch.result()
}

// ParamCount returns the number of trainable parameters of the model. With
// an error it counts only the layers whose shapes could be inferred.
func (m Model) ParamCount() (int, error) {
	infos, err := m.Shapes()
	n := 0
	for _, l := range infos {
		n = addSat(n, l.Params)
	}
	return n, err
}

// Bottlenecks lists the hidden dense layers of an expanded model (every
// dense layer but the final one, which gives the class scores) with fewer
// units than model.classes: every class's evidence has to pass through
// their few numbers.
func (m Model) Bottlenecks() []int {
	var out []int
	for i, l := range m.Layers {
		if l.Type == Dense && i != len(m.Layers)-1 && l.Units > 0 && l.Units < m.Classes {
			out = append(out, i)
		}
	}
	return out
}

// LocalPool is a pooling layer of an expanded model that shrinks its
// feature maps to 1×1 while each feature it pools sees at most half the
// image's side: the layers after it learn which local patterns occur, not
// where.
type LocalPool struct {
	Index    int // the pooling layer
	Field    int // receptive field of the pooled features, in input pixels
	Side     int // the input image's smaller side
	Map      int // the smaller side of the maps it pools
	Channels int // the features it keeps
}

// LocalPools lists the model's pooling layers (global average pooling, or
// a max or average pooling whose output is 1×1) whose input features see
// at most half of the image's smaller side, counting each convolution's
// and pooling's window and stride on the way (the widest path through a
// residual addition). Networks that pool globally (ResNets, MobileNets)
// do so after features that see most of the image: vgg-small's see 36
// pixels of 32, mobilenet-small's 25. small-cnn pooled globally after its
// second convolution (features of 8×8 pixels of 28×28) tested 54.1% on
// 3,000 Fashion-MNIST images against 83.5% with its flatten, and 66.6%
// after 30 epochs.
func (m Model) LocalPools() []LocalPool {
	infos, err := m.Shapes()
	if err != nil || len(m.Input) < 2 || len(infos) != len(m.Layers) {
		return nil
	}
	side := min(m.Input[0], m.Input[1])
	field, jump := make([]int, len(infos)), make([]int, len(infos))
	var out []LocalPool
	for i, info := range infos {
		f, j := 1, 1
		for _, in := range info.InputIndex {
			if in >= 0 {
				f, j = max(f, field[in]), max(j, jump[in])
			}
		}
		l := m.Layers[i]
		in := info.InputShape
		spatial := len(in) == 3 && (in[0] > 1 || in[1] > 1)
		switch l.Type {
		case Conv2D, DepthwiseConv2D, MaxPool, AvgPool:
			k, stride := max(l.Kernel, 1), max(l.Stride, 1)
			field[i], jump[i] = f+(k-1)*j, j*stride
		default:
			field[i], jump[i] = f, j
		}
		collapses := l.Type == GlobalAvgPool ||
			(l.Type == MaxPool || l.Type == AvgPool) && len(info.Shape) == 3 && info.Shape[0] == 1 && info.Shape[1] == 1
		if spatial && collapses && 2*f <= side {
			out = append(out, LocalPool{Index: i, Field: f, Side: side, Map: min(in[0], in[1]), Channels: in[2]})
		}
	}
	return out
}

// model checks an expanded model and infers its shapes.
func (c *checker) model(m *Model) []LayerInfo {
	c.layers = m.Layers
	var input []int
	switch {
	case len(m.Input) != 3:
		c.add("model.input", "input must be [height, width, channels], e.g. [28, 28, 1], not %s", shapeString(m.Input))
	case m.Input[0] < 1 || m.Input[1] < 1 || m.Input[0] > MaxInputSide || m.Input[1] > MaxInputSide:
		c.add("model.input", "height and width must be between 1 and %d, not %s", MaxInputSide, shapeString(m.Input))
	case m.Input[2] < 1 || m.Input[2] > MaxChannels:
		c.add("model.input", "channels must be between 1 and %d (1 for gray, 3 for color), not %d", MaxChannels, m.Input[2])
	case product(m.Input) > MaxActivations:
		c.add("model.input", "an input of %s holds more than %d values; use smaller images", shapeString(m.Input), MaxActivations)
	default:
		input = m.Input
	}
	if m.Classes < 2 || m.Classes > MaxClasses {
		c.add("model.classes", "classes %d must be between 2 and %d", m.Classes, MaxClasses)
	}
	c.oneOf("model.init", "initializer", m.Init, Initializers)
	if len(m.Layers) == 0 {
		c.add("model.layers", "the model has no layers; it needs at least a dense layer with model.classes units")
		return nil
	}
	if len(m.Layers) > MaxLayers {
		c.add("model.layers", "the model has %d layers (with activations as layers of their own); the limit is %d", len(m.Layers), MaxLayers)
		return nil
	}

	index := map[string]int{}
	for i, l := range m.Layers {
		switch {
		case l.Name == InputName:
			c.layer(i, "name", "%q names the model input; choose another name", l.Name)
		case !validName(l.Name):
			c.layer(i, "name", "name %q must be 1 to 64 letters, digits, '_', '-' or '.'", l.Name)
		}
		if j, dup := index[l.Name]; dup {
			c.layer(i, "name", "name %q is already used by model.layers[%d]", l.Name, c.docIndex(j))
			continue
		}
		index[l.Name] = i
	}

	infos := make([]LayerInfo, len(m.Layers))
	consumed := make([]bool, len(m.Layers))
	for i := range m.Layers {
		l := &m.Layers[i]
		info := &infos[i]
		info.Name, info.Type = l.Name, l.Type
		kind, known := layerKinds[l.Type]
		if c.fromActivation(i) && !isActivation(l.Type) {
			c.layer(i, "", "unknown activation %q; use %s, or \"linear\" for none", l.Type, orList(Activations))
			known = false
		} else if !known {
			c.layer(i, "type", "unknown layer type %q; use %s", l.Type, orList(LayerTypes))
		}
		if known {
			c.unusedFields(i, l, kind)
			c.layerFields(i, l)
		}

		// Resolve the inputs.
		ins := l.Inputs
		if len(ins) == 0 {
			if i == 0 {
				ins = []string{InputName}
			} else {
				ins = []string{m.Layers[i-1].Name}
			}
		}
		shapesKnown := true
		var inShapes [][]int
		for _, name := range ins {
			j, ok := index[name]
			switch {
			case name == InputName:
				j = -1
			case !ok:
				c.layer(i, "inputs", "no layer is named %q", name)
				shapesKnown = false
				continue
			case j >= i:
				c.layer(i, "inputs", "%q is not an earlier layer; a layer can only read layers before it", name)
				shapesKnown = false
				continue
			}
			info.Inputs = append(info.Inputs, name)
			info.InputIndex = append(info.InputIndex, j)
			var s []int
			if j < 0 {
				s = input
			} else {
				s = infos[j].Shape
				consumed[j] = true
			}
			if s == nil {
				shapesKnown = false
			}
			inShapes = append(inShapes, s)
		}
		switch {
		case l.Type == Add && len(l.Inputs) < 2:
			c.layer(i, "inputs", "add needs at least two inputs, e.g. [\"conv3\", \"pool1\"]")
			shapesKnown = false
		case l.Type != Add && len(l.Inputs) > 1:
			c.layer(i, "inputs", "%s reads one input, not %d; only add reads several", l.Type, len(l.Inputs))
			shapesKnown = false
		}
		if len(inShapes) > 0 {
			info.InputShape = inShapes[0]
		}
		if !known || !shapesKnown || len(inShapes) == 0 {
			if c.fromActivation(i) && shapesKnown && len(inShapes) == 1 {
				// An unknown activation keeps its input's shape, so the
				// layers after it are still checked.
				info.Shape = inShapes[0]
			}
			continue
		}
		c.inferShape(i, l, kind, info, inShapes)
		if info.Shape != nil && product(info.Shape) > MaxActivations {
			c.layer(i, "", "its output %s holds %d values per example; the limit is %d", shapeString(info.Shape), product(info.Shape), MaxActivations)
			info.Shape = nil
		}
	}

	last := len(m.Layers) - 1
	for i := range last {
		if !consumed[i] {
			c.layer(i, "", "no layer reads the output of %q; remove it or name it in a later layer's inputs", m.Layers[i].Name)
		}
	}
	if l := m.Layers[last]; l.Type != Dense {
		c.layer(last, "", "the final layer must be a dense layer with %d units (model.classes) that gives the class scores, not %s; append {\"type\": \"dense\", \"units\": %d}", m.Classes, l.Type, m.Classes)
	} else if l.Units != m.Classes && l.Units >= 1 && m.Classes >= 2 {
		c.layer(last, "units", "the final dense layer has %d units but model.classes is %d; they must match", l.Units, m.Classes)
	}
	c.totals(infos)
	return infos
}

// docIndex maps an expanded layer position to the document's.
func (c *checker) docIndex(i int) int {
	if i < len(c.origins) {
		return c.origins[i].index
	}
	return i
}

func isActivation(t string) bool {
	for _, a := range Activations {
		if a == t {
			return true
		}
	}
	return false
}

// unusedFields reports settings the layer's type does not read, which are
// nearly always a mistake (a "units" on a conv2d meant as "filters").
func (c *checker) unusedFields(i int, l *Layer, kind layerKind) {
	set := []struct {
		name string
		set  bool
	}{
		{"filters", l.Filters != 0}, {"multiplier", l.Multiplier != 0}, {"units", l.Units != 0},
		{"kernel", l.Kernel != 0}, {"stride", l.Stride != 0}, {"padding", !l.Padding.IsZero()},
		{"use_bias", l.UseBias != nil}, {"init", l.Init != ""}, {"rate", l.Rate != 0},
		{"alpha", l.Alpha != nil}, {"momentum", l.Momentum != nil}, {"epsilon", l.Epsilon != 0},
	}
	for _, f := range set {
		if f.set && !contains(kind.fields, f.name) {
			uses := "no settings"
			if len(kind.fields) > 0 {
				uses = strings.Join(kind.fields, ", ")
			}
			c.layer(i, f.name, "%s does not use %s (it uses %s)", l.Type, f.name, uses)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// layerFields checks the settings of one layer that do not depend on its
// input.
func (c *checker) layerFields(i int, l *Layer) {
	window := func() {
		if l.Kernel < 1 || l.Kernel > MaxKernel {
			c.layer(i, "kernel", "kernel %d must be between 1 and %d", l.Kernel, MaxKernel)
		}
		if l.Stride < 1 || l.Stride > MaxKernel {
			c.layer(i, "stride", "stride %d must be between 1 and %d", l.Stride, MaxKernel)
		}
		switch l.Padding.Mode {
		case PadSame, PadValid:
		case PadExplicit:
			if l.Padding.Size < 0 {
				c.layer(i, "padding", "padding %d must be ≥ 0", l.Padding.Size)
			} else if l.Kernel >= 1 && l.Padding.Size >= l.Kernel {
				// Wider padding gives outputs that see only zeros (and
				// pooling windows with no input at all).
				c.layer(i, "padding", "padding %d must be less than the kernel (%d); use padding ≤ %d or \"same\"", l.Padding.Size, l.Kernel, l.Kernel-1)
			}
		default:
			c.layer(i, "padding", "unknown padding %q; use %s", l.Padding.Mode, paddingExamples)
		}
	}
	initializer := func() {
		if !contains(Initializers, l.Init) {
			c.layer(i, "init", "unknown initializer %q; use %s", l.Init, orList(Initializers))
		}
	}
	switch l.Type {
	case Conv2D:
		if l.Filters < 1 || l.Filters > MaxChannels {
			c.layer(i, "filters", "filters %d must be between 1 and %d", l.Filters, MaxChannels)
		}
		window()
		initializer()
	case DepthwiseConv2D:
		if l.Multiplier < 1 || l.Multiplier > MaxChannels {
			c.layer(i, "multiplier", "multiplier %d must be between 1 and %d", l.Multiplier, MaxChannels)
		}
		window()
		initializer()
	case MaxPool, AvgPool:
		window()
	case Dense:
		if l.Units < 1 || l.Units > MaxUnits {
			c.layer(i, "units", "units %d must be between 1 and %d", l.Units, MaxUnits)
		}
		initializer()
	case BatchNorm:
		if m := l.MomentumValue(); !(m >= 0 && m < 1) {
			c.layer(i, "momentum", "momentum %s must be in [0, 1); 0.99 is usual", fmtFloat(m))
		}
		if !(l.Epsilon > 0 && l.Epsilon < 1) {
			c.layer(i, "epsilon", "epsilon %s must be in (0, 1); 1e-3 is usual", fmtFloat(l.Epsilon))
		}
	case Dropout:
		if !(l.Rate >= 0 && l.Rate < 1) {
			c.layer(i, "rate", "rate %s must be in [0, 1); it is the fraction of values dropped", fmtFloat(l.Rate))
		}
	case LeakyReLU:
		if a := l.AlphaValue(); !(a >= 0 && a <= 1) {
			c.layer(i, "alpha", "alpha %s must be in [0, 1]; 0.01 to 0.3 is usual", fmtFloat(a))
		}
	case ELU:
		if a := l.AlphaValue(); !(a > 0 && a <= 100) {
			c.layer(i, "alpha", "alpha %s must be in (0, 100]; 1 is usual", fmtFloat(a))
		}
	}
}

// inferShape fills the output shape, padding, parameter count and cost of
// layer i from its input shapes, and reports inputs it cannot read.
func (c *checker) inferShape(i int, l *Layer, kind layerKind, info *LayerInfo, in [][]int) {
	x := in[0]
	if kind.spatial && len(x) != 3 {
		c.layer(i, "", "%s needs a (height, width, channels) input, but %s gives %s; put it before any dense or flatten layer", l.Type, info.Inputs[0], shapeString(x))
		return
	}
	elements := int64(product(x))
	switch l.Type {
	case Conv2D, DepthwiseConv2D, MaxPool, AvgPool:
		if l.Kernel < 1 || l.Kernel > MaxKernel || l.Stride < 1 || l.Stride > MaxKernel {
			return // reported by layerFields
		}
		oh, top, bottom, okH := window(x[0], l.Kernel, l.Stride, l.Padding)
		ow, left, right, okW := window(x[1], l.Kernel, l.Stride, l.Padding)
		if !okH || !okW {
			if l.Padding.Mode == PadValid || l.Padding.Mode == PadExplicit {
				c.kernelTooLarge(i, l, x)
			}
			return
		}
		info.Pad = [4]int{top, left, bottom, right}
		ch := x[2]
		k := int64(l.Kernel)
		switch l.Type {
		case Conv2D:
			info.Shape = []int{oh, ow, l.Filters}
			info.Params = satInt(mulSat(k, k, int64(ch), int64(l.Filters)))
			if l.Bias() {
				info.Params = addSat(info.Params, l.Filters)
			}
			info.FLOPs = mulSat(2, int64(oh), int64(ow), int64(l.Filters), k, k, int64(ch))
		case DepthwiseConv2D:
			out := int64(ch) * int64(l.Multiplier)
			if out > MaxChannels {
				c.layer(i, "multiplier", "multiplier %d on %d channels gives %d channels; the limit is %d", l.Multiplier, ch, out, MaxChannels)
				return
			}
			info.Shape = []int{oh, ow, int(out)}
			info.Params = satInt(mulSat(k, k, out))
			if l.Bias() {
				info.Params = addSat(info.Params, int(out))
			}
			info.FLOPs = mulSat(2, int64(oh), int64(ow), out, k, k)
		default:
			info.Shape = []int{oh, ow, ch}
			info.FLOPs = mulSat(int64(oh), int64(ow), int64(ch), k, k)
		}
	case GlobalAvgPool:
		info.Shape = []int{x[2]}
		info.FLOPs = elements
	case Dense:
		if l.Units < 1 || l.Units > MaxUnits {
			return
		}
		info.Shape = []int{l.Units}
		info.Params = satInt(mulSat(elements, int64(l.Units)))
		if l.Bias() {
			info.Params = addSat(info.Params, l.Units)
		}
		info.FLOPs = mulSat(2, elements, int64(l.Units))
	case Flatten:
		info.Shape = []int{int(elements)}
	case BatchNorm:
		ch := x[len(x)-1]
		info.Shape = cloneSlice(x)
		info.Params, info.State = 2*ch, 2*ch
		info.FLOPs = 2 * elements
	case Add:
		for k := 1; k < len(in); k++ {
			if !equalShapes(in[k], x) {
				c.layer(i, "inputs", "add needs inputs of equal shape, but %s gives %s and %s gives %s", info.Inputs[0], shapeString(x), info.Inputs[k], shapeString(in[k]))
				return
			}
		}
		info.Shape = cloneSlice(x)
		info.FLOPs = mulSat(elements, int64(len(in)-1))
	default: // dropout and activations keep the shape
		info.Shape = cloneSlice(x)
		info.FLOPs = elements
	}
}

func (c *checker) kernelTooLarge(i int, l *Layer, x []int) {
	pad := 0
	if l.Padding.Mode == PadExplicit {
		pad = l.Padding.Size
	}
	limit := min(x[0], x[1]) + 2*pad
	padded := ""
	if pad > 0 {
		padded = fmt.Sprintf(" padded by %d", pad)
	}
	c.layer(i, "kernel", "kernel %d is larger than the %d×%d input%s; use kernel ≤ %d or padding \"same\"", l.Kernel, x[0], x[1], padded, limit)
}

// window returns the output size of a convolution or pooling along one
// axis and the padding before and after. "same" padding follows
// TensorFlow: the output is ceil(in/stride), and the odd pixel of padding
// goes after. ok is false when the window does not fit the padded input.
func window(in, kernel, stride int, p Padding) (out, before, after int, ok bool) {
	switch p.Mode {
	case PadSame:
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+kernel-in, 0)
		return out, total / 2, total - total/2, true
	case PadExplicit:
		before, after = p.Size, p.Size
	case PadValid:
	default:
		return 0, 0, 0, false
	}
	span := in + before + after
	if kernel > span {
		return 0, 0, 0, false
	}
	return (span-kernel)/stride + 1, before, after, true
}

// totals refuses models too large for the page.
func (c *checker) totals(infos []LayerInfo) {
	params, acts := 0, 0
	biggest, biggestParams := 0, 0
	for i, l := range infos {
		params = addSat(params, l.Params)
		acts = addSat(acts, l.Elements())
		if l.Params > biggestParams {
			biggest, biggestParams = i, l.Params
		}
	}
	if params > MaxParams {
		c.add("model.layers", "the model has %s parameters; the limit is %s. The largest layer is %s with %s; use fewer filters or units, or pool before dense layers",
			humanCount(params), humanCount(MaxParams), infos[biggest].Name, humanCount(biggestParams))
	}
	if acts > MaxActivations {
		c.add("model.layers", "the layers hold %s values per example; the limit is %s; use fewer filters, smaller inputs or pool earlier",
			humanCount(acts), humanCount(MaxActivations))
	}
}

func humanCount(n int) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(float64(n)/1e9, 'f', 1, 64) + "G"
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	case n >= 1e4:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	}
	return strconv.Itoa(n)
}

func shapeString(s []int) string {
	if s == nil {
		return "nothing"
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// product multiplies the dimensions, saturating instead of overflowing.
func product(s []int) int {
	p := int64(1)
	for _, v := range s {
		p = mulSat(p, int64(v))
	}
	return satInt(p)
}

// mulSat multiplies non-negative numbers, stopping at math.MaxInt64, so that
// absurd specs give absurd counts rather than wrapped ones.
func mulSat(xs ...int64) int64 {
	p := int64(1)
	for _, x := range xs {
		if x < 0 {
			x = 0
		}
		if x != 0 && p > math.MaxInt64/x {
			return math.MaxInt64
		}
		p *= x
	}
	return p
}

func addSat(a, b int) int {
	if b > 0 && a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func satInt(v int64) int {
	if v > int64(math.MaxInt) {
		return math.MaxInt
	}
	return int(v)
}
