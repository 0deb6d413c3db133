package nn

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"plateau/kernels"
	"plateau/spec"
)

func noBias() *bool { b := false; return &b }

// everyLayerModel uses every layer type and padding mode, a residual add
// with a projection, and branch points whose gradients must be summed.
func everyLayerModel() spec.Model {
	return spec.Model{
		Input:   []int{6, 6, 3},
		Classes: 3,
		Init:    GlorotUniform,
		Layers: []spec.Layer{
			{Type: spec.Conv2D, Name: "conv1", Filters: 4, Kernel: 3, Stride: 1, Padding: spec.Padding{Mode: spec.PadExplicit, Size: 1}},
			{Type: spec.BatchNorm, Name: "bn1", Momentum: spec.Float(0.9), Epsilon: 1e-3},
			{Type: spec.ReLU, Name: "relu1"},
			{Type: spec.Conv2D, Name: "conv2", Filters: 6, Kernel: 3, Stride: 2, Padding: spec.Padding{Mode: spec.PadSame}, UseBias: noBias(), Init: HeNormal},
			{Type: spec.ELU, Name: "elu1", Alpha: spec.Float(1)},
			{Type: spec.DepthwiseConv2D, Name: "dw1", Kernel: 3, Stride: 1, Multiplier: 2, Padding: spec.Padding{Mode: spec.PadSame}, Init: HeUniform},
			{Type: spec.Conv2D, Name: "proj", Inputs: []string{"relu1"}, Filters: 12, Kernel: 1, Stride: 2, Padding: spec.Padding{Mode: spec.PadValid}, Init: GlorotNormal},
			{Type: spec.Add, Name: "add1", Inputs: []string{"dw1", "proj"}},
			{Type: spec.LeakyReLU, Name: "leaky1", Alpha: spec.Float(0.1)},
			{Type: spec.MaxPool, Name: "pool1", Kernel: 2, Stride: 1, Padding: spec.Padding{Mode: spec.PadValid}},
			{Type: spec.AvgPool, Name: "pool2", Kernel: 2, Stride: 1, Padding: spec.Padding{Mode: spec.PadSame}},
			{Type: spec.Sigmoid, Name: "sigmoid1"},
			{Type: spec.Conv2D, Name: "conv3", Filters: 4, Kernel: 2, Stride: 1, Padding: spec.Padding{Mode: spec.PadValid}},
			{Type: spec.Flatten, Name: "flatten1"},
			{Type: spec.Dropout, Name: "dropout1", Rate: 0.25},
			{Type: spec.Dense, Name: "dense1", Units: 6},
			{Type: spec.BatchNorm, Name: "bn2", Momentum: spec.Float(0.9), Epsilon: 1e-3},
			{Type: spec.Tanh, Name: "tanh1"},
			{Type: spec.GlobalAvgPool, Name: "gap1", Inputs: []string{"leaky1"}},
			{Type: spec.Dense, Name: "dense2", Units: 6},
			{Type: spec.Dense, Name: "dense3", Inputs: []string{"pool1"}, Units: 6},
			{Type: spec.Add, Name: "add2", Inputs: []string{"tanh1", "dense2"}},
			{Type: spec.Add, Name: "add3", Inputs: []string{"add2", "dense3"}},
			{Type: spec.Dense, Name: "logits", Units: 3},
		},
	}
}

// bnFirstModel normalizes the network's input itself: batch norm's
// backward pass reads the input again (it keeps no xhat), here the batch
// the caller passed, whose gradient goes nowhere. Its depthwise layer has
// multiplier 1 and stride 1, whose input gradient is the forward pass on
// the turned kernel.
func bnFirstModel() spec.Model {
	return spec.Model{
		Input:   []int{5, 4, 3},
		Classes: 3,
		Init:    GlorotUniform,
		Layers: []spec.Layer{
			{Type: spec.BatchNorm, Name: "bn0", Momentum: spec.Float(0.9), Epsilon: 1e-3},
			{Type: spec.Conv2D, Name: "conv1", Filters: 9, Kernel: 3, Stride: 1, Padding: spec.Padding{Mode: spec.PadSame}},
			{Type: spec.DepthwiseConv2D, Name: "dw1", Kernel: 3, Stride: 1, Multiplier: 1, Padding: spec.Padding{Mode: spec.PadSame}},
			{Type: spec.BatchNorm, Name: "bn1", Momentum: spec.Float(0.9), Epsilon: 1e-3},
			{Type: spec.Flatten, Name: "flatten1"},
			{Type: spec.Dense, Name: "logits", Units: 3},
		},
	}
}

