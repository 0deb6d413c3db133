package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"plateau/kernels"
	"plateau/spec"
)

// Param is one parameter tensor of the network: views into the arena, so an
// optimizer updates the network by writing Value in place.
type Param struct {
	// Name is "<layer>/kernel", "<layer>/bias", "<layer>/scale",
	// "<layer>/offset", "<layer>/mean" or "<layer>/variance".
	Name string
	// Shape is (KH,KW,C,OC) for convolution kernels, (KH,KW,C,M) for
	// depthwise kernels, (IN,OUT) for dense kernels and (C) otherwise.
	Shape []int
	Value []float32
	// Grad is nil for state that is not trained (batch norm running mean
	// and variance).
	Grad []float32
	// Decay is true for convolution and dense kernels, the tensors L1, L2
	// and weight decay apply to.
	Decay bool
}

// MaxOptimizerSlots is the number of parameter-sized optimizer buffers the
// arena reserves: enough for every optimizer of the spec (Adam's first and
// second moments, RMSprop's mean square and momentum).
const MaxOptimizerSlots = 2

// Network is a model built from a spec, ready to train. Its methods are not
// safe for concurrent use: Forward and Backward reuse buffers owned by the
// network.
type Network struct {
	// Spec is the model the network was built from.
	Spec spec.Model

	maxBatch  int
	inputSize int
	classes   int
	seed      uint64

	// nodes[0] is the model input; the others are the layers in order.
	nodes []*node

	// arena holds, in order: trainable values, state values, gradients of
	// the trainable values, then MaxOptimizerSlots optimizer slots.
	arena     []float32
	trainable int // floats of trainable values
	state     int // floats of state values
	params    []Param

	ws *workspace
	// edgeScratch receives the gradient of a layer's input when that input
	// feeds several layers and the gradients must be summed. Only add has
	// several inputs, and its gradients are routed without scratch.
	edgeScratch []float32

	// wantInputGrad makes Backward compute the gradient of the model input.
	wantInputGrad bool

	lastBatch int
}

type node struct {
	spec    spec.Layer // zero for the input node
	impl    layer
	inputs  []int // node indices
	shape   []int // per example: (H,W,C) or (units)
	size    int   // floats per example
	fanOut  int   // number of input edges that read this node
	params  []int // indices into Network.params
	relu    bool  // relu-family: dead units are reported
	aliased bool  // out is the input's memory (flatten)
	// identity: every input's gradient is the output's gradient (add,
	// flatten), so it is routed without calling the layer.
	identity bool

	out, grad []float32 // maxBatch × size

	// Views cut to the batch for each call; allocated once.
	x, dx      [][]float32
	accumulate []bool
}

// paramDecl is a parameter a layer asks for while the network is built.
type paramDecl struct {
	name          string
	shape         []int
	trainable     bool
	decay         bool
	init          string // initializer; "" for a constant fill
	fill          float32
	fanIn, fanOut int
	ref           *paramRef
}

