package nn

import (
	"math"

	"plateau/kernels"
)

// layer is one node's computation. The network hands it views already cut
// to the batch: y and dy are (batch, output size), x and dx hold one slice
// per input. dx[i] is nil when no gradient is needed for that input (the
// model input); otherwise the layer assigns it. Parameter gradients
// accumulate.
type layer interface {
	forward(y []float32, x [][]float32, batch int, training bool)
	backward(dx [][]float32, dy, y []float32, x [][]float32, batch int)
}

// paramRef is where a layer finds one of its parameters in the arena.
type paramRef struct {
	value, grad []float32
}

// workspace is memory the layers share because they run one at a time.
type workspace struct {
	convScratch []float32
	dropout     DropoutKey
}

type conv2D struct {
	h, w, c, k, filters, stride          int
	padTop, padLeft, padBottom, padRight int
	kernel, bias                         paramRef
	ws                                   *workspace
}

func (l *conv2D) params(batch int) kernels.ConvParams {
	return kernels.NewConvParams(batch, l.h, l.w, l.c, l.k, l.k, l.filters, l.stride, l.stride,
		l.padTop, l.padLeft, l.padBottom, l.padRight)
}

func (l *conv2D) forward(y []float32, x [][]float32, batch int, training bool) {
	kernels.Conv2D(y, x[0], l.kernel.value, l.bias.value, l.params(batch), l.ws.convScratch)
}

func (l *conv2D) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	p := l.params(batch)
	if dx[0] != nil {
		kernels.Conv2DGradInput(dx[0], dy, l.kernel.value, p, l.ws.convScratch)
	}
	kernels.Conv2DGradFilter(l.kernel.grad, l.bias.grad, dy, x[0], p, l.ws.convScratch)
}

type depthwiseConv2D struct {
	conv2D     // filters is C*multiplier
	multiplier int
}

func (l *depthwiseConv2D) params(batch int) kernels.ConvParams {
	p := l.conv2D.params(batch)
	p.Multiplier = l.multiplier
	return p
}

func (l *depthwiseConv2D) forward(y []float32, x [][]float32, batch int, training bool) {
	kernels.DepthwiseConv2D(y, x[0], l.kernel.value, l.bias.value, l.params(batch))
}

func (l *depthwiseConv2D) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	p := l.params(batch)
	if dx[0] != nil {
		kernels.DepthwiseConv2DGradInput(dx[0], dy, l.kernel.value, p)
	}
	kernels.DepthwiseConv2DGradFilter(l.kernel.grad, l.bias.grad, dy, x[0], p)
}

type pool struct {
	max                                  bool
	h, w, c, k, stride                   int
	padTop, padLeft, padBottom, padRight int
	argmax                               []int32 // maxBatch × output size, max pooling only
}

func (l *pool) params(batch int) kernels.PoolParams {
	return kernels.NewPoolParams(batch, l.h, l.w, l.c, l.k, l.k, l.stride, l.stride,
		l.padTop, l.padLeft, l.padBottom, l.padRight)
}

func (l *pool) forward(y []float32, x [][]float32, batch int, training bool) {
	if l.max {
		kernels.MaxPool(y, l.argmax, x[0], l.params(batch))
	} else {
		kernels.AvgPool(y, x[0], l.params(batch))
	}
}

func (l *pool) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	if dx[0] == nil {
		return
	}
	if l.max {
		kernels.MaxPoolGrad(dx[0], dy, l.argmax, l.params(batch))
	} else {
		kernels.AvgPoolGrad(dx[0], dy, l.params(batch))
	}
}

type globalAvgPool struct{ hw, c int }

func (l *globalAvgPool) forward(y []float32, x [][]float32, batch int, training bool) {
	kernels.GlobalAvgPool(y, x[0], batch, l.hw, l.c)
}

func (l *globalAvgPool) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	if dx[0] != nil {
		kernels.GlobalAvgPoolGrad(dx[0], dy, batch, l.hw, l.c)
	}
}

// dense reads a 4-D input as (N, H*W*C): NHWC memory already is the
// flattening in (H,W,C) order.
type dense struct {
	in, out      int
	kernel, bias paramRef
}

func (l *dense) forward(y []float32, x [][]float32, batch int, training bool) {
	kernels.Dense(y, x[0], l.kernel.value, l.bias.value, batch, l.in, l.out)
}

func (l *dense) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	if dx[0] != nil {
		kernels.DenseGradInput(dx[0], dy, l.kernel.value, batch, l.in, l.out)
	}
	kernels.DenseGradParams(l.kernel.grad, l.bias.grad, dy, x[0], batch, l.in, l.out)
}