// smallCNN is a typical small model: conv, batch norm, pooling, dropout.
func smallCNN() spec.Model {
	return spec.Model{
		Input:   []int{8, 8, 1},
		Classes: 10,
		Init:    HeNormal,
		Layers: []spec.Layer{
			{Type: spec.Conv2D, Name: "conv1", Filters: 8, Kernel: 3, Stride: 1, Padding: spec.Padding{Mode: spec.PadSame}},
			{Type: spec.BatchNorm, Name: "bn1", Momentum: spec.Float(0.99), Epsilon: 1e-3},
			{Type: spec.ReLU, Name: "relu1"},
			{Type: spec.MaxPool, Name: "pool1", Kernel: 2, Stride: 2, Padding: spec.Padding{Mode: spec.PadValid}},
			{Type: spec.Conv2D, Name: "conv2", Filters: 16, Kernel: 3, Stride: 1, Padding: spec.Padding{Mode: spec.PadSame}},
			{Type: spec.ReLU, Name: "relu2"},
			{Type: spec.Dropout, Name: "dropout1", Rate: 0.3},
			{Type: spec.Dense, Name: "dense1", Units: 10},
		},
	}
}

func mustNew(t testing.TB, m spec.Model, maxBatch int, seed uint64) *Network {
	t.Helper()
	n, err := New(m, maxBatch, seed)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func randomBatch(n *Network, batch int, seed uint64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, batch*n.InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(rng.IntN(n.Classes()))
	}
	return x, y
}

// loss runs a forward pass with the same dropout key, so repeated calls see
// the same masks.
func loss(n *Network, x []float32, y []int32, batch int, training bool, dlogits []float32) float32 {
	n.SetDropout(DropoutKey{Step: 7})
	logits := n.Forward(x, batch, training)
	return kernels.SoftmaxCrossEntropy(dlogits, nil, logits, y, nil, 0, batch, n.Classes())
}

// kinks fingerprints where the network's piecewise-linear layers are on
// the last forward pass: which inputs of relu-family layers are positive
// and which cell each max-pooling window picked.
func kinks(n *Network, x []float32, batch int, training bool) uint64 {
	h := fnv.New64a()
	var buf [4]byte
	for _, nd := range n.nodes[1:] {
		switch l := nd.impl.(type) {
		case *activation:
			if l.kind == spec.Sigmoid || l.kind == spec.Tanh {
				continue
			}
			for _, v := range nd.x[0] {
				if v > 0 {
					buf[0] = 1
				} else {
					buf[0] = 0
				}
				h.Write(buf[:1])
			}
		case *pool:
			if !l.max {
				continue
			}
			for _, a := range l.argmax[:batch*nd.size] {
				binary.LittleEndian.PutUint32(buf[:], uint32(a))
				h.Write(buf[:])
			}
		}
	}
	return h.Sum64()
}

// TestGradients compares Backward with central differences of the loss for
// every trainable parameter and for the input.
var gradSeed uint64 = 1

func TestGradients(t *testing.T) {
	models := []struct {
		name  string
		model spec.Model
	}{
		{"every layer", everyLayerModel()},
		{"branchy", branchyModel()},
		{"batch norm first", bnFirstModel()},
	}
	for _, tt := range models {
		for _, training := range []bool{true, false} {
			name := tt.name + "/inference"
			if training {
				name = tt.name + "/training"
			}
			t.Run(name, func(t *testing.T) { checkGradients(t, tt.model, training) })
		}
	}
}

