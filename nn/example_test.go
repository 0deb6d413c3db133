package nn_test

import (
	"fmt"

	"plateau/nn"
	"plateau/spec"
)

func Example() {
	m := spec.Model{
		Input:   []int{28, 28, 1},
		Classes: 10,
		Layers: []spec.Layer{
			{Type: spec.Conv2D, Filters: 8, Kernel: 3, Activation: spec.ReLU},
			{Type: spec.BatchNorm},
			{Type: spec.MaxPool},
			{Type: spec.Dense, Units: 10},
		},
	}
	net, err := nn.New(m, 32, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range net.Params() {
		fmt.Println(p.Name, p.Shape, p.Grad != nil)
	}
	trainable, state := net.ParamCount()
	fmt.Println(trainable, "trainable,", state, "state")
	// Output:
	// conv1/kernel [3 3 1 8] true
	// conv1/bias [8] true
	// bn1/scale [8] true
	// bn1/offset [8] true
	// dense1/kernel [1568 10] true
	// dense1/bias [10] true
	// bn1/mean [8] false
	// bn1/variance [8] false
	// 15786 trainable, 16 state
}
