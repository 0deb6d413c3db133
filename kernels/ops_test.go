package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// shape is one size of one op. Only the fields an op reads are set; String
// prints the set ones, so test and benchmark names read like the case.
type shape struct {
	M, N, K        int // Gemm: op(A) is (M,K), op(B) is (K,N); N is also the batch
	H, W, C, OC    int
	KH, KW, S      int // kernel and stride (S 0 means 1)
	Pad            [4]int
	Same           bool
	Mult           int // depthwise channel multiplier
	In, Out        int // dense
	Len            int // element-wise ops
	TransA, TransB bool
	NoBias         bool
	Train          bool // batch norm: batch statistics
	Alpha          float32
	Rate           float32
	Smoothing      float32
	Weighted       bool
}

func (s shape) String() string {
	var parts []string
	add := func(name string, v int) {
		if v != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, v))
		}
	}
	add("M", s.M)
	add("N", s.N)
	add("K", s.K)
	add("H", s.H)
	add("W", s.W)
	add("C", s.C)
	add("OC", s.OC)
	add("IN", s.In)
	add("OUT", s.Out)
	add("len", s.Len)
	if s.KH != 0 {
		if s.KH == s.KW {
			add("K", s.KH)
		} else {
			parts = append(parts, fmt.Sprintf("K=%dx%d", s.KH, s.KW))
		}
	}
	add("S", s.S)
	add("mult", s.Mult)
	switch {
	case s.Same:
		parts = append(parts, "pad=same")
	case s.Pad != [4]int{}:
		parts = append(parts, fmt.Sprintf("pad=%d,%d,%d,%d", s.Pad[0], s.Pad[1], s.Pad[2], s.Pad[3]))
	}
	flag := func(name string, on bool) {
		if on {
			parts = append(parts, name)
		}
	}
	flag("transA", s.TransA)
	flag("transB", s.TransB)
	flag("nobias", s.NoBias)
	flag("train", s.Train)
	flag("weighted", s.Weighted)
	if s.Alpha != 0 {
		parts = append(parts, fmt.Sprintf("alpha=%g", s.Alpha))
	}
	if s.Rate != 0 {
		parts = append(parts, fmt.Sprintf("rate=%g", s.Rate))
	}
	if s.Smoothing != 0 {
		parts = append(parts, fmt.Sprintf("smoothing=%g", s.Smoothing))
	}
	return strings.Join(parts, ",")
}

func (s shape) stride() int { return max(s.S, 1) }

func (s shape) padding() (top, left, bottom, right int) {
	if s.Same {
		top, bottom = SamePadding(s.H, s.KH, s.stride())
		left, right = SamePadding(s.W, s.KW, s.stride())
		return top, left, bottom, right
	}
	return s.Pad[0], s.Pad[1], s.Pad[2], s.Pad[3]
}

func (s shape) conv() ConvParams {
	top, left, bottom, right := s.padding()
	oc := s.OC
	if s.Mult != 0 {
		oc = s.C * s.Mult
	}
	p := NewConvParams(s.N, s.H, s.W, s.C, s.KH, s.KW, oc, s.stride(), s.stride(), top, left, bottom, right)
	p.Multiplier = s.Mult
	return p
}

func (s shape) pool() PoolParams {
	top, left, bottom, right := s.padding()
	return NewPoolParams(s.N, s.H, s.W, s.C, s.KH, s.KW, s.stride(), s.stride(), top, left, bottom, right)
}

// tensor is one differentiable input of an op.
type tensor struct {
	name  string
	data  []float32
	param bool // its gradient accumulates (+=) instead of being assigned
}

// opRun is one op instantiated at one shape with random inputs. forward
// and backward call the kernels under test; refForward and refBackward the
// naive references. backward runs after forward, whose saved state (argmax,
// xhat, mask) it may read; it writes grads[i] for inputs[i].
type opRun struct {
	inputs      []tensor
	out         int
	flops       float64 // forward floating-point operations
	forward     func(y []float32)
	backward    func(grads [][]float32, dy []float32) // nil when the op has no backward kernel
	refForward  func(y []float32)
	refBackward func(grads [][]float32, dy []float32)
}

// op is one row of the table: a kernel family, small shapes that the
// reference and gradient checks run (chosen to straddle block edges and
// cover strides and padding), and realistic shapes to benchmark.
type op struct {
	name    string
	build   func(r *rand.Rand, s shape) *opRun
	checks  []shape
	benches []shape
}

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// awayFromZero returns values in ±[0.05, 2], so that a ±1e-2 perturbation
// never crosses the kink of ReLU-like functions.
func awayFromZero(r *rand.Rand, n int) []float32 {
	s := randSlice(r, n, 0.05, 2)
	for i := range s {
		if r.IntN(2) == 0 {
			s[i] = -s[i]
		}
	}
	return s
}

// distinct returns a shuffle of values 0.05 apart, so that a ±1e-2
// perturbation never changes which cell of a window is the maximum.
func distinct(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i, j := range r.Perm(n) {
		s[i] = float32(j-n/2) * 0.05
	}
	return s
}

