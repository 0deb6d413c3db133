package data

import (
	"slices"
	"testing"
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

func TestLoaderAugmentDeterministic(t *testing.T) {
	const h, w, c = 8, 8, 3
	var s Split
	for i := range 10 {
		s.Images = append(s.Images, testImage(h, w, c)...)
		s.Labels = append(s.Labels, int32(i%2))
	}
	norm, _ := NewNormalizer(Standardize, s, c)
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

func BenchmarkLoaderNext(b *testing.B) {
	const h, w, c = 32, 32, 3
	var s Split
	for i := range 256 {
		s.Images = append(s.Images, testImage(h, w, c)...)
		s.Labels = append(s.Labels, int32(i%10))
	}
	norm, _ := NewNormalizer(Standardize, s, c)
	aug, _ := NewAugmenter(everything(), h, w, c)
	l := NewLoader(s, 64, norm, aug, LoaderOptions{Shuffle: true, Seed: 1, H: h, W: w, C: c})
	x := make([]float32, 64*h*w*c)
	y := make([]int32, 64)
	for b.Loop() {
		if l.Next(x, y) == 0 {
			l.Epoch(1)
		}
	}
}
