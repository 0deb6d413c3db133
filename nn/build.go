package nn

import (
	"errors"
	"fmt"
	"slices"

	"plateau/kernels"
	"plateau/spec"
)

// built is what a layer contributes to the network.
type built struct {
	impl        layer
	shape       []int // output shape per example
	params      []paramDecl
	relu        bool // relu-family: dead units are reported
	identity    bool // the gradient of every input is the output's
	convScratch int  // floats of convolution scratch at maxBatch
}

// build makes the layer for l, an expanded layer (defaults filled), reading
// inputs of the given per-example shapes.
func build(l spec.Layer, in [][]int, maxBatch int, ws *workspace) (built, error) {
	switch {
	case l.Type == spec.Add && len(in) < 2:
		return built{}, fmt.Errorf("needs at least two inputs, has %d", len(in))
	case l.Type != spec.Add && len(in) != 1:
		return built{}, fmt.Errorf("reads one input, not %d", len(in))
	}
	x := in[0]
	image := func() error {
		if len(x) != 3 {
			return fmt.Errorf("needs an image input (height, width, channels), got shape %v", x)
		}
		return nil
	}
	init := l.Init

	switch l.Type {
	case spec.Conv2D, spec.DepthwiseConv2D:
		if err := image(); err != nil {
			return built{}, err
		}
		if err := checkInit(init); err != nil {
			return built{}, err
		}
		h, w, c := x[0], x[1], x[2]
		k, stride := l.Kernel, l.Stride
		if k < 1 || stride < 1 {
			return built{}, errors.New("kernel and stride must be at least 1")
		}
		conv := conv2D{h: h, w: w, c: c, k: k, stride: stride, ws: ws}
		var err error
		conv.padTop, conv.padBottom, conv.padLeft, conv.padRight, err = padding(l.Padding, h, w, k, stride)
		if err != nil {
			return built{}, err
		}
		var b built
		var kernelShape []int
		fanIn, fanOut := k*k*c, 0
		if l.Type == spec.Conv2D {
			if l.Filters < 1 {
				return built{}, errors.New("filters must be at least 1")
			}
			conv.filters = l.Filters
			kernelShape = []int{k, k, c, l.Filters}
			fanOut = k * k * l.Filters
		} else {
			m := l.Multiplier
			if m < 1 {
				return built{}, errors.New("multiplier must be at least 1")
			}
			conv.filters = c * m
			kernelShape = []int{k, k, c, m}
			fanIn, fanOut = k*k, k*k*m
		}
		p := conv.params(maxBatch)
		if h+conv.padTop+conv.padBottom < k || w+conv.padLeft+conv.padRight < k {
			return built{}, fmt.Errorf("a %dx%d kernel does not fit the %dx%d input", k, k, h, w)
		}
		b.shape = []int{p.OH, p.OW, conv.filters}
		l2 := &conv
		if l.Type == spec.Conv2D {
			b.impl = l2
			b.convScratch = p.ScratchSize()
		} else {
			b.impl = &depthwiseConv2D{conv2D: conv, multiplier: conv.filters / c}
			l2 = &b.impl.(*depthwiseConv2D).conv2D
		}
		b.params = append(b.params, paramDecl{name: l.Name + "/kernel", shape: kernelShape, trainable: true, decay: true,
			init: init, fanIn: fanIn, fanOut: fanOut, ref: &l2.kernel})
		if l.Bias() {
			b.params = append(b.params, paramDecl{name: l.Name + "/bias", shape: []int{conv.filters}, trainable: true, ref: &l2.bias})
		}
		return b, nil

	case spec.MaxPool, spec.AvgPool:
		if err := image(); err != nil {
			return built{}, err
		}
		h, w, c := x[0], x[1], x[2]
		k, stride := l.Kernel, l.Stride
		if k < 1 || stride < 1 {
			return built{}, errors.New("kernel and stride must be at least 1")
		}
		pl := &pool{max: l.Type == spec.MaxPool, h: h, w: w, c: c, k: k, stride: stride}
		var err error
		pl.padTop, pl.padBottom, pl.padLeft, pl.padRight, err = padding(l.Padding, h, w, k, stride)
		if err != nil {
			return built{}, err
		}
		p := pl.params(maxBatch)
		if h+pl.padTop+pl.padBottom < k || w+pl.padLeft+pl.padRight < k {
			return built{}, fmt.Errorf("a %dx%d window does not fit the %dx%d input", k, k, h, w)
		}
		if pl.max {
			pl.argmax = make([]int32, maxBatch*p.OH*p.OW*c)
		}
		return built{impl: pl, shape: []int{p.OH, p.OW, c}}, nil

	case spec.GlobalAvgPool:
		if err := image(); err != nil {
			return built{}, err
		}
		return built{impl: &globalAvgPool{hw: x[0] * x[1], c: x[2]}, shape: []int{x[2]}}, nil

	case spec.Dense:
		if err := checkInit(init); err != nil {
			return built{}, err
		}
		if l.Units < 1 {
			return built{}, errors.New("units must be at least 1")
		}
		d := &dense{in: shapeSize(x), out: l.Units}
		b := built{impl: d, shape: []int{l.Units}}
		b.params = append(b.params, paramDecl{name: l.Name + "/kernel", shape: []int{d.in, d.out}, trainable: true, decay: true,
			init: init, fanIn: d.in, fanOut: d.out, ref: &d.kernel})
		if l.Bias() {
			b.params = append(b.params, paramDecl{name: l.Name + "/bias", shape: []int{d.out}, trainable: true, ref: &d.bias})
		}
		return b, nil

	case spec.BatchNorm:
		c := x[len(x)-1]
		momentum, eps := l.MomentumValue(), l.Epsilon
		if !(momentum >= 0 && momentum < 1) || !(eps > 0) {
			return built{}, errors.New("momentum must be in [0, 1) and epsilon positive")
		}
		bn := &batchNorm{
			pixels: shapeSize(x) / c, c: c, momentum: float32(momentum), eps: float32(eps),
			mean: make([]float32, c), invStd: make([]float32, c),
		}
		shape := []int{c}
		return built{impl: bn, shape: x, params: []paramDecl{
			{name: l.Name + "/scale", shape: shape, trainable: true, fill: 1, ref: &bn.scale},
			{name: l.Name + "/offset", shape: shape, trainable: true, fill: 0, ref: &bn.offset},
			{name: l.Name + "/mean", shape: shape, fill: 0, ref: &bn.runMean},
			{name: l.Name + "/variance", shape: shape, fill: 1, ref: &bn.runVar},
		}}, nil

	case spec.Dropout:
		if l.Rate < 0 || l.Rate >= 1 {
			return built{}, fmt.Errorf("rate %v must be in [0, 1)", l.Rate)
		}
		return built{impl: &dropout{rate: float32(l.Rate), mask: make([]float32, maxBatch*shapeSize(x)), ws: ws, rowSize: shapeSize(x)}, shape: x}, nil

	case spec.ReLU, spec.Sigmoid, spec.Tanh:
		return built{impl: &activation{kind: l.Type}, shape: x, relu: l.Type == spec.ReLU}, nil

	case spec.LeakyReLU, spec.ELU:
		return built{impl: &activation{kind: l.Type, alpha: float32(l.AlphaValue())}, shape: x, relu: true}, nil

	case spec.Add:
		for _, s := range in[1:] {
			if !slices.Equal(x, s) {
				return built{}, fmt.Errorf("input shapes %v and %v differ", x, s)
			}
		}
		return built{impl: add{}, shape: x, identity: true}, nil

	case spec.Flatten:
		return built{impl: flatten{}, shape: []int{shapeSize(x)}, identity: true}, nil
	}
	return built{}, fmt.Errorf("unknown layer type %q", l.Type)
}

// padding resolves a padding mode into pixels per side.
func padding(p spec.Padding, h, w, k, stride int) (top, bottom, left, right int, err error) {
	switch p.Mode {
	case spec.PadSame:
		top, bottom = kernels.SamePadding(h, k, stride)
		left, right = kernels.SamePadding(w, k, stride)
	case spec.PadValid:
	case spec.PadExplicit:
		if p.Size < 0 {
			return 0, 0, 0, 0, fmt.Errorf("padding %d must not be negative", p.Size)
		}
		top, bottom, left, right = p.Size, p.Size, p.Size, p.Size
	default:
		return 0, 0, 0, 0, fmt.Errorf("unknown padding %q", p.Mode)
	}
	return top, bottom, left, right, nil
}
