// Package spec defines the document that describes one training run: the
// network, how to train it, and the data it sees. The page, the worker, the
// server and the command line all exchange this document as JSON, so a run
// in the browser and a run on a GPU server start from the same bytes.
//
// The package only describes; it builds nothing. It reads and writes specs,
// expands their shorthands, says what is wrong with them field by field,
// infers layer shapes, parameter counts and costs without building the
// network, and carries the presets.
//
// # The document
//
// A spec has three sections:
//
//	{
//	  "model": {"input": [28, 28, 1], "classes": 10, "layers": [...]},
//	  "train": {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "epochs": 5, ...},
//	  "data":  {"dataset": "mnist", "normalization": "scale01", "validation": 0.1, ...}
//	}
//
// Parse reads it strictly: an unknown or misspelled field is an error that
// names its path and lists the fields allowed there, because a silently
// ignored "learning_rate" would make a run mean something other than what
// its author thinks. Parse starts from Default, so omitted settings keep
// their defaults (adam at 1e-3, batch 32, 10 epochs, inputs scaled to
// [0,1], 10% held out for validation, seed 1). Marshal writes a spec back;
// Spec.Set changes one setting by its path ("train.lr", "0.01"), as the
// command line's -set flag does.
//
// # Layers and the graph
//
// Layers are listed in topological order. Each reads the previous layer (the
// first reads the model input) unless its inputs name other layers;
// "input" names the model input. An add layer reads two or more layers of
// equal shape, which is how residual connections are written. The final
// layer must be a dense layer with model.classes units: it gives the class
// scores (logits), and the loss applies the softmax.
//
// Tensors are NHWC, one example being [height, width, channels]. A dense
// layer reading such a tensor flattens it in that order (row, column,
// channel), exactly as a flatten layer would, so a flatten before a dense
// layer is optional. Convolutions, pooling and global pooling need a
// three-dimensional input. "same" padding follows TensorFlow: the output is
// ceil(input/stride) and an odd pixel of padding goes to the bottom and
// right; LayerInfo.Pad gives the numbers.
//
// # Shorthands
//
// Spec.Expand turns what a person may leave out into plain settings, in
// one visible step, and is idempotent:
//
//   - a layer's "activation" becomes a layer of its own right after it
//     ("linear" means none; "softmax" on the final layer is dropped, since
//     the loss applies it); layers that name the original layer in their
//     inputs read the activation instead, as in Keras;
//   - unnamed layers are named by type and count: conv1, conv2, dwconv1,
//     pool1, avgpool1, globalpool1, dense1, bn1, dropout1, relu1,
//     leaky_relu1, elu1, sigmoid1, tanh1, add1, flatten1, skipping names
//     already taken;
//   - conv2d and depthwise_conv2d default to kernel 3, stride 1, padding
//     "same", multiplier 1 and the model's initializer (he_normal); pooling
//     to kernel 2, stride equal to the kernel and padding "valid"; batchnorm
//     to momentum 0.99 and epsilon 1e-3; leaky_relu to alpha 0.01 and elu to
//     alpha 1;
//   - a final dense layer without units gets model.classes units;
//   - training settings left at zero where zero means "unset" get defaults:
//     optimizer adam, batch 32, 10 epochs; beta1 0.9, beta2 0.999 and
//     epsilon 1e-7 for adam and adamw; rho 0.9 and epsilon 1e-7 for
//     rmsprop; schedule constant; step schedules drop by 0.1 every third of
//     the run, exponential ones by gamma 0.9 per epoch, one_cycle peaks at
//     10×lr after 30% of the run, reduce_on_plateau multiplies by 0.1 after
//     2 epochs without improvement; early stopping monitors val_loss; a step
//     event every 50 steps; normalization scale01; balance none;
//   - an augmentation switched on (p > 0) without a strength gets a
//     moderate one: crop by an eighth of the side, shift 0.1, rotation 15
//     degrees, zoom 0.1, brightness, contrast and saturation 0.2, hue 0.05,
//     cutout 0.25.
//
// The learning rate, the validation fraction and the seed are not filled:
// zero is a meaningful (or meaningfully wrong) value for them.
//
// # Validation
//
// Spec.Validate reports every problem at once, as Errors, each naming the
// field by its path and the layer by its name, and saying what is allowed:
//
//	model.layers[2].kernel (conv2): kernel 7 is larger than the 5×5 input; use kernel ≤ 5 or padding "same"
//
// It checks the spec as Expand would leave it without changing it, so it
// can be called on what the user typed; paths count layers as written. It
// covers layer types and the settings each type reads (a setting a type
// does not read is an error, since it is nearly always a slip), sizes and
// ranges, the graph (inputs name earlier layers, add inputs agree in shape,
// every output is read), the names of optimizers, schedules, normalizations
// and the like, the ranges of training and augmentation settings, and the
// size of the model: more than MaxLayers layers, MaxParams parameters or
// MaxActivations values per example is refused. The first hundred problems
// are listed, the rest counted. Model.Validate checks the model alone. Code
// that builds a network or trains should take an expanded spec that passed
// Validate.
//
// Model.Shapes gives, per layer of the expanded model, the output shape,
// parameter count and forward FLOPs per example, so the page shows them
// without building anything.
//
// # Presets
//
// Preset builds an expanded, valid spec by name: mnist-cnn, fashion-cnn,
// fashion-fast, convnetjs-cifar, keras-cifar10, and the scalable vgg-small, resnet-small,
// resnet-bottleneck and mobilenet-small (ScalablePresets), whose width and
// depth PresetOptions sets.
// DefaultPreset picks one per dataset, and PresetOptions.Input or
// Spec.SetInput fits a preset to data of another shape.
//
// # Experiments and faults
//
// Experiments are the troubleshooting checklist's A/B comparisons, each a
// few variants of a spec (FindExperiment). Faults are classic mistakes to
// plant in a spec on purpose, for a demonstration (FindFault, Fault.Plant):
// each names the doctor's cause it should be found as.
package spec