type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// gemmBackward writes dA and dB of C = op(A)·op(B) given dC, with gemm.
func gemmBackward(gemm gemmFunc, s shape, a, b, dA, dB, dC []float32) {
	m, n, k := s.M, s.N, s.K
	lda, ldb := k, n
	if s.TransA {
		lda = m
	}
	if s.TransB {
		ldb = k
	}
	if s.TransA { // dA = op(B)·dCᵀ, (K,M)
		gemm(s.TransB, true, k, m, n, 1, b, ldb, dC, n, 0, dA, m)
	} else { // dA = dC·op(B)ᵀ, (M,K)
		gemm(false, !s.TransB, m, k, n, 1, dC, n, b, ldb, 0, dA, k)
	}
	if s.TransB { // dB = dCᵀ·op(A), (N,K)
		gemm(true, s.TransA, n, k, m, 1, dC, n, a, lda, 0, dB, k)
	} else { // dB = op(A)ᵀ·dC, (K,N)
		gemm(!s.TransA, false, k, n, m, 1, a, lda, dC, n, 0, dB, n)
	}
}

func buildGemm(r *rand.Rand, s shape) *opRun {
	m, n, k := s.M, s.N, s.K
	a, b := randSlice(r, m*k, -1, 1), randSlice(r, k*n, -1, 1)
	lda, ldb := k, n
	if s.TransA {
		lda = m
	}
	if s.TransB {
		ldb = k
	}
	return &opRun{
		inputs: []tensor{{name: "a", data: a}, {name: "b", data: b}},
		out:    m * n,
		flops:  2 * float64(m*n*k),
		forward: func(y []float32) {
			Gemm(s.TransA, s.TransB, m, n, k, 1, a, lda, b, ldb, 0, y, n)
		},
		backward: func(g [][]float32, dy []float32) { gemmBackward(Gemm, s, a, b, g[0], g[1], dy) },
		refForward: func(y []float32) {
			refGemm(s.TransA, s.TransB, m, n, k, 1, a, lda, b, ldb, 0, y, n)
		},
		refBackward: func(g [][]float32, dy []float32) { gemmBackward(refGemm, s, a, b, g[0], g[1], dy) },
	}
}

// convInputs returns x, w and (unless s.NoBias) bias as tensors, and bias.
func convInputs(r *rand.Rand, s shape, p ConvParams, weights int) ([]tensor, []float32) {
	inputs := []tensor{
		{name: "x", data: randSlice(r, p.N*p.H*p.W*p.C, -1, 1)},
		{name: "w", data: randSlice(r, weights, -1, 1), param: true},
	}
	if s.NoBias {
		return inputs, nil
	}
	bias := randSlice(r, p.OC, -1, 1)
	return append(inputs, tensor{name: "bias", data: bias, param: true}), bias
}

// gradAt returns grads[i], or nil when the op has fewer inputs (no bias).
func gradAt(grads [][]float32, i int) []float32 {
	if i < len(grads) {
		return grads[i]
	}
	return nil
}

func buildConv2D(r *rand.Rand, s shape) *opRun {
	p := s.conv()
	inputs, bias := convInputs(r, s, p, p.KH*p.KW*p.C*p.OC)
	x, w := inputs[0].data, inputs[1].data
	scratch := make([]float32, p.ScratchSize())
	return &opRun{
		inputs:  inputs,
		out:     p.N * p.OH * p.OW * p.OC,
		flops:   2 * float64(p.N*p.OH*p.OW*p.OC*p.KH*p.KW*p.C),
		forward: func(y []float32) { Conv2D(y, x, w, bias, p, scratch) },
		backward: func(g [][]float32, dy []float32) {
			Conv2DGradInput(g[0], dy, w, p, scratch)
			Conv2DGradFilter(g[1], gradAt(g, 2), dy, x, p, scratch)
		},
		refForward: func(y []float32) { refConv2D(y, x, w, bias, p) },
		refBackward: func(g [][]float32, dy []float32) {
			refConv2DGradInput(g[0], dy, w, p)
			refConv2DGradFilter(g[1], gradAt(g, 2), dy, x, p)
		},
	}
}

// convPath is one way Conv2D can compute a convolution, called directly
// so that every path is checked at shapes Conv2D would send elsewhere.
type convPath struct {
	scratch    func(p ConvParams) int
	forward    func(y, x, w, bias []float32, p ConvParams, scratch []float32)
	gradInput  func(dx, dy, w []float32, p ConvParams, scratch []float32)
	gradFilter func(dw, dy, x []float32, p ConvParams, scratch []float32)
}

var (
	im2colPath = convPath{
		scratch:    ConvParams.im2colScratch,
		forward:    im2colConv2D,
		gradInput:  im2colConv2DGradInput,
		gradFilter: im2colConv2DGradFilter,
	}
	winogradPath = convPath{
		scratch:    ConvParams.winogradScratch,
		forward:    winogradConv2D,
		gradInput:  winogradConv2DGradInput,
		gradFilter: winogradConv2DGradFilter,
	}
)

