package train

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// BenchResult is what Benchmark measured. Its JSON form is the one line
// `plateau bench -json` and bench.wasm print.
type BenchResult struct {
	Net   string `json:"net"`
	Batch int    `json:"batch"`
	// ImagesPerSecond counts training examples per second of wall time.
	ImagesPerSecond float64 `json:"images_per_second"`
	// GFLOPS is ImagesPerSecond times the training cost of one image:
	// three times the forward FLOPs of shape inference (the forward pass,
	// and the two products of the backward pass).
	GFLOPS float64 `json:"gflops"`
	// MFLOPPerImage is that training cost, in millions.
	MFLOPPerImage float64 `json:"mflop_per_image"`
	// Threads is GOMAXPROCS during the run (1 under js/wasm).
	Threads int `json:"threads"`
	// Workers is the number of parts every batch was cut into, each
	// computed on its own goroutine (Shard); 1 without data parallelism.
	Workers int `json:"workers,omitempty"`
	// Steps and Seconds are the timed steps and their wall time, after
	// the warm-up.
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
	// AllocsPerStep is the heap allocations per timed step (0 expected).
	AllocsPerStep float64 `json:"allocs_per_step"`
	// Platform is GOOS/GOARCH of the binary.
	Platform string `json:"platform"`
	// Kernel names the GEMM micro-kernel the binary runs on this CPU.
	Kernel string `json:"kernel"`
}

// benchStep returns one training step of the named preset on random
// images, which returns the number of examples it trained on, and the
// forward FLOPs of one example. With workers above 1 every batch is cut
// into that many parts computed side by side by local shards; done
// releases them.
func benchStep(net string, batch, workers int) (step func() int, flops int64, done func(), err error) {
	s, err := spec.Preset(net)
	if err != nil {
		return nil, 0, nil, err
	}
	return specStep(s, batch, workers)
}

// specStep is benchStep for a spec, which it changes: batch, one epoch,
// no validation split.
func specStep(s *spec.Spec, batch, workers int) (step func() int, flops int64, done func(), err error) {
	if batch < 1 {
		return nil, 0, nil, errors.New("batch must be at least 1")
	}
	s.Train.BatchSize = batch
	s.Train.Epochs = 1
	s.Data.Validation = 0
	if err := s.Validate(); err != nil {
		return nil, 0, nil, err
	}
	infos, err := s.Model.Shapes()
	if err != nil {
		return nil, 0, nil, err
	}
	for _, l := range infos {
		flops += l.FLOPs
	}

	h, w, c := s.Model.Input[0], s.Model.Input[1], s.Model.Input[2]
	r := rand.New(rand.NewPCG(1, 2))
	d := &data.Dataset{Name: "random", H: h, W: w, C: c, Classes: make([]string, s.Model.Classes)}
	for i := range d.Classes {
		d.Classes[i] = fmt.Sprint(i)
	}
	examples := max(benchExamples, 2*batch)
	d.Train.Images = make([]uint8, examples*h*w*c)
	for i := range d.Train.Images {
		d.Train.Images[i] = uint8(r.Uint32())
	}
	d.Train.Labels = make([]int32, examples)
	for i := range d.Train.Labels {
		d.Train.Labels[i] = int32(r.IntN(s.Model.Classes))
	}
	var shards []Shard
	if workers > 1 {
		shards = LocalShards(workers - 1)
	}
	t, err := newTrainer(Config{Spec: s, Dataset: d, Shards: shards})
	if err != nil {
		CloseShards(shards)
		return nil, 0, nil, err
	}
	lr := t.lr(0, 0)
	step = func() int {
		n := t.loader.Next(t.x, t.y)
		if n == 0 {
			t.loader.Epoch(1)
			n = t.loader.Next(t.x, t.y)
		}
		t.trainStep(n, lr)
		return n
	}
	return step, flops, func() { CloseShards(shards) }, nil
}

// benchExamples is the size of the random training set: enough for a few
// batches, so the loader wraps around as it does in a real epoch.
const benchExamples = 512

// Benchmark trains the named preset on random images of its input shape
// with batches of batch examples for about seconds, and reports the
// throughput. A step is what a run does per batch: the loader's
// normalization, forward, loss, backward and the optimizer's update of the
// preset's own training settings. Steps first run untimed for a while, so
// that a JIT (WebAssembly in a browser or node compiles hot functions a
// second time) and the caches are warm.
//
// With workers above 1 every batch is cut into that many parts trained side
// by side on their own goroutines (Shard); the caller lets each kernel call
// run on one thread (kernels.SetThreads(1)), as `plateau bench` does.
func Benchmark(net string, batch int, seconds float64, workers int) (BenchResult, error) {
	s, err := spec.Preset(net)
	if err != nil {
		return BenchResult{}, err
	}
	return BenchmarkSpec(s, net, batch, seconds, workers)
}

// BenchmarkSpec is Benchmark for a model of one's own: it trains s's model
// with s's training settings (batch replacing its batch size) and reports
// the result under the name net. It changes s.
func BenchmarkSpec(s *spec.Spec, net string, batch int, seconds float64, workers int) (BenchResult, error) {
	if !(seconds > 0) {
		return BenchResult{}, errors.New("seconds must be positive")
	}
	workers = max(workers, 1)
	step, flops, done, err := specStep(s, batch, workers)
	if err != nil {
		return BenchResult{}, err
	}
	defer done()

	warm := min(time.Second, time.Duration(seconds*float64(time.Second)/4))
	start := time.Now()
	for i := 0; i < 3 || time.Since(start) < warm; i++ {
		step()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	steps, images := 0, 0
	budget := time.Duration(seconds * float64(time.Second))
	start = time.Now()
	for steps == 0 || time.Since(start) < budget {
		images += step()
		steps++
	}
	elapsed := time.Since(start).Seconds()
	runtime.ReadMemStats(&after)

	perSecond := float64(images) / elapsed
	return BenchResult{
		Net:             net,
		Batch:           batch,
		ImagesPerSecond: perSecond,
		GFLOPS:          perSecond * 3 * float64(flops) / 1e9,
		MFLOPPerImage:   3 * float64(flops) / 1e6,
		Threads:         runtime.GOMAXPROCS(0),
		Workers:         workers,
		Steps:           steps,
		Seconds:         elapsed,
		AllocsPerStep:   float64(after.Mallocs-before.Mallocs) / float64(steps),
		Platform:        runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:          nn.GemmKernel(),
	}, nil
}