// New builds the network for a model, which should have passed
// spec.Model.Validate. New expands a copy of it first (spec.Model.Expand:
// names, defaults, activation shorthands as layers of their own), and the
// network's Spec is that expanded copy. maxBatch sizes the activation
// buffers; seed draws the initial weights (and keys the dropout masks until
// SetDropout) deterministically.
func New(m spec.Model, maxBatch int, seed uint64) (*Network, error) {
	m = m.Clone()
	m.Expand()
	if maxBatch < 1 {
		return nil, fmt.Errorf("maximum batch size %d must be at least 1", maxBatch)
	}
	if len(m.Input) != 3 || m.Input[0] < 1 || m.Input[1] < 1 || m.Input[2] < 1 {
		return nil, fmt.Errorf("model input %v must be [height, width, channels], all positive", m.Input)
	}
	if m.Classes < 1 {
		return nil, fmt.Errorf("model classes %d must be at least 1", m.Classes)
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("model has no layers")
	}
	if err := checkInit(m.Init); err != nil {
		return nil, fmt.Errorf("model init: %v", err)
	}

	n := &Network{
		Spec:      m,
		maxBatch:  maxBatch,
		inputSize: m.Input[0] * m.Input[1] * m.Input[2],
		classes:   m.Classes,
		seed:      seed,
		ws:        &workspace{},
	}
	n.SetDropout(DropoutKey{Step: uint32(seed) ^ uint32(seed>>32)})

	input := &node{shape: slices.Clone(m.Input), size: n.inputSize}
	n.nodes = []*node{input}
	index := map[string]int{spec.InputName: 0}
	var decls []paramDecl
	var declLayer []int // node index of each declaration
	convScratch := 0
	for i, l := range m.Layers {
		if l.Name == "" {
			return nil, fmt.Errorf("layer %d (%s) has no name", i+1, l.Type)
		}
		if _, dup := index[l.Name]; dup {
			return nil, fmt.Errorf("layer %q: name used twice (or reserved for the model input)", l.Name)
		}
		nd := &node{spec: l}
		if len(l.Inputs) == 0 {
			nd.inputs = []int{len(n.nodes) - 1}
		}
		for _, name := range l.Inputs {
			j, ok := index[name]
			if !ok {
				return nil, fmt.Errorf("layer %q: input %q is not an earlier layer", l.Name, name)
			}
			nd.inputs = append(nd.inputs, j)
		}
		inShapes := make([][]int, len(nd.inputs))
		for k, j := range nd.inputs {
			inShapes[k] = n.nodes[j].shape
		}
		b, err := build(l, inShapes, maxBatch, n.ws)
		if d, ok := b.impl.(*dropout); ok {
			d.index = i
		}
		if err != nil {
			return nil, fmt.Errorf("layer %q (%s): %v", l.Name, l.Type, err)
		}
		nd.impl, nd.shape, nd.relu, nd.identity = b.impl, b.shape, b.relu, b.identity
		nd.size = shapeSize(b.shape)
		if nd.size < 1 {
			return nil, fmt.Errorf("layer %q (%s): output shape %v is empty", l.Name, l.Type, b.shape)
		}
		convScratch = max(convScratch, b.convScratch)
		if bn, ok := nd.impl.(*batchNorm); ok && nd.inputs[0] == 0 {
			bn.spareGrad = make([]float32, maxBatch*nd.size)
		}
		for _, d := range b.params {
			decls = append(decls, d)
			declLayer = append(declLayer, len(n.nodes))
		}
		index[l.Name] = len(n.nodes)
		n.nodes = append(n.nodes, nd)
	}
	last := n.nodes[len(n.nodes)-1]
	if last.size != m.Classes {
		return nil, fmt.Errorf("the last layer %q outputs %v, not the %d class logits", last.spec.Name, last.shape, m.Classes)
	}

	n.allocateParams(decls, declLayer)
	n.ws.convScratch = make([]float32, convScratch)
	n.allocateActivations()
	return n, nil
}

// allocateParams lays out the arena (trainable values, state values,
// gradients, optimizer slots), points every declared parameter at its part
// and initializes it layer by layer from one seeded stream.
func (n *Network) allocateParams(decls []paramDecl, declLayer []int) {
	for _, d := range decls {
		if d.trainable {
			n.trainable += shapeSize(d.shape)
		} else {
			n.state += shapeSize(d.shape)
		}
	}
	n.arena = make([]float32, n.trainable+n.state+(1+MaxOptimizerSlots)*n.trainable)
	values := n.arena[:n.trainable+n.state]
	grads := n.arena[n.trainable+n.state : 2*n.trainable+n.state]
	order := make([]int, 0, len(decls)) // trainable first, then state, each in layer order
	for i, d := range decls {
		if d.trainable {
			order = append(order, i)
		}
	}
	for i, d := range decls {
		if !d.trainable {
			order = append(order, i)
		}
	}
	offset := 0
	n.params = make([]Param, len(decls))
	for k, i := range order {
		d := decls[i]
		size := shapeSize(d.shape)
		p := Param{Name: d.name, Shape: d.shape, Value: values[offset : offset+size : offset+size], Decay: d.decay}
		if d.trainable {
			p.Grad = grads[offset : offset+size : offset+size]
		}
		offset += size
		d.ref.value, d.ref.grad = p.Value, p.Grad
		n.params[k] = p
		nd := n.nodes[declLayer[i]]
		nd.params = append(nd.params, k)
	}
	rng := rand.New(rand.NewPCG(n.seed, 0x706c6174656175)) // "plateau"
	for _, d := range decls {
		if d.init == "" {
			for j := range d.ref.value {
				d.ref.value[j] = d.fill
			}
			continue
		}
		initialize(d.ref.value, d.init, d.fanIn, d.fanOut, rng)
	}
}

