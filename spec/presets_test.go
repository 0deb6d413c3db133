package spec

import (
	"cmp"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// checkPreset asserts what every preset promises: it validates, its shapes
// agree with its layers, and it survives a JSON round trip unchanged.
func checkPreset(t *testing.T, s *Spec) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		t.Fatalf("Shapes: %v", err)
	}
	if len(infos) != len(s.Model.Layers) {
		t.Fatalf("Shapes gives %d layers for %d (a preset is expanded)", len(infos), len(s.Model.Layers))
	}
	total := 0
	for i, info := range infos {
		l := s.Model.Layers[i]
		if info.Name != l.Name || info.Type != l.Type {
			t.Errorf("info %d is %s/%s, layer is %s/%s", i, info.Name, info.Type, l.Name, l.Type)
		}
		if info.Shape == nil || info.Elements() < 1 {
			t.Errorf("%s has no shape", info.Name)
		}
		for k, j := range info.InputIndex {
			in := s.Model.Input
			if j >= 0 {
				in = infos[j].Shape
			}
			if k == 0 && !reflect.DeepEqual(in, info.InputShape) {
				t.Errorf("%s input shape %v, but its input gives %v", info.Name, info.InputShape, in)
			}
		}
		total += info.Params
	}
	if got, want := infos[len(infos)-1].Shape, []int{s.Model.Classes}; !reflect.DeepEqual(got, want) {
		t.Errorf("output shape %v, want %v", got, want)
	}
	n, err := s.Model.ParamCount()
	if err != nil || n != total {
		t.Errorf("ParamCount = %d, %v; the layers sum to %d", n, err, total)
	}
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal(preset)): %v", err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("JSON round trip changed the preset:\n%s", b)
	}
}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			s, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			checkPreset(t, s)
			if s.Model.Name != name || s.Data.Dataset == "" || PresetDescription(name) == "" {
				t.Errorf("model name %q, dataset %q, description %q", s.Model.Name, s.Data.Dataset, PresetDescription(name))
			}
		})
	}
}

func TestPresetsOnOtherInputs(t *testing.T) {
	for _, name := range PresetNames() {
		for _, in := range [][]int{{28, 28, 1}, {32, 32, 3}, {64, 48, 3}} {
			t.Run(name+shapeString(in), func(t *testing.T) {
				s, err := Preset(name, PresetOptions{Input: in, Classes: 5})
				if err != nil {
					t.Fatal(err)
				}
				checkPreset(t, s)
			})
		}
	}
}

func TestPresetWidthAndDepth(t *testing.T) {
	for _, name := range ScalablePresets() {
		for _, o := range []PresetOptions{{Width: 8, Depth: 1}, {Width: 8, Depth: 2}, {Width: 32, Depth: 4}, {Width: 4, Depth: 5}} {
			t.Run(name+shapeString([]int{o.Width, o.Depth}), func(t *testing.T) {
				s, err := Preset(name, o)
				if err != nil {
					t.Fatal(err)
				}
				checkPreset(t, s)
				infos, _ := s.Model.Shapes()
				widest := 0
				for _, l := range infos {
					if l.Type == Conv2D && len(l.Shape) == 3 && l.Name != "head_conv" && !strings.HasSuffix(l.Name, "_expand") {
						widest = max(widest, l.Shape[2])
					}
				}
				want := o.Width << (o.Depth - 1)
				if name == "resnet-bottleneck" {
					want *= bottleneckExpansion // its 1×1 convs widen each block's output
				}
				if widest != want {
					t.Errorf("widest conv has %d channels, want %d", widest, want)
				}
			})
		}
	}
}

func TestPresetWiderIsLarger(t *testing.T) {
	for _, name := range ScalablePresets() {
		t.Run(name, func(t *testing.T) {
			narrow, err := Preset(name, PresetOptions{Width: 8})
			if err != nil {
				t.Fatal(err)
			}
			wide, err := Preset(name, PresetOptions{Width: 16})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := narrow.Model.ParamCount()
			b, _ := wide.Model.ParamCount()
			if b <= a {
				t.Errorf("width 16 has %d parameters, width 8 %d", b, a)
			}
		})
	}
}

// The ResNet matches the PyTorch throughput reference (ResNetish in the
// GPU benchmarks) at width 64: there, 3 stages of one block each.
func TestResNetSmallMatchesTheReference(t *testing.T) {
	s, err := Preset("resnet-small", PresetOptions{Width: 64})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Model.ParamCount()
	if err != nil {
		t.Fatal(err)
	}
	// Counted from the reference's modules: conv kernels without bias,
	// batch norm scale and offset, the two 1×1 projections, the dense head.
	w := 64
	want := 3*3*3*w + 2*w // stem
	in := w
	for _, ch := range []int{w, 2 * w, 4 * w} {
		want += 3*3*in*ch + 2*ch + 3*3*ch*ch + 2*ch
		if in != ch {
			want += in * ch
		}
		in = ch
	}
	want += 4*w*10 + 10
	if n != want {
		t.Errorf("ParamCount = %d, want %d", n, want)
	}
}

func TestFashionCNNIsCheap(t *testing.T) {
	s, err := Preset("fashion-cnn")
	if err != nil {
		t.Fatal(err)
	}
	infos, _ := s.Model.Shapes()
	var flops int64
	for _, l := range infos {
		flops += l.FLOPs
	}
	if flops > 15e6 {
		t.Errorf("fashion-cnn costs %.1f MFLOP per example, want at most 15", float64(flops)/1e6)
	}
}

