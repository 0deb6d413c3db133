package gomlx

import (
	"fmt"
	"os"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph code reads like maths
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"plateau/nn"
	"plateau/spec"
)

// Model is a spec's network as a GoMLX graph builder. Its parameters are
// named and ordered as nn.Network's, so weights move between the two as
// they are (safetensors, NHWC, kernels (KH,KW,C,OC), dense (IN,OUT)).
type Model struct {
	spec    spec.Model
	infos   []spec.LayerInfo
	Params  []ParamInfo // trainable, in nn's order
	State   []ParamInfo // batch-norm running mean and variance
	classes int
	// Lowering chooses how convolutions and poolings become XLA ops;
	// NewModel sets it from the environment (see LoweringFromEnv).
	Lowering Lowering
}

// Lowering chooses the ops a convolution or pooling layer is built from.
// Both forms compute the same function; they differ in the gradient graph
// GoMLX derives and so in what XLA can make of it.
type Lowering struct {
	// ConvGEMM builds a convolution as im2col, one matrix product over
	// the stacked shifted windows, instead of XLA's convolution op (see
	// convXLA).
	ConvGEMM bool
	// ConvShift builds a convolution as a sum of KH·KW matrix products,
	// one per kernel position over the shifted window (no stacked copy);
	// it takes precedence over ConvGEMM.
	ConvShift bool
	// PoolReduce builds a pooling whose window equals its stride and
	// tiles the input exactly as a reshape and a max or mean reduction,
	// instead of a reduce-window (whose max gradient is a
	// select-and-scatter).
	PoolReduce bool
	// WholeK computes the weight gradient of a matrix product over many
	// rows as one product, instead of a batch of partial products summed
	// (see splitK).
	WholeK bool
}

// LoweringFromEnv reads PLATEAU_GOMLX_CONV ("gemm", "shift" or "xla"),
// PLATEAU_GOMLX_POOL ("reduce" or "window") and PLATEAU_GOMLX_SPLITK ("0"
// for WholeK) over the defaults.
func LoweringFromEnv() Lowering {
	l := DefaultLowering
	switch os.Getenv("PLATEAU_GOMLX_CONV") {
	case "gemm":
		l.ConvGEMM, l.ConvShift = true, false
	case "shift":
		l.ConvShift = true
	case "xla":
		l.ConvGEMM, l.ConvShift = false, false
	}
	switch os.Getenv("PLATEAU_GOMLX_POOL") {
	case "reduce":
		l.PoolReduce = true
	case "window":
		l.PoolReduce = false
	}
	if os.Getenv("PLATEAU_GOMLX_SPLITK") == "0" {
		l.WholeK = true
	}
	return l
}

// DefaultLowering is the lowering NewModel starts from: im2col and
// reductions. On an H100 (BENCHMARKS.md, "GoMLX on a GPU") XLA's own
// convolution and reduce-window ops made the training step of a small CNN
// 3.6 times slower and that of a small ResNet 10 times slower, with
// GoMLX v0.26's convolution gradient, which disagreed with nn's by up to
// 64% on the parity specs; convXLA now gives XLA's convolution a gradient
// that agrees (TestGradientParityConv), to be measured again on a GPU.
var DefaultLowering = Lowering{ConvGEMM: true, PoolReduce: true}

// ParamInfo names one parameter tensor.
type ParamInfo struct {
	Name  string
	Shape []int
	Decay bool // conv and dense kernels: L1, L2 and weight decay apply
}

// NewModel describes the graph of an expanded, valid model; net gives the
// parameter names and order (any network of the same model).
func NewModel(m spec.Model, net *nn.Network) (*Model, error) {
	infos, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	md := &Model{spec: m, infos: infos, classes: m.Classes, Lowering: LoweringFromEnv()}
	for _, p := range net.Params() {
		pi := ParamInfo{Name: p.Name, Shape: append([]int(nil), p.Shape...), Decay: p.Decay}
		if p.Grad == nil {
			md.State = append(md.State, pi)
		} else {
			md.Params = append(md.Params, pi)
		}
	}
	return md, nil
}

// LayerTypes lists the model's layer types, each once, in order.
func (m *Model) LayerTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range m.infos {
		if !seen[l.Type] {
			seen[l.Type] = true
			out = append(out, l.Type)
		}
	}
	return out
}