func checkGradients(t *testing.T, m spec.Model, training bool) {
	const batch = 3
	n := mustNew(t, m, batch, gradSeed)
	n.setInputGrad(true)
	x, y := randomBatch(n, batch, gradSeed+1)
	// Move the running statistics off their initial values so the
	// inference path is not the identity.
	for range 3 {
		n.Forward(x, batch, true)
	}
	dlogits := make([]float32, batch*n.Classes())
	loss(n, x, y, batch, training, dlogits)
	n.ZeroGrads()
	n.Backward(dlogits)
	inputGrad := slices.Clone(n.inputGrad())

	// Piecewise-linear layers (relu, leaky relu, max pooling) have
	// kinks, and a step that crosses one measures a different slope.
	// A central difference is only trusted when neither step changed
	// the kink pattern; failing that at every step size, a one-sided
	// difference on the side that stayed put is used.
	base := kinks(n, x, batch, training)
	center := float64(loss(n, x, y, batch, training, nil))
	skipped, total := 0, 0
	check := func(name string, values []float32, analytic []float32) {
		t.Helper()
		bad := 0
		for i := range values {
			total++
			type probe struct {
				eps             float64
				plus, minus     float64
				plusOK, minusOK bool
			}
			var probes []probe
			for _, eps := range []float32{3e-3, 1e-3, 3e-4} {
				saved := values[i]
				values[i] = saved + eps
				plus := loss(n, x, y, batch, training, nil)
				plusOK := kinks(n, x, batch, training) == base
				values[i] = saved - eps
				minus := loss(n, x, y, batch, training, nil)
				minusOK := kinks(n, x, batch, training) == base
				values[i] = saved
				probes = append(probes, probe{float64(eps), float64(plus), float64(minus), plusOK, minusOK})
				if plusOK && minusOK {
					break
				}
			}
			// The loss carries float32 rounding of about 1e-6, which a
			// step of eps turns into an error of 1e-6/eps.
			numeric, how, tolerance := math.NaN(), "", 0.0
			if p := probes[len(probes)-1]; p.plusOK && p.minusOK {
				numeric, how, tolerance = (p.plus-p.minus)/(2*p.eps), "central", 1e-3+1e-6/p.eps
			}
			for j := len(probes) - 1; j >= 0 && how == ""; j-- {
				switch p := probes[j]; {
				case p.plusOK:
					numeric, how, tolerance = (p.plus-center)/p.eps, "forward", 2e-3+2e-6/p.eps
				case p.minusOK:
					numeric, how, tolerance = (center-p.minus)/p.eps, "backward", 2e-3+2e-6/p.eps
				}
			}
			if how == "" {
				skipped++
				continue
			}
			got := float64(analytic[i])
			if math.Abs(got-numeric) > tolerance+2e-2*math.Abs(numeric) {
				bad++
				if bad <= 3 {
					t.Errorf("%s[%d]: Backward gives %.6g, %s differences %.6g", name, i, got, how, numeric)
				}
			}
		}
	}
	for _, p := range n.Trainable() {
		check(p.Name, p.Value, p.Grad)
	}
	check("input", x, inputGrad)
	if skipped > total/20 {
		t.Errorf("%d of %d elements sit too close to a kink to be checked", skipped, total)
	}
}

func TestForwardRejectsBadBatch(t *testing.T) {
	n := mustNew(t, smallCNN(), 4, 1)
	x, _ := randomBatch(n, 4, 1)
	tests := []struct {
		name  string
		x     []float32
		batch int
	}{
		{"batch zero", x, 0},
		{"batch over maximum", x, 5},
		{"input too short", x[:len(x)-1], 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Forward did not panic")
				}
			}()
			n.Forward(tt.x, tt.batch, false)
		})
	}
}

// TestSmallerBatch checks that a batch below the maximum computes what the
// same examples compute in a network built for exactly that batch.
func TestSmallerBatch(t *testing.T) {
	big := mustNew(t, smallCNN(), 16, 3)
	small := mustNew(t, smallCNN(), 5, 3)
	x, _ := randomBatch(big, 5, 4)
	got := slices.Clone(big.Forward(x, 5, false))
	want := small.Forward(x, 5, false)
	if !sameBits(got, want) {
		t.Errorf("logits differ between maximum batch 16 and 5")
	}
}

