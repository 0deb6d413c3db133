package spec

import (
	"reflect"
	"strings"
	"testing"
)

type wantLayer struct {
	name   string
	shape  []int
	params int
	flops  int64
}

func checkLayers(t *testing.T, infos []LayerInfo, want []wantLayer) {
	t.Helper()
	if len(infos) != len(want) {
		t.Fatalf("%d layers, want %d", len(infos), len(want))
	}
	for i, w := range want {
		got := infos[i]
		if got.Name != w.name || !reflect.DeepEqual(got.Shape, w.shape) || got.Params != w.params || got.FLOPs != w.flops {
			t.Errorf("layer %d = %s %v params %d flops %d, want %s %v params %d flops %d",
				i, got.Name, got.Shape, got.Params, got.FLOPs, w.name, w.shape, w.params, w.flops)
		}
	}
}

func TestShapesMNISTCNN(t *testing.T) {
	s, err := Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	// Worked by hand: a 3×3 conv with same padding keeps 28×28, each pool halves.
	checkLayers(t, infos, []wantLayer{
		{"conv1", []int{28, 28, 32}, 3*3*1*32 + 32, 2 * 28 * 28 * 32 * 9},
		{"relu1", []int{28, 28, 32}, 0, 28 * 28 * 32},
		{"pool1", []int{14, 14, 32}, 0, 14 * 14 * 32 * 4},
		{"conv2", []int{14, 14, 64}, 3*3*32*64 + 64, 2 * 14 * 14 * 64 * 9 * 32},
		{"relu2", []int{14, 14, 64}, 0, 14 * 14 * 64},
		{"pool2", []int{7, 7, 64}, 0, 7 * 7 * 64 * 4},
		{"dense1", []int{128}, 3136*128 + 128, 2 * 3136 * 128},
		{"relu3", []int{128}, 0, 128},
		{"dropout1", []int{128}, 0, 128},
		{"dense2", []int{10}, 128*10 + 10, 2 * 1280},
	})
	for _, want := range []struct {
		i      int
		params int
	}{{0, 320}, {3, 18496}, {6, 401536}, {9, 1290}} {
		if got := infos[want.i].Params; got != want.params {
			t.Errorf("%s params = %d, want %d", infos[want.i].Name, got, want.params)
		}
	}
	n, err := s.Model.ParamCount()
	if err != nil || n != 320+18496+401536+1290 {
		t.Errorf("ParamCount = %d, %v; want %d", n, err, 320+18496+401536+1290)
	}
}

func TestShapesConvNetJSCIFAR(t *testing.T) {
	s, err := Preset("convnetjs-cifar")
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	// 5×5 kernels with 2 pixels of padding keep the size; pools halve it.
	checkLayers(t, infos, []wantLayer{
		{"conv1", []int{32, 32, 16}, 5*5*3*16 + 16, 2 * 32 * 32 * 16 * 25 * 3},
		{"relu1", []int{32, 32, 16}, 0, 32 * 32 * 16},
		{"pool1", []int{16, 16, 16}, 0, 16 * 16 * 16 * 4},
		{"conv2", []int{16, 16, 20}, 5*5*16*20 + 20, 2 * 16 * 16 * 20 * 25 * 16},
		{"relu2", []int{16, 16, 20}, 0, 16 * 16 * 20},
		{"pool2", []int{8, 8, 20}, 0, 8 * 8 * 20 * 4},
		{"conv3", []int{8, 8, 20}, 5*5*20*20 + 20, 2 * 8 * 8 * 20 * 25 * 20},
		{"relu3", []int{8, 8, 20}, 0, 8 * 8 * 20},
		{"pool3", []int{4, 4, 20}, 0, 4 * 4 * 20 * 4},
		{"dense1", []int{10}, 320*10 + 10, 2 * 320 * 10},
	})
	if got, want := infos[0].Pad, [4]int{2, 2, 2, 2}; got != want {
		t.Errorf("conv1 padding = %v, want %v", got, want)
	}
	n, _ := s.Model.ParamCount()
	if want := 1216 + 8020 + 10020 + 3210; n != want {
		t.Errorf("ParamCount = %d, want %d", n, want)
	}
}

func TestShapesKerasCIFAR10MatchesKeras(t *testing.T) {
	s, err := Preset("keras-cifar10")
	if err != nil {
		t.Fatal(err)
	}
	// Keras's model.summary() for the example: 1,250,858 parameters.
	n, err := s.Model.ParamCount()
	if err != nil || n != 1250858 {
		t.Errorf("ParamCount = %d, %v; want 1250858", n, err)
	}
}