// ForwardConfig is what one forward pass needs besides the input.
type ForwardConfig struct {
	Params   map[string]*Node
	State    map[string]*Node
	Training bool
	// Dropout is the training step's key of dropout's masks, a uint32
	// scalar (DropoutStepKey); nil applies no dropout.
	Dropout *Node
	// Rows, in training, is how many of the batch's first rows are
	// examples (a float32 scalar): the others pad a short batch to the
	// compiled shape and take no part in batch norm's statistics. nil:
	// every row is an example.
	Rows *Node
}

// rowMask is 1 for the first rows (a float32 scalar) of n and 0 for the
// rest, shaped (n, 1, …, 1) to rank.
func rowMask(rows *Node, n, rank int) *Node {
	idx := Iota(rows.Graph(), shapes.Make(dtypes.Float32, n), 0)
	mask := ConvertDType(LessThan(idx, rows), dtypes.Float32)
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = n
	return Reshape(mask, dims...)
}

// Forward builds the logits (N, classes) of x (N,H,W,C). In training, batch
// norm uses the batch's statistics and the returned state holds the
// updated running mean and variance (running = m·running + (1−m)·batch,
// with the unbiased batch variance, as nn does); dropout applies nn's masks
// of the key fc.Dropout (dropoutMask).
func (m *Model) Forward(x *Node, fc ForwardConfig) (logits *Node, state map[string]*Node) {
	outs := make([]*Node, len(m.infos))
	state = map[string]*Node{}
	for k, v := range fc.State {
		state[k] = v
	}
	for i, info := range m.infos {
		l := m.spec.Layers[i]
		in := x
		if len(info.InputIndex) > 0 && info.InputIndex[0] >= 0 {
			in = outs[info.InputIndex[0]]
		}
		p := func(suffix string) *Node {
			n := fc.Params[info.Name+"/"+suffix]
			if n == nil {
				panic(fmt.Sprintf("no parameter %s/%s", info.Name, suffix))
			}
			return n
		}
		var y *Node
		switch info.Type {
		case spec.Conv2D:
			s := l.Stride
			if m.Lowering.ConvShift {
				y = convShift(in, p("kernel"), s, info.Pad, info.Shape, m.Lowering.WholeK)
			} else if m.Lowering.ConvGEMM {
				y = convGEMM(in, p("kernel"), s, info.Pad, info.Shape, m.Lowering.WholeK)
			} else {
				y = convXLA(in, p("kernel"), s, info.Pad, info.Shape, m.Lowering.WholeK)
			}
			if l.Bias() {
				y = Add(y, ExpandLeftToRank(p("bias"), y.Rank()))
			}
		case spec.DepthwiseConv2D:
			y = depthwise(in, p("kernel"), l.Stride, info.Pad, info.Shape)
			if l.Bias() {
				y = Add(y, ExpandLeftToRank(p("bias"), y.Rank()))
			}
		case spec.MaxPool, spec.AvgPool:
			if d := in.Shape().Dimensions; m.Lowering.PoolReduce && l.Kernel == l.Stride && info.Pad == [4]int{} &&
				d[1]%l.Kernel == 0 && d[2]%l.Kernel == 0 {
				k := l.Kernel
				r := Reshape(in, d[0], d[1]/k, k, d[2]/k, k, d[3])
				if info.Type == spec.MaxPool {
					y = ReduceMax(r, 2, 4)
				} else {
					y = ReduceMean(r, 2, 4)
				}
				break
			}
			b := MaxPool(in)
			if info.Type == spec.AvgPool {
				b = MeanPool(in)
			}
			y = b.WindowPerAxis(l.Kernel, l.Kernel).StridePerAxis(l.Stride, l.Stride).
				PaddingPerDim([][2]int{{info.Pad[0], info.Pad[2]}, {info.Pad[1], info.Pad[3]}}).Done()
		case spec.GlobalAvgPool:
			y = ReduceMean(in, 1, 2)
		case spec.Dense:
			flat := Reshape(in, in.Shape().Dimensions[0], -1)
			y = matmul(flat, p("kernel"), m.Lowering.WholeK)
			if l.Bias() {
				y = Add(y, ExpandLeftToRank(p("bias"), y.Rank()))
			}
		case spec.Flatten:
			y = Reshape(in, in.Shape().Dimensions[0], -1)
		case spec.BatchNorm:
			var mean, variance *Node
			axes := make([]int, in.Rank()-1)
			for a := range axes {
				axes[a] = a
			}
			if fc.Training {
				rows := in.Shape().Size() / in.Shape().Dimensions[in.Rank()-1]
				mom := l.MomentumValue()
				var unbiased *Node
				if fc.Rows == nil {
					mean = ReduceMean(in, axes...)
					centered := Sub(in, ExpandLeftToRank(mean, in.Rank()))
					variance = ReduceMean(Square(centered), axes...)
					unbiased = variance
					if rows > 1 {
						unbiased = MulScalar(variance, float64(rows)/float64(rows-1))
					}
				} else {
					// The statistics of the examples' rows alone: count of
					// them per channel, as nn counts a batch of that many.
					n := in.Shape().Dimensions[0]
					mask := rowMask(fc.Rows, n, in.Rank())
					count := MulScalar(fc.Rows, float64(rows/n))
					mean = Div(ReduceSum(Mul(in, mask), axes...), count)
					centered := Sub(in, ExpandLeftToRank(mean, in.Rank()))
					variance = Div(ReduceSum(Mul(Square(centered), mask), axes...), count)
					unbiased = Mul(variance, Div(count, MaxScalar(AddScalar(count, -1), 1)))
				}
				rm, rv := fc.State[info.Name+"/mean"], fc.State[info.Name+"/variance"]
				state[info.Name+"/mean"] = Add(MulScalar(rm, mom), MulScalar(StopGradient(mean), 1-mom))
				state[info.Name+"/variance"] = Add(MulScalar(rv, mom), MulScalar(StopGradient(unbiased), 1-mom))
			} else {
				mean, variance = fc.State[info.Name+"/mean"], fc.State[info.Name+"/variance"]
			}
			r := in.Rank()
			// 1/Sqrt rather than Rsqrt, which has no gradient in GoMLX v0.26.
			std := ExpandLeftToRank(Sqrt(AddScalar(variance, l.Epsilon)), r)
			y = Add(Mul(Div(Sub(in, ExpandLeftToRank(mean, r)), std), ExpandLeftToRank(p("scale"), r)), ExpandLeftToRank(p("offset"), r))
		case spec.Dropout:
			y = in
			if fc.Training && l.Rate > 0 && fc.Dropout != nil {
				y = Mul(in, dropoutMask(fc.Dropout, i, in.Shape(), float32(l.Rate)))
			}
		case spec.ReLU:
			y = MaxScalar(in, 0)
		case spec.LeakyReLU:
			y = Where(GreaterThan(in, ZerosLike(in)), in, MulScalar(in, l.AlphaValue()))
		case spec.ELU:
			// Exp−1 rather than Expm1, which has no gradient in GoMLX v0.26.
			y = Where(GreaterThan(in, ZerosLike(in)), in, MulScalar(AddScalar(Exp(in), -1), l.AlphaValue()))
		case spec.Sigmoid:
			y = Sigmoid(in)
		case spec.Tanh:
			y = Tanh(in)
		case spec.Add:
			y = outs[info.InputIndex[0]]
			for _, j := range info.InputIndex[1:] {
				other := x
				if j >= 0 {
					other = outs[j]
				}
				y = Add(y, other)
			}
		default:
			panic(fmt.Sprintf("layer %s: type %q has no graph form", info.Name, info.Type))
		}
		outs[i] = y
	}
	return outs[len(outs)-1], state
}