func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, m := range []spec.Model{smallCNN(), everyLayerModel(), branchyModel(), bnFirstModel()} {
		n := mustNew(t, m, 8, 1)
		x, y := randomBatch(n, 8, 1)
		dlogits := make([]float32, 8*n.Classes())
		step := func() {
			logits := n.Forward(x, 8, true)
			kernels.SoftmaxCrossEntropy(dlogits, nil, logits, y, nil, 0, 8, n.Classes())
			n.ZeroGrads()
			n.Backward(dlogits)
			n.Forward(x, 5, false)
		}
		step()
		if allocs := testing.AllocsPerRun(5, step); allocs != 0 {
			t.Errorf("%d layers: Forward and Backward allocate %v times per step", len(m.Layers), allocs)
		}
	}
}

func TestDeterminism(t *testing.T) {
	run := func(seed uint64) ([]float32, []float32) {
		n := mustNew(t, everyLayerModel(), 4, seed)
		initial := slices.Clone(n.Values())
		x, y := randomBatch(n, 4, 9)
		dlogits := make([]float32, 4*n.Classes())
		n.SetDropout(DropoutKey{Step: uint32(seed)})
		for range 3 {
			logits := n.Forward(x, 4, true)
			kernels.SoftmaxCrossEntropy(dlogits, nil, logits, y, nil, 0, 4, n.Classes())
			n.ZeroGrads()
			n.Backward(dlogits)
			for i, g := range n.Grads() {
				n.Values()[i] -= 0.1 * g
			}
		}
		return initial, slices.Clone(n.Forward(x, 4, true))
	}
	w1, out1 := run(5)
	w2, out2 := run(5)
	w3, _ := run(6)
	if !sameBits(w1, w2) {
		t.Error("same seed gave different initial weights")
	}
	if !sameBits(out1, out2) {
		t.Error("same seed gave different logits after training with dropout")
	}
	if sameBits(w1, w3) {
		t.Error("different seeds gave the same weights")
	}
}

func TestInitialization(t *testing.T) {
	m := spec.Model{Input: []int{4, 4, 8}, Classes: 10, Layers: []spec.Layer{
		{Type: spec.Conv2D, Name: "he_normal", Filters: 64, Kernel: 3, Init: HeNormal},
		{Type: spec.Conv2D, Name: "he_uniform", Filters: 64, Kernel: 3, Init: HeUniform},
		{Type: spec.Conv2D, Name: "glorot_normal", Filters: 64, Kernel: 3, Init: GlorotNormal},
		{Type: spec.Conv2D, Name: "glorot_uniform", Filters: 64, Kernel: 3, Init: GlorotUniform},
		{Type: spec.DepthwiseConv2D, Name: "depthwise", Kernel: 3, Multiplier: 2, Init: GlorotUniform},
		{Type: spec.BatchNorm, Name: "bn"},
		{Type: spec.Dense, Name: "dense", Units: 10, Init: GlorotUniform},
	}}
	n := mustNew(t, m, 1, 1)
	byName := map[string]Param{}
	for _, p := range n.Params() {
		byName[p.Name] = p
	}
	// Conv layers read 8 channels at first, then 64.
	tests := []struct {
		name    string
		wantStd float64
		bound   float64 // largest magnitude allowed
	}{
		{"he_normal/kernel", math.Sqrt(2.0 / (9 * 8)), 2 * math.Sqrt(2.0/(9*8)) / truncatedStd},
		{"he_uniform/kernel", math.Sqrt(2.0 / (9 * 64)), math.Sqrt(6.0 / (9 * 64))},
		{"glorot_normal/kernel", math.Sqrt(2.0 / (9*64 + 9*64)), 2 * math.Sqrt(2.0/(9*64+9*64)) / truncatedStd},
		{"glorot_uniform/kernel", math.Sqrt(2.0 / (9*64 + 9*64)), math.Sqrt(6.0 / (9*64 + 9*64))},
		{"depthwise/kernel", math.Sqrt(2.0 / (9 + 9*2)), math.Sqrt(6.0 / (9 + 9*2))},
		{"dense/kernel", math.Sqrt(2.0 / (4*4*128 + 10)), math.Sqrt(6.0 / (4*4*128 + 10))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := byName[tt.name].Value
			var sum, sumSq, peak float64
			for _, v := range w {
				sum += float64(v)
				sumSq += float64(v) * float64(v)
				peak = max(peak, math.Abs(float64(v)))
			}
			mean := sum / float64(len(w))
			std := math.Sqrt(sumSq/float64(len(w)) - mean*mean)
			if math.Abs(std-tt.wantStd) > 0.1*tt.wantStd {
				t.Errorf("std %.4g, want %.4g", std, tt.wantStd)
			}
			if math.Abs(mean) > 0.1*tt.wantStd {
				t.Errorf("mean %.4g, want about 0", mean)
			}
			if peak > tt.bound*(1+1e-6) {
				t.Errorf("largest magnitude %.4g over the bound %.4g", peak, tt.bound)
			}
		})
	}
	constants := []struct {
		name string
		want float32
	}{
		{"he_normal/bias", 0}, {"bn/scale", 1}, {"bn/offset", 0}, {"bn/mean", 0}, {"bn/variance", 1}, {"dense/bias", 0},
	}
	for _, c := range constants {
		for i, v := range byName[c.name].Value {
			if v != c.want {
				t.Errorf("%s[%d] = %v, want %v", c.name, i, v, c.want)
				break
			}
		}
	}
}

