package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"plateau/spec"
)

// writeCIFARArchive writes a CIFAR-10 binary release in the official
// layout (cifar-10-batches-bin/ with data_batch_1.bin, test_batch.bin and
// batches.meta.txt) as a tar.gz, with train and test synthetic records:
// each class a colour, with noise.
func writeCIFARArchive(path string, train, test int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	return writeCIFARArchiveOf(path, train, test, func(k, c int) byte {
		return byte(40 + 70*((k>>c)&1) + 10*(k/8) + rng.IntN(100))
	})
}

// writeCIFARArchiveOf is writeCIFARArchive with pixel giving each pixel
// of an image of class k in channel c.
func writeCIFARArchiveOf(path string, train, test int, pixel func(k, c int) byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	batch := func(n int) []byte {
		const plane = 32 * 32
		b := make([]byte, n*(1+3*plane))
		for i := range n {
			rec := b[i*(1+3*plane) : (i+1)*(1+3*plane)]
			k := i % 10
			rec[0] = byte(k)
			for c := range 3 {
				for p := range plane {
					rec[1+c*plane+p] = pixel(k, c)
				}
			}
		}
		return b
	}
	files := []struct {
		name string
		body []byte
	}{
		{"batches.meta.txt", []byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n")},
		{"data_batch_1.bin", batch(train)},
		{"test_batch.bin", batch(test)},
	}
	for _, file := range files {
		hdr := &tar.Header{Name: "cifar-10-batches-bin/" + file.name, Mode: 0o644, Size: int64(len(file.body)), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(file.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// open opens a fresh tab on the page with a dataset of the data folder
// and a spec in the address, and waits for the samples.
func (p *page) open(t *testing.T, dataset string, s *spec.Spec) context.Context {
	t.Helper()
	return p.openFor(t, dataset, s, 5*time.Minute)
}

// openFor is open with a tab that lives for d.
func (p *page) openFor(t *testing.T, dataset string, s *spec.Spec, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(p.browser)
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, d)
	t.Cleanup(cancel2)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	url := p.url + "/?dataset=" + dataset + "#spec=" + base64.RawURLEncoding.EncodeToString(b)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelectorAll("#samples img").length > 0 && document.querySelector("#memory")`, "the samples and the worker's memory")
	return ctx
}

// workerMemory is what the page shows of the worker's memory, with the
// step of the run when it was taken.
type workerMemory struct {
	Step    int   `json:"step"`
	Linear  int64 `json:"linear"`
	Heap    int64 `json:"heap"`
	Live    int64 `json:"live"`
	Dataset int64 `json:"dataset"`
	Page    int64 `json:"page"`
}

func readMemory(t *testing.T, ctx context.Context) workerMemory {
	t.Helper()
	text := eval[string](t, ctx, `JSON.stringify((() => { const m = document.querySelector("#memory").dataset;
		const p = document.querySelector("#progress-text");
		return {step: p ? +p.dataset.step : 0, linear: +m.worker, heap: +m.heap, live: +m.live, dataset: +m.dataset, page: +m.page}; })())`)
	var m workerMemory
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// measureAtStep waits until the current run has taken at least n steps,
// pauses it, has the worker collect its garbage and measure, and resumes.
func measureAtStep(t *testing.T, ctx context.Context, n int) workerMemory {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#progress-text") && +document.querySelector("#progress-text").dataset.step >= %d`, n), fmt.Sprintf("step %d", n))
	click(t, ctx, "#pause")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("paused")`, "the pause")
	waitFor(t, ctx, `document.querySelector("#memory").dataset.collected === "false"`, "a progress report")
	click(t, ctx, "#measure-memory")
	waitFor(t, ctx, `document.querySelector("#memory").dataset.collected === "true"`, "the measurement")
	m := readMemory(t, ctx)
	click(t, ctx, "#resume")
	return m
}

// memorySpec is a small network, so that steps are quick and the
// dataset dominates the worker's memory.
func memorySpec() *spec.Spec {
	s := spec.Default()
	s.Model = spec.Model{Name: "memory-probe", Input: []int{32, 32, 3}, Classes: 10, Layers: []spec.Layer{
		{Type: spec.Conv2D, Filters: 4, Kernel: 3, Stride: 2, Activation: spec.ReLU},
		{Type: spec.MaxPool, Kernel: 2},
		{Type: spec.Flatten},
		{Type: spec.Dense},
	}}
	s.Train.Epochs, s.Train.BatchSize, s.Train.LogEvery = 1000, 8, 10
	return s
}

const mib = 1 << 20

// The worker holds each image once, as uint8: its memory grows with the
// dataset, by about the images' size, and stays put while the run takes
// steps.
func TestWorkerMemory(t *testing.T) {
	p := start(t)
	const smallTrain, smallTest = 1500, 300
	sets := []struct {
		name        string
		train, test int
	}{
		{"cifar-small.tar.gz", smallTrain, smallTest},
		{"cifar-double.tar.gz", 2 * smallTrain, 2 * smallTest},
	}
	const steps = 500
	var atSteps []workerMemory
	for _, set := range sets {
		if err := writeCIFARArchive(filepath.Join(p.dir, "data", set.name), set.train, set.test); err != nil {
			t.Fatal(err)
		}
		ctx := p.open(t, set.name, memorySpec())
		loaded := readMemory(t, ctx)
		click(t, ctx, "#start")
		first := measureAtStep(t, ctx, steps)
		third := measureAtStep(t, ctx, 3*steps)
		click(t, ctx, "#stop")
		waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")
		t.Logf("%s: %d images, %.1f MiB of pixels and labels; worker linear memory %.1f MiB after loading, %.1f MiB at step %d, %.1f MiB at step %d; live Go heap %.1f → %.1f MiB; page %.1f MiB",
			set.name, set.train+set.test, float64(loaded.Dataset)/mib, float64(loaded.Linear)/mib,
			float64(first.Linear)/mib, first.Step, float64(third.Linear)/mib, third.Step,
			float64(first.Live)/mib, float64(third.Live)/mib, float64(third.Page)/mib)
		if want := int64(set.train+set.test) * (32*32*3 + 4); loaded.Dataset != want {
			t.Errorf("%s: the worker reports %d bytes of images and labels, want %d", set.name, loaded.Dataset, want)
		}
		if first.Live < loaded.Dataset || first.Linear < first.Live {
			t.Errorf("%s: %d bytes of images, live heap %d, linear memory %d: each should hold the one before", set.name, loaded.Dataset, first.Live, first.Linear)
		}
		// Nothing is kept per step: a thousand more steps (about six
		// epochs, whose history is kept) add less than a quarter of a
		// kilobyte a step to the live heap and nothing that needs more
		// memory.
		if grew := third.Live - first.Live; grew > mib/4 {
			t.Errorf("%s: the live heap grew by %.2f MiB between step %d and step %d", set.name, float64(grew)/mib, first.Step, third.Step)
		}
		if grew := third.Linear - first.Linear; grew > mib {
			t.Errorf("%s: linear memory grew by %.2f MiB between step %d and step %d", set.name, float64(grew)/mib, first.Step, third.Step)
		}
		atSteps = append(atSteps, first)
	}
	// Twice the images: the live heap grows by the added images, once, not
	// twice (a copy for the run) or four times (float32); linear memory,
	// which also keeps the peak of loading (the archive and the images
	// side by side), by up to three times as much, and by a little less
	// than the images now and then: the smaller set's linear memory had
	// free pages (17.5 MiB against a live heap of 7.1), which the added
	// images may partly fill (5.2 MiB grown for 5.3 added, once).
	added := atSteps[1].Dataset - atSteps[0].Dataset
	live := atSteps[1].Live - atSteps[0].Live
	linear := atSteps[1].Linear - atSteps[0].Linear
	t.Logf("doubling the images (+%.1f MiB) grew the live heap by %.1f MiB and linear memory by %.1f MiB", float64(added)/mib, float64(live)/mib, float64(linear)/mib)
	if live < added*9/10 || live > added*5/4 {
		t.Errorf("the live heap grew by %.1f MiB, want between 0.9 and 1.25 times the added %.1f MiB", float64(live)/mib, float64(added)/mib)
	}
	if linear < added*9/10 || linear > 3*added {
		t.Errorf("linear memory grew by %.1f MiB, want between 0.9 and 3 times the added %.1f MiB", float64(linear)/mib, float64(added)/mib)
	}
}
