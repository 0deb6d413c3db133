package train

import (
	"math"
	"testing"

	"plateau/spec"
)

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// TestOptimizerSteps runs two steps on one weight w=1 with lr 0.1 and
// gradients 0.5 then −1, against values worked out by hand (the comments
// show the arithmetic).
func TestOptimizerSteps(t *testing.T) {
	tests := []struct {
		name  string
		train spec.Train
		decay bool
		want  [2]float64
	}{
		// w = 1 − 0.1·0.5 = 0.95; w = 0.95 + 0.1·1 = 1.05
		{"sgd", spec.Train{Optimizer: "sgd"}, false, [2]float64{0.95, 1.05}},
		// v = 0.5, w = 0.95; v = 0.9·0.5 − 1 = −0.55, w = 0.95 + 0.055 = 1.005
		{"sgd momentum", spec.Train{Optimizer: "sgd", Momentum: 0.9}, false, [2]float64{0.95, 1.005}},
		// v = 0.5, w = 1 − 0.1·(0.5 + 0.45) = 0.905;
		// v = −0.55, w = 0.905 − 0.1·(−1 − 0.495) = 1.0545
		{"sgd nesterov", spec.Train{Optimizer: "sgd", Momentum: 0.9, Nesterov: true}, false, [2]float64{0.905, 1.0545}},
		// w = 1·(1 − 0.1·0.5) − 0.05 = 0.9; w = 0.9·0.95 + 0.1 = 0.955
		{"sgd weight decay", spec.Train{Optimizer: "sgd", WeightDecay: 0.5}, true, [2]float64{0.9, 0.955}},
		// weight decay skips parameters that do not decay
		{"sgd weight decay on bias", spec.Train{Optimizer: "sgd", WeightDecay: 0.5}, false, [2]float64{0.95, 1.05}},
		// s = 0.1·0.25 = 0.025, w = 1 − 0.05/√0.025 = 0.683772;
		// s = 0.0225 + 0.1 = 0.1225, w = 0.683772 + 0.1/0.35 = 0.969487
		{"rmsprop", spec.Train{Optimizer: "rmsprop"}, false, [2]float64{0.6837724339830356, 0.9694866380646916}},
		// b = 0.5/√0.025 = 3.162278, w = 0.683772;
		// b = 1.581139 − 1/0.35 = −1.276004, w = 0.683772 + 0.127600 = 0.811373
		{"rmsprop momentum", spec.Train{Optimizer: "rmsprop", Momentum: 0.5}, false, [2]float64{0.6837724339830356, 0.8113728550562094}},
		// m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, w = 1 − 0.1·0.5/0.5 = 0.9;
		// m = −0.055, v = 0.00124975, m̂ = −0.055/0.19 = −0.289474,
		// v̂ = 0.00124975/0.001999 = 0.625188, w = 0.9 + 0.1·0.289474/0.790688 = 0.936610
		{"adam", spec.Train{Optimizer: "adam"}, false, [2]float64{0.900000019999996, 0.9366103680733917}},
		// β1 0, set on purpose (not the default 0.9): m = g, m̂ = g;
		// w = 0.9 as above; m = −1, v̂ = 0.625188, w = 0.9 + 0.1/0.790688 = 1.026472
		{"adam beta1 0", spec.Train{Optimizer: "adam", Beta1: spec.Float(0)}, false, [2]float64{0.9000000199999959, 1.026472131526272}},
		// ρ 0: s = g², w = 1 − 0.1·0.5/0.5 = 0.9; w = 0.9 + 0.1·1/1 = 1
		{"rmsprop rho 0", spec.Train{Optimizer: "rmsprop", Rho: spec.Float(0)}, false, [2]float64{0.900000019999996, 1.000000009999997}},
		// as adam, after w ·= 1 − 0.1·0.01 each step
		{"adamw", spec.Train{Optimizer: "adamw", WeightDecay: 0.01}, true, [2]float64{0.899000019999996, 0.9347113680533917}},
		{"adam weight decay is adamw", spec.Train{Optimizer: "adam", WeightDecay: 0.01}, true, [2]float64{0.899000019999996, 0.9347113680533917}},
	}
	grads := []float32{0.5, -1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, err := NewOptimizer(tt.train)
			if err != nil {
				t.Fatal(err)
			}
			g := Group{Value: []float32{1}, Grad: []float32{0}, Decay: tt.decay}
			for range opt.Slots() {
				g.Slots = append(g.Slots, make([]float32, 1))
			}
			for step, d := range grads {
				g.Grad[0] = d
				opt.Step([]Group{g}, 0.1, step+1)
				if got := float64(g.Value[0]); !near(got, tt.want[step], 1e-6) {
					t.Errorf("after step %d: w = %.9g, want %.9g", step+1, got, tt.want[step])
				}
			}
		})
	}
}