func TestShapesWindows(t *testing.T) {
	tests := []struct {
		name    string
		input   []int
		layer   Layer
		shape   []int
		pad     [4]int
		params  int
		inShape []int
	}{
		{"same stride 2 puts the odd pixel after", []int{32, 32, 3}, Layer{Type: Conv2D, Filters: 8, Kernel: 3, Stride: 2},
			[]int{16, 16, 8}, [4]int{0, 0, 1, 1}, 3*3*3*8 + 8, []int{32, 32, 3}},
		{"same on odd input", []int{7, 5, 1}, Layer{Type: Conv2D, Filters: 2, Kernel: 3, Stride: 2, UseBias: noBias()},
			[]int{4, 3, 2}, [4]int{1, 1, 1, 1}, 3 * 3 * 2, []int{7, 5, 1}},
		{"valid", []int{28, 28, 1}, Layer{Type: Conv2D, Filters: 4, Kernel: 5, Padding: Padding{Mode: PadValid}},
			[]int{24, 24, 4}, [4]int{}, 5*5*4 + 4, []int{28, 28, 1}},
		{"explicit", []int{10, 10, 2}, Layer{Type: Conv2D, Filters: 1, Kernel: 3, Stride: 2, Padding: Padding{Mode: PadExplicit, Size: 1}},
			[]int{5, 5, 1}, [4]int{1, 1, 1, 1}, 3*3*2 + 1, []int{10, 10, 2}},
		{"pool floors", []int{7, 7, 3}, Layer{Type: MaxPool}, []int{3, 3, 3}, [4]int{}, 0, []int{7, 7, 3}},
		{"overlapping pool", []int{8, 8, 3}, Layer{Type: AvgPool, Kernel: 3, Stride: 2, Padding: Padding{Mode: PadSame}},
			[]int{4, 4, 3}, [4]int{0, 0, 1, 1}, 0, []int{8, 8, 3}},
		{"depthwise multiplies channels", []int{8, 8, 3}, Layer{Type: DepthwiseConv2D, Multiplier: 2},
			[]int{8, 8, 6}, [4]int{1, 1, 1, 1}, 3*3*6 + 6, []int{8, 8, 3}},
		{"global pool", []int{8, 8, 3}, Layer{Type: GlobalAvgPool}, []int{3}, [4]int{}, 0, []int{8, 8, 3}},
		{"flatten", []int{4, 5, 3}, Layer{Type: Flatten}, []int{60}, [4]int{}, 0, []int{4, 5, 3}},
		{"batchnorm", []int{4, 5, 3}, Layer{Type: BatchNorm}, []int{4, 5, 3}, [4]int{}, 6, []int{4, 5, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Model{Input: tt.input, Classes: 2, Layers: []Layer{tt.layer, {Type: Dense}}}
			infos, err := m.Shapes()
			if err != nil {
				t.Fatal(err)
			}
			got := infos[0]
			if !reflect.DeepEqual(got.Shape, tt.shape) || got.Pad != tt.pad || got.Params != tt.params || !reflect.DeepEqual(got.InputShape, tt.inShape) {
				t.Errorf("got shape %v pad %v params %d input %v, want %v %v %d %v", got.Shape, got.Pad, got.Params, got.InputShape, tt.shape, tt.pad, tt.params, tt.inShape)
			}
		})
	}
}

func TestShapesDenseFlattensImplicitly(t *testing.T) {
	with := Model{Input: []int{4, 4, 2}, Classes: 3, Layers: []Layer{{Type: Flatten}, {Type: Dense}}}
	without := Model{Input: []int{4, 4, 2}, Classes: 3, Layers: []Layer{{Type: Dense}}}
	a, err := with.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	b, err := without.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	if a[1].Params != b[0].Params || a[1].Params != 32*3+3 || !reflect.DeepEqual(a[1].Shape, b[0].Shape) {
		t.Errorf("dense after flatten: %d params %v; dense alone: %d params %v; want both %d params (3)", a[1].Params, a[1].Shape, b[0].Params, b[0].Shape, 32*3+3)
	}
}