// dropoutMask is nn's dropout mask for layer (its index in the expanded
// spec) under the step's key (nn.DropoutKey): 0 where the element's hash
// (of the layer's key and the element's row-major index in the batch, as
// kernels.Dropout hashes) is under rate, 1/(1−rate) elsewhere. Integer
// multiplications wrap and a division by a power of two is a shift, on
// uint32, as in Go, so the mask is nn's to the bit.
func dropoutMask(stepKey *Node, layer int, shape shapes.Shape, rate float32) *Node {
	g := stepKey.Graph()
	key := mix32(BitwiseXor(stepKey, Scalar(g, dtypes.Uint32, nn.DropoutLayerSalt(layer))))
	counter := IotaFull(g, shapes.Make(dtypes.Uint32, shape.Dimensions...))
	h := mix32(BitwiseXor(mix32(Add(counter, key)), key))
	u := MulScalar(ConvertDType(Div(h, Scalar(g, dtypes.Uint32, 1<<8)), dtypes.Float32), 1.0/(1<<24))
	keep := 1 / (1 - rate) // in float32, as kernels.Dropout scales
	return Where(LessThan(u, Scalar(g, dtypes.Float32, rate)), ZerosLike(u), MulScalar(OnesLike(u), float64(keep)))
}

// DropoutStepKey is nn.DropoutStepKey in the graph, for the step
// numbered step (float32, exact below 2²⁴) of a run whose seed words are s0
// and s1 (train.DropoutSeeds).
func DropoutStepKey(step *Node, s0, s1 uint32) *Node {
	g := step.Graph()
	n := ConvertDType(step, dtypes.Uint32)
	return mix32(BitwiseXor(Scalar(g, dtypes.Uint32, s0), mix32(Add(n, Scalar(g, dtypes.Uint32, s1)))))
}