func TestParams(t *testing.T) {
	n := mustNew(t, everyLayerModel(), 2, 1)
	var got []string
	for _, p := range n.Params() {
		got = append(got, p.Name)
	}
	want := []string{
		"conv1/kernel", "conv1/bias", "bn1/scale", "bn1/offset", "conv2/kernel", "dw1/kernel", "dw1/bias",
		"proj/kernel", "proj/bias", "conv3/kernel", "conv3/bias", "dense1/kernel", "dense1/bias",
		"bn2/scale", "bn2/offset", "dense2/kernel", "dense2/bias", "dense3/kernel", "dense3/bias",
		"logits/kernel", "logits/bias",
		"bn1/mean", "bn1/variance", "bn2/mean", "bn2/variance",
	}
	if !slices.Equal(got, want) {
		t.Errorf("parameter names\n got %v\nwant %v", got, want)
	}

	// The views tile the arena in order: values, then gradients aligned
	// with the trainable values.
	values, grads := n.Values(), n.Grads()
	offset := 0
	for i, p := range n.Params() {
		if &p.Value[0] != &values[offset] {
			t.Errorf("%s does not start at offset %d of Values", p.Name, offset)
		}
		if p.Grad != nil && &p.Grad[0] != &grads[offset] {
			t.Errorf("%s gradient does not start at offset %d of Grads", p.Name, offset)
		}
		if (p.Grad == nil) != (i >= len(n.Trainable())) {
			t.Errorf("%s: trainable parameters must come first", p.Name)
		}
		wantDecay := strings.HasSuffix(p.Name, "/kernel")
		if p.Decay != wantDecay {
			t.Errorf("%s: Decay = %v, want %v", p.Name, p.Decay, wantDecay)
		}
		offset += len(p.Value)
	}
	if offset != len(values) {
		t.Errorf("parameters cover %d floats, Values has %d", offset, len(values))
	}
	trainable, state := n.ParamCount()
	if trainable != len(grads) || trainable+state != len(values) {
		t.Errorf("ParamCount() = %d, %d; Grads has %d, Values %d", trainable, state, len(grads), len(values))
	}

	shapes := map[string][]int{
		"conv1/kernel": {3, 3, 3, 4}, "conv2/kernel": {3, 3, 4, 6}, "dw1/kernel": {3, 3, 6, 2}, "dw1/bias": {12},
		"proj/kernel": {1, 1, 4, 12}, "conv3/kernel": {2, 2, 12, 4}, "dense1/kernel": {4, 6}, "dense3/kernel": {48, 6},
		"bn2/mean": {6}, "logits/kernel": {6, 3},
	}
	for _, p := range n.Params() {
		if want, ok := shapes[p.Name]; ok && !slices.Equal(p.Shape, want) {
			t.Errorf("%s: shape %v, want %v", p.Name, p.Shape, want)
		}
	}
}

