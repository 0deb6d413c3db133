package data

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"plateau/spec"
)

// epochOrder runs one epoch and returns the example served at each position
// (pixel value = example index) and the labels.
func epochOrder(l *Loader, e int) (examples []int, labels []int32) {
	l.Epoch(e)
	x := make([]float32, l.Batch())
	y := make([]int32, l.Batch())
	for {
		n := l.Next(x, y)
		if n == 0 {
			return examples, labels
		}
		for i := range n {
			examples = append(examples, int(x[i]))
			labels = append(labels, y[i])
		}
	}
}

func TestLoaderCoversEachExampleOnce(t *testing.T) {
	s := labelledSplit([]int{20, 13, 7})
	l := NewLoader(s, 8, nil, nil, LoaderOptions{Shuffle: true, Seed: 5, H: 1, W: 1, C: 1})
	if l.Len() != 40 || l.Steps() != 5 {
		t.Errorf("Len, Steps = %d, %d, want 40, 5", l.Len(), l.Steps())
	}
	first, labels := epochOrder(l, 0)
	sorted := slices.Sorted(slices.Values(first))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("epoch 0 serves %v, want each of 0..39 once", sorted)
		}
	}
	for i, ex := range first {
		if labels[i] != s.Labels[ex] {
			t.Fatalf("example %d has label %d, want %d", ex, labels[i], s.Labels[ex])
		}
	}
	second, _ := epochOrder(l, 1)
	if slices.Equal(first, second) {
		t.Errorf("epochs 0 and 1 have the same order")
	}
	if again, _ := epochOrder(l, 0); !slices.Equal(first, again) {
		t.Errorf("epoch 0 replayed in another order")
	}
	if slices.IsSorted(first) {
		t.Errorf("shuffled epoch is in order")
	}
}

func TestLoaderInOrder(t *testing.T) {
	s := labelledSplit([]int{3, 4})
	l := NewLoader(s, 3, nil, nil, LoaderOptions{H: 1, W: 1, C: 1})
	if got, _ := epochOrder(l, 4); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("unshuffled order = %v", got)
	}
}

func TestLoaderOversample(t *testing.T) {
	s := labelledSplit([]int{30, 7, 0, 12})
	l := NewLoader(s, 16, nil, nil, LoaderOptions{Shuffle: true, Oversample: true, Classes: 4, Seed: 1, H: 1, W: 1, C: 1})
	if l.Len() != 90 {
		t.Errorf("Len = %d, want 3 classes × 30", l.Len())
	}
	for e := range 3 {
		examples, labels := epochOrder(l, e)
		counts := make([]int, 4)
		for _, y := range labels {
			counts[y]++
		}
		if !slices.Equal(counts, []int{30, 30, 0, 30}) {
			t.Fatalf("epoch %d class counts = %v, want 30 each for present classes", e, counts)
		}
		// Class 1 (7 examples) repeats 4 times plus 2 more: each appears 4 or 5 times.
		times := map[int]int{}
		for _, ex := range examples {
			times[ex]++
		}
		for ex := 30; ex < 37; ex++ {
			if times[ex] < 4 || times[ex] > 5 {
				t.Errorf("epoch %d: example %d served %d times, want 4 or 5", e, ex, times[ex])
			}
		}
	}
}

// copies is a split of n copies of testImage(h, w, c), labelled in turn
// with the classes, and its standardizing Normalizer.
func copies(n, h, w, c, classes int) (Split, *Normalizer) {
	var s Split
	for i := range n {
		s.Images = append(s.Images, testImage(h, w, c)...)
		s.Labels = append(s.Labels, int32(i%classes))
	}
	norm, _ := NewNormalizer(Standardize, s, c)
	return s, norm
}

func TestLoaderAugmentDeterministic(t *testing.T) {
	const h, w, c = 8, 8, 3
	s, norm := copies(10, h, w, c, 2)
	run := func(epochs ...int) [][]float32 {
		aug, _ := NewAugmenter(everything(), h, w, c)
		l := NewLoader(s, 4, norm, aug, LoaderOptions{Shuffle: true, Seed: 3, H: h, W: w, C: c})
		var out [][]float32
		for _, e := range epochs {
			l.Epoch(e)
			x := make([]float32, 4*h*w*c)
			y := make([]int32, 4)
			l.Next(x, y)
			out = append(out, x)
		}
		return out
	}
	a := run(0, 1, 2)
	b := run(2)
	if !slices.Equal(a[2], b[0]) {
		t.Errorf("epoch 2 differs depending on the epochs before it")
	}
	if slices.Equal(a[0], a[1]) {
		t.Errorf("epochs 0 and 1 augment alike")
	}
}