func buildConvPath(path convPath) func(r *rand.Rand, s shape) *opRun {
	return func(r *rand.Rand, s shape) *opRun {
		run := buildConv2D(r, s)
		p := s.conv()
		x, w := run.inputs[0].data, run.inputs[1].data
		var bias []float32
		if !s.NoBias {
			bias = run.inputs[2].data
		}
		scratch := make([]float32, path.scratch(p))
		run.forward = func(y []float32) { path.forward(y, x, w, bias, p, scratch) }
		run.backward = func(g [][]float32, dy []float32) {
			path.gradInput(g[0], dy, w, p, scratch)
			path.gradFilter(g[1], dy, x, p, scratch)
			if db := gradAt(g, 2); db != nil {
				addColumnSums(db, dy, p.N*p.OH*p.OW, p.OC)
			}
		}
		return run
	}
}

func buildDepthwise(r *rand.Rand, s shape) *opRun {
	p := s.conv()
	inputs, bias := convInputs(r, s, p, p.KH*p.KW*p.OC)
	x, w := inputs[0].data, inputs[1].data
	return &opRun{
		inputs:  inputs,
		out:     p.N * p.OH * p.OW * p.OC,
		flops:   2 * float64(p.N*p.OH*p.OW*p.OC*p.KH*p.KW),
		forward: func(y []float32) { DepthwiseConv2D(y, x, w, bias, p) },
		backward: func(g [][]float32, dy []float32) {
			DepthwiseConv2DGradInput(g[0], dy, w, p)
			DepthwiseConv2DGradFilter(g[1], gradAt(g, 2), dy, x, p)
		},
		refForward: func(y []float32) { refDepthwise(y, x, w, bias, p, s.Mult) },
		refBackward: func(g [][]float32, dy []float32) {
			refDepthwiseGrad(g[0], g[1], gradAt(g, 2), dy, x, w, p, s.Mult)
		},
	}
}

func buildPool(isMax bool) func(r *rand.Rand, s shape) *opRun {
	return func(r *rand.Rand, s shape) *opRun {
		p := s.pool()
		x := distinct(r, p.N*p.H*p.W*p.C)
		out := p.N * p.OH * p.OW * p.C
		argmax := make([]int32, out)
		run := &opRun{
			inputs:      []tensor{{name: "x", data: x}},
			out:         out,
			flops:       float64(out * p.KH * p.KW),
			refForward:  func(y []float32) { refPool(y, nil, nil, x, p, isMax) },
			refBackward: func(g [][]float32, dy []float32) { refPool(nil, g[0], dy, x, p, isMax) },
		}
		if isMax {
			run.forward = func(y []float32) { MaxPool(y, argmax, x, p) }
			run.backward = func(g [][]float32, dy []float32) { MaxPoolGrad(g[0], dy, argmax, p) }
		} else {
			run.forward = func(y []float32) { AvgPool(y, x, p) }
			run.backward = func(g [][]float32, dy []float32) { AvgPoolGrad(g[0], dy, p) }
		}
		return run
	}
}

func buildGlobalAvgPool(r *rand.Rand, s shape) *opRun {
	n, hw, c := s.N, s.H*s.W, s.C
	x := randSlice(r, n*hw*c, -1, 1)
	p := NewPoolParams(n, s.H, s.W, c, s.H, s.W, 1, 1, 0, 0, 0, 0)
	return &opRun{
		inputs:      []tensor{{name: "x", data: x}},
		out:         n * c,
		flops:       float64(n * hw * c),
		forward:     func(y []float32) { GlobalAvgPool(y, x, n, hw, c) },
		backward:    func(g [][]float32, dy []float32) { GlobalAvgPoolGrad(g[0], dy, n, hw, c) },
		refForward:  func(y []float32) { refPool(y, nil, nil, x, p, false) },
		refBackward: func(g [][]float32, dy []float32) { refPool(nil, g[0], dy, x, p, false) },
	}
}

func buildDense(r *rand.Rand, s shape) *opRun {
	n, in, out := s.N, s.In, s.Out
	inputs := []tensor{
		{name: "x", data: randSlice(r, n*in, -1, 1)},
		{name: "w", data: randSlice(r, in*out, -1, 1), param: true},
		{name: "bias", data: randSlice(r, out, -1, 1), param: true},
	}
	x, w, bias := inputs[0].data, inputs[1].data, inputs[2].data
	return &opRun{
		inputs:  inputs,
		out:     n * out,
		flops:   2 * float64(n*in*out),
		forward: func(y []float32) { Dense(y, x, w, bias, n, in, out) },
		backward: func(g [][]float32, dy []float32) {
			DenseGradInput(g[0], dy, w, n, in, out)
			DenseGradParams(g[1], g[2], dy, x, n, in, out)
		},
		refForward: func(y []float32) {
			refGemm(false, false, n, out, in, 1, x, in, w, out, 0, y, out)
			for i := range n {
				for j := range out {
					y[i*out+j] += bias[j]
				}
			}
		},
		refBackward: func(g [][]float32, dy []float32) {
			refGemm(false, true, n, in, out, 1, dy, out, w, out, 0, g[0], in)
			refGemm(true, false, in, out, n, 1, x, in, dy, out, 1, g[1], out)
			for i := range n {
				for j := range out {
					g[2][j] += dy[i*out+j]
				}
			}
		},
	}
}

