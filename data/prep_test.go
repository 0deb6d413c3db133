package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// labelledSplit makes a split of 1-byte images whose pixel is the example's
// index (mod 256) and whose labels repeat counts[k] times for class k.
func labelledSplit(counts []int) Split {
	var s Split
	for k, n := range counts {
		for range n {
			s.Images = append(s.Images, uint8(len(s.Labels)))
			s.Labels = append(s.Labels, int32(k))
		}
	}
	return s
}

func TestImbalance(t *testing.T) {
	s := labelledSplit([]int{100, 100, 100, 100, 100})
	got := ClassCounts(Imbalance(s, 5, 0.1, 7), 5)
	// ratio^(k/4): 1, 0.562, 0.316, 0.178, 0.1
	want := []int{100, 56, 32, 18, 10}
	if !slices.Equal(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	a, b := Imbalance(s, 5, 0.1, 7), Imbalance(s, 5, 0.1, 7)
	if !slices.Equal(a.Images, b.Images) {
		t.Errorf("same seed, different examples kept")
	}
	if c := Imbalance(s, 5, 0.1, 8); slices.Equal(a.Images, c.Images) {
		t.Errorf("another seed kept the same examples")
	}
	for _, r := range []float64{0, 1, 2} {
		if got := Imbalance(s, 5, r, 1); got.Len() != s.Len() {
			t.Errorf("ratio %g changed the split", r)
		}
	}
	if got := ClassCounts(Imbalance(labelledSplit([]int{10, 3}), 2, 0.01, 1), 2); !slices.Equal(got, []int{10, 1}) {
		t.Errorf("tiny ratio counts = %v, want at least one example kept", got)
	}
}

func TestSubsample(t *testing.T) {
	s := labelledSplit([]int{100, 60, 40, 3}) // 203 examples: each pixel names its example
	quarter, half := Subsample(s, 4, 0.25, 7), Subsample(s, 4, 0.5, 7)
	if got, want := ClassCounts(quarter, 4), []int{25, 15, 10, 1}; !slices.Equal(got, want) {
		t.Errorf("quarter: counts %v, want %v", got, want)
	}
	if got, want := ClassCounts(half, 4), []int{50, 30, 20, 2}; !slices.Equal(got, want) {
		t.Errorf("half: counts %v, want %v (round half away from zero: 1.5 → 2)", got, want)
	}
	for _, part := range []Split{quarter, half} {
		if !slices.IsSorted(part.Images) {
			t.Error("the examples kept are not in their original order")
		}
		for i, px := range part.Images {
			if part.Labels[i] != s.Labels[px] {
				t.Fatalf("example %d has label %d, its original %d", px, part.Labels[i], s.Labels[px])
			}
		}
	}
	for _, px := range quarter.Images {
		if !slices.Contains(half.Images, px) {
			t.Fatalf("example %d is in the quarter but not in the half: the fractions are not nested", px)
		}
	}
	if a := Subsample(s, 4, 0.25, 7); !slices.Equal(a.Images, quarter.Images) {
		t.Error("same seed, different examples kept")
	}
	if b := Subsample(s, 4, 0.25, 8); slices.Equal(b.Images, quarter.Images) {
		t.Error("another seed kept the same examples")
	}
	for _, f := range []float64{0, 1, 1.5} {
		if got := Subsample(s, 4, f, 1); got.Len() != s.Len() {
			t.Errorf("fraction %g changed the split", f)
		}
	}
}

func TestLabelNoise(t *testing.T) {
	s := labelledSplit([]int{100, 100, 100, 100, 100})
	before := slices.Clone(s.Labels)
	got := LabelNoise(s, 5, 0.3, 7)
	if !slices.Equal(s.Labels, before) {
		t.Fatal("LabelNoise changed the split it was given")
	}
	if &got.Images[0] != &s.Images[0] {
		t.Error("LabelNoise copied the images")
	}
	changed := 0
	counts := make([]int, 5)
	for i, l := range got.Labels {
		if l < 0 || l >= 5 {
			t.Fatalf("label %d outside the classes", l)
		}
		if l != before[i] {
			changed++
			counts[l]++
		}
	}
	if changed != 150 {
		t.Errorf("%d labels changed, want 150 (30%% of 500)", changed)
	}
	// Every wrong label is another class at random: each class receives
	// about 150/5 = 30 of them (a class's own 30 or so relabelled examples
	// go elsewhere).
	for k, n := range counts {
		if n < 12 || n > 50 {
			t.Errorf("class %d received %d wrong labels, want about 30: %v", k, n, counts)
		}
	}
	if again := LabelNoise(s, 5, 0.3, 7); !slices.Equal(again.Labels, got.Labels) {
		t.Error("same seed, different labels")
	}
	if other := LabelNoise(s, 5, 0.3, 8); slices.Equal(other.Labels, got.Labels) {
		t.Error("another seed, the same labels")
	}
	if same := LabelNoise(s, 5, 0, 7); &same.Labels[0] != &s.Labels[0] {
		t.Error("no noise still copied the labels")
	}
	// Two classes: every chosen label flips.
	two := labelledSplit([]int{50, 50})
	flipped := LabelNoise(two, 2, 1, 3)
	for i := range flipped.Labels {
		if flipped.Labels[i] == two.Labels[i] {
			t.Fatalf("label %d kept its class with noise 1 and two classes", i)
		}
	}
}

func TestSplitValidation(t *testing.T) {
	s := labelledSplit([]int{50, 30, 20, 7})
	train, val := SplitValidation(s, 0.1, 3)
	if val.Len() != 11 || train.Len() != 96 {
		t.Fatalf("sizes = %d train, %d val, want 96 and 11", train.Len(), val.Len())
	}
	// Stratified: 5, 3, 2 and one of the remainders (0.7 for the last class).
	if got, want := ClassCounts(val, 4), []int{5, 3, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("val counts = %v, want %v", got, want)
	}
	seen := map[uint8]bool{}
	for _, p := range append(append([]uint8{}, train.Images...), val.Images...) {
		if seen[p] {
			t.Fatalf("example %d in both parts", p)
		}
		seen[p] = true
	}
	if len(seen) != s.Len() {
		t.Errorf("%d distinct examples, want %d", len(seen), s.Len())
	}
	_, val2 := SplitValidation(s, 0.1, 3)
	if !slices.Equal(val.Images, val2.Images) {
		t.Errorf("same seed, different validation set")
	}
	if tr, v := SplitValidation(s, 0, 3); tr.Len() != s.Len() || v.Len() != 0 {
		t.Errorf("frac 0 held out %d", v.Len())
	}
}

// HoldOut gives SplitValidation's parts as views of the split, and
// restore puts every example back where it was.
func TestHoldOut(t *testing.T) {
	for _, tt := range []struct {
		name   string
		counts []int
		size   int
		frac   float64
	}{
		{"a tenth of four classes", []int{50, 30, 20, 7}, 3, 0.1},
		{"half of two classes", []int{9, 12}, 2, 0.5},
		{"nothing held out", []int{5, 5}, 1, 0},
		{"one example of one class", []int{1}, 4, 0.5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Images of tt.size bytes, each byte naming the example.
			var s Split
			for k, n := range tt.counts {
				for range n {
					for b := range tt.size {
						s.Images = append(s.Images, uint8(len(s.Labels)*tt.size+b))
					}
					s.Labels = append(s.Labels, int32(k))
				}
			}
			original := Split{Images: slices.Clone(s.Images), Labels: slices.Clone(s.Labels)}
			wantTrain, wantVal := SplitValidation(original, tt.frac, 5)
			train, val, restore := HoldOut(s, tt.frac, 5)
			if !slices.Equal(train.Images, wantTrain.Images) || !slices.Equal(train.Labels, wantTrain.Labels) {
				t.Errorf("training part %v %v, want %v %v", train.Images, train.Labels, wantTrain.Images, wantTrain.Labels)
			}
			if !slices.Equal(val.Images, wantVal.Images) || !slices.Equal(val.Labels, wantVal.Labels) {
				t.Errorf("held-out part %v %v, want %v %v", val.Images, val.Labels, wantVal.Images, wantVal.Labels)
			}
			if train.Len() > 0 && &train.Images[0] != &s.Images[0] || val.Len() > 0 && &val.Images[len(val.Images)-1] != &s.Images[len(s.Images)-1] {
				t.Error("the parts are copies, not views of the split")
			}
			if val.Len() > 0 && (cap(train.Images) != len(train.Images) || cap(train.Labels) != len(train.Labels)) {
				t.Error("appending to the training part would overwrite the held-out part")
			}
			restore()
			restore()
			if !slices.Equal(s.Images, original.Images) || !slices.Equal(s.Labels, original.Labels) {
				t.Errorf("after restore %v %v, want %v %v", s.Images, s.Labels, original.Images, original.Labels)
			}
		})
	}
}

