package data

import (
	"math/rand/v2"
)

// LoaderOptions configure a Loader.
type LoaderOptions struct {
	// Shuffle reorders the examples every epoch (training); without it they
	// come in order (validation and test).
	Shuffle bool
	// Oversample repeats the examples of smaller classes so that every
	// class appears as often per epoch as the largest one.
	Oversample bool
	// Classes is the number of classes (needed by Oversample).
	Classes int
	// Seed makes the order and the augmentation of every epoch
	// reproducible.
	Seed uint64
	// H, W, C is the image size.
	H, W, C int
}

// Loader yields the batches of one split, epoch after epoch. Next
// allocates nothing; everything is sized in NewLoader.
type Loader struct {
	split Split
	batch int
	norm  *Normalizer
	aug   *Augmenter
	opt   LoaderOptions
	size  int // bytes per image

	perEpoch int // examples per epoch
	largest  int // examples of the largest class

	byClass [][]int32 // examples of each class, for oversampling
	order   []int32   // this epoch's examples, in the order served
	pos     int

	orderSource, augSource *rand.PCG
	orderRNG, augRNG       *rand.Rand
	pixels                 []uint8 // the augmented image before normalization
}

// Streams of the loader's generators, so the order and the augmentation
// draw from independent sequences of the same seed.
const (
	orderStream = 0x6f72646572
	augStream   = 0x61756730
)

// NewLoader returns a loader positioned at the start of epoch 0. norm nil
// means raw (pixel values as floats); aug nil means no augmentation.
func NewLoader(s Split, batch int, norm *Normalizer, aug *Augmenter, opt LoaderOptions) *Loader {
	if batch <= 0 {
		panic("data: batch size must be positive")
	}
	size := opt.H * opt.W * opt.C
	if size <= 0 || len(s.Images) != s.Len()*size {
		panic("data: split does not hold Len images of H*W*C bytes")
	}
	if aug != nil && (aug.h != opt.H || aug.w != opt.W || aug.c != opt.C) {
		panic("data: augmenter built for another image size")
	}
	if norm == nil {
		norm, _ = NewNormalizer(Raw, Split{}, opt.C)
	}
	if len(norm.Mean) != opt.C {
		panic("data: normalizer built for another channel count")
	}
	l := &Loader{split: s, batch: batch, norm: norm, aug: aug, opt: opt, size: size}
	n := s.Len()
	if opt.Oversample {
		if opt.Classes <= 0 {
			panic("data: oversampling needs the class count")
		}
		l.byClass = make([][]int32, opt.Classes)
		largest, present := 0, 0
		for i, y := range s.Labels {
			if int(y) >= opt.Classes || y < 0 {
				panic("data: label outside 0..classes-1")
			}
			l.byClass[y] = append(l.byClass[y], int32(i))
		}
		for _, idx := range l.byClass {
			largest = max(largest, len(idx))
			if len(idx) > 0 {
				present++
			}
		}
		n = largest * present
		l.largest = largest
	}
	l.perEpoch = n
	// Room for one extra class copy, which Epoch appends before cutting
	// it to the random remainder.
	l.order = make([]int32, 0, n+l.largest)
	l.orderSource = rand.NewPCG(opt.Seed, orderStream)
	l.augSource = rand.NewPCG(opt.Seed, augStream)
	l.orderRNG = rand.New(l.orderSource)
	l.augRNG = rand.New(l.augSource)
	if aug != nil {
		l.pixels = make([]uint8, size)
	}
	l.Epoch(0)
	return l
}

// SetAugmenter replaces the augmentation from the next example on (nil
// stops augmenting); the random stream goes on where it was. It panics
// when aug was made for other image dimensions.
func (l *Loader) SetAugmenter(aug *Augmenter) {
	if aug != nil && (aug.h != l.opt.H || aug.w != l.opt.W || aug.c != l.opt.C) {
		panic("data: SetAugmenter: the augmenter is for other image dimensions")
	}
	if aug != nil && l.pixels == nil {
		l.pixels = make([]uint8, l.size)
	}
	l.aug = aug
}

// Len returns the number of examples per epoch (more than the split's when
// oversampling).
func (l *Loader) Len() int { return l.perEpoch }

// Batch returns the largest number of examples Next returns.
func (l *Loader) Batch() int { return l.batch }

// Steps returns the number of batches per epoch.
func (l *Loader) Steps() int { return (l.Len() + l.batch - 1) / l.batch }

// Epoch starts epoch e. The order and the augmentation depend only on the
// seed and e, not on the epochs before, so a resumed run sees the same
// batches.
func (l *Loader) Epoch(e int) {
	l.orderSource.Seed(l.opt.Seed, orderStream^uint64(e)<<32)
	l.augSource.Seed(l.opt.Seed^uint64(e)*0x9e3779b97f4a7c15, augStream)
	l.order = l.order[:0]
	l.pos = 0
	if l.opt.Oversample {
		largest := l.largest
		for _, idx := range l.byClass {
			if len(idx) == 0 {
				continue
			}
			// Whole copies of the class, then a random subset of it for
			// the remainder, so every example appears at least
			// largest/len times and no class more than another.
			for r := 0; r+len(idx) <= largest; r += len(idx) {
				l.order = append(l.order, idx...)
			}
			if rem := largest % len(idx); rem > 0 {
				start := len(l.order)
				l.order = append(l.order, idx...)
				tail := l.order[start:]
				for i := 0; i < rem; i++ {
					j := i + l.orderRNG.IntN(len(tail)-i)
					tail[i], tail[j] = tail[j], tail[i]
				}
				l.order = l.order[:start+rem]
			}
		}
	} else {
		for i := range l.split.Len() {
			l.order = append(l.order, int32(i))
		}
	}
	if l.opt.Shuffle {
		l.orderRNG.Shuffle(len(l.order), func(i, j int) { l.order[i], l.order[j] = l.order[j], l.order[i] })
	}
}

// Next fills x (at least Batch·H·W·C floats) and y (at least Batch labels)
// with the next examples of the epoch and returns how many it wrote; 0 at
// the end of the epoch.
func (l *Loader) Next(x []float32, y []int32) int {
	if len(x) < l.batch*l.size || len(y) < l.batch {
		panic("data: Loader.Next needs room for a whole batch")
	}
	n := min(l.batch, len(l.order)-l.pos)
	for i := 0; i < n; i++ {
		idx := int(l.order[l.pos+i])
		img := l.split.Images[idx*l.size : (idx+1)*l.size]
		if l.aug != nil {
			l.aug.Apply(l.pixels, img, l.augRNG)
			img = l.pixels
		}
		l.norm.Apply(x[i*l.size:(i+1)*l.size], img)
		y[i] = l.split.Labels[idx]
	}
	l.pos += n
	return n
}
