package spec_test

import (
	"fmt"

	"plateau/spec"
)

func ExamplePreset() {
	s, err := spec.Preset("mnist-cnn")
	if err != nil {
		panic(err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		panic(err)
	}
	for _, l := range infos {
		fmt.Printf("%-8s %-8s %-12s %7d\n", l.Name, l.Type, fmt.Sprint(l.Shape), l.Params)
	}
	// Output:
	// conv1    conv2d   [28 28 32]       320
	// relu1    relu     [28 28 32]         0
	// pool1    maxpool  [14 14 32]         0
	// conv2    conv2d   [14 14 64]     18496
	// relu2    relu     [14 14 64]         0
	// pool2    maxpool  [7 7 64]           0
	// dense1   dense    [128]         401536
	// relu3    relu     [128]              0
	// dropout1 dropout  [128]              0
	// dense2   dense    [10]            1290
}

func ExampleSpec_Validate() {
	s, err := spec.Parse([]byte(`{
		"model": {
			"input": [5, 5, 1],
			"classes": 10,
			"layers": [
				{"type": "conv2d", "filters": 8, "activation": "relu"},
				{"type": "conv2d", "filters": 8, "kernel": 7, "padding": "valid"},
				{"type": "dropout", "rate": 1.5},
				{"type": "dense"}
			]
		},
		"train": {"optimizer": "adagrad"}
	}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Validate())
	// Output:
	// 3 problems in the spec:
	//   model.layers[1].kernel (conv2): kernel 7 is larger than the 5×5 input; use kernel ≤ 5 or padding "same"
	//   model.layers[2].rate (dropout1): rate 1.5 must be in [0, 1); it is the fraction of values dropped
	//   train.optimizer: unknown optimizer "adagrad"; use "sgd", "adam", "adamw" or "rmsprop"
}

func ExampleParse() {
	_, err := spec.Parse([]byte(`{"train": {"learning_rate": 0.1}}`))
	fmt.Println(err)
	// Output:
	// train.learning_rate: unknown field "learning_rate"; did you mean "lr"? (the fields of train are optimizer, lr, momentum, nesterov, beta1, beta2, epsilon, rho, batch_size, epochs, schedule, l1, l2, weight_decay, grad_clip, label_smoothing, early_stopping, seed, log_every, val_check_seconds, time_limit_seconds)
}

func ExampleSpec_Set() {
	s, err := spec.Preset("convnetjs-cifar")
	if err != nil {
		panic(err)
	}
	for _, set := range [][2]string{{"train.lr", "0.01"}, {"train.optimizer", "sgd"}, {"train.momentum", "0.9"}, {"data.normalization", "standardize"}} {
		if err := s.Set(set[0], set[1]); err != nil {
			panic(err)
		}
	}
	fmt.Println(s.Train.Optimizer, s.Train.LR, s.Train.Momentum, s.Data.Normalization)
	fmt.Println(s.Set("train.lrate", "0.1"))
	// Output:
	// sgd 0.01 0.9 standardize
	// train.lrate: unknown field "lrate"; did you mean "lr"? (the fields of train are optimizer, lr, momentum, nesterov, beta1, beta2, epsilon, rho, batch_size, epochs, schedule, l1, l2, weight_decay, grad_clip, label_smoothing, early_stopping, seed, log_every, val_check_seconds, time_limit_seconds)
}

func ExampleSpec_Expand() {
	s := &spec.Spec{Model: spec.Model{
		Input:   []int{28, 28, 1},
		Classes: 10,
		Layers: []spec.Layer{
			{Type: spec.Conv2D, Filters: 16, Activation: spec.ReLU},
			{Type: spec.MaxPool},
			{Type: spec.Dense, Activation: "softmax"},
		},
	}}
	s.Expand()
	for _, l := range s.Model.Layers {
		fmt.Printf("%s %s kernel=%d stride=%d padding=%v units=%d\n", l.Name, l.Type, l.Kernel, l.Stride, l.Padding, l.Units)
	}
	// Output:
	// conv1 conv2d kernel=3 stride=1 padding=same units=0
	// relu1 relu kernel=0 stride=0 padding= units=0
	// pool1 maxpool kernel=2 stride=2 padding=valid units=0
	// dense1 dense kernel=0 stride=0 padding= units=10
}
