package train

import (
	"math"
	"reflect"
	"testing"
	"time"

	"plateau/nn"
)

func TestConfusion(t *testing.T) {
	c := NewConfusion(3)
	logits := []float32{
		5, 1, 0, // predicts 0, true 0
		0, 2, 1, // predicts 1, true 1
		3, 1, 2, // predicts 0, true 1
		0, 0, 9, // predicts 2, true 0
	}
	labels := []int32{0, 1, 1, 0}
	if got := c.Add(logits, labels, 4); got != 2 {
		t.Errorf("correct = %d, want 2", got)
	}
	if got, want := c.Matrix(), [][]int{{1, 0, 1}, {1, 1, 0}, {0, 0, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Matrix = %v, want %v", got, want)
	}
	recall := c.Recall()
	if recall[0] != 0.5 || recall[1] != 0.5 || !math.IsNaN(recall[2]) {
		t.Errorf("Recall = %v, want [0.5 0.5 NaN]", recall)
	}
	if got := c.Accuracy(); got != 0.5 {
		t.Errorf("Accuracy = %g, want 0.5", got)
	}
	if got := c.Total(); got != 4 {
		t.Errorf("Total = %d, want 4", got)
	}
	c.Reset()
	if !math.IsNaN(c.Accuracy()) {
		t.Errorf("Accuracy after Reset = %g, want NaN", c.Accuracy())
	}
}

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		xs   []float32
		want int
	}{
		{"first of ties", []float32{1, 3, 3}, 1},
		{"NaN first", []float32{nan, 1, 2}, 2},
		{"NaN later", []float32{1, nan, 0}, 0},
		{"all NaN", []float32{nan, nan}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Argmax(tt.xs); got != tt.want {
				t.Errorf("Argmax(%v) = %d, want %d", tt.xs, got, tt.want)
			}
		})
	}
}

func TestRunning(t *testing.T) {
	var r Running
	if !math.IsNaN(r.Loss()) || !math.IsNaN(r.Accuracy()) {
		t.Error("empty Running is not NaN")
	}
	r.Add(1, 3, 4) // a batch of 4 with mean loss 1
	r.Add(4, 1, 2) // a batch of 2 with mean loss 4
	if got, want := r.Loss(), (4.0+8.0)/6; got != want {
		t.Errorf("Loss = %g, want %g", got, want)
	}
	if got, want := r.Accuracy(), 4.0/6; got != want {
		t.Errorf("Accuracy = %g, want %g", got, want)
	}
}

func TestInputStatistics(t *testing.T) {
	got := InputStatistics([]float32{-1, 1, 3, 1})
	want := InputStats{Mean: 1, Std: math.Sqrt(2), Min: -1, Max: 3}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestThroughput(t *testing.T) {
	if got := Throughput(500, 2*time.Second); got != 250 {
		t.Errorf("Throughput = %g, want 250", got)
	}
	if got := Throughput(500, 0); got != 0 {
		t.Errorf("Throughput over no time = %g, want 0", got)
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	// Two classes, logits 0 and ln 3: p = (1/4, 3/4).
	logits := []float32{0, float32(math.Log(3)), 0, float32(math.Log(3))}
	labels := []int32{1, 0}
	dl := make([]float32, 4)
	tests := []struct {
		name      string
		weights   []float32
		smoothing float64
		want      float64
	}{
		// mean of −ln(3/4) and −ln(1/4)
		{"plain", nil, 0, (-math.Log(0.75) - math.Log(0.25)) / 2},
		// (1·−ln(3/4) + 3·−ln(1/4)) / 4
		{"class weights", []float32{3, 1}, 0, (1*-math.Log(0.75) + 3*-math.Log(0.25)) / 4},
		// targets (0.1, 0.9) and (0.9, 0.1)
		{"smoothing", nil, 0.2, (-(0.1*math.Log(0.25) + 0.9*math.Log(0.75)) - (0.9*math.Log(0.25) + 0.1*math.Log(0.75))) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nn.SoftmaxCrossEntropy(dl, logits, labels, tt.weights, tt.smoothing, 2, 2)
			if !near(got, tt.want, 1e-6) {
				t.Errorf("loss = %.9g, want %.9g", got, tt.want)
			}
		})
	}
	// Gradient of the plain mean: (p − onehot)/2.
	nn.SoftmaxCrossEntropy(dl, logits, labels, nil, 0, 2, 2)
	want := []float64{0.125, -0.125, -0.375, 0.375}
	for i, w := range want {
		if !near(float64(dl[i]), w, 1e-6) {
			t.Errorf("dlogits[%d] = %g, want %g", i, dl[i], w)
		}
	}
}