func TestOptimizerSlots(t *testing.T) {
	n := mustNew(t, smallCNN(), 2, 1)
	values := n.Values()
	slots := n.OptimizerSlots(2)
	if len(slots) != 2 {
		t.Fatalf("got %d slots, want 2", len(slots))
	}
	for i, s := range slots {
		if len(s) != len(n.Grads()) {
			t.Errorf("slot %d has %d floats, want %d", i, len(s), len(n.Grads()))
		}
		for j := range s {
			s[j] = float32(i + 1)
		}
	}
	if &slots[0][len(slots[0])-1] == &slots[1][0] || &n.Values()[0] != &values[0] {
		t.Error("slots overlap or the arena moved")
	}
	for _, g := range n.Grads() {
		if g != 0 {
			t.Fatal("writing the slots changed the gradients")
		}
	}
	again := n.OptimizerSlots(1)
	if &again[0][0] != &slots[0][0] || again[0][0] != 0 {
		t.Error("a second call must return the same memory, zeroed")
	}
	defer func() {
		if recover() == nil {
			t.Error("OptimizerSlots(MaxOptimizerSlots+1) did not panic")
		}
	}()
	n.OptimizerSlots(MaxOptimizerSlots + 1)
}

// TestResidualGradientSum checks that a layer read by two others receives
// the sum of their gradients: y = x + x through an add doubles the gradient
// of a single path.
func TestResidualGradientSum(t *testing.T) {
	m := spec.Model{Input: []int{1, 1, 2}, Classes: 2, Layers: []spec.Layer{
		{Type: spec.Dense, Name: "dense1", Units: 2},
		{Type: spec.Add, Name: "add1", Inputs: []string{"dense1", "dense1"}},
	}}
	n := mustNew(t, m, 1, 1)
	x := []float32{1, 2}
	n.Forward(x, 1, true)
	n.ZeroGrads()
	n.Backward([]float32{1, 0})
	// d(2·(x·w+b))/db = 2 for the first unit.
	if got := n.Params()[1].Grad; got[0] != 2 || got[1] != 0 {
		t.Errorf("dense1/bias gradient %v, want [2 0]", got)
	}
}