func buildBatchNorm(r *rand.Rand, s shape) *opRun {
	rows, c := s.N*s.H*s.W, s.C
	const eps = 1e-3
	inputs := []tensor{
		{name: "x", data: randSlice(r, rows*c, -2, 3)},
		{name: "scale", data: randSlice(r, c, 0.5, 1.5), param: true},
		{name: "offset", data: randSlice(r, c, -1, 1), param: true},
	}
	x, scale, offset := inputs[0].data, inputs[1].data, inputs[2].data
	runMean, runVar := randSlice(r, c, -1, 1), randSlice(r, c, 0.5, 2)
	run := &opRun{inputs: inputs, out: rows * c, flops: 8 * float64(rows*c)}
	if !s.Train {
		run.forward = func(y []float32) { BatchNormInference(y, x, scale, offset, runMean, runVar, rows, c, eps) }
		run.refForward = func(y []float32) { refBatchNormInference(y, x, scale, offset, runMean, runVar, rows, c, eps) }
		return run
	}
	mean, invStd := make([]float32, c), make([]float32, c)
	run.forward = func(y []float32) {
		BatchNormTrain(y, mean, invStd, x, scale, offset, runMean, runVar, rows, c, 0.9, eps)
	}
	run.backward = func(g [][]float32, dy []float32) {
		BatchNormGrad(g[0], g[1], g[2], dy, x, mean, scale, invStd, rows, c)
	}
	run.refForward = func(y []float32) { refBatchNormTrain(y, x, scale, offset, rows, c, eps) }
	run.refBackward = func(g [][]float32, dy []float32) {
		refBatchNormTrainGrad(g[0], g[1], g[2], dy, x, scale, rows, c, eps)
	}
	return run
}

func buildActivation(name string) func(r *rand.Rand, s shape) *opRun {
	return func(r *rand.Rand, s shape) *opRun {
		x := awayFromZero(r, s.Len)
		saved := make([]float32, s.Len)
		run := &opRun{
			inputs: []tensor{{name: "x", data: x}},
			out:    s.Len,
			flops:  float64(s.Len),
			refForward: func(y []float32) {
				for i, v := range x {
					f, _ := refActivation(name, float64(v), float64(s.Alpha))
					y[i] = float32(f)
				}
			},
			refBackward: func(g [][]float32, dy []float32) {
				for i, v := range x {
					_, d := refActivation(name, float64(v), float64(s.Alpha))
					g[0][i] = float32(float64(dy[i]) * d)
				}
			},
		}
		var forward func(y, x []float32)
		switch name {
		case "ReLU":
			forward = ReLU
			run.backward = func(g [][]float32, dy []float32) { ReLUGrad(g[0], dy, saved) }
		case "LeakyReLU":
			forward = func(y, x []float32) { LeakyReLU(y, x, s.Alpha) }
			run.backward = func(g [][]float32, dy []float32) { LeakyReLUGrad(g[0], dy, x, s.Alpha) }
		case "ELU":
			forward = func(y, x []float32) { ELU(y, x, s.Alpha) }
			run.backward = func(g [][]float32, dy []float32) { ELUGrad(g[0], dy, x, saved, s.Alpha) }
		case "Sigmoid":
			forward = Sigmoid
			run.backward = func(g [][]float32, dy []float32) { SigmoidGrad(g[0], dy, saved) }
		case "Tanh":
			forward = Tanh
			run.backward = func(g [][]float32, dy []float32) { TanhGrad(g[0], dy, saved) }
		}
		run.forward = func(y []float32) {
			forward(y, x)
			copy(saved, y)
		}
		return run
	}
}

// dropoutKey keys every dropout mask in the tests, so a forward pass
// repeated during the gradient check draws the same mask.
const dropoutKey = 7

func buildDropout(r *rand.Rand, s shape) *opRun {
	x := randSlice(r, s.Len, -1, 1)
	mask := make([]float32, s.Len)
	// The reference hashes each element on its own, in order, with the
	// arithmetic spelled out (lowbias32 twice); Dropout's parts do it per
	// thread through Mix32.
	refMask := func() []float32 {
		mix := func(x uint32) uint32 {
			x = (x ^ x>>16) * 0x7feb352d
			x = (x ^ x>>15) * 0x846ca68b
			return x ^ x>>16
		}
		m := make([]float32, s.Len)
		for i := range m {
			m[i] = 1
			if s.Rate > 0 {
				m[i] = float32(1 / (1 - float64(s.Rate)))
				h := mix(mix(uint32(i)+dropoutKey) ^ dropoutKey)
				if float64(h>>8)/(1<<24) < float64(s.Rate) {
					m[i] = 0
				}
			}
		}
		return m
	}
	return &opRun{
		inputs: []tensor{{name: "x", data: x}},
		out:    s.Len,
		flops:  float64(s.Len),
		forward: func(y []float32) {
			Dropout(y, mask, x, s.Rate, dropoutKey, 0)
		},
		backward: func(g [][]float32, dy []float32) { DropoutGrad(g[0], dy, mask) },
		refForward: func(y []float32) {
			for i, m := range refMask() {
				y[i] = x[i] * m
			}
		},
		refBackward: func(g [][]float32, dy []float32) {
			for i, m := range refMask() {
				g[0][i] = dy[i] * m
			}
		},
	}
}

