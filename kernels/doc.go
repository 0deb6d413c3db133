// Package kernels holds the float32 numerical operations of the network,
// forward and backward: convolution (im2col and a packed GEMM, or
// Winograd's F(2×2,3×3) for 3×3 stride-1 layers with enough channels),
// depthwise convolution, pooling, dense layers, batch normalization,
// activations, dropout, element-wise addition and softmax cross-entropy.
//
// # Conventions
//
//   - Tensors are flat float32 slices in NHWC order: x (N,H,W,C).
//   - Weights are laid out like GoMLX and Keras with channels last:
//     convolution kernels (KH,KW,C,OC), depthwise kernels (KH,KW,C,M) whose
//     output channel c*M+m reads input channel c, dense kernels (IN,OUT),
//     biases (OC).
//   - The destination comes first and is the only argument written (besides
//     the buffers a forward pass saves for its backward pass, which are named
//     as such: argmax, xhat, mean, invStd, mask, probs).
//   - Activations and gradients with respect to inputs are assigned (=).
//     Gradients with respect to parameters are accumulated (+=), so a caller
//     zeroes them once per step and layers that share a parameter, or a batch
//     split in chunks, simply add up.
//   - Kernels never allocate: the few that need working memory take a scratch
//     slice whose size a method reports (ConvParams.ScratchSize).
//   - Slices may be longer than their shape; only the leading elements are
//     read or written. A slice shorter than its shape is a programmer error
//     and panics with a constant message.
//
// # Determinism
//
// Every kernel computes the same bits for the same inputs and the same
// GOMAXPROCS. Gemm splits its output in bands computed by exactly one
// goroutine each, with the same summation order as the serial path, so its
// bits do not depend on the number of goroutines at all. Neither do those
// of the element-wise, pooling, bias and batch-norm loops, which split
// their elements, images or channels (parallel.go) and sum over rows
// within one part. Convolutions split a batch in ranges of images
// (convpar.go): Conv2D and Conv2DGradInput write disjoint outputs and keep
// the serial bits too; Conv2DGradFilter adds per-range partial sums in a
// fixed order, so its result depends on GOMAXPROCS (by rounding) but not
// on scheduling.
// SetThreads lowers that number below GOMAXPROCS for callers that run
// kernels side by side themselves.
// ConvParams.ScratchSize reads GOMAXPROCS when it is called, as scratch
// holds one chunk buffer per range. Under js/wasm GOMAXPROCS is 1 and
// everything runs on the calling goroutine.
//
// # Vectors
//
// Built with GOEXPERIMENT=simd on amd64 (make build does, where the CPU
// has AVX2 and FMA), the GEMM's micro-kernel computes 4×16 tiles with
// 8-wide vectors of Go's experimental simd/archsimd package, and
// Winograd's three tile transforms and a 2×2 max pooling (eight channels
// at a time), ReLU and its gradient (eight elements) use them too
// (simd.go); on a CPU without AVX2 and FMA the same build runs scalar
// loops. Every other build, wasm included, computes 2×4 tiles and the
// transforms in scalar code (scalar.go). The vector code does the same
// operations in the same order per element (each element of C summed in
// k's order with fused multiply-adds), so it computes the bits a scalar
// build with GOAMD64=v3 computes.
package kernels