func TestNewErrors(t *testing.T) {
	base := smallCNN
	tests := []struct {
		name   string
		change func(m *spec.Model)
		want   string
	}{
		{"duplicate name", func(m *spec.Model) { m.Layers[1].Name = "conv1" }, "used twice"},
		{"name of the model input", func(m *spec.Model) { m.Layers[1].Name = spec.InputName }, "used twice"},
		{"unknown input", func(m *spec.Model) { m.Layers[2].Inputs = []string{"nope"} }, `input "nope"`},
		{"later input", func(m *spec.Model) { m.Layers[2].Inputs = []string{"conv2"} }, `input "conv2"`},
		{"unknown type", func(m *spec.Model) { m.Layers[2].Type = "swish" }, `unknown layer type "swish"`},
		{"unknown init", func(m *spec.Model) { m.Layers[0].Init = "zeros" }, `unknown initializer "zeros"`},
		{"wrong class count", func(m *spec.Model) { m.Classes = 7 }, "not the 7 class logits"},
		{"conv on a vector", func(m *spec.Model) {
			m.Layers = append([]spec.Layer{{Type: spec.Flatten, Name: "f"}}, m.Layers...)
		}, "needs an image input"},
		{"kernel too big", func(m *spec.Model) { m.Layers[0].Kernel = 9; m.Layers[0].Padding.Mode = spec.PadValid }, "does not fit"},
		{"add of different shapes", func(m *spec.Model) {
			m.Layers[4] = spec.Layer{Type: spec.Add, Name: "conv2", Inputs: []string{"pool1", "conv1"}}
		}, "differ"},
		{"add of one input", func(m *spec.Model) {
			m.Layers[4] = spec.Layer{Type: spec.Add, Name: "conv2", Inputs: []string{"pool1"}}
		}, "at least two inputs"},
		{"two inputs to a conv", func(m *spec.Model) { m.Layers[4].Inputs = []string{"pool1", "relu1"} }, "reads one input"},
		{"no input shape", func(m *spec.Model) { m.Input = []int{8, 8} }, "model input"},
		{"dropout rate 1", func(m *spec.Model) { m.Layers[6].Rate = 1 }, "rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.change(&m)
			_, err := New(m, 2, 1)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLayerStats(t *testing.T) {
	m := spec.Model{Input: []int{1, 1, 2}, Classes: 3, Layers: []spec.Layer{
		{Type: spec.Dense, Name: "dense1", Units: 4},
		{Type: spec.ReLU, Name: "relu1"},
		{Type: spec.Dense, Name: "dense2", Units: 3},
	}}
	n := mustNew(t, m, 2, 1)
	dense1 := n.Params()[0]
	// Units 0 and 1 stay negative for both examples, 2 and 3 do not.
	copy(dense1.Value, []float32{-1, -1, 1, 0, -1, -1, 0, 1})
	x := []float32{1, 2, 3, 1}
	n.Forward(x, 2, true)
	n.ZeroGrads()
	n.Backward([]float32{1, 0, -1, 0, 1, -1})
	stats := n.LayerStats()
	if len(stats) != 3 {
		t.Fatalf("got %d layers, want 3", len(stats))
	}
	relu := stats[1]
	if relu.Name != "relu1" || relu.Type != spec.ReLU {
		t.Errorf("got layer %s (%s), want relu1 (relu)", relu.Name, relu.Type)
	}
	if relu.DeadFraction != 0.5 {
		t.Errorf("dead fraction %v, want 0.5", relu.DeadFraction)
	}
	// relu outputs: example 1 [0 0 1 2], example 2 [0 0 3 1].
	if relu.ActMean != 7.0/8 {
		t.Errorf("activation mean %v, want %v", relu.ActMean, 7.0/8)
	}
	wantStd := math.Sqrt(15.0/8 - 49.0/64)
	if math.Abs(relu.ActStd-wantStd) > 1e-9 {
		t.Errorf("activation std %v, want %v", relu.ActStd, wantStd)
	}
	if relu.GradNorm != 0 || relu.WeightNorm != 0 {
		t.Errorf("relu has no parameters but norms %v, %v", relu.GradNorm, relu.WeightNorm)
	}
	var w float64
	for _, v := range dense1.Value {
		w += float64(v) * float64(v)
	}
	if math.Abs(stats[0].WeightNorm-math.Sqrt(w)) > 1e-9 || stats[0].GradNorm == 0 {
		t.Errorf("dense1 weight norm %v (want %v), gradient norm %v", stats[0].WeightNorm, math.Sqrt(w), stats[0].GradNorm)
	}
}

func trainedNetwork(t *testing.T, m spec.Model) (*Network, []float32) {
	n := mustNew(t, m, 4, 11)
	x, y := randomBatch(n, 4, 12)
	dlogits := make([]float32, 4*n.Classes())
	for range 2 {
		logits := n.Forward(x, 4, true)
		kernels.SoftmaxCrossEntropy(dlogits, nil, logits, y, nil, 0, 4, n.Classes())
		n.ZeroGrads()
		n.Backward(dlogits)
		for i, g := range n.Grads() {
			n.Values()[i] -= 0.1 * g
		}
	}
	return n, x
}

func TestSaveLoad(t *testing.T) {
	a, x := trainedNetwork(t, everyLayerModel())
	want := slices.Clone(a.Forward(x, 4, false))
	var file bytes.Buffer
	if err := a.Save(&file); err != nil {
		t.Fatal(err)
	}

	t.Run("Load", func(t *testing.T) {
		b := mustNew(t, everyLayerModel(), 4, 99)
		if err := b.Load(bytes.NewReader(file.Bytes())); err != nil {
			t.Fatal(err)
		}
		if got := b.Forward(x, 4, false); !sameBits(got, want) {
			t.Errorf("logits after Load\n got %v\nwant %v", got, want)
		}
	})
	t.Run("Open", func(t *testing.T) {
		b, err := Open(bytes.NewReader(file.Bytes()), 4)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Forward(x, 4, false); !sameBits(got, want) {
			t.Errorf("logits after Open\n got %v\nwant %v", got, want)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		_, meta, err := ReadSafetensors(bytes.NewReader(file.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if meta[MetadataFormat] != FormatPlateau || !strings.Contains(meta[MetadataSpec], `"dw1"`) {
			t.Errorf("metadata %v", meta)
		}
	})
	t.Run("Copy", func(t *testing.T) {
		b := a.Copy()
		if got := b.Forward(x, 4, false); !sameBits(got, want) {
			t.Errorf("logits of the copy\n got %v\nwant %v", got, want)
		}
		c := mustNew(t, everyLayerModel(), 2, 5)
		c.CopyWeightsFrom(a)
		if got := c.Forward(x, 2, false); !sameBits(got, want[:2*3]) {
			t.Errorf("logits after CopyWeightsFrom\n got %v\nwant %v", got, want[:6])
		}
	})
}

func TestLoadErrors(t *testing.T) {
	a := mustNew(t, smallCNN(), 2, 1)
	var file bytes.Buffer
	if err := a.Save(&file); err != nil {
		t.Fatal(err)
	}
	wider := smallCNN()
	wider.Layers[4].Filters = 20
	renamed := smallCNN()
	renamed.Layers[7].Name = "head"
	tests := []struct {
		name  string
		model spec.Model
		file  []byte
		want  []string
	}{
		{"shape mismatch", wider, file.Bytes(), []string{
			"conv2/kernel: file has shape [3 3 8 16], network expects [3 3 8 20]",
			"conv2/bias: file has shape [16], network expects [20]",
			"dense1/kernel: file has shape [256 10], network expects [320 10]",
		}},
		{"renamed layer", renamed, file.Bytes(), []string{
			"head/kernel: missing from the file",
			"dense1/kernel: in the file but not in the network",
		}},
		{"truncated data", smallCNN(), file.Bytes()[:file.Len()-10], []string{"truncated"}},
		{"truncated header", smallCNN(), file.Bytes()[:100], []string{"header"}},
		{"empty file", smallCNN(), nil, []string{"truncated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustNew(t, tt.model, 2, 1)
			before := slices.Clone(n.Values())
			err := n.Load(bytes.NewReader(tt.file))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !sameBits(n.Values(), before) {
				t.Error("a failed Load changed the weights")
			}
		})
	}
}

func TestCopyWeightsFromMismatch(t *testing.T) {
	a := mustNew(t, smallCNN(), 2, 1)
	other := smallCNN()
	other.Layers[4].Filters = 20
	b := mustNew(t, other, 2, 1)
	defer func() {
		if recover() == nil {
			t.Error("CopyWeightsFrom between different networks did not panic")
		}
	}()
	a.CopyWeightsFrom(b)
}

// TestBackwardAccumulates checks that Backward adds to the parameter
// gradients, and that nothing else carries over from one call to the next.
func TestBackwardAccumulates(t *testing.T) {
	n := mustNew(t, everyLayerModel(), 4, 1)
	x, y := randomBatch(n, 4, 2)
	dlogits := make([]float32, 4*n.Classes())
	loss(n, x, y, 4, true, dlogits)
	n.ZeroGrads()
	n.Backward(dlogits)
	once := slices.Clone(n.Grads())
	n.Backward(dlogits)
	// Kernels add partial sums to the gradient one at a time, so twice is
	// only equal up to rounding.
	for i, g := range n.Grads() {
		if math.Abs(float64(g-2*once[i])) > 1e-5*math.Abs(float64(once[i]))+1e-9 {
			t.Fatalf("Grads()[%d] is %v after two Backward calls, want 2×%v", i, g, once[i])
		}
	}
	n.ZeroGrads()
	n.Backward(dlogits)
	if !sameBits(n.Grads(), once) {
		t.Error("Backward after ZeroGrads differs from the first Backward")
	}
}
