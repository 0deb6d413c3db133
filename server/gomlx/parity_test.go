package gomlx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"plateau/nn"
	"plateau/spec"
)

// paritySpec uses every layer type with a forward pass: convolutions with
// same, valid and explicit padding and stride 2, depthwise, both poolings
// with padding, batch norm, every activation, a residual add, global
// pooling and dense layers with an implicit flatten.
const paritySpec = `{"model":{"input":[9,9,3],"classes":5,"layers":[
 {"type":"conv2d","filters":6,"kernel":3,"name":"c1"},
 {"type":"batchnorm","name":"bn1","momentum":0.9},
 {"type":"relu","name":"r1"},
 {"type":"conv2d","filters":6,"kernel":3,"padding":1,"name":"c2"},
 {"type":"leaky_relu","alpha":0.1},
 {"type":"add","inputs":["r1","leaky_relu1"]},
 {"type":"depthwise_conv2d","kernel":3,"multiplier":2,"stride":2,"name":"dw"},
 {"type":"elu"},
 {"type":"dropout","rate":0.3},
 {"type":"conv2d","filters":8,"kernel":2,"padding":"valid","stride":1,"name":"c3"},
 {"type":"sigmoid"},
 {"type":"maxpool","kernel":2,"stride":1,"padding":"same"},
 {"type":"avgpool","kernel":3,"stride":2,"padding":1},
 {"type":"tanh","name":"t1"},
 {"type":"dense","units":7,"name":"d1"},
 {"type":"dropout","rate":0.5},
 {"type":"batchnorm","name":"bn2"},
 {"type":"dense","name":"out"}]},
 "train":{"seed":3}}`

// parityDropoutKey keys the dropout masks of the training-mode passes the
// parity tests compare: the graph's masks are nn's, so dropout layers with
// a rate above 0 are compared as the others are.
const parityDropoutKey = 0x9e3779b9

// validSpec parses, expands and validates a spec.
func validSpec(t *testing.T, js []byte) *spec.Spec {
	t.Helper()
	s, err := spec.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	s.Expand()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func parityModel(t *testing.T, js string) (*spec.Spec, *nn.Network, *Model) {
	t.Helper()
	s := validSpec(t, []byte(js))
	net, err := nn.New(s.Model, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Batch-norm running statistics away from 0 and 1, so inference
	// checks that they are used.
	for _, p := range net.Params() {
		if strings.HasSuffix(p.Name, "/mean") || strings.HasSuffix(p.Name, "/variance") || strings.HasSuffix(p.Name, "/scale") {
			for i := range p.Value {
				p.Value[i] = 0.5 + 0.1*float32(i%5)
			}
		}
	}
	m, err := NewModel(s.Model, net)
	if err != nil {
		t.Fatal(err)
	}
	return s, net, m
}

func pureGo(t *testing.T) *Trainer {
	t.Helper()
	// Ops one at a time: running independent matrix products side by side
	// can exhaust v0.26's worker pool on a 2-core machine and deadlock.
	tr, err := New("go:ops_sequential")
	if err != nil {
		t.Skipf("GoMLX's pure-Go backend does not open: %v", err)
	}
	return tr
}

func maxDiff(a, b []float32) (d float64) {
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i]))/(1+math.Abs(float64(b[i]))))
	}
	return d
}

// TestForwardParity checks that the graph and nn compute the same logits
// for the same weights and input, in inference and in training mode (batch
// statistics, and the running statistics they leave behind), and the same
// loss with label smoothing and class weights.
func TestForwardParity(t *testing.T) {
	tr := pureGo(t)
	for _, js := range []struct{ name, spec string }{{"parity", paritySpec}, {"tiling", tilingSpec}, {"strides", strideSpec}} {
		for _, low := range []Lowering{{}, {ConvGEMM: true}, {PoolReduce: true}, {ConvGEMM: true, PoolReduce: true}, {ConvShift: true, PoolReduce: true}} {
			t.Run(fmt.Sprintf("%s/conv-gemm=%v/conv-shift=%v/pool-reduce=%v", js.name, low.ConvGEMM, low.ConvShift, low.PoolReduce), func(t *testing.T) {
				checkForwardParity(t, tr, js.spec, low)
			})
		}
	}
}