// mix32 is the engine's hash (kernels.Mix32) on uint32 nodes (a right shift by k is a division
// by 2^k: GoMLX's pure-Go backend has no logical shift).
func mix32(x *Node) *Node {
	g := x.Graph()
	c := func(v uint32) *Node { return Scalar(g, dtypes.Uint32, v) }
	x = Mul(BitwiseXor(x, Div(x, c(1<<16))), c(0x7feb352d))
	x = Mul(BitwiseXor(x, Div(x, c(1<<15))), c(0x846ca68b))
	return BitwiseXor(x, Div(x, c(1<<16)))
}

// depthwise is a depthwise convolution written with slices, multiplies
// and sums, which every backend differentiates (GoMLX's grouped
// convolution has no gradient in v0.26). kernel is (KH,KW,C,M); output
// channel c·M+m reads input channel c.
func depthwise(x, kernel *Node, stride int, pad [4]int, outShape []int) *Node {
	n, c := x.Shape().Dimensions[0], x.Shape().Dimensions[3]
	kd := kernel.Shape().Dimensions
	kh, kw, mult := kd[0], kd[1], kd[3]
	oh, ow := outShape[0], outShape[1]
	x = padSpatial(x, pad)
	if mult > 1 {
		x = Reshape(BroadcastToDims(Reshape(x, n, x.Shape().Dimensions[1], x.Shape().Dimensions[2], c, 1),
			n, x.Shape().Dimensions[1], x.Shape().Dimensions[2], c, mult), n, x.Shape().Dimensions[1], x.Shape().Dimensions[2], c*mult)
	}
	k := Reshape(kernel, kh, kw, c*mult)
	var sum *Node
	for i := range kh {
		for j := range kw {
			term := Mul(window(x, i, j, oh, ow, stride), ExpandLeftToRank(Slice(k, AxisElem(i), AxisElem(j), AxisRange()), 4))
			if sum == nil {
				sum = term
			} else {
				sum = Add(sum, term)
			}
		}
	}
	return sum
}

// window is the (N, oh, ow, C) slice of padded x that kernel position
// (i, j) of a strided convolution reads.
func window(x *Node, i, j, oh, ow, stride int) *Node {
	return Slice(x, AxisRange(), AxisRange(i, i+(oh-1)*stride+1).Stride(stride),
		AxisRange(j, j+(ow-1)*stride+1).Stride(stride), AxisRange())
}

// padSpatial pads x (N,H,W,C) with zeros: pad is top, left, bottom,
// right. It concatenates zeros, since Pad is missing from some backends.
func padSpatial(x *Node, pad [4]int) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	n, h, w, c := dims[0], dims[1], dims[2], dims[3]
	if pad[0]+pad[2] > 0 {
		parts := []*Node{}
		if pad[0] > 0 {
			parts = append(parts, Zeros(g, shapes.Make(dtypes.Float32, n, pad[0], w, c)))
		}
		parts = append(parts, x)
		if pad[2] > 0 {
			parts = append(parts, Zeros(g, shapes.Make(dtypes.Float32, n, pad[2], w, c)))
		}
		x = Concatenate(parts, 1)
		h += pad[0] + pad[2]
	}
	if pad[1]+pad[3] > 0 {
		parts := []*Node{}
		if pad[1] > 0 {
			parts = append(parts, Zeros(g, shapes.Make(dtypes.Float32, n, h, pad[1], c)))
		}
		parts = append(parts, x)
		if pad[3] > 0 {
			parts = append(parts, Zeros(g, shapes.Make(dtypes.Float32, n, h, pad[3], c)))
		}
		x = Concatenate(parts, 2)
	}
	return x
}

// convGEMM is a convolution as im2col: the KH·KW shifted, strided windows
// of the padded input stacked on the channel axis, times the kernel
// reshaped to (KH·KW·C, OC), which is nn's (KH,KW,C,OC) order. Its
// gradients are matrix products, slices and pads.
func convGEMM(x, kernel *Node, stride int, pad [4]int, outShape []int, wholeK bool) *Node {
	x = padSpatial(x, pad)
	n, c := x.Shape().Dimensions[0], x.Shape().Dimensions[3]
	kd := kernel.Shape().Dimensions
	kh, kw, oc := kd[0], kd[1], kd[3]
	oh, ow := outShape[0], outShape[1]
	cols := x
	if kh != 1 || kw != 1 || stride != 1 || x.Shape().Dimensions[1] != oh || x.Shape().Dimensions[2] != ow {
		parts := make([]*Node, 0, kh*kw)
		for i := range kh {
			for j := range kw {
				parts = append(parts, window(x, i, j, oh, ow, stride))
			}
		}
		cols = parts[0]
		if len(parts) > 1 {
			cols = Concatenate(parts, 3)
		}
	}
	y := matmul(Reshape(cols, n*oh*ow, kh*kw*c), Reshape(kernel, kh*kw*c, oc), wholeK)
	return Reshape(y, n, oh, ow, oc)
}