func TestClassWeights(t *testing.T) {
	counts := []int{60, 30, 10, 0}
	w := ClassWeights(counts)
	want := []float32{100.0 / 180, 100.0 / 90, 100.0 / 30, 1}
	for k := range w {
		if math.Abs(float64(w[k]-want[k])) > 1e-6 {
			t.Errorf("weight %d = %g, want %g", k, w[k], want[k])
		}
	}
	var mean float64
	for k, c := range counts {
		mean += float64(c) * float64(w[k]) / 100
	}
	if math.Abs(mean-1) > 1e-6 {
		t.Errorf("mean weight over examples = %g, want 1", mean)
	}
}

func TestNormalizer(t *testing.T) {
	// Two channels: the first is 0 and 255 (mean 127.5, std 127.5), the
	// second is always 9 (std 0, left at 1).
	train := Split{Images: []uint8{0, 9, 255, 9, 0, 9, 255, 9}, Labels: []int32{0, 0, 0, 0}}
	tests := []struct {
		mode      string
		mean, std []float32
	}{
		{Raw, []float32{0, 0}, []float32{1, 1}},
		{Scale01, []float32{0, 0}, []float32{255, 255}},
		{Standardize, []float32{127.5, 9}, []float32{127.5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			n, err := NewNormalizer(tt.mode, train, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(n.Mean, tt.mean) || !slices.Equal(n.Std, tt.std) {
				t.Errorf("mean %v std %v, want %v %v", n.Mean, n.Std, tt.mean, tt.std)
			}
			src := []uint8{0, 9, 255, 200}
			dst := make([]float32, 4)
			n.Apply(dst, src)
			for i, v := range src {
				c := i % 2
				if want := (float32(v) - tt.mean[c]) / tt.std[c]; dst[i] != want {
					t.Errorf("Apply[%d] = %g, want %g", i, dst[i], want)
				}
			}
		})
	}
	if _, err := NewNormalizer("zscore", train, 2); err == nil || !strings.Contains(err.Error(), `"zscore" is unknown`) {
		t.Errorf("unknown mode: err = %v", err)
	}
}

func ExampleClassWeights() {
	fmt.Println(ClassWeights([]int{75, 25}))
	// Output: [0.6666667 2]
}
