package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// numClasses returns one more than the largest label (0 for no labels).
func numClasses(s Split) int {
	k := int32(-1)
	for _, l := range s.Labels {
		k = max(k, l)
	}
	return int(k) + 1
}

// imageSize returns the bytes per image of a split, panicking when the
// pixels do not divide evenly among the labels.
func imageSize(s Split) int {
	if s.Len() == 0 {
		return 0
	}
	if len(s.Images)%s.Len() != 0 {
		panic("data: split has a pixel count that is not a multiple of its label count")
	}
	return len(s.Images) / s.Len()
}

// byClass lists the indices of each class's examples in order.
func byClass(s Split, classes int) [][]int {
	idx := make([][]int, classes)
	for i, l := range s.Labels {
		if int(l) >= classes || l < 0 {
			panic("data: label outside 0..classes-1")
		}
		idx[l] = append(idx[l], i)
	}
	return idx
}

// gather copies the examples at the given indices into a new split.
func gather(s Split, indices []int) Split {
	size := imageSize(s)
	out := Split{Images: make([]uint8, len(indices)*size), Labels: make([]int32, len(indices))}
	for j, i := range indices {
		copy(out.Images[j*size:(j+1)*size], s.Images[i*size:(i+1)*size])
		out.Labels[j] = s.Labels[i]
	}
	return out
}

// Imbalance reproduces class imbalance: class k keeps a fraction
// ratio^(k/(classes-1)) of its examples (at least one), chosen at random
// from seed, in their original order. A ratio of 0 or ≥ 1, or fewer than two
// classes, returns s unchanged.
func Imbalance(s Split, classes int, ratio float64, seed uint64) Split {
	if ratio <= 0 || ratio >= 1 || classes < 2 {
		return s
	}
	rng := rand.New(rand.NewPCG(seed, 0x1b5a1a7ce))
	var keep []int
	for k, idx := range byClass(s, classes) {
		n := int(math.Round(float64(len(idx)) * math.Pow(ratio, float64(k)/float64(classes-1))))
		n = min(max(n, 1), len(idx))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		keep = append(keep, idx[:n]...)
	}
	sort.Ints(keep)
	return gather(s, keep)
}

// Subsample keeps a fraction frac of each class's examples (round(frac·n),
// at least one), chosen at random from seed, in their original order: a
// learning curve's smaller training sets. The choice is nested: with the
// same seed, the examples a smaller fraction keeps are among those a
// larger one keeps, so the arms of a learning curve differ in the
// examples added, not in which were drawn. frac ≤ 0 or ≥ 1 returns s.
func Subsample(s Split, classes int, frac float64, seed uint64) Split {
	if frac <= 0 || frac >= 1 || s.Len() == 0 {
		return s
	}
	rng := rand.New(rand.NewPCG(seed, 0x5b5a3b1e))
	var keep []int
	for _, idx := range byClass(s, max(classes, numClasses(s))) {
		if len(idx) == 0 {
			continue
		}
		// A permutation that depends only on the class's size, so that
		// every fraction takes a prefix of the same order.
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n := min(max(int(math.Round(frac*float64(len(idx)))), 1), len(idx))
		keep = append(keep, idx[:n]...)
	}
	sort.Ints(keep)
	return gather(s, keep)
}

// LabelNoise gives a fraction frac of the examples a wrong label:
// round(frac·Len) examples chosen at random from seed, each relabelled
// with one of the other classes, uniformly. The images are shared with s and the labels
// are a copy, so s is unchanged. frac 0, fewer than two classes or an
// empty split return s itself.
func LabelNoise(s Split, classes int, frac float64, seed uint64) Split {
	n := int(math.Round(frac * float64(s.Len())))
	if n <= 0 || classes < 2 {
		return s
	}
	rng := rand.New(rand.NewPCG(seed, 0x1abe15))
	labels := slices.Clone(s.Labels)
	for _, i := range rng.Perm(len(labels))[:min(n, len(labels))] {
		// One of the other classes-1 classes: skip over the true one.
		l := int32(rng.IntN(classes - 1))
		if l >= labels[i] {
			l++
		}
		labels[i] = l
	}
	return Split{Images: s.Images, Labels: labels}
}

