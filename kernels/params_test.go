package kernels

import (
	"math"
	"runtime"
	"testing"
)

func TestSamePadding(t *testing.T) {
	cases := []struct {
		in, k, stride         int
		wantBefore, wantAfter int
	}{
		{in: 32, k: 3, stride: 1, wantBefore: 1, wantAfter: 1},
		{in: 32, k: 3, stride: 2, wantBefore: 0, wantAfter: 1},
		{in: 7, k: 3, stride: 2, wantBefore: 1, wantAfter: 1},
		{in: 8, k: 5, stride: 1, wantBefore: 2, wantAfter: 2},
		{in: 11, k: 5, stride: 2, wantBefore: 2, wantAfter: 2},
		{in: 6, k: 2, stride: 2, wantBefore: 0, wantAfter: 0},
		{in: 5, k: 1, stride: 1, wantBefore: 0, wantAfter: 0},
		{in: 4, k: 4, stride: 1, wantBefore: 1, wantAfter: 2},
	}
	for _, tc := range cases {
		before, after := SamePadding(tc.in, tc.k, tc.stride)
		if before != tc.wantBefore || after != tc.wantAfter {
			t.Errorf("SamePadding(%d, %d, %d) = %d, %d, want %d, %d", tc.in, tc.k, tc.stride, before, after, tc.wantBefore, tc.wantAfter)
		}
		p := NewConvParams(1, tc.in, tc.in, 1, tc.k, tc.k, 1, tc.stride, tc.stride, before, before, after, after)
		if want := (tc.in + tc.stride - 1) / tc.stride; p.OH != want || p.OW != want {
			t.Errorf("same padding of %d by %d/%d gives %dx%d, want %d", tc.in, tc.k, tc.stride, p.OH, p.OW, want)
		}
	}
}

func TestNewConvParams(t *testing.T) {
	p := NewConvParams(2, 9, 8, 3, 3, 3, 4, 2, 2, 1, 0, 2, 1)
	if p.OH != 5 || p.OW != 4 {
		t.Errorf("OH, OW = %d, %d, want 5, 4", p.OH, p.OW)
	}
	q := NewPoolParams(2, 9, 8, 3, 3, 3, 2, 2, 1, 0, 2, 1)
	if q.OH != 5 || q.OW != 4 {
		t.Errorf("pool OH, OW = %d, %d, want 5, 4", q.OH, q.OW)
	}
}