// tilingSpec has poolings whose window tiles the input, which the
// PoolReduce lowering builds as reductions, and convolutions of every
// im2col case: strided, 1×1, valid and same.
const tilingSpec = `{"model":{"input":[12,12,2],"classes":4,"layers":[
 {"type":"conv2d","filters":4,"kernel":3,"stride":2,"name":"c1"},
 {"type":"relu"},
 {"type":"conv2d","filters":5,"kernel":1,"name":"c2"},
 {"type":"maxpool","kernel":2,"stride":2},
 {"type":"conv2d","filters":3,"kernel":2,"padding":"valid","name":"c3"},
 {"type":"conv2d","filters":3,"kernel":3,"padding":"same","name":"c4"},
 {"type":"avgpool","kernel":2,"stride":2},
 {"type":"dense","name":"out"}]},
 "train":{"seed":3}}`

func checkForwardParity(t *testing.T, tr *Trainer, js string, low Lowering) {
	s, net, m := parityModel(t, js)
	m.Lowering = low
	in := s.Model.Input
	classes := s.Model.Classes
	const batch = 6
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*net.InputSize())
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	labels := []int32{0, 1, 2, 3, 4, 1}
	weights := []float32{1, 2, 0.5, 1, 3}
	for i := range labels {
		labels[i] %= int32(classes)
	}
	weights = weights[:classes]

	st := newRunState(m, net, 0)
	eval, err := m.EvalExec(tr.Backend())
	if err != nil {
		t.Fatal(err)
	}
	args := []any{}
	for _, p := range st.params {
		args = append(args, p)
	}
	for _, p := range st.state {
		args = append(args, p)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(x, batch, in[0], in[1], in[2]))
	out, err := eval.Exec(args...)
	if err != nil {
		t.Fatalf("inference graph on the pure-Go backend: %v", err)
	}
	got := out[0].Value().([][]float32)
	want := net.Forward(x, batch, false)
	if d := maxDiff(flatten(got), want); d > 1e-5 {
		t.Errorf("inference logits differ by %g (relative)", d)
	}

	// Training mode: batch statistics, new running statistics, and the loss.
	np := len(m.Params)
	train := MustNewExec(tr.Backend(), func(in []*Node) []*Node {
		fc := ForwardConfig{Params: map[string]*Node{}, State: map[string]*Node{}, Training: true}
		for i, p := range m.Params {
			fc.Params[p.Name] = in[i]
		}
		for i, p := range m.State {
			fc.State[p.Name] = in[np+i]
		}
		rest := in[np+len(m.State):]
		fc.Dropout = Const(rest[0].Graph(), uint32(parityDropoutKey))
		logits, state := m.Forward(rest[0], fc)
		loss, correct := Loss(logits, rest[1], rest[2], 0.1)
		outs := []*Node{logits, loss, correct}
		for _, p := range m.State {
			outs = append(outs, state[p.Name])
		}
		return outs
	})
	args = args[:len(args)-1]
	args = append(args, tensors.FromFlatDataAndDimensions(x, batch, in[0], in[1], in[2]), tensors.FromFlatDataAndDimensions(labels, batch),
		tensors.FromFlatDataAndDimensions(weights, classes))
	out, err = train.Exec(args...)
	if err != nil {
		t.Fatalf("training-mode graph on the pure-Go backend: %v", err)
	}
	net.SetDropout(nn.DropoutKey{Step: parityDropoutKey})
	wantLogits := net.Forward(x, batch, true)
	if d := maxDiff(flatten(out[0].Value().([][]float32)), wantLogits); d > 1e-5 {
		t.Errorf("training-mode logits differ by %g (relative)", d)
	}
	wantLoss := nn.SoftmaxCrossEntropy(nil, wantLogits, labels, weights, 0.1, batch, classes)
	if gotLoss := out[1].Value().(float32); math.Abs(float64(gotLoss)-wantLoss) > 1e-5*(1+math.Abs(wantLoss)) {
		t.Errorf("loss %g, nn %g", gotLoss, wantLoss)
	}
	correct := 0
	for i := range batch {
		row := wantLogits[i*classes : (i+1)*classes]
		best := 0
		for k := range row {
			if row[k] > row[best] {
				best = k
			}
		}
		if int32(best) == labels[i] {
			correct++
		}
	}
	if got := out[2].Value().(float32); int(got) != correct {
		t.Errorf("correct %v, nn %d", got, correct)
	}
	// nn updated its running statistics in the training-mode Forward.
	byName := map[string][]float32{}
	for _, p := range net.Params() {
		byName[p.Name] = p.Value
	}
	for i, p := range m.State {
		var got []float32
		tensors.ConstFlatData(out[3+i], func(f []float32) { got = append(got, f...) })
		if d := maxDiff(got, byName[p.Name]); d > 1e-5 {
			t.Errorf("%s after a training step differs by %g", p.Name, d)
		}
	}
}