// SplitValidation holds out a fraction frac of s for validation, stratified
// by class and chosen at random from seed. The held-out count is
// round(frac·Len) in total; each class gives its share, with the remainders
// going to the classes with the largest fractional parts. Both parts keep the
// original order. frac must be in [0, 1).
func SplitValidation(s Split, frac float64, seed uint64) (train, val Split) {
	trainIdx, valIdx := validationIndices(s, frac, seed)
	if len(valIdx) == 0 {
		return s, Split{}
	}
	return gather(s, trainIdx), gather(s, valIdx)
}

// HoldOut holds out the examples SplitValidation would, in the same
// order, without copying s: it moves them to the end of s in place, each
// part keeping its order, and returns both parts as views of s's arrays.
// Only the held-out part is copied, and only while it moves. restore puts
// s back in its original order; until it is called, s holds the training
// part followed by the held-out part. Calling restore again does nothing.
func HoldOut(s Split, frac float64, seed uint64) (train, val Split, restore func()) {
	trainIdx, valIdx := validationIndices(s, frac, seed)
	if len(valIdx) == 0 {
		return s, Split{}, func() {}
	}
	size := imageSize(s)
	held := gather(s, valIdx)
	// trainIdx is increasing, so every example moves towards the front,
	// onto a place already read.
	for j, i := range trainIdx {
		if i != j {
			copy(s.Images[j*size:(j+1)*size], s.Images[i*size:(i+1)*size])
			s.Labels[j] = s.Labels[i]
		}
	}
	n := len(trainIdx)
	copy(s.Images[n*size:], held.Images)
	copy(s.Labels[n:], held.Labels)
	train = Split{Images: s.Images[: n*size : n*size], Labels: s.Labels[:n:n]}
	val = Split{Images: s.Images[n*size:], Labels: s.Labels[n:]}
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		held := Split{Images: slices.Clone(val.Images), Labels: slices.Clone(val.Labels)}
		// Backwards, every example moves towards the back, onto a place
		// already read.
		for j := n - 1; j >= 0; j-- {
			if i := trainIdx[j]; i != j {
				copy(s.Images[i*size:(i+1)*size], s.Images[j*size:(j+1)*size])
				s.Labels[i] = s.Labels[j]
			}
		}
		for j, i := range valIdx {
			copy(s.Images[i*size:(i+1)*size], held.Images[j*size:(j+1)*size])
			s.Labels[i] = held.Labels[j]
		}
	}
	return train, val, restore
}

// validationIndices chooses the examples SplitValidation holds out: the
// indices of both parts, each increasing. It returns no indices when
// nothing is held out.
func validationIndices(s Split, frac float64, seed uint64) (trainIdx, valIdx []int) {
	if frac < 0 || frac >= 1 || math.IsNaN(frac) {
		panic("data: validation fraction outside [0, 1)")
	}
	if frac == 0 || s.Len() == 0 {
		return nil, nil
	}
	groups := byClass(s, numClasses(s))
	want := int(math.Round(frac * float64(s.Len())))
	take := make([]int, len(groups))
	type rem struct {
		class int
		frac  float64
	}
	var rems []rem
	got := 0
	for k, idx := range groups {
		exact := frac * float64(len(idx))
		take[k] = int(exact)
		got += take[k]
		rems = append(rems, rem{k, exact - float64(take[k])})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac })
	for i := 0; got < want && i < len(rems); i++ {
		if k := rems[i].class; take[k] < len(groups[k]) {
			take[k]++
			got++
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e1ec7))
	for k, idx := range groups {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		valIdx = append(valIdx, idx[:take[k]]...)
		trainIdx = append(trainIdx, idx[take[k]:]...)
	}
	sort.Ints(trainIdx)
	sort.Ints(valIdx)
	return trainIdx, valIdx
}

// ClassCounts counts the examples of each class.
func ClassCounts(s Split, classes int) []int {
	counts := make([]int, classes)
	for _, l := range s.Labels {
		if int(l) >= classes || l < 0 {
			panic("data: label outside 0..classes-1")
		}
		counts[l]++
	}
	return counts
}