// buildAdd checks Add forward and AddTo as the backward of a branch:
// each input's gradient accumulates the output gradient.
func buildAdd(r *rand.Rand, s shape) *opRun {
	a, b := randSlice(r, s.Len, -1, 1), randSlice(r, s.Len, -1, 1)
	return &opRun{
		inputs:  []tensor{{name: "a", data: a, param: true}, {name: "b", data: b, param: true}},
		out:     s.Len,
		flops:   float64(s.Len),
		forward: func(y []float32) { Add(y, a, b) },
		backward: func(g [][]float32, dy []float32) {
			AddTo(g[0], dy)
			AddTo(g[1], dy)
		},
		refForward: func(y []float32) {
			for i := range y {
				y[i] = float32(float64(a[i]) + float64(b[i]))
			}
		},
		refBackward: func(g [][]float32, dy []float32) {
			for i, v := range dy {
				g[0][i] += v
				g[1][i] += v
			}
		},
	}
}

// buildSoftmaxCrossEntropy makes the loss a one-element output, so the
// harness's Σ dy·y is dy[0]·loss and dlogits scaled by dy[0] is its gradient.
func buildSoftmaxCrossEntropy(r *rand.Rand, s shape) *opRun {
	n, classes := s.N, s.C
	logits := randSlice(r, n*classes, -3, 3)
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(r.IntN(classes))
	}
	var weights []float32
	if s.Weighted {
		weights = randSlice(r, classes, 0.2, 3)
	}
	probs := make([]float32, n*classes)
	return &opRun{
		inputs: []tensor{{name: "logits", data: logits}},
		out:    1,
		flops:  4 * float64(n*classes),
		forward: func(y []float32) {
			y[0] = SoftmaxCrossEntropy(nil, probs, logits, labels, weights, s.Smoothing, n, classes)
		},
		backward: func(g [][]float32, dy []float32) {
			SoftmaxCrossEntropy(g[0], nil, logits, labels, weights, s.Smoothing, n, classes)
			for i := range g[0][:n*classes] {
				g[0][i] *= dy[0]
			}
		},
		refForward: func(y []float32) {
			d := make([]float32, n*classes)
			y[0] = float32(refSoftmaxCrossEntropy(d, logits, labels, weights, float64(s.Smoothing), n, classes))
		},
		refBackward: func(g [][]float32, dy []float32) {
			refSoftmaxCrossEntropy(g[0], logits, labels, weights, float64(s.Smoothing), n, classes)
			for i := range g[0][:n*classes] {
				g[0][i] *= dy[0]
			}
		},
	}
}

