// Package nn builds a convolutional network from a spec.Model on top of the
// kernels package and trains it: forward and backward passes over a batch,
// one parameter arena, per-layer statistics and weights in safetensors.
//
// # The graph
//
// New expands the model (spec.Model.Expand) and runs its layers in the
// order they are listed. A layer reads the layer before it unless its
// Inputs name earlier layers, or "input" for the model input; an "add"
// layer sums two or more inputs of the same shape, which is how residual
// connections are written. Shapes are per example: (H,W,C) for images, (units) for vectors.
// A dense layer on an image reads it flattened in (H,W,C) order, which in
// NHWC memory is no work at all, and a flatten layer is a reshape whose
// output is its input's memory. The last layer must produce one value per
// class: those are the logits.
//
// Every layer implements the same small interface, a forward and a backward
// function over views cut to the batch. Activation and gradient buffers are
// sized for the maximum batch when the network is built, so Forward and
// Backward allocate nothing. Backward assigns each input gradient; an
// output read by several layers (a residual branch point) receives the sum
// of their gradients.
//
// # The arena
//
// Parameters, gradients and optimizer state live in one []float32:
//
//	[ trainable values | batch norm running stats | gradients | slot 0 | slot 1 ]
//
// Values covers the first two parts, so a checkpoint or a weight transfer
// between networks is one copy; Grads is aligned element by element with
// the trainable part of Values; OptimizerSlots hands out the slots, each
// aligned with Grads. Params returns a Param per tensor whose Value and
// Grad are views into the arena, so an optimizer is one flat loop over
// Values and Grads, or a loop over Params where it needs names or the Decay
// flag (kernels only: L1, L2 and weight decay skip biases and batch norm).
//
// # Names and initialization
//
// Parameters are named after their layer: "conv1/kernel", "conv1/bias",
// "bn1/scale", "bn1/offset", "bn1/mean", "bn1/variance", "dense1/kernel".
// Shapes follow GoMLX and Keras with channels last: convolution kernels
// (KH,KW,C,OC), depthwise kernels (KH,KW,C,M), dense kernels (IN,OUT).
// Kernels are drawn with the model's initializer (he_normal, he_uniform,
// glorot_normal, glorot_uniform, the normal ones truncated at two standard
// deviations as in Keras) from one PCG stream seeded by New's seed, layer by
// layer in order; biases and offsets start at 0, scales at 1, running means
// at 0 and variances at 1.
//
// # Safetensors
//
// Save writes every parameter, state included, as F32 tensors in the
// safetensors format (an 8-byte little-endian header length, a JSON header,
// raw little-endian data laid out in name order) that PyTorch's safetensors
// and GoMLX read. The header's __metadata__ holds {"format": "plateau",
// "spec": <the model as JSON>}, so Open can rebuild the network from the
// file alone. Load checks every name and shape and lists what is missing,
// mismatched or unexpected before it changes anything.
package nn