func flatten(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

var _ = dtypes.Float32

// TestGradientParityDense checks the graph's gradients against nn's
// Backward on the pure-Go backend, which differentiates dense networks:
// dense layers, batch norm in training mode, activations, a residual add
// and the loss with label smoothing.
func TestGradientParityDense(t *testing.T) {
	tr := pureGo(t)
	js := `{"model":{"input":[3,3,2],"classes":5,"layers":[
 {"type":"dense","units":7,"name":"d1"},
 {"type":"batchnorm","name":"bn1"},
 {"type":"relu","name":"r1"},
 {"type":"dense","units":7,"name":"d2"},
 {"type":"tanh","name":"t2"},
 {"type":"add","inputs":["r1","t2"]},
 {"type":"batchnorm","name":"bn2"},
 {"type":"elu"},
 {"type":"dense","units":6,"name":"d3"},
 {"type":"leaky_relu","alpha":0.1},
 {"type":"dense","units":6,"name":"d4"},
 {"type":"sigmoid"},
 {"type":"dropout","rate":0.4},
 {"type":"dense","name":"out"}]},
 "train":{"seed":3}}`
	for _, low := range []Lowering{{}, {WholeK: true}} {
		worst, where := gradientParity(t, tr, js, low)
		if worst > 1e-5 {
			t.Errorf("whole-k=%v: gradients differ by %g (relative) at %s", low.WholeK, worst, where)
		}
	}
}

// gradientParity compares the graph's gradients with nn's for one batch of
// 6. Products of a few rows are cut into parts as a batch of 256 images
// would cut them (splitK), unless low.WholeK.
func gradientParity(t *testing.T, tr *Trainer, js string, low Lowering) (worst float64, where string) {
	defer func(v int) { minSplitRows = v }(minSplitRows)
	minSplitRows = 2
	s, net, m := parityModel(t, js)
	m.Lowering = low
	in, classes := s.Model.Input, s.Model.Classes
	const batch = 6
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*net.InputSize())
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	labels := []int32{0, 1, 2, 3, 4, 1}
	for i := range labels {
		labels[i] %= int32(classes)
	}
	st := newRunState(m, net, 0)
	np := len(m.Params)
	exec := MustNewExec(tr.Backend(), func(in []*Node) []*Node {
		fc := ForwardConfig{Params: map[string]*Node{}, State: map[string]*Node{}, Training: true}
		for i, p := range m.Params {
			fc.Params[p.Name] = in[i]
		}
		for i, p := range m.State {
			fc.State[p.Name] = in[np+i]
		}
		rest := in[np+len(m.State):]
		fc.Dropout = Const(rest[0].Graph(), uint32(parityDropoutKey))
		logits, _ := m.Forward(rest[0], fc)
		loss, _ := Loss(logits, rest[1], nil, 0.1)
		return append([]*Node{loss}, Gradient(loss, in[:np]...)...)
	})
	args := []any{}
	for _, p := range st.params {
		args = append(args, p)
	}
	for _, p := range st.state {
		args = append(args, p)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(x, batch, in[0], in[1], in[2]), tensors.FromFlatDataAndDimensions(labels, batch))
	out, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	net.SetDropout(nn.DropoutKey{Step: parityDropoutKey})
	logits := net.Forward(x, batch, true)
	dlogits := make([]float32, len(logits))
	nn.SoftmaxCrossEntropy(dlogits, logits, labels, nil, 0.1, batch, classes)
	net.Backward(dlogits)
	i := 0
	for _, p := range net.Params() {
		if p.Grad == nil {
			continue
		}
		var got []float32
		tensors.ConstFlatData(out[1+i], func(f []float32) { got = append(got, f...) })
		if d := maxDiff(got, p.Grad); d > worst {
			worst, where = d, p.Name
		}
		i++
	}
	return worst, where
}