// batchNorm normalizes each channel (the last axis) over the batch and the
// spatial positions.
type batchNorm struct {
	pixels, c       int // pixels per example: H*W, or 1 for a vector
	momentum, eps   float32
	scale, offset   paramRef
	runMean, runVar paramRef
	mean, invStd    []float32 // the last training batch's
	trained         bool      // the last forward used batch statistics
	spareGrad       []float32 // dx for a first layer, whose input needs no gradient
}

func (l *batchNorm) forward(y []float32, x [][]float32, batch int, training bool) {
	l.trained = training
	if training {
		kernels.BatchNormTrain(y, l.mean, l.invStd, x[0], l.scale.value, l.offset.value,
			l.runMean.value, l.runVar.value, batch*l.pixels, l.c, l.momentum, l.eps)
		return
	}
	kernels.BatchNormInference(y, x[0], l.scale.value, l.offset.value, l.runMean.value, l.runVar.value,
		batch*l.pixels, l.c, l.eps)
}

func (l *batchNorm) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	rows := batch * l.pixels
	if l.trained {
		// The kernel always writes dx, even when the input wants none.
		d := dx[0]
		if d == nil {
			d = l.spareGrad
		}
		kernels.BatchNormGrad(d, l.scale.grad, l.offset.grad, dy, x[0], l.mean, l.scale.value, l.invStd, rows, l.c)
		return
	}
	// With running statistics the layer is a fixed affine map per channel.
	for ch := range l.c {
		l.invStd[ch] = float32(1 / math.Sqrt(float64(l.runVar.value[ch])+float64(l.eps)))
	}
	for r := range rows {
		row := r * l.c
		for ch := range l.c {
			g := dy[row+ch]
			xhat := (x[0][row+ch] - l.runMean.value[ch]) * l.invStd[ch]
			l.scale.grad[ch] += g * xhat
			l.offset.grad[ch] += g
			if dx[0] != nil {
				dx[0][row+ch] = g * l.scale.value[ch] * l.invStd[ch]
			}
		}
	}
}

type activation struct {
	kind  string
	alpha float32
}

func (l *activation) forward(y []float32, x [][]float32, batch int, training bool) {
	switch l.kind {
	case "relu":
		kernels.ReLU(y, x[0])
	case "leaky_relu":
		kernels.LeakyReLU(y, x[0], l.alpha)
	case "elu":
		kernels.ELU(y, x[0], l.alpha)
	case "sigmoid":
		kernels.Sigmoid(y, x[0])
	case "tanh":
		kernels.Tanh(y, x[0])
	}
}

func (l *activation) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	if dx[0] == nil {
		return
	}
	switch l.kind {
	case "relu":
		kernels.ReLUGrad(dx[0], dy, y)
	case "leaky_relu":
		kernels.LeakyReLUGrad(dx[0], dy, x[0], l.alpha)
	case "elu":
		kernels.ELUGrad(dx[0], dy, x[0], y, l.alpha)
	case "sigmoid":
		kernels.SigmoidGrad(dx[0], dy, y)
	case "tanh":
		kernels.TanhGrad(dx[0], dy, y)
	}
}

type dropout struct {
	rate    float32
	mask    []float32
	ws      *workspace
	index   int  // the layer's, in the expanded spec: part of its masks' key
	rowSize int  // floats of one example's activation
	dropped bool // the last forward applied a mask
}

func (l *dropout) forward(y []float32, x [][]float32, batch int, training bool) {
	l.dropped = training && l.rate > 0
	if l.dropped {
		k := l.ws.dropout
		kernels.Dropout(y, l.mask, x[0], l.rate, kernels.DropoutLayerKey(k.Step, l.index), uint32(k.FirstRow*l.rowSize))
	} else {
		copy(y, x[0])
	}
}

func (l *dropout) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	if dx[0] == nil {
		return
	}
	if l.dropped {
		kernels.DropoutGrad(dx[0], dy, l.mask)
	} else {
		copy(dx[0], dy)
	}
}

// add sums its inputs. Its backward pass hands dy to every input, which
// the network does itself (see node.identity).
type add struct{}

func (add) forward(y []float32, x [][]float32, batch int, training bool) {
	kernels.Add(y, x[0], x[1])
	for _, more := range x[2:] {
		kernels.AddTo(y, more)
	}
}

func (add) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	for _, d := range dx {
		if d != nil {
			copy(d, dy)
		}
	}
}

// flatten is a reshape: the network points its output at its input's
// memory, so the forward pass has nothing to do, and hands the gradient
// back unchanged (see node.identity).
type flatten struct{}

func (flatten) forward(y []float32, x [][]float32, batch int, training bool) {}

func (flatten) backward(dx [][]float32, dy, y []float32, x [][]float32, batch int) {
	if dx[0] != nil {
		copy(dx[0], dy)
	}
}