// allocateActivations sizes every output and gradient buffer for maxBatch
// and decides, edge by edge, where a layer writes its input gradient.
func (n *Network) allocateActivations() {
	for _, nd := range n.nodes[1:] {
		for _, j := range nd.inputs {
			n.nodes[j].fanOut++
		}
	}
	scratch := 0
	for i, nd := range n.nodes {
		if i == 0 {
			if n.wantInputGrad {
				nd.grad = make([]float32, n.maxBatch*nd.size)
			}
			continue
		}
		if _, ok := nd.impl.(flatten); ok {
			nd.aliased = true
		} else {
			nd.out = make([]float32, n.maxBatch*nd.size)
		}
		nd.grad = make([]float32, n.maxBatch*nd.size)
		nd.x = make([][]float32, len(nd.inputs))
		nd.dx = make([][]float32, len(nd.inputs))
		nd.accumulate = make([]bool, len(nd.inputs))
		for k, j := range nd.inputs {
			in := n.nodes[j]
			nd.accumulate[k] = in.fanOut > 1 && (j != 0 || n.wantInputGrad)
			if nd.accumulate[k] && !nd.identity {
				scratch = max(scratch, n.maxBatch*in.size)
			}
		}
	}
	n.edgeScratch = make([]float32, scratch)
}

// setInputGrad turns the gradient of the model input on or off; tests use
// it to check the whole chain.
func (n *Network) setInputGrad(on bool) {
	if on == n.wantInputGrad {
		return
	}
	n.wantInputGrad = on
	for _, nd := range n.nodes {
		nd.fanOut = 0
	}
	n.allocateActivations()
}

// MaxBatch is the largest batch Forward accepts.
func (n *Network) MaxBatch() int { return n.maxBatch }

// InputSize is the number of floats of one example, H*W*C.
func (n *Network) InputSize() int { return n.inputSize }

// Classes is the number of logits per example.
func (n *Network) Classes() int { return n.classes }

// Params returns every parameter: the trainable ones in layer order, then
// the batch norm running statistics in layer order. The slice is shared;
// Value and Grad alias the arena.
func (n *Network) Params() []Param { return n.params }

// Trainable returns the parameters that have gradients, in the order of
// Params; their values and gradients tile Values()[:len(Grads())] and
// Grads() in that order.
func (n *Network) Trainable() []Param {
	for i, p := range n.params {
		if p.Grad == nil {
			return n.params[:i]
		}
	}
	return n.params
}

// ParamCount returns the number of trainable and of non-trainable floats.
func (n *Network) ParamCount() (trainable, state int) { return n.trainable, n.state }

// Values returns the whole parameter arena, trainable values first, then
// the batch norm statistics: one slice to checkpoint or transfer.
func (n *Network) Values() []float32 { return n.arena[:n.trainable+n.state] }

// Grads returns the gradients, aligned with the trainable part of Values.
func (n *Network) Grads() []float32 {
	start := n.trainable + n.state
	return n.arena[start : start+n.trainable]
}

// OptimizerSlots returns k zeroed slices, each as long as Grads and aligned
// with it element by element, for an optimizer's per-parameter state. They
// are carved from the arena reserved in New, so the memory never moves and
// views taken earlier stay valid. Every call returns the same memory,
// zeroed again: an optimizer calls it once when it starts. k must be at most
// MaxOptimizerSlots.
func (n *Network) OptimizerSlots(k int) [][]float32 {
	if k < 0 || k > MaxOptimizerSlots {
		panic("nn: OptimizerSlots: k out of range")
	}
	slots := make([][]float32, k)
	start := 2*n.trainable + n.state
	for i := range slots {
		s := n.arena[start+i*n.trainable : start+(i+1)*n.trainable : start+(i+1)*n.trainable]
		clear(s)
		slots[i] = s
	}
	return slots
}

// ZeroGrads clears the gradients; Backward adds to them.
func (n *Network) ZeroGrads() { clear(n.Grads()) }

// DropoutKey says which masks the dropout layers of a training pass
// apply. The mask of layer l (its index in the expanded spec) is
// kernels.Dropout's with key kernels.DropoutLayerKey(Step, l), its first
// element's counter being FirstRow times the floats of one example's
// activation: a batch's masks are a function of the step's key, so a part
// of the batch computed on its own (train.Shard) gets the rows' masks the
// whole batch would, and the GoMLX trainer, hashing the same way in its
// graph, the engine's.
type DropoutKey struct {
	// Step is the training step's key, kernels.DropoutStepKey of the run's
	// seed words and the step's number.
	Step uint32
	// FirstRow is the row of the whole batch that the pass's first row is.
	FirstRow int
}