// TestGradientParityConv checks the gradients of XLA's convolution op as
// convXLA differentiates it against nn's Backward on the pure-Go backend:
// strided, 1×1, valid and asymmetrically padded convolutions (tilingSpec),
// with tiling poolings as reductions.
func TestGradientParityConv(t *testing.T) {
	tr := pureGo(t)
	for _, js := range []struct{ name, spec string }{{"tiling", tilingSpec}, {"strides", strideSpec}} {
		worst, where := gradientParity(t, tr, js.spec, Lowering{PoolReduce: true})
		if worst > 1e-5 {
			t.Errorf("%s: gradients differ by %g (relative) at %s", js.name, worst, where)
		}
	}
}

// strideSpec has convolutions whose geometry a gradient gets wrong first:
// a stride-2 "same" convolution padded on one side only, a stride that
// leaves the last rows and columns unread, padding as wide as the kernel
// allows, and a strided 1×1.
const strideSpec = `{"model":{"input":[13,12,2],"classes":3,"layers":[
 {"type":"conv2d","filters":4,"kernel":3,"stride":2,"name":"c1"},
 {"type":"tanh"},
 {"type":"dropout","rate":0.25},
 {"type":"conv2d","filters":3,"kernel":2,"stride":3,"padding":"valid","name":"c2"},
 {"type":"conv2d","filters":3,"kernel":3,"padding":2,"name":"c3"},
 {"type":"conv2d","filters":2,"kernel":1,"stride":2,"name":"c4"},
 {"type":"dense","name":"out"}]},
 "train":{"seed":3}}`

// TestSplitK checks matmul's gradients against sums in float64 when the
// weight gradient is cut into parts (at the default part size: 4,096 rows
// make 4 parts of 1,024) and when it is not.
func TestSplitK(t *testing.T) {
	tr := pureGo(t)
	const k, m, n = 4096, 9, 5
	if s := splitK(k, m, n); s != 4 {
		t.Fatalf("splitK(%d, %d, %d) = %d, want 4", k, m, n, s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(size int) []float32 {
		v := make([]float32, size)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	a, b, c := fill(k*m), fill(m*n), fill(k*n)
	// loss = Σ (A·B) ⊙ C: dA = C·Bᵀ, dB = Aᵀ·C.
	wantA, wantB := make([]float64, k*m), make([]float64, m*n)
	for r := range k {
		for i := range m {
			for j := range n {
				wantA[r*m+i] += float64(c[r*n+j]) * float64(b[i*n+j])
				wantB[i*n+j] += float64(a[r*m+i]) * float64(c[r*n+j])
			}
		}
	}
	for _, wholeK := range []bool{false, true} {
		exec := MustNewExec(tr.Backend(), func(in []*Node) []*Node {
			loss := ReduceAllSum(Mul(matmul(in[0], in[1], wholeK), in[2]))
			return Gradient(loss, in[0], in[1])
		})
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(a, k, m), tensors.FromFlatDataAndDimensions(b, m, n), tensors.FromFlatDataAndDimensions(c, k, n))
		if err != nil {
			t.Fatal(err)
		}
		for g, want := range [][]float64{wantA, wantB} {
			tensors.ConstFlatData(out[g], func(got []float32) {
				for i := range want {
					if d := math.Abs(float64(got[i])-want[i]) / (1 + math.Abs(want[i])); d > 1e-4 {
						t.Fatalf("whole-k=%v: gradient %d, element %d: %g, want %g", wholeK, g, i, got[i], want[i])
					}
				}
			})
		}
	}
}