// everyBatch returns every batch of epochs 0 and 1 as next serves them,
// the images and labels of each batch concatenated.
func everyBatch(l *Loader, next func(e int, x []float32, y []int32) int) (xs [][]float32, ys [][]int32) {
	for e := range 2 {
		for i := 0; ; i++ {
			x := make([]float32, l.Batch()*l.size)
			y := make([]int32, l.Batch())
			n := next(e, x, y)
			if n == 0 {
				break
			}
			xs, ys = append(xs, x[:n*l.size]), append(ys, y[:n])
		}
	}
	return xs, ys
}

// coinFlips is every transform with probability one half, so that how
// many draws an image takes varies from image to image.
func coinFlips() spec.Augment {
	half := func(strength float64) spec.Transform { return spec.Transform{P: 0.5, Strength: strength} }
	return spec.Augment{
		FlipHorizontal: half(0), FlipVertical: half(0), Crop: half(2), Shift: half(0.1), Rotation: half(15),
		Zoom: half(0.1), Brightness: half(0.2), Contrast: half(0.2), Saturation: half(0.2), Hue: half(0.1),
		Cutout: half(0.25),
	}
}

// TestLoaderWorkersSameBatches: batches filled by several goroutines, and
// batches prefetched, are the one-goroutine batches to the byte, with
// augmentation that draws a different number of values per image and a
// short last batch.
// coinFlipLoaders makes loaders of batches of 5 from 23 standardized 8×8×3
// images of three classes (image i shifted by i·shift), augmented by
// coinFlips, with opt and the number of workers each is given.
func coinFlipLoaders(t *testing.T, shift int, opt LoaderOptions) func(workers int) *Loader {
	const h, w, c = 8, 8, 3
	var s Split
	for i := range 23 {
		img := testImage(h, w, c)
		for j := range img {
			img[j] += uint8(i * shift)
		}
		s.Images = append(s.Images, img...)
		s.Labels = append(s.Labels, int32(i%3))
	}
	norm, _ := NewNormalizer(Standardize, s, c)
	return func(workers int) *Loader {
		aug, err := NewAugmenter(coinFlips(), h, w, c)
		if err != nil {
			t.Fatal(err)
		}
		n := *norm // each loader builds its own lookup table
		o := opt
		o.H, o.W, o.C, o.Workers = h, w, c, workers
		return NewLoader(s, 5, &n, aug, o)
	}
}

func TestLoaderWorkersSameBatches(t *testing.T) {
	const h, w, c = 8, 8, 3
	loader := coinFlipLoaders(t, 7, LoaderOptions{Shuffle: true, Oversample: true, Classes: 3, Seed: 9})
	direct := func(l *Loader) func(e int, x []float32, y []int32) int {
		return func(e int, x []float32, y []int32) int {
			if n := l.Next(x, y); n > 0 {
				return n
			}
			if e == 0 {
				l.Epoch(1)
				return 0
			}
			return 0
		}
	}
	prefetched := func(l *Loader) func(e int, x []float32, y []int32) int {
		var p *Prefetcher
		epoch := -1
		return func(e int, x []float32, y []int32) int {
			if e != epoch {
				p, epoch = l.Prefetch(e, 2), e
			}
			bx, by, n := p.Next()
			copy(x, bx)
			copy(y, by)
			return n
		}
	}
	l0 := loader(0)
	l0.Epoch(0)
	wantX, wantY := everyBatch(l0, direct(l0))
	if len(wantX) != 2*5 || len(wantX[4]) != 4*h*w*c {
		t.Fatalf("%d batches, the fifth of %d floats; the test wants 5 per epoch (24 oversampled images), the last of 4", len(wantX), len(wantX[4]))
	}
	for _, tc := range []struct {
		name string
		l    *Loader
		next func(*Loader) func(int, []float32, []int32) int
	}{
		{"3 workers", loader(3), direct},
		{"8 workers (more than a batch)", loader(8), direct},
		{"prefetched", loader(0), prefetched},
		{"prefetched, 2 workers", loader(2), prefetched},
	} {
		tc.l.Epoch(0)
		gotX, gotY := everyBatch(tc.l, tc.next(tc.l))
		if len(gotX) != len(wantX) {
			t.Errorf("%s: %d batches, want %d", tc.name, len(gotX), len(wantX))
			continue
		}
		for i := range wantX {
			if !slices.Equal(gotX[i], wantX[i]) || !slices.Equal(gotY[i], wantY[i]) {
				t.Errorf("%s: batch %d differs from one goroutine's", tc.name, i)
				break
			}
		}
	}
}