// ops lists every kernel family. The reference check, the gradient check,
// the allocation check and the benchmarks all run from it.
var ops = []op{
	{
		name:  "Gemm",
		build: buildGemm,
		checks: []shape{
			{M: Mr*2 + 1, N: Nr*2 + 3, K: Kc + 5},
			{M: Mc + 3, N: Nr + 1, K: 7, TransA: true},
			{M: 5, N: Nc + 5, K: 3, TransB: true},
			{M: Mr + 1, N: 2*Nr + 1, K: Kc + 5, TransA: true, TransB: true},
			{M: 1, N: 1, K: 1},
		},
		benches: []shape{{M: 256, N: 256, K: 256}, {M: 1024, N: 576, K: 64}, {M: 1024, N: 64, K: 576}},
	},
	{
		name:  "Conv2D",
		build: buildConv2D,
		checks: []shape{
			{N: 2, H: 7, W: 6, C: 3, OC: 4, KH: 3, KW: 3, Same: true},
			{N: 2, H: 9, W: 8, C: 2, OC: 5, KH: 3, KW: 3, S: 2, Pad: [4]int{1, 0, 2, 1}},
			{N: 2, H: 9, W: 7, C: 3, OC: 3, KH: 3, KW: 3, S: 2, Same: true},
			{N: 3, H: 5, W: 4, C: 6, OC: 7, KH: 1, KW: 1},
			{N: 2, H: 5, W: 6, C: 3, OC: 2, KH: 1, KW: 1, S: 2, NoBias: true},
			{N: 1, H: 8, W: 7, C: 3, OC: 2, KH: 5, KW: 5, Same: true},
			{N: 2, H: 11, W: 10, C: 2, OC: 3, KH: 5, KW: 5, S: 2, Same: true},
			{N: 2, H: 6, W: 5, C: 2, OC: 3, KH: 3, KW: 2},
			{N: 9, H: 8, W: 8, C: 2, OC: 3, KH: 3, KW: 3, Same: true}, // several im2col chunks
			{N: 1, H: 5, W: 5, C: 29, OC: Nr*2 + 1, KH: 3, KW: 3},     // KH*KW*C = Kc+5 (Winograd)
			{N: 3, H: 7, W: 9, C: 8, OC: 9, KH: 3, KW: 3, Same: true}, // Winograd, odd sizes
		},
		benches: []shape{
			{N: 32, H: 28, W: 28, C: 1, OC: 32, KH: 3, KW: 3, Same: true}, // mnist-cnn
			{N: 32, H: 14, W: 14, C: 32, OC: 64, KH: 3, KW: 3, Same: true},
			{N: 32, H: 32, W: 32, C: 3, OC: 32, KH: 3, KW: 3, Same: true},
			{N: 32, H: 16, W: 16, C: 32, OC: 64, KH: 3, KW: 3, Same: true},
			{N: 32, H: 8, W: 8, C: 64, OC: 128, KH: 3, KW: 3, Same: true},
			{N: 32, H: 8, W: 8, C: 128, OC: 128, KH: 1, KW: 1},
		},
	},
	{
		name:  "Conv2DIm2col",
		build: buildConvPath(im2colPath),
		checks: []shape{
			{N: 2, H: 7, W: 6, C: 3, OC: 4, KH: 3, KW: 3, Same: true},
			{N: 1, H: 5, W: 5, C: 29, OC: Nr*2 + 1, KH: 3, KW: 3}, // KH*KW*C = Kc+5
			{N: 9, H: 8, W: 8, C: 2, OC: 3, KH: 3, KW: 3, Same: true, NoBias: true},
		},
		benches: []shape{{N: 32, H: 14, W: 14, C: 32, OC: 64, KH: 3, KW: 3, Same: true}},
	},
	{
		name:  "Conv2DWinograd",
		build: buildConvPath(winogradPath),
		checks: []shape{
			{N: 2, H: 7, W: 6, C: 3, OC: 4, KH: 3, KW: 3, Same: true},
			{N: 2, H: 6, W: 7, C: 2, OC: 3, KH: 3, KW: 3},                          // valid, odd output
			{N: 2, H: 5, W: 6, C: 3, OC: 2, KH: 3, KW: 3, Pad: [4]int{2, 0, 1, 2}}, // asymmetric
			{N: 1, H: 5, W: 5, C: 29, OC: Nr*2 + 1, KH: 3, KW: 3, NoBias: true},    // C > Kc/9
			{N: 9, H: 8, W: 7, C: 3, OC: 5, KH: 3, KW: 3, Same: true},              // two chunks
			{N: 1, H: 1, W: 2, C: 2, OC: 2, KH: 3, KW: 3, Same: true},              // smaller than a tile
		},
		benches: []shape{{N: 32, H: 14, W: 14, C: 32, OC: 64, KH: 3, KW: 3, Same: true}},
	},
	{
		name:  "DepthwiseConv2D",
		build: buildDepthwise,
		checks: []shape{
			{N: 2, H: 6, W: 5, C: 3, KH: 3, KW: 3, Mult: 1, Same: true},
			{N: 2, H: 7, W: 6, C: 2, KH: 3, KW: 3, Mult: 2, S: 2, Same: true},
			{N: 1, H: 8, W: 7, C: 3, KH: 5, KW: 5, Mult: 2, Pad: [4]int{2, 1, 1, 2}, NoBias: true},
			// Multiplier 1 (depthwise1.go): whole channel blocks and a tail,
			// stride 2, asymmetric and valid padding.
			{N: 2, H: 7, W: 6, C: 11, KH: 3, KW: 3, Mult: 1, S: 2, Same: true},
			{N: 1, H: 8, W: 7, C: 17, KH: 5, KW: 5, Mult: 1, Pad: [4]int{2, 1, 1, 2}, NoBias: true},
			{N: 2, H: 6, W: 9, C: 8, KH: 3, KW: 2, Mult: 1, S: 3},
			{N: 1, H: 5, W: 5, C: 16, KH: 3, KW: 3, Mult: 1, S: 2, Pad: [4]int{0, 2, 2, 0}},
			// Four vectors, one, and a tail in the SIMD build.
			{N: 2, H: 5, W: 4, C: 43, KH: 3, KW: 3, Mult: 1, Same: true},
			// Padding as wide as the kernel: past K−1 cells, which the
			// input's gradient at stride 1 (the forward loops on the
			// turned kernel) takes as negative padding.
			{N: 2, H: 4, W: 5, C: 9, KH: 3, KW: 3, Mult: 1, Pad: [4]int{3, 0, 1, 3}},
		},
		benches: []shape{{N: 32, H: 16, W: 16, C: 64, KH: 3, KW: 3, Mult: 1, Same: true}},
	},
	{
		name:  "MaxPool",
		build: buildPool(true),
		checks: []shape{
			{N: 2, H: 7, W: 6, C: 3, KH: 3, KW: 3, S: 2, Same: true},
			{N: 2, H: 6, W: 6, C: 2, KH: 2, KW: 2, S: 2},
			{N: 1, H: 5, W: 7, C: 3, KH: 3, KW: 3, S: 1, Pad: [4]int{1, 0, 2, 1}},
			{N: 2, H: 9, W: 8, C: 2, KH: 5, KW: 5, S: 2, Same: true}, // more than maxPoolCells
		},
		benches: []shape{{N: 32, H: 32, W: 32, C: 32, KH: 2, KW: 2, S: 2}},
	},
	{
		name:  "AvgPool",
		build: buildPool(false),
		checks: []shape{
			{N: 2, H: 7, W: 6, C: 3, KH: 3, KW: 3, S: 2, Same: true},
			{N: 1, H: 5, W: 7, C: 3, KH: 3, KW: 2, S: 1, Pad: [4]int{1, 0, 2, 1}},
		},
		benches: []shape{{N: 32, H: 32, W: 32, C: 32, KH: 2, KW: 2, S: 2}},
	},
	{
		name:    "GlobalAvgPool",
		build:   buildGlobalAvgPool,
		checks:  []shape{{N: 3, H: 7, W: 5, C: 6}},
		benches: []shape{{N: 32, H: 8, W: 8, C: 128}},
	},
	{
		name:  "Dense",
		build: buildDense,
		checks: []shape{
			{N: 3, In: 7, Out: Nr*2 + 1},
			{N: 5, In: Kc + 5, Out: 9},
		},
		benches: []shape{{N: 32, In: 2048, Out: 128}},
	},
	{
		name:  "BatchNorm",
		build: buildBatchNorm,
		checks: []shape{
			{N: 2, H: 3, W: 4, C: 5, Train: true},
			{N: 3, H: 1, W: 1, C: columnBlock + 9, Train: true},
			{N: 2, H: 3, W: 4, C: 5},
			{N: 1, H: 2, W: 2, C: columnBlock + 9},
		},
		benches: []shape{{N: 32, H: 16, W: 16, C: 64, Train: true}, {N: 32, H: 16, W: 16, C: 64}},
	},
	{name: "ReLU", build: buildActivation("ReLU"), checks: []shape{{Len: 37}}, benches: []shape{{Len: 1 << 16}}},
	{name: "LeakyReLU", build: buildActivation("LeakyReLU"), checks: []shape{{Len: 37, Alpha: 0.1}}, benches: []shape{{Len: 1 << 16, Alpha: 0.1}}},
	{name: "ELU", build: buildActivation("ELU"), checks: []shape{{Len: 37, Alpha: 1}}, benches: []shape{{Len: 1 << 16, Alpha: 1}}},
	{name: "Sigmoid", build: buildActivation("Sigmoid"), checks: []shape{{Len: 37}}, benches: []shape{{Len: 1 << 16}}},
	{name: "Tanh", build: buildActivation("Tanh"), checks: []shape{{Len: 37}}, benches: []shape{{Len: 1 << 16}}},
	{
		name:    "Dropout",
		build:   buildDropout,
		checks:  []shape{{Len: 37, Rate: 0.3}, {Len: 11}, {Len: 70001, Rate: 0.5}},
		benches: []shape{{Len: 1 << 16, Rate: 0.5}},
	},
	{name: "Add", build: buildAdd, checks: []shape{{Len: 37}}, benches: []shape{{Len: 1 << 16}}},
	{
		name:  "SoftmaxCrossEntropy",
		build: buildSoftmaxCrossEntropy,
		checks: []shape{
			{N: 6, C: 5},
			{N: 6, C: 5, Smoothing: 0.1},
			{N: 7, C: 4, Weighted: true},
			{N: 7, C: 4, Smoothing: 0.2, Weighted: true},
		},
		benches: []shape{{N: 128, C: 10}},
	},
}