// matmul is Dot(a, b) for matrices, differentiated as two matrix
// products: dA = dY·Bᵀ, dB = Aᵀ·dY. GoMLX v0.26 differentiates Dot by
// broadcasting both operands to (I,J,K) and summing, which XLA compiles to
// reductions rather than GEMMs: for an im2col convolution that made the
// backward pass ten times slower than the forward one. The identities
// around the product carry the gradient: the outer one keeps dY for the
// inner ones, which the reverse pass reaches after it, and GoMLX's own
// gradient of the product is left unused, so XLA drops it. dB sums over
// A's rows, which for a convolution are every pixel of the batch: unless
// wholeK, it is a batch of partial products summed (see splitK).
func matmul(a, b *Node, wholeK bool) *Node {
	var dy *Node
	grad := func(f func() *Node) func(x, v *Node) *Node {
		return func(_, _ *Node) *Node {
			if dy == nil {
				panic("matmul: the reverse pass reached an operand before the product")
			}
			return f()
		}
	}
	ga := IdentityWithCustomGradient(a, grad(func() *Node { return Dot(dy, Transpose(b, 0, 1)) }))
	gb := IdentityWithCustomGradient(b, grad(func() *Node {
		k, m, n := a.Shape().Dimensions[0], a.Shape().Dimensions[1], dy.Shape().Dimensions[1]
		if s := splitK(k, m, n); s > 1 && !wholeK {
			parts := DotGeneral(Reshape(a, s, k/s, m), []int{1}, []int{0}, Reshape(dy, s, k/s, n), []int{1}, []int{0})
			return ReduceSum(parts, 0)
		}
		return Dot(Transpose(a, 0, 1), dy)
	}))
	return IdentityWithCustomGradient(Dot(ga, gb), func(_, v *Node) *Node {
		dy = v
		return v
	})
}

// splitK is how many parts the k rows of a matrix product with an (m,n)
// result are cut into, each part's product computed side by side and the
// parts summed ("split-K"). A convolution's weight gradient is such a
// product: (KH·KW·C, OC) from the N·OH·OW rows of im2col, 262,144 for a
// 32×32 image at batch 256, against 576×64 outputs, a handful of a GPU's
// output tiles, each looping over every row while most of its cores
// idle. The rows are halved while the result has fewer than splitTiles
// tiles of 64×64 per part and each part keeps minSplitRows rows.
func splitK(k, m, n int) int {
	tiles := ((m + 63) / 64) * ((n + 63) / 64)
	s := 1
	for tiles*s < splitTiles && k%(2*s) == 0 && k/(2*s) >= minSplitRows {
		s *= 2
	}
	return s
}

// splitTiles and minSplitRows bound splitK: enough tiles to fill a large
// GPU twice over, parts long enough that each is a real product. Tests
// lower minSplitRows to cut small products too.
const splitTiles = 512

var minSplitRows = 1024

// convShift is a convolution as the sum over kernel positions (i,j) of the
// shifted, strided window of the padded input times kernel[i,j] (C,OC):
// KH·KW matrix products and no stacked copy of the input.
func convShift(x, kernel *Node, stride int, pad [4]int, outShape []int, wholeK bool) *Node {
	x = padSpatial(x, pad)
	n, c := x.Shape().Dimensions[0], x.Shape().Dimensions[3]
	kd := kernel.Shape().Dimensions
	kh, kw, oc := kd[0], kd[1], kd[3]
	oh, ow := outShape[0], outShape[1]
	var sum *Node
	for i := range kh {
		for j := range kw {
			win := window(x, i, j, oh, ow, stride)
			k := Reshape(Slice(kernel, AxisElem(i), AxisElem(j), AxisRange(), AxisRange()), c, oc)
			t := matmul(Reshape(win, n*oh*ow, c), k, wholeK)
			if sum == nil {
				sum = t
			} else {
				sum = Add(sum, t)
			}
		}
	}
	return Reshape(sum, n, oh, ow, oc)
}
