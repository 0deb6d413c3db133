// Package gomlx trains a spec with GoMLX, the one package of the project
// that imports it. Model builds a spec's network as a graph with nn's
// parameter names, shapes and layer semantics (NHWC, "same" padding as
// TensorFlow, Keras-style batch norm, inverted dropout with the engine's
// masks, hashed in the graph from the seed, the step and each element's
// place as nn hashes them); Loss is nn's
// softmax cross-entropy with label smoothing and class weights; StepExec
// compiles a whole training step (forward, loss, gradients, L1/L2,
// clipping, decoupled weight decay and the optimizer of package train)
// with the learning rate as an input, so a schedule never recompiles it.
// Trainer.Train runs a spec as train.Run does and emits the same events;
// its batches are augmented and normalized on the host's other cores, two
// steps ahead of the device (data.Loader's Workers and Prefetch), then
// copied to the device one step ahead (uploadAhead), and an epoch's short
// last batch is padded to the whole batch (the step counts
// its real rows only), so that a job compiles one training and one
// inference graph, the second in the background during the first epoch.
//
// # Backends
//
// The pure-Go backend ("go") is always built in; in v0.26 it runs every
// forward op and the gradients of dense networks, of XLA's convolution op
// as convXLA differentiates it and of tiling poolings, but not those of
// slices (im2col, depthwise) or reduce-windows: it checks parity and
// trains small networks in tests (PLATEAU_GOMLX_CONV=xla for CNNs), and
// nothing real. The XLA backend is built with -tags xla (cgo, dlopen of a
// PJRT plugin; FindPlugin looks for JAX's CUDA plugin). Nothing ever
// downloads a plugin: GOMLX_NO_AUTO_INSTALL is set before any backend
// opens.
//
// # Lowering
//
// Convolutions are im2col matrix products and tiling poolings reshapes and
// reductions by default (Lowering; PLATEAU_GOMLX_CONV and
// PLATEAU_GOMLX_POOL choose XLA's own ops for measurement). Every matrix
// product is differentiated as two matrix products (matmul), and a weight
// gradient that sums over many rows, a convolution's over every pixel of
// the batch, as a batch of partial products summed (splitK), so that a GPU
// computes it on all its multiprocessors.
//
// gpu_check.sh runs, on a GPU machine, the gradient parity, the
// throughput beside the PyTorch twin and a Fashion-MNIST job.
package gomlx
