package gomlx

import (
	"runtime"
	"sync"
	"weak"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph code reads like maths
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// convGeometry is what the gradient of one convolution built by convXLA
// needs: its operands, stride, and the spatial padding of the forward
// pass and of the two gradient convolutions.
type convGeometry struct {
	x, kernel *Node
	stride    int
	// inputPad pads the output gradient, dilated by the stride, so that a
	// convolution with the flipped kernel gives the input's size.
	inputPad [][2]int
	// kernelPad pads x's rows and columns that the forward pass read;
	// rows[a] of x are read at all (the last ones may be skipped by a
	// stride that does not divide the padded size).
	kernelPad [][2]int
	rows      [2]int
}

// convGrads maps the convolution nodes convXLA built to their geometry.
// GoMLX v0.26 differentiates a convolution with paddings that are wrong for
// strided and asymmetrically padded ones (its gradients differed from nn's
// by up to 64% on the parity specs), so the graph package's gradient of a
// convolution is replaced, for these nodes only, by convVJP. Entries go
// when their node is collected.
var (
	convGrads    sync.Map // weak.Pointer[Node] → *convGeometry
	gomlxConvVJP = VJPRegistration[NodeTypeConvGeneral]
)

func init() {
	VJPRegistration[NodeTypeConvGeneral] = convVJP
}

// convXLA is XLA's convolution op, NHWC with a (KH,KW,C,OC) kernel, whose
// gradients are the two convolutions cuDNN has kernels for: the output
// gradient dilated by the stride and convolved with the flipped, transposed
// kernel (the input's), and x convolved with the output gradient as a
// kernel dilated by the stride, batch and channels swapped (the kernel's).
// Where the padding exceeds the kernel (no such convolution gives the
// input gradient without cropping), it is built as convGEMM.
func convXLA(x, kernel *Node, stride int, pad [4]int, outShape []int, wholeK bool) *Node {
	geo := &convGeometry{x: x, kernel: kernel, stride: stride}
	for a := range 2 {
		size, k, out := x.Shape().Dimensions[1+a], kernel.Shape().Dimensions[a], outShape[a]
		lo := pad[a]
		reach := (out-1)*stride + k - lo // x's rows the last window ends at
		in := [2]int{k - 1 - lo, size + lo - 1 - (out-1)*stride}
		if in[0] < 0 || in[1] < 0 {
			return convGEMM(x, kernel, stride, pad, outShape, wholeK)
		}
		geo.inputPad = append(geo.inputPad, in)
		geo.rows[a] = min(reach, size)
		geo.kernelPad = append(geo.kernelPad, [2]int{lo, max(reach-size, 0)})
	}
	y := Convolve(x, kernel).StridePerAxis(stride, stride).
		PaddingPerDim([][2]int{{pad[0], pad[2]}, {pad[1], pad[3]}}).Done()
	key := weak.Make(y)
	convGrads.Store(key, geo)
	runtime.AddCleanup(y, func(k weak.Pointer[Node]) { convGrads.Delete(k) }, key)
	return y
}

// convVJP differentiates the convolutions convXLA built and leaves the
// others to GoMLX.
func convVJP(node *Node, v []*Node, out shapes.Shape) []*Node {
	g, ok := convGrads.Load(weak.Make(node))
	if !ok {
		return gomlxConvVJP(node, v, out)
	}
	geo := g.(*convGeometry)
	dy := v[0]
	s := geo.stride
	ones, dilation := []int{1, 1}, []int{s, s}
	// dx = dy (dilated by the stride) ⋆ flipped kernel, with the kernel's
	// input and output channels exchanged.
	dx := ConvGeneral(dy, flip(geo.kernel, 0, 1), ConvolveAxesConfig{
		InputBatch: 0, InputChannels: 3, InputSpatial: []int{1, 2},
		KernelInputChannels: 3, KernelOutputChannels: 2, KernelSpatial: []int{0, 1},
		OutputBatch: 0, OutputChannels: 3, OutputSpatial: []int{1, 2},
	}, ones, geo.inputPad, dilation, ones, 1, 1)
	// dkernel[i,j,c,o] = Σ x[n, y·s+i, x·s+j, c]·dy[n, y, x, o]: x with
	// channels as the batch and the batch as channels, convolved with dy as
	// a kernel dilated by the stride.
	x := geo.x
	if d := x.Shape().Dimensions; geo.rows[0] < d[1] || geo.rows[1] < d[2] {
		x = Slice(x, AxisRange(), AxisRange(0, geo.rows[0]), AxisRange(0, geo.rows[1]), AxisRange())
	}
	dk := ConvGeneral(x, dy, ConvolveAxesConfig{
		InputBatch: 3, InputChannels: 0, InputSpatial: []int{1, 2},
		KernelInputChannels: 0, KernelOutputChannels: 3, KernelSpatial: []int{1, 2},
		OutputBatch: 2, OutputChannels: 3, OutputSpatial: []int{0, 1},
	}, ones, geo.kernelPad, ones, dilation, 1, 1)
	return []*Node{dx, dk}
}

// flip reverses x along axes: XLA's Reverse where the backend has it,
// slices put back in reverse order where it does not (GoMLX's pure-Go
// backend in v0.26).
func flip(x *Node, axes ...int) *Node {
	if x.Graph().Backend().Capabilities().Operations[backends.OpTypeReverse] {
		return Reverse(x, axes...)
	}
	for _, a := range axes {
		n := x.Shape().Dimensions[a]
		if n == 1 {
			continue
		}
		parts := make([]*Node, n)
		for i := range n {
			spec := make([]SliceAxisSpec, x.Rank())
			for r := range spec {
				spec[r] = AxisRange()
			}
			spec[a] = AxisElem(n - 1 - i)
			parts[i] = Slice(x, spec...)
		}
		x = Concatenate(parts, a)
	}
	return x
}