func TestScratchSize(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cases := []struct {
		name string
		p    ConvParams
		want int
	}{
		{"pointwise needs none", NewConvParams(8, 4, 4, 16, 1, 1, 8, 1, 1, 0, 0, 0, 0), 0},
		{"large images one at a time", NewConvParams(8, 32, 32, 3, 3, 3, 8, 1, 1, 1, 1, 1, 1), 32 * 32 * 27},
		{"small images in chunks", NewConvParams(64, 4, 4, 2, 3, 3, 8, 1, 1, 1, 1, 1, 1), 16 * 16 * 18},
		{"chunk no larger than the batch", NewConvParams(3, 4, 4, 2, 3, 3, 8, 1, 1, 1, 1, 1, 1), 3 * 16 * 18},
		// 14×14 outputs are 49 tiles: three images make a chunk of 147.
		{"winograd", NewConvParams(32, 14, 14, 32, 3, 3, 64, 1, 1, 1, 1, 1, 1), 16*32*64 + 16*147*(32+64) + 2*64},
		{"winograd chunk no larger than the batch", NewConvParams(2, 14, 14, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1), 16*8*8 + 16*98*16 + 2*8},
	}
	for _, tc := range cases {
		if got := tc.p.ScratchSize(); got != tc.want {
			t.Errorf("%s: ScratchSize() = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestConvPanicsOnShortScratch(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := NewConvParams(1, 4, 4, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1)
	x, w, y := make([]float32, 32), make([]float32, 36), make([]float32, 32)
	defer func() {
		if got := recover(); got != errShortScratch {
			t.Errorf("panic = %v, want %q", got, errShortScratch)
		}
	}()
	Conv2D(y, x, w, nil, p, make([]float32, p.ScratchSize()-1))
}

func TestMaxPoolPaddingNeverWins(t *testing.T) {
	// All inputs negative: a padding cell counted as 0 would win.
	p := NewPoolParams(1, 3, 3, 1, 3, 3, 2, 2, 1, 1, 1, 1)
	x := []float32{-9, -8, -7, -6, -5, -4, -3, -2, -1}
	y, argmax := make([]float32, 4), make([]int32, 4)
	MaxPool(y, argmax, x, p)
	want, wantArg := []float32{-5, -4, -2, -1}, []int32{4, 5, 7, 8}
	for i := range want {
		if y[i] != want[i] || argmax[i] != wantArg[i] {
			t.Errorf("y[%d], argmax[%d] = %v, %d, want %v, %d", i, i, y[i], argmax[i], want[i], wantArg[i])
		}
	}
}

func TestMaxPoolPropagatesNaN(t *testing.T) {
	p := NewPoolParams(1, 2, 2, 1, 2, 2, 2, 2, 0, 0, 0, 0)
	y, argmax := make([]float32, 1), make([]int32, 1)
	MaxPool(y, argmax, []float32{1, float32(math.NaN()), 3, 2}, p)
	if !math.IsNaN(float64(y[0])) {
		t.Errorf("max of a window holding NaN = %v, want NaN", y[0])
	}
}

func TestBatchNormTrainUpdatesRunningStatistics(t *testing.T) {
	const rows, c, momentum, eps = 4, 2, 0.9, 1e-3
	x := []float32{1, 10, 2, 20, 3, 30, 6, 40}
	scale, offset := []float32{1, 1}, []float32{0, 0}
	runMean, runVar := []float32{1, 2}, []float32{3, 4}
	y, mean, invStd := make([]float32, 8), make([]float32, 2), make([]float32, 2)
	BatchNormTrain(y, mean, invStd, x, scale, offset, runMean, runVar, rows, c, momentum, eps)
	// Channel 0: mean 3, biased variance 3.5, unbiased 14/3.
	// Channel 1: mean 25, biased variance 125, unbiased 500/3.
	wantMean := []float64{3, 25}
	wantInvStd := []float64{1 / math.Sqrt(3.5+eps), 1 / math.Sqrt(125+eps)}
	wantRunMean := []float64{0.9*1 + 0.1*3, 0.9*2 + 0.1*25}
	wantRunVar := []float64{0.9*3 + 0.1*14.0/3, 0.9*4 + 0.1*500.0/3}
	for j := range c {
		for _, v := range []struct {
			name      string
			got, want float64
		}{
			{"mean", float64(mean[j]), wantMean[j]},
			{"invStd", float64(invStd[j]), wantInvStd[j]},
			{"runMean", float64(runMean[j]), wantRunMean[j]},
			{"runVar", float64(runVar[j]), wantRunVar[j]},
		} {
			if math.Abs(v.got-v.want) > 1e-5*math.Max(1, math.Abs(v.want)) {
				t.Errorf("%s[%d] = %v, want %v", v.name, j, v.got, v.want)
			}
		}
	}
}

// Dropout's masks are a function of the key and each element's counter:
// the same key gives the same mask, a part of a tensor the whole's, other
// keys other masks; about rate of the elements are dropped, and neighbours,
// the same element in the next step and the same element in the next layer
// are dropped independently.
func TestDropoutMasks(t *testing.T) {
	const n, rate = 100000, 0.25
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	run := func(key uint32) (y, mask []float32) {
		y, mask = make([]float32, n), make([]float32, n)
		Dropout(y, mask, x, rate, key, 0)
		return y, mask
	}
	k1 := DropoutLayerKey(DropoutStepKey(1, 2, 1), 0)
	y1, mask1 := run(k1)
	y2, mask2 := run(k1)
	for i := range mask1 {
		if mask1[i] != mask2[i] || y1[i] != y2[i] {
			t.Fatalf("same key, different masks at %d", i)
		}
		if mask1[i] != 0 && mask1[i] != 1/(1-float32(rate)) {
			t.Fatalf("mask[%d] = %v, want 0 or %v", i, mask1[i], 1/(1-rate))
		}
	}
	// The kernel decides in integers what DropoutUniform < rate says.
	for _, rate := range []float32{1e-7, 0.1, 0.3, 1.0 / 3, 0.5, 0.999} {
		mask := make([]float32, n)
		Dropout(make([]float32, n), mask, x, rate, k1, 5)
		for i := range mask {
			if want := DropoutUniform(k1, uint32(5+i)) < rate; (mask[i] == 0) != want {
				t.Fatalf("rate %v, element %d: dropped %v, DropoutUniform %v says %v", rate, i, mask[i] == 0, DropoutUniform(k1, uint32(5+i)), want)
			}
		}
	}
	// The part of the tensor from element 777 on, on its own.
	part, pmask := make([]float32, n-777), make([]float32, n-777)
	Dropout(part, pmask, x[777:], rate, k1, 777)
	for i := range pmask {
		if pmask[i] != mask1[777+i] {
			t.Fatalf("element %d of a part from 777 differs from the whole tensor's", 777+i)
		}
	}
	frac := func(a, b []float32) (dropped, both float64) {
		for i := range a {
			if a[i] == 0 {
				dropped++
				if b[i] == 0 {
					both++
				}
			}
		}
		return dropped / float64(len(a)), both / float64(len(a))
	}
	_, nextStep := run(DropoutLayerKey(DropoutStepKey(1, 2, 2), 0))
	_, nextLayer := run(DropoutLayerKey(DropoutStepKey(1, 2, 1), 1))
	_, otherSeed := run(DropoutLayerKey(DropoutStepKey(3, 2, 1), 0))
	for name, other := range map[string][]float32{"neighbour": mask1[1:], "next step": nextStep, "next layer": nextLayer, "other seed": otherSeed} {
		a := mask1[:len(other)]
		dropped, both := frac(a, other)
		if math.Abs(dropped-rate) > 0.01 {
			t.Errorf("%s: dropped fraction %.4f, want about %v", name, dropped, rate)
		}
		// Independent draws: both dropped rate² of the time (±4σ).
		if sigma := math.Sqrt(rate * rate * (1 - rate*rate) / float64(len(a))); math.Abs(both-rate*rate) > 4*sigma {
			t.Errorf("%s: both dropped %.4f of the time, want about %.4f", name, both, rate*rate)
		}
	}
}

func TestSoftmaxCrossEntropyIsStable(t *testing.T) {
	logits := []float32{1e4, -1e4, 0, 3e4, 3e4, 3e4}
	labels := []int32{0, 2}
	dlogits, probs := make([]float32, 6), make([]float32, 6)
	loss := SoftmaxCrossEntropy(dlogits, probs, logits, labels, nil, 0, 2, 3)
	// Example 0 is certain and right (loss 0); example 1 is uniform (log 3).
	if want := math.Log(3) / 2; math.Abs(float64(loss)-want) > 1e-6 {
		t.Errorf("loss = %v, want %v", loss, want)
	}
	for i, v := range append(dlogits, probs...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("output %d is %v", i, v)
		}
	}
}

func TestSoftmaxCrossEntropyZeroWeights(t *testing.T) {
	dlogits := []float32{5, 5, 5, 5}
	loss := SoftmaxCrossEntropy(dlogits, nil, []float32{1, 2, 3, 4}, []int32{0, 1}, []float32{0, 0}, 0, 2, 2)
	if loss != 0 {
		t.Errorf("loss = %v, want 0", loss)
	}
	for i, v := range dlogits {
		if v != 0 {
			t.Errorf("dlogits[%d] = %v, want 0", i, v)
		}
	}
}
