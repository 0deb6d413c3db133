package nn

import (
	"slices"
	"testing"

	"plateau/spec"
)

// branchyModel is written the way a user writes it: no names, activation
// shorthands, the model input read by two layers, an add of three inputs.
func branchyModel() spec.Model {
	return spec.Model{
		Input:   []int{5, 5, 2},
		Classes: 4,
		Layers: []spec.Layer{
			{Type: spec.Conv2D, Filters: 3, Kernel: 3, Activation: spec.Tanh},
			{Type: spec.Conv2D, Name: "skip", Inputs: []string{spec.InputName}, Filters: 3, Kernel: 1},
			{Type: spec.DepthwiseConv2D, Name: "dw", Inputs: []string{spec.InputName}, Kernel: 3, Multiplier: 2, Padding: spec.Padding{Mode: spec.PadSame}},
			{Type: spec.Conv2D, Name: "squeeze", Filters: 3, Kernel: 1, Activation: spec.Sigmoid},
			{Type: spec.Add, Name: "sum", Inputs: []string{"conv1", "skip", "squeeze"}},
			{Type: spec.BatchNorm},
			{Type: spec.Dense, Units: 4},
		},
	}
}

func TestExpandsModel(t *testing.T) {
	n := mustNew(t, branchyModel(), 2, 1)
	var names []string
	for _, l := range n.Spec.Layers {
		names = append(names, l.Name)
	}
	want := []string{"conv1", "tanh1", "skip", "dw", "squeeze", "sigmoid1", "sum", "bn1", "dense1"}
	if !slices.Equal(names, want) {
		t.Errorf("layers of the expanded spec\n got %v\nwant %v", names, want)
	}
	// The add reads conv1 after its activation, as Keras would.
	if got := n.Spec.Layers[6].Inputs; !slices.Equal(got, []string{"tanh1", "skip", "sigmoid1"}) {
		t.Errorf("sum reads %v", got)
	}
}

// TestShapesMatchSpec builds every preset and the test models and checks
// each layer's output shape, padding and parameter counts against the
// spec's shape inference, so the page's numbers are the network's.
func TestShapesMatchSpec(t *testing.T) {
	models := map[string]spec.Model{
		"every layer": everyLayerModel(),
		"small cnn":   smallCNN(),
		"branchy":     branchyModel(),
	}
	for _, name := range spec.PresetNames() {
		s, err := spec.Preset(name)
		if err != nil {
			t.Fatalf("preset %s: %v", name, err)
		}
		models["preset "+name] = s.Model
	}
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			infos, err := m.Shapes()
			if err != nil {
				t.Fatalf("spec shape inference: %v", err)
			}
			n := mustNew(t, m, 1, 1)
			if len(infos) != len(n.nodes)-1 {
				t.Fatalf("spec infers %d layers, the network has %d", len(infos), len(n.nodes)-1)
			}
			wantParams, wantState := 0, 0
			for i, info := range infos {
				nd := n.nodes[i+1]
				if nd.spec.Name != info.Name || !slices.Equal(nd.shape, info.Shape) {
					t.Errorf("layer %d: network has %s %v, spec infers %s %v", i, nd.spec.Name, nd.shape, info.Name, info.Shape)
				}
				var pad [4]int
				switch l := nd.impl.(type) {
				case *conv2D:
					pad = [4]int{l.padTop, l.padLeft, l.padBottom, l.padRight}
				case *depthwiseConv2D:
					pad = [4]int{l.padTop, l.padLeft, l.padBottom, l.padRight}
				case *pool:
					pad = [4]int{l.padTop, l.padLeft, l.padBottom, l.padRight}
				}
				if pad != info.Pad {
					t.Errorf("%s: padding %v, spec infers %v", info.Name, pad, info.Pad)
				}
				params, state := 0, 0
				for _, k := range nd.params {
					if p := n.params[k]; p.Grad != nil {
						params += len(p.Value)
					} else {
						state += len(p.Value)
					}
				}
				if params != info.Params || state != info.State {
					t.Errorf("%s: %d parameters and %d state, spec infers %d and %d", info.Name, params, state, info.Params, info.State)
				}
				wantParams += info.Params
				wantState += info.State
			}
			trainable, state := n.ParamCount()
			if trainable != wantParams || state != wantState {
				t.Errorf("ParamCount() = %d, %d; spec infers %d, %d", trainable, state, wantParams, wantState)
			}
			x, _ := randomBatch(n, 1, 1)
			for _, v := range n.Forward(x, 1, false) {
				if v != v {
					t.Fatal("logits are NaN")
				}
			}
		})
	}
}