// sentinel fills guard bands; a kernel writing outside its output changes
// the bits.
var sentinel = math.Float32frombits(0x7fc0dead)

const guard = 9

// guarded returns a buffer with guard bands around n elements filled with
// fill, and the n-element view a kernel receives. The view's capacity runs
// into the trailing band, so a kernel that reslices past its shape writes
// there instead of panicking.
func guarded(n int, fill func(i int) float32) (buf, view []float32) {
	buf = make([]float32, n+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	view = buf[guard : guard+n]
	for i := range view {
		view[i] = fill(i)
	}
	return buf, view
}

func checkGuards(t *testing.T, what string, buf []float32, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < guard || i >= guard+n) && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Errorf("%s: stray write at offset %d from the start of the output (len %d): %v", what, i-guard, n, v)
			return
		}
	}
}

func nanFill(int) float32 { return float32(math.NaN()) }

// compare fails when got and want differ by more than tol relative to the
// largest magnitude in want (or 1).
func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	scale := 1.0
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			return
		}
	}
}

func forEachCheck(t *testing.T, f func(t *testing.T, o op, s shape, run *opRun)) {
	for _, o := range ops {
		for i, s := range o.checks {
			t.Run(o.name+"/"+s.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(i+1), uint64(len(o.name))))
				f(t, o, s, o.build(r, s))
			})
		}
	}
}

func TestOpsMatchReference(t *testing.T) {
	forEachCheck(t, checkReference)
}

// TestOpsSplitMatchReference is TestOpsMatchReference with every loop that
// can be split across threads split as finely as it goes.
func TestOpsSplitMatchReference(t *testing.T) {
	splitEverything(t)
	forEachCheck(t, checkReference)
}

// checkReference compares an op's forward and backward kernels with the
// naive references, and checks the guard bands around every output.
func checkReference(t *testing.T, o op, s shape, run *opRun) {
	r := rand.New(rand.NewPCG(1, 2))
	buf, y := guarded(run.out, nanFill)
	run.forward(y)
	checkGuards(t, "forward", buf, run.out)
	want := make([]float32, run.out)
	run.refForward(want)
	compare(t, "y", y, want, 2e-5)
	if run.backward == nil {
		return
	}
	dy := randSlice(r, run.out, -1, 1)
	grads := make([][]float32, len(run.inputs))
	wants := make([][]float32, len(run.inputs))
	bufs := make([][]float32, len(run.inputs))
	for i, in := range run.inputs {
		n := len(in.data)
		wants[i] = make([]float32, n)
		if in.param {
			// Parameter gradients accumulate: start both from the same
			// non-zero values.
			base := randSlice(r, n, -1, 1)
			bufs[i], grads[i] = guarded(n, func(j int) float32 { return base[j] })
			copy(wants[i], base)
		} else {
			bufs[i], grads[i] = guarded(n, nanFill)
		}
	}
	run.backward(grads, dy)
	run.refBackward(wants, dy)
	for i, in := range run.inputs {
		checkGuards(t, "d"+in.name, bufs[i], len(in.data))
		compare(t, "d"+in.name, grads[i], wants[i], 2e-5)
	}
}

