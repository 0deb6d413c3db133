package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"plateau/data"
	"plateau/kernels"
	"plateau/nn"
	"plateau/spec"
)

func TestBenchmark(t *testing.T) {
	// On one thread the kernels start no goroutines, whose wake-ups may
	// allocate inside the runtime.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	got, err := Benchmark("mnist-cnn", 8, 0.05, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Net != "mnist-cnn" || got.Batch != 8 || got.Steps < 1 || got.Workers != 1 || got.Kernel != kernels.GemmKernel() {
		t.Errorf("result %+v does not describe the run asked for", got)
	}
	if !(got.ImagesPerSecond > 0) || !(got.GFLOPS > 0) {
		t.Errorf("images/s %v, GFLOP/s %v, want positive", got.ImagesPerSecond, got.GFLOPS)
	}
	// mnist-cnn's forward pass is about 2.4 MFLOP (two 3×3 convolutions
	// and a dense layer of 128), three times that to train.
	if got.MFLOPPerImage < 3 || got.MFLOPPerImage > 30 {
		t.Errorf("%v MFLOP per training image, want a few", got.MFLOPPerImage)
	}
	if !raceEnabled && got.AllocsPerStep != 0 {
		t.Errorf("%v allocations per training step, want 0", got.AllocsPerStep)
	}
}

// With workers, every batch is cut into parts trained side by side, and a
// step still allocates nothing.
func TestBenchmarkWorkers(t *testing.T) {
	defer kernels.SetThreads(kernels.SetThreads(1))
	// The step allocates nothing (TestShardedTrainStepAllocs); the
	// runtime allocates now and then when goroutines hand work to each
	// other, more on a busy machine, where a run of 0.05 s may time only a
	// few steps. So the fewest of four runs: a step that allocated would
	// do so every time, in every run.
	least := math.Inf(1)
	for range 4 {
		got, err := Benchmark("fashion-fast", 16, 0.05, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got.Workers != 2 || got.Steps < 1 || !(got.ImagesPerSecond > 0) {
			t.Fatalf("result %+v does not describe a run with two workers", got)
		}
		if least = min(least, got.AllocsPerStep); least < 1 {
			break
		}
	}
	if !raceEnabled && least >= 1 {
		t.Errorf("%v allocations per training step with two workers, want about 0", least)
	}
}

func TestBenchmarkErrors(t *testing.T) {
	for _, tc := range []struct {
		net     string
		batch   int
		seconds float64
		want    string
	}{
		{"no-such-net", 8, 1, "unknown preset"},
		{"mnist-cnn", 0, 1, "batch"},
		{"mnist-cnn", 8, 0, "seconds"},
	} {
		if _, err := Benchmark(tc.net, tc.batch, tc.seconds, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Benchmark(%q, %d, %v) = %v, want an error about %s", tc.net, tc.batch, tc.seconds, err, tc.want)
		}
	}
}

// BenchmarkTrainStep times the steps `plateau bench` times, one preset at a
// time, with batches of 32, and with every batch cut in two parts trained
// side by side (workers=2): go test -bench TrainStep -cpu 2 ./train. And
// fashion-fast's step at batch 64, one worker's half of the page's batch
// of 128.
func BenchmarkTrainStep(b *testing.B) {
	cases := []struct {
		net            string
		batch, workers int
	}{
		{"mnist-cnn", 32, 1}, {"mnist-cnn", 32, 2},
		{"convnetjs-cifar", 32, 1}, {"convnetjs-cifar", 32, 2},
		{"fashion-fast", 64, 1},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("net=%s,batch=%d,workers=%d", c.net, c.batch, c.workers), func(b *testing.B) {
			if c.workers > 1 {
				defer kernels.SetThreads(kernels.SetThreads(1))
			}
			step, flops, done, err := benchStep(c.net, c.batch, c.workers)
			if err != nil {
				b.Fatal(err)
			}
			defer done()
			step()
			images := 0
			for b.Loop() {
				images += step()
			}
			perSecond := float64(images) / b.Elapsed().Seconds()
			b.ReportMetric(perSecond, "images/s")
			b.ReportMetric(perSecond*3*float64(flops)/1e9, "GFLOP/s")
		})
	}
}

// A spec of one's own trains its own model: the cost per image is its
// layers', the name and batch the caller's, and a spec that makes no sense
// is refused with the validator's message.
func TestBenchmarkSpec(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s, err := spec.Parse([]byte(`{"model": {"input": [8, 8, 1], "classes": 3, "layers": [
		{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "relu"},
		{"type": "dense", "units": 3}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	var flops int64
	for _, l := range infos {
		flops += l.FLOPs
	}
	got, err := BenchmarkSpec(s, "mine", 4, 0.05, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Net != "mine" || got.Batch != 4 || got.Steps < 1 || !(got.ImagesPerSecond > 0) {
		t.Errorf("result %+v does not describe the run asked for", got)
	}
	if want := 3 * float64(flops) / 1e6; got.MFLOPPerImage != want || want > 0.1 {
		t.Errorf("%v MFLOP per training image, want the spec's %v", got.MFLOPPerImage, want)
	}

	bad, err := spec.Parse([]byte(`{"model": {"input": [8, 8, 1], "classes": 3, "layers": [{"type": "dense", "units": 3}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Train.Optimizer = "adamx"
	if _, err := BenchmarkSpec(bad, "bad", 4, 0.05, 1); err == nil || !strings.Contains(err.Error(), "optimizer") {
		t.Errorf("a spec with optimizer adamx: %v, want the validator's error about the optimizer", err)
	}
}

// BenchmarkValCheck measures a validation check within an epoch: the
// inference pass over spec.ValCheckImages images, in batches of the
// preset's batch size, that a run makes every train.val_check_seconds.
func BenchmarkValCheck(b *testing.B) {
	for _, name := range []string{"mnist-cnn", "convnetjs-cifar"} {
		b.Run("net="+name, func(b *testing.B) {
			s, err := spec.Preset(name)
			if err != nil {
				b.Fatal(err)
			}
			net, err := nn.New(s.Model, s.Train.BatchSize, 1)
			if err != nil {
				b.Fatal(err)
			}
			in := s.Model.Input
			size := in[0] * in[1] * in[2]
			rng := rand.New(rand.NewPCG(1, 2))
			val := data.Split{Images: make([]uint8, spec.ValCheckImages*size), Labels: make([]int32, spec.ValCheckImages)}
			for i := range val.Images {
				val.Images[i] = uint8(rng.IntN(256))
			}
			for i := range val.Labels {
				val.Labels[i] = int32(rng.IntN(s.Model.Classes))
			}
			norm, err := data.NewNormalizer("scale01", val, in[2])
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				Evaluate(net, norm, val, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/check")
		})
	}
}

// BenchmarkOcclusionMaps times the saliency maps of an epoch's 16
// misclassified images: 50 inference passes of 16 images.
func BenchmarkOcclusionMaps(b *testing.B) {
	for _, name := range []string{"mnist-cnn", "fashion-cnn", "fashion-fast", "convnetjs-cifar", "resnet-small"} {
		s, err := spec.Preset(name)
		if err != nil {
			b.Fatal(err)
		}
		const n = 16
		b.Run(name, func(b *testing.B) {
			net, err := nn.New(s.Model, n, 1)
			if err != nil {
				b.Fatal(err)
			}
			in := s.Model.Input
			x := make([]float32, n*net.InputSize())
			for i := range x {
				x[i] = float32(i%7) / 7
			}
			class := make([]int, n)
			for b.Loop() {
				OcclusionMaps(net, x, n, class, in[0], in[1], in[2])
			}
		})
	}
}