// DropoutStepKey is the key of step's masks (the optimizer step's number)
// in a run whose seed words are s0 and s1: kernels.DropoutStepKey.
func DropoutStepKey(s0, s1, step uint32) uint32 {
	return kernels.DropoutStepKey(s0, s1, step)
}

// DropoutLayerSalt is what layer l's index mixes into a step's key to key
// the layer's mask: kernels.Mix32(Step ^ DropoutLayerSalt(l)).
func DropoutLayerSalt(l int) uint32 {
	return kernels.DropoutLayerSalt(l)
}

// SetDropout sets the key of the next training passes' dropout masks (New
// sets one from the seed).
func (n *Network) SetDropout(k DropoutKey) {
	n.ws.dropout = k
}

// Forward runs the network on batch examples x (batch, H, W, C) and returns
// the logits (batch, classes). The returned slice belongs to the network and
// is overwritten by the next call. In training mode dropout is applied and
// batch norm uses and updates batch statistics; otherwise batch norm uses
// its running statistics. Backward reads x again, so x must not change in
// between. Forward allocates nothing.
func (n *Network) Forward(x []float32, batch int, training bool) []float32 {
	if batch < 1 || batch > n.maxBatch {
		panic("nn: Forward: batch out of range")
	}
	if len(x) < batch*n.inputSize {
		panic("nn: Forward: input shorter than the batch")
	}
	n.lastBatch = batch
	in := n.nodes[0]
	in.out = x[:batch*n.inputSize]
	for _, nd := range n.nodes[1:] {
		if nd.aliased {
			nd.out = n.nodes[nd.inputs[0]].out
		}
		for k, j := range nd.inputs {
			nd.x[k] = n.nodes[j].out[:batch*n.nodes[j].size]
		}
		nd.impl.forward(nd.out[:batch*nd.size], nd.x, batch, training)
	}
	last := n.nodes[len(n.nodes)-1]
	return last.out[:batch*n.classes]
}

// Backward propagates dlogits (batch, classes), the gradient of the loss
// with respect to the logits of the last Forward, through the network and
// adds the parameter gradients to Grads. It differentiates the mode the
// forward pass ran in (dropout masks and batch statistics in training).
// Backward allocates nothing.
func (n *Network) Backward(dlogits []float32) {
	batch := n.lastBatch
	if batch == 0 {
		panic("nn: Backward before Forward")
	}
	if len(dlogits) < batch*n.classes {
		panic("nn: Backward: dlogits shorter than the batch")
	}
	last := len(n.nodes) - 1
	for i, nd := range n.nodes {
		// A node that feeds one layer gets its gradient assigned by it;
		// the others collect a sum (or nothing) and start from zero.
		if nd.grad != nil && i != last && nd.fanOut != 1 {
			clear(nd.grad[:batch*nd.size])
		}
	}
	copy(n.nodes[last].grad, dlogits[:batch*n.classes])
	for i := last; i >= 1; i-- {
		nd := n.nodes[i]
		dy := nd.grad[:batch*nd.size]
		if nd.identity {
			for k, j := range nd.inputs {
				in := n.nodes[j]
				switch {
				case in.grad == nil:
				case nd.accumulate[k]:
					kernels.AddTo(in.grad[:batch*in.size], dy)
				default:
					copy(in.grad, dy)
				}
			}
			continue
		}
		for k, j := range nd.inputs {
			in := n.nodes[j]
			switch {
			case in.grad == nil:
				nd.dx[k] = nil
			case nd.accumulate[k]:
				nd.dx[k] = n.edgeScratch[:batch*in.size]
			default:
				nd.dx[k] = in.grad[:batch*in.size]
			}
		}
		nd.impl.backward(nd.dx, dy, nd.out[:batch*nd.size], nd.x, batch)
		for k, j := range nd.inputs {
			if nd.accumulate[k] && nd.dx[k] != nil {
				kernels.AddTo(n.nodes[j].grad[:batch*n.nodes[j].size], nd.dx[k])
			}
		}
	}
}

// inputGrad is the gradient of the model input from the last Backward,
// when setInputGrad is on.
func (n *Network) inputGrad() []float32 {
	return n.nodes[0].grad[:n.lastBatch*n.inputSize]
}

// GemmKernel names the micro-kernel of the matrix products the network's
// layers run on in this build and on this CPU (kernels.GemmKernel).
func GemmKernel() string { return kernels.GemmKernel() }