// TestOpsGradient compares every backward kernel with central differences
// of L = Σ dy·forward(x), computed in float64 from the float32 outputs.
func TestOpsGradient(t *testing.T) {
	const (
		eps     = 1e-2
		samples = 16 // elements checked per input
		relTol  = 1e-2
		absTol  = 2e-3
	)
	forEachCheck(t, func(t *testing.T, o op, s shape, run *opRun) {
		if run.backward == nil {
			t.Skip("no backward kernel")
		}
		r := rand.New(rand.NewPCG(3, 4))
		y := make([]float32, run.out)
		run.forward(y)
		dy := randSlice(r, run.out, -1, 1)
		grads := make([][]float32, len(run.inputs))
		for i, in := range run.inputs {
			grads[i] = make([]float32, len(in.data))
		}
		run.backward(grads, dy)
		loss := func() float64 {
			run.forward(y)
			var sum float64
			for i, v := range y {
				sum += float64(v) * float64(dy[i])
			}
			return sum
		}
		for i, in := range run.inputs {
			indices := r.Perm(len(in.data))
			if len(indices) > samples {
				indices = indices[:samples]
			}
			for _, j := range indices {
				orig := in.data[j]
				hi, lo := orig+eps, orig-eps
				in.data[j] = hi
				lossHi := loss()
				in.data[j] = lo
				lossLo := loss()
				in.data[j] = orig
				want := (lossHi - lossLo) / (float64(hi) - float64(lo))
				got := float64(grads[i][j])
				if d := math.Abs(got - want); !(d <= relTol*max(math.Abs(got), math.Abs(want))+absTol) {
					t.Errorf("d%s[%d] = %.6g, numeric %.6g", in.name, j, got, want)
				}
			}
		}
	})
}

// TestOpsDoNotAllocate runs every kernel after a warm-up call and expects no
// allocation (testing.AllocsPerRun runs with GOMAXPROCS 1).
func TestOpsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	for _, o := range ops {
		s := o.checks[0]
		t.Run(o.name+"/"+s.String(), func(t *testing.T) {
			run := o.build(rand.New(rand.NewPCG(5, 6)), s)
			y, dy := make([]float32, run.out), make([]float32, run.out)
			grads := make([][]float32, len(run.inputs))
			for i, in := range run.inputs {
				grads[i] = make([]float32, len(in.data))
			}
			step := func() {
				run.forward(y)
				if run.backward != nil {
					run.backward(grads, dy)
				}
			}
			step()
			if got := testing.AllocsPerRun(5, step); got != 0 {
				t.Errorf("allocations per run = %v, want 0", got)
			}
		})
	}
}

func benchmarkOp(b *testing.B, o op) {
	for _, s := range o.benches {
		b.Run(s.String(), func(b *testing.B) {
			run := o.build(rand.New(rand.NewPCG(1, 1)), s)
			y, dy := make([]float32, run.out), randSlice(rand.New(rand.NewPCG(2, 2)), run.out, -1, 1)
			grads := make([][]float32, len(run.inputs))
			for i, in := range run.inputs {
				grads[i] = make([]float32, len(in.data))
			}
			report := func(b *testing.B, flops float64) {
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.Run("forward", func(b *testing.B) {
				for b.Loop() {
					run.forward(y)
				}
				report(b, run.flops)
			})
			b.Run("forward-naive", func(b *testing.B) {
				for b.Loop() {
					run.refForward(y)
				}
				report(b, run.flops)
			})
			if run.backward == nil {
				return
			}
			run.forward(y)
			// Gradients with respect to inputs and parameters: twice the
			// forward work for the products (conv, dense, gemm).
			b.Run("backward", func(b *testing.B) {
				for b.Loop() {
					run.backward(grads, dy)
				}
				report(b, 2*run.flops)
			})
			b.Run("backward-naive", func(b *testing.B) {
				for b.Loop() {
					run.refBackward(grads, dy)
				}
				report(b, 2*run.flops)
			})
		})
	}
}

func benchmarkOpsNamed(b *testing.B, names ...string) {
	for _, o := range ops {
		if slices.Contains(names, o.name) {
			benchmarkOp(b, o)
		}
	}
}

func BenchmarkGemm(b *testing.B)   { benchmarkOpsNamed(b, "Gemm") }
func BenchmarkConv2D(b *testing.B) { benchmarkOpsNamed(b, "Conv2D") }

// BenchmarkOps runs every other op of the table.
func BenchmarkOps(b *testing.B) {
	for _, o := range ops {
		if o.name != "Gemm" && o.name != "Conv2D" {
			b.Run(o.name, func(b *testing.B) { benchmarkOp(b, o) })
		}
	}
}