func TestNewOptimizerUnknown(t *testing.T) {
	_, err := NewOptimizer(spec.Train{Optimizer: "adagrad"})
	if err == nil {
		t.Fatal("no error for an unknown optimizer")
	}
	want := `train.optimizer: unknown optimizer "adagrad" (known: adam, adamw, rmsprop, sgd)`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestRegularize(t *testing.T) {
	kernel := Group{Value: []float32{2, -3, 0}, Grad: []float32{1, 1, 1}, Decay: true}
	bias := Group{Value: []float32{2}, Grad: []float32{1}}
	Regularize([]Group{kernel, bias}, 0.1, 0.01)
	// 1 + 0.1·sign(w) + 0.01·w
	want := []float32{1 + 0.1 + 0.02, 1 - 0.1 - 0.03, 1}
	for i, w := range want {
		if !near(float64(kernel.Grad[i]), float64(w), 1e-6) {
			t.Errorf("kernel grad[%d] = %g, want %g", i, kernel.Grad[i], w)
		}
	}
	if bias.Grad[0] != 1 {
		t.Errorf("bias grad = %g, want 1 (no decay)", bias.Grad[0])
	}
	// 0.1·(2+3) + 0.01/2·(4+9)
	if got, want := RegularizationLoss([]Group{kernel, bias}, 0.1, 0.01), 0.5+0.065; !near(got, want, 1e-9) {
		t.Errorf("RegularizationLoss = %g, want %g", got, want)
	}
}

func TestClipGlobalNorm(t *testing.T) {
	tests := []struct {
		name     string
		maxNorm  float64
		wantNorm float64
		want     []float32
	}{
		{"clipped", 1, 5, []float32{0.6, 0.8}},
		{"under the limit", 10, 5, []float32{3, 4}},
		{"off", 0, 5, []float32{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Group{Grad: []float32{3}}
			b := Group{Grad: []float32{4}}
			norm := ClipGlobalNorm([]Group{a, b}, tt.maxNorm)
			if norm != tt.wantNorm {
				t.Errorf("norm = %g, want %g", norm, tt.wantNorm)
			}
			if got := []float32{a.Grad[0], b.Grad[0]}; !near(float64(got[0]), float64(tt.want[0]), 1e-6) || !near(float64(got[1]), float64(tt.want[1]), 1e-6) {
				t.Errorf("grads = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("NaN left alone", func(t *testing.T) {
		g := Group{Grad: []float32{float32(math.NaN()), 1}}
		if norm := ClipGlobalNorm([]Group{g}, 1); !math.IsNaN(norm) {
			t.Errorf("norm = %g, want NaN", norm)
		}
		if g.Grad[1] != 1 {
			t.Errorf("grad = %g, want 1", g.Grad[1])
		}
	})
}

func TestOptimizerStepAllocs(t *testing.T) {
	for _, name := range sortedKeys(Optimizers) {
		t.Run(name, func(t *testing.T) {
			opt, _ := NewOptimizer(spec.Train{Optimizer: name, Momentum: 0.9, WeightDecay: 0.1})
			g := Group{Value: make([]float32, 64), Grad: make([]float32, 64), Decay: true}
			for range opt.Slots() {
				g.Slots = append(g.Slots, make([]float32, 64))
			}
			groups := []Group{g}
			step := 0
			if n := testing.AllocsPerRun(10, func() { step++; opt.Step(groups, 0.01, step) }); n != 0 {
				t.Errorf("%v allocations per step, want 0", n)
			}
		})
	}
}