// TestLoaderSkip: after Skip(k), an epoch goes on with the batches a
// loader that served its first k serves next, augmentations included, with
// one goroutine or several; a skip past the epoch's end stops there.
func TestLoaderSkip(t *testing.T) {
	const h, w, c = 8, 8, 3
	loader := coinFlipLoaders(t, 11, LoaderOptions{Shuffle: true, Seed: 4})
	rest := func(l *Loader) (xs [][]float32, ys [][]int32) {
		for {
			x, y := make([]float32, 5*h*w*c), make([]int32, 5)
			n := l.Next(x, y)
			if n == 0 {
				return xs, ys
			}
			xs, ys = append(xs, x[:n*h*w*c]), append(ys, y[:n])
		}
	}
	for _, workers := range []int{0, 3} {
		served := loader(workers)
		served.Epoch(2)
		all, allY := rest(served)
		if len(all) != 5 {
			t.Fatalf("%d batches per epoch, the test wants 5", len(all))
		}
		for k := range 6 {
			l := loader(workers)
			l.Epoch(2)
			if got, want := l.Skip(k), min(k, 5); got != want {
				t.Errorf("workers %d: Skip(%d) passed %d batches, want %d", workers, k, got, want)
			}
			gotX, gotY := rest(l)
			if len(gotX) != len(all)-min(k, 5) {
				t.Errorf("workers %d: after Skip(%d), %d batches, want %d", workers, k, len(gotX), len(all)-k)
				continue
			}
			for i := range gotX {
				if !slices.Equal(gotX[i], all[k+i]) || !slices.Equal(gotY[i], allY[k+i]) {
					t.Errorf("workers %d: after Skip(%d), batch %d differs from the epoch's batch %d", workers, k, i, k+i)
					break
				}
			}
		}
		// Prefetched, the rest of the epoch is the same.
		p := loader(workers).PrefetchAfter(2, 3, 2)
		for i := 3; ; i++ {
			x, y, n := p.Next()
			if n == 0 {
				if i != 5 {
					t.Errorf("workers %d: prefetched after 3, the epoch ended after batch %d of 5", workers, i)
				}
				break
			}
			if i >= 5 || !slices.Equal(x[:n*h*w*c], all[i]) || !slices.Equal(y[:n], allY[i]) {
				t.Errorf("workers %d: prefetched after 3, batch %d differs from the epoch's", workers, i)
				break
			}
		}
		p.Stop()
		l := loader(workers)
		l.Epoch(2)
		if got := l.Skip(9); got != 5 {
			t.Errorf("workers %d: Skip(9) passed %d batches of an epoch of 5", workers, got)
		}
	}
}

// TestPrefetchStop: stopping mid-epoch returns the Loader to the caller,
// and a new epoch started after it is the epoch a fresh Loader serves.
func TestPrefetchStop(t *testing.T) {
	s := labelledSplit([]int{20, 13, 7})
	l := NewLoader(s, 4, nil, nil, LoaderOptions{Shuffle: true, Seed: 5, H: 1, W: 1, C: 1})
	p := l.Prefetch(0, 3)
	if _, _, n := p.Next(); n != 4 {
		t.Fatalf("first batch of %d, want 4", n)
	}
	p.Stop()
	p.Stop()
	got, _ := epochOrder(l, 1)
	want, _ := epochOrder(NewLoader(s, 4, nil, nil, LoaderOptions{Shuffle: true, Seed: 5, H: 1, W: 1, C: 1}), 1)
	if !slices.Equal(got, want) {
		t.Errorf("epoch 1 after a stopped prefetch is %v, want %v", got, want)
	}
	p = l.Prefetch(1, 1)
	var order []int
	for {
		x, _, n := p.Next()
		if n == 0 {
			break
		}
		for _, v := range x {
			order = append(order, int(v))
		}
	}
	p.Stop()
	if !slices.Equal(order, want) {
		t.Errorf("epoch 1 prefetched is %v, want %v", order, want)
	}
}