// fashion-fast is sized for three minutes of two wasm workers, the page's
// default on a two-core machine: its planned epochs cost at most what two
// such workers compute in three minutes at 3.4 GFLOP/s (in headless
// Chromium on a 2-core machine, two workers trained it at 1,509–1,587
// images/s, batch 128, 3.3–3.5 GFLOP/s, and ended its five epochs in
// 170–179 s; on a slower day, 1,233–1,366 images/s), its rate anneals
// over exactly those epochs, and its time limit ends a slower run with
// ten seconds to spare for its start and its test pass.
func TestFashionFastFitsAFewMinutes(t *testing.T) {
	s, err := Preset("fashion-fast")
	if err != nil {
		t.Fatal(err)
	}
	infos, _ := s.Model.Shapes()
	var flops int64
	for _, l := range infos {
		flops += l.FLOPs
	}
	// Forward and the two products of the backward pass, over the 54,000
	// training images Fashion-MNIST keeps after a 10% validation split.
	planned := float64(s.Train.Epochs) * 54000 * 3 * float64(flops)
	if budget := 180 * 3.4e9; planned > budget {
		t.Errorf("fashion-fast plans %.0f GFLOP of training (%.2f MFLOP per image, %d epochs), more than the %.0f GFLOP of three minutes",
			planned/1e9, float64(flops)/1e6, s.Train.Epochs, budget/1e9)
	}
	if tl := s.Train.TimeLimitSeconds; tl <= 0 || tl > 170 {
		t.Errorf("fashion-fast's time limit is %g s, want one that leaves 10 s of three minutes", tl)
	}
	if sc := s.Train.Schedule; sc.Type != "one_cycle" || sc.MaxLR <= s.Train.LR || sc.MinLR != 0 {
		t.Errorf("fashion-fast's schedule is %+v with lr %g, want one_cycle rising above lr and annealing to 0", sc, s.Train.LR)
	}
}

func TestPresetErrors(t *testing.T) {
	tests := []struct {
		name string
		opts PresetOptions
		want string
	}{
		{"lenet", PresetOptions{}, `unknown preset "lenet"; use "mnist-cnn"`},
		{"mnist-cnn", PresetOptions{Width: 8}, "fixed width and depth"},
		{"vgg-small", PresetOptions{Depth: 6}, "depth 6 halves the 32×32 input 6 times"},
		{"vgg-small", PresetOptions{Depth: 9}, "depth 9 must be between 1 and 8"},
		{"resnet-small", PresetOptions{Width: -1}, "width -1"},
		{"resnet-small", PresetOptions{Input: []int{28, 28}}, "input must be"},
		{"resnet-small", PresetOptions{Width: 1024, Depth: 4}, "parameters; the limit is"},
		{"convnetjs-cifar", PresetOptions{Input: []int{4, 4, 3}}, "kernel 2 is larger than the 1×1 input"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.want, func(t *testing.T) {
			_, err := Preset(tt.name, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Preset = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPresetPanicsOnTwoOptions(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Preset with two PresetOptions did not panic")
		}
	}()
	Preset("vgg-small", PresetOptions{}, PresetOptions{})
}

func TestDefaultPreset(t *testing.T) {
	tests := map[string]string{
		"mnist":         "mnist-cnn",
		"fashion-mnist": "fashion-cnn",
		"cifar-10":      "convnetjs-cifar",
		"/data/photos":  "convnetjs-cifar",
	}
	for dataset, want := range tests {
		if got := DefaultPreset(dataset); got != want {
			t.Errorf("DefaultPreset(%q) = %q, want %q", dataset, got, want)
		}
		if _, err := Preset(DefaultPreset(dataset)); err != nil {
			t.Error(err)
		}
	}
}

func TestSetInput(t *testing.T) {
	s, err := Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.SetInput(32, 32, 3, 100)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := infos[0].Params, 3*3*3*32+32; got != want {
		t.Errorf("conv1 on color input has %d params, want %d", got, want)
	}
	if got, want := infos[6].Params, 8*8*64*128+128; got != want {
		t.Errorf("dense1 on 32×32 input has %d params, want %d", got, want)
	}
	if got := infos[len(infos)-1].Shape; !reflect.DeepEqual(got, []int{100}) {
		t.Errorf("output shape %v, want (100)", got)
	}
}

// PresetScale finds the width and depth a scalable preset was built with,
// on its own input and on another, and nothing once a layer is edited.
func TestPresetScale(t *testing.T) {
	for _, name := range ScalablePresets() {
		for _, o := range []PresetOptions{{}, {Width: 8, Depth: 2}, {Width: 24, Depth: 4, Input: []int{64, 48, 1}, Classes: 3}} {
			s, err := Preset(name, o)
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON, as a shared link or a saved run brings it.
			b, _ := json.Marshal(s)
			parsed, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			w, d, ok := PresetScale(parsed.Model)
			wantW, wantD := cmp.Or(o.Width, 16), cmp.Or(o.Depth, 3)
			if !ok || w != wantW || d != wantD {
				t.Errorf("%s %+v: PresetScale = %d, %d, %v; want %d, %d", name, o, w, d, ok, wantW, wantD)
			}
			edited := parsed.Clone()
			edited.Model.Layers[0].Kernel = 5
			if _, _, ok := PresetScale(edited.Model); ok {
				t.Errorf("%s: PresetScale found a scale for a model whose first layer was edited", name)
			}
		}
	}
	mnist, _ := Preset("mnist-cnn")
	if _, _, ok := PresetScale(mnist.Model); ok {
		t.Error("PresetScale found a scale for mnist-cnn, which has none")
	}
}