func TestShapesResolvesInputs(t *testing.T) {
	s, err := Parse(readTestdata(t, "residual.json"))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]LayerInfo{}
	for _, l := range infos {
		byName[l.Name] = l
	}
	if got := byName["stem"]; !reflect.DeepEqual(got.Inputs, []string{InputName}) || !reflect.DeepEqual(got.InputIndex, []int{-1}) {
		t.Errorf("stem reads %v %v, want [input] [-1]", got.Inputs, got.InputIndex)
	}
	// bn1 was written with a relu, so proj, which names bn1, reads relu1.
	if got := byName["proj"]; !reflect.DeepEqual(got.Inputs, []string{"relu1"}) || !reflect.DeepEqual(got.InputIndex, []int{2}) {
		t.Errorf("proj reads %v %v, want [relu1] [2]", got.Inputs, got.InputIndex)
	}
	if got := byName["add1"]; !reflect.DeepEqual(got.Inputs, []string{"b", "proj"}) || !reflect.DeepEqual(got.Shape, []int{16, 16, 32}) {
		t.Errorf("add1 reads %v giving %v, want [b proj] giving (16,16,32)", got.Inputs, got.Shape)
	}
	if got := byName["stem"].Params; got != 3*3*3*16 {
		t.Errorf("stem without bias has %d params, want %d", got, 3*3*3*16)
	}
	if got := byName["bn1"]; got.Params != 32 || got.State != 32 {
		t.Errorf("bn1 params %d state %d, want 32 and 32", got.Params, got.State)
	}
}

func TestShapesReturnsWhatItCouldInfer(t *testing.T) {
	m := Model{Input: []int{8, 8, 1}, Classes: 2, Layers: []Layer{
		{Type: Conv2D, Filters: 4},
		{Type: Conv2D, Filters: 4, Kernel: 9, Padding: Padding{Mode: PadValid}},
		{Type: Dense},
	}}
	infos, err := m.Shapes()
	if err == nil || !strings.Contains(err.Error(), "model.layers[1].kernel (conv2)") {
		t.Fatalf("Shapes error = %v, want model.layers[1].kernel (conv2)", err)
	}
	if len(infos) != 3 || !reflect.DeepEqual(infos[0].Shape, []int{8, 8, 4}) || infos[1].Shape != nil || infos[2].Shape != nil {
		t.Errorf("infos = %+v, want conv1 (8,8,4) and nothing after", infos)
	}
}

func TestMulSatSaturates(t *testing.T) {
	if got := mulSat(1<<40, 1<<40); got != 1<<63-1 {
		t.Errorf("mulSat(2^40, 2^40) = %d, want MaxInt64", got)
	}
	if got := mulSat(3, 5, 7); got != 105 {
		t.Errorf("mulSat(3, 5, 7) = %d, want 105", got)
	}
}

// A hidden dense layer narrower than the classes is a bottleneck; the
// final one, which gives the class scores, and wide ones are not.
func TestBottlenecks(t *testing.T) {
	s, err := Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.Expand()
	if got := s.Model.Bottlenecks(); len(got) != 0 {
		t.Errorf("mnist-cnn: %v", got)
	}
	s.Model.Layers[6].Units = 4
	if got := s.Model.Bottlenecks(); len(got) != 1 || got[0] != 6 {
		t.Errorf("dense1 of 4 units: %v, want [6]", got)
	}
}

// A pooling to 1×1 of features that see a small part of the image is a
// local pool; the presets' global poolings come after features that see
// most of it.
func TestLocalPools(t *testing.T) {
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		s.Expand()
		if got := s.Model.LocalPools(); len(got) != 0 {
			t.Errorf("%s: %+v", name, got)
		}
	}
	conv := func(filters int) Layer { return Layer{Type: Conv2D, Filters: filters, Kernel: 3, Activation: ReLU} }
	for _, c := range []struct {
		name   string
		layers []Layer
		want   []LocalPool
	}{
		{"global pooling after two convolutions", []Layer{conv(8), {Type: MaxPool}, conv(16), {Type: GlobalAvgPool}, {Type: Dense, Units: 64, Activation: ReLU}, {Type: Dense}},
			[]LocalPool{{Index: 5, Field: 8, Side: 28, Map: 14, Channels: 16}}},
		{"a pooling of 4, then of 7", []Layer{conv(8), {Type: MaxPool, Kernel: 4}, conv(16), {Type: MaxPool, Kernel: 7}, {Type: Flatten}, {Type: Dense}},
			[]LocalPool{{Index: 5, Field: 14, Side: 28, Map: 7, Channels: 16}}},
		{"flatten keeps the places", []Layer{conv(8), {Type: MaxPool}, conv(16), {Type: MaxPool}, {Type: Flatten}, {Type: Dense}}, nil},
		{"features that see most of the image", []Layer{conv(8), {Type: MaxPool}, conv(16), {Type: MaxPool}, conv(32), {Type: MaxPool}, conv(32), {Type: GlobalAvgPool}, {Type: Dense}}, nil},
	} {
		s := &Spec{Model: Model{Input: []int{28, 28, 1}, Classes: 10, Layers: c.layers}}
		s.Expand()
		if got := s.Model.LocalPools(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