// ClassWeights returns per-class loss weights n/(K·count_k), where K counts
// the classes present, so that the mean weight over the examples is 1 and
// each class contributes equally to the loss. A class with no examples gets
// weight 1.
func ClassWeights(counts []int) []float32 {
	n, present := 0, 0
	for _, c := range counts {
		n += c
		if c > 0 {
			present++
		}
	}
	w := make([]float32, len(counts))
	for k, c := range counts {
		w[k] = 1
		if c > 0 {
			w[k] = float32(float64(n) / (float64(present) * float64(c)))
		}
	}
	return w
}

// Normalization modes.
const (
	Raw         = "raw"
	Scale01     = "scale01"
	Standardize = "standardize"
)

// Normalizer turns uint8 pixels into float32 network inputs,
// (x - Mean[c]) / Std[c] per channel c: raw is mean 0, std 1 (0–255 as
// floats); scale01 is mean 0, std 255; standardize uses the per-channel
// mean and standard deviation of the training split. Mean and Std are
// read-only once Apply has been called.
type Normalizer struct {
	Mode      string
	Mean, Std []float32
	// table maps channel c and byte v to table[c*256+v], so Apply is one
	// lookup per pixel and gives exactly (float32(v)-Mean)/Std.
	table []float32
}

// NewNormalizer builds the normalizer for a mode; standardize measures the
// c channels of train. An unknown mode is an error.
func NewNormalizer(mode string, train Split, c int) (*Normalizer, error) {
	if c <= 0 {
		panic("data: channel count must be positive")
	}
	n := &Normalizer{Mode: mode, Mean: make([]float32, c), Std: make([]float32, c)}
	switch mode {
	case Raw:
		for i := range n.Std {
			n.Std[i] = 1
		}
	case Scale01:
		for i := range n.Std {
			n.Std[i] = 255
		}
	case Standardize:
		if len(train.Images) == 0 || len(train.Images)%c != 0 {
			return nil, fmt.Errorf("normalization standardize needs training images to measure (have %d bytes for %d channels)", len(train.Images), c)
		}
		// Integer histograms keep the sums exact however large the split.
		hist := make([]int64, 256*c)
		for i, v := range train.Images {
			hist[(i%c)*256+int(v)]++
		}
		for ch := 0; ch < c; ch++ {
			var count, sum, sq float64
			for v, h := range hist[ch*256 : (ch+1)*256] {
				count += float64(h)
				sum += float64(h) * float64(v)
				sq += float64(h) * float64(v) * float64(v)
			}
			mean := sum / count
			std := math.Sqrt(max(sq/count-mean*mean, 0))
			if std < 1e-3 {
				// A constant channel carries no information; dividing by
				// ~0 would only blow up whatever noise the test set has.
				std = 1
			}
			n.Mean[ch], n.Std[ch] = float32(mean), float32(std)
		}
	default:
		return nil, fmt.Errorf("normalization %q is unknown; want %s, %s or %s", mode, Raw, Scale01, Standardize)
	}
	n.build()
	return n, nil
}

func (n *Normalizer) build() {
	n.table = make([]float32, 256*len(n.Mean))
	for c := range n.Mean {
		for v := 0; v < 256; v++ {
			n.table[c*256+v] = (float32(v) - n.Mean[c]) / n.Std[c]
		}
	}
}

// Apply writes the normalized src into dst (same length, interleaved
// channels).
func (n *Normalizer) Apply(dst []float32, src []uint8) {
	c := len(n.Mean)
	if len(dst) != len(src) {
		panic("data: Normalizer.Apply needs dst and src of the same length")
	}
	if c == 0 || len(n.Std) != c || len(src)%c != 0 {
		panic("data: Normalizer.Apply needs a whole number of pixels and one Mean and Std per channel")
	}
	if len(n.table) != 256*c {
		n.build()
	}
	if c == 1 {
		t := n.table[:256]
		for i, v := range src {
			dst[i] = t[v]
		}
		return
	}
	for i := 0; i < len(src); i += c {
		for ch := 0; ch < c; ch++ {
			dst[i+ch] = n.table[ch*256+int(src[i+ch])]
		}
	}
}