func TestLoaderNoAllocation(t *testing.T) {
	const h, w, c = 8, 8, 3
	var s Split
	for i := range 50 {
		s.Images = append(s.Images, testImage(h, w, c)...)
		s.Labels = append(s.Labels, int32(i%5))
	}
	norm, _ := NewNormalizer(Standardize, s, c)
	aug, _ := NewAugmenter(everything(), h, w, c)
	l := NewLoader(s, 8, norm, aug, LoaderOptions{Shuffle: true, Oversample: true, Classes: 5, Seed: 1, H: h, W: w, C: c})
	x := make([]float32, 8*h*w*c)
	y := make([]int32, 8)
	epoch := 0
	allocs := testing.AllocsPerRun(100, func() {
		if l.Next(x, y) == 0 {
			epoch++
			l.Epoch(epoch)
		}
	})
	if allocs != 0 {
		t.Errorf("Next and Epoch allocate %g times per call", allocs)
	}
}

// BenchmarkLoaderNext fills batches of 64 CIFAR-sized images under every
// transform and under the CIFAR presets' flip and crop, on one goroutine
// and on two.
func BenchmarkLoaderNext(b *testing.B) {
	flipCrop := spec.Augment{FlipHorizontal: spec.Transform{P: 0.5}, Crop: spec.Transform{P: 0.5, Strength: 4}}
	for _, a := range []struct {
		name string
		aug  spec.Augment
	}{{"every", everything()}, {"flip+crop", flipCrop}} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", a.name, workers), func(b *testing.B) { benchmarkLoaderNext(b, a.aug, workers) })
		}
	}
}

func benchmarkLoaderNext(b *testing.B, a spec.Augment, workers int) {
	const h, w, c = 32, 32, 3
	s, norm := copies(256, h, w, c, 10)
	aug, _ := NewAugmenter(a, h, w, c)
	l := NewLoader(s, 64, norm, aug, LoaderOptions{Shuffle: true, Seed: 1, H: h, W: w, C: c, Workers: workers})
	x := make([]float32, 64*h*w*c)
	y := make([]int32, 64)
	for b.Loop() {
		if l.Next(x, y) == 0 {
			l.Epoch(1)
		}
	}
}

// BenchmarkPrefetch serves batches of 64 CIFAR-sized images under the
// CIFAR presets' flip and crop to a consumer that waits 1 ms a batch, as a
// trainer waits for its device: read directly, each batch costs the
// filling and the wait; prefetched, the larger of the two.
func BenchmarkPrefetch(b *testing.B) {
	const h, w, c = 32, 32, 3
	s, norm := copies(512, h, w, c, 10)
	a := spec.Augment{FlipHorizontal: spec.Transform{P: 0.5}, Crop: spec.Transform{P: 0.5, Strength: 4}}
	device := func() { time.Sleep(time.Millisecond) }
	for _, prefetch := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", prefetch), func(b *testing.B) {
			aug, _ := NewAugmenter(a, h, w, c)
			l := NewLoader(s, 64, norm, aug, LoaderOptions{Shuffle: true, Seed: 1, H: h, W: w, C: c})
			x := make([]float32, 64*h*w*c)
			y := make([]int32, 64)
			batches := 0
			for e := 0; b.Loop(); e++ {
				if !prefetch {
					l.Epoch(e)
					for l.Next(x, y) > 0 {
						device()
						batches++
					}
					continue
				}
				p := l.Prefetch(e, 2)
				for _, _, n := p.Next(); n > 0; _, _, n = p.Next() {
					device()
					batches++
				}
				p.Stop()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(batches), "µs/batch")
		})
	}
}
