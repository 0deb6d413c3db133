//go:build xla

package gomlx

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"plateau/nn"
)

// These tests need a PJRT plugin: PLATEAU_XLA_PLUGIN names it (see
// gpu_check.sh). They print BENCH lines for BENCHMARKS.md.

func xlaTrainer(t *testing.T) *Trainer {
	t.Helper()
	plugin := os.Getenv("PLATEAU_XLA_PLUGIN")
	if plugin == "" {
		t.Skip("set PLATEAU_XLA_PLUGIN to a PJRT plugin (gpu_check.sh does)")
	}
	tr, err := New("xla:" + plugin)
	if err != nil {
		t.Fatalf("opening XLA with %s: %v", plugin, err)
	}
	return tr
}

// TestGradientParityXLA checks the graph's gradients against nn's
// Backward for the parity specs on the XLA backend, in every lowering:
// im2col, shifted windows, and XLA's convolution and reduce-window ops
// (differentiated by convXLA's convolutions, since GoMLX v0.26's own
// convolution gradient disagreed with nn's by up to 64% on these specs).
func TestGradientParityXLA(t *testing.T) {
	tr := xlaTrainer(t)
	for _, js := range []struct{ name, spec string }{{"parity", paritySpec}, {"tiling", tilingSpec}, {"strides", strideSpec}} {
		for _, low := range []Lowering{{ConvGEMM: true, PoolReduce: true}, {ConvShift: true, PoolReduce: true}, {PoolReduce: true}, {}} {
			t.Run(fmt.Sprintf("%s/conv-gemm=%v/conv-shift=%v/pool-reduce=%v", js.name, low.ConvGEMM, low.ConvShift, low.PoolReduce), func(t *testing.T) {
				worst, where := gradientParity(t, tr, js.spec, low)
				fmt.Printf("BENCH gradient parity (%s spec, batch 6, XLA vs nn, conv-gemm=%v conv-shift=%v pool-reduce=%v): max relative difference %.2g (%s)\n",
					js.name, low.ConvGEMM, low.ConvShift, low.PoolReduce, worst, where)
				if worst > 1e-4 {
					t.Errorf("gradients differ by %g at %s", worst, where)
				}
			})
		}
	}
}

// TestResumeXLA resumes a convolutional run on XLA from the checkpoint its
// second epoch wrote, as a restarted server does: it goes on as the
// unbroken run, to float32 rounding (GPU reductions need not repeat to the
// bit), and the native engine reads the checkpoint too.
func TestResumeXLA(t *testing.T) {
	checkResume(t, xlaTrainer(t), `{"model":{"input":[32,32,3],"classes":10,"layers":[
	  {"type":"conv2d","filters":8,"kernel":3,"activation":"relu"},{"type":"batchnorm"},{"type":"maxpool"},
	  {"type":"dropout","rate":0.3},{"type":"dense"}]},
	 "train":{"optimizer":"adam","lr":0.01,"batch_size":4,"epochs":4,"seed":1,
	  "early_stopping":{"patience":3,"restore_best":true},"schedule":{"type":"cosine"}},
	 "data":{"normalization":"scale01","validation":0.2}}`, 1e-4)
}

// TestThroughputXLA times the training step of the PyTorch twin's nets
// (batch 256, Adam 1e-3, float32 tensors at XLA's default precision, which
// is TF32 products on an A100 or H100: gpu_check.sh; random data), the
// loss read back every step as the twin does. PLATEAU_BENCH_NETS picks nets (comma-separated;
// both by default). Each timed repetition runs at least 5 steps and about
// 2 s, at most 200 steps, so a slow configuration still finishes.
func TestThroughputXLA(t *testing.T) {
	tr := xlaTrainer(t)
	nets := []string{"small28", "resnet32"}
	if v := os.Getenv("PLATEAU_BENCH_NETS"); v != "" {
		nets = strings.Split(v, ",")
	}
	for _, name := range nets {
		b, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		s := validSpec(t, b)
		net, err := nn.New(s.Model, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := NewModel(s.Model, net)
		st := newRunState(m, net, slotCount(s.Train))
		start := time.Now()
		exec, err := m.StepExec(tr.Backend(), s.Train, false)
		if err != nil {
			t.Fatal(err)
		}
		batch := s.Train.BatchSize
		in := s.Model.Input
		rng := rand.New(rand.NewPCG(3, 4))
		x := make([]float32, batch*in[0]*in[1]*in[2])
		for i := range x {
			x[i] = rng.Float32()
		}
		y := make([]int32, batch)
		for i := range y {
			y[i] = int32(rng.IntN(10))
		}
		xt := tensors.FromFlatDataAndDimensions(x, batch, in[0], in[1], in[2])
		yt := tensors.FromFlatDataAndDimensions(y, batch)
		st.zeroMetrics()
		step := 0
		run := func(n int, readEvery bool) time.Duration {
			t0 := time.Now()
			for range n {
				step++
				out, err := exec.Exec(st.stepArgs(xt, yt, nil, 1e-3, float32(step), batch)...)
				if err != nil {
					t.Fatal(err)
				}
				st.takeStepOutputs(out)
				if readEvery {
					readMetrics(st.acc)
				}
			}
			readMetrics(st.acc)
			return time.Since(t0)
		}
		run(1, true)
		compile := time.Since(start)
		warm := run(3, true)
		steps := min(200, max(5, int(2/(warm.Seconds()/3+1e-9))))
		var perStep []float64
		for range 3 {
			perStep = append(perStep, run(steps, true).Seconds()*1000/float64(steps))
		}
		slices.Sort(perStep)
		ms := perStep[1]
		loss := readMetrics(st.acc).loss
		fmt.Printf("BENCH gomlx-xla %s batch %d: compile+first step %.1f s, %.2f ms/step, %.0f images/s (median of 3×%d steps, loss read every step; mean loss so far %.3f)\n",
			name, batch, compile.Seconds(), ms, float64(batch)*1000/ms, steps, loss/float64(step*batch))
		lazy := run(steps, false).Seconds() * 1000 / float64(steps)
		fmt.Printf("BENCH gomlx-xla %s batch %d: %.2f ms/step with metrics read once per %d steps\n", name, batch, lazy, steps)

		// The inference pass alone, logits read back: how the step's time
		// splits between the forward pass and the rest.
		eval, err := m.EvalExec(tr.Backend())
		if err != nil {
			t.Fatal(err)
		}
		infer := func(n int) time.Duration {
			t0 := time.Now()
			for range n {
				args := []any{}
				for _, p := range st.params {
					args = append(args, p)
				}
				for _, p := range st.state {
					args = append(args, p)
				}
				out, err := eval.Exec(append(args, xt)...)
				if err != nil {
					t.Fatal(err)
				}
				tensors.ConstFlatData(out[0], func([]float32) {})
				out[0].FinalizeAll()
			}
			return time.Since(t0)
		}
		infer(2)
		var perPass []float64
		for range 3 {
			perPass = append(perPass, infer(steps).Seconds()*1000/float64(steps))
		}
		slices.Sort(perPass)
		fmt.Printf("BENCH gomlx-xla %s batch %d: inference pass %.2f ms (%.0f%% of the step)\n", name, batch, perPass[1], 100*perPass[1]/ms)
	}
}
