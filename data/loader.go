package data

import (
	"math/rand/v2"
	"sync"
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
	// Workers above 1 fill each batch with that many goroutines, for a
	// trainer whose steps run elsewhere (a GPU) and would otherwise wait
	// for augmentation on one core. The random draws are still taken in
	// order, so the batches are the same to the byte.
	Workers int
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

	// With Workers > 1: each image's draws, and each worker's pixels and
	// geometric scratch.
	draws   []drawn
	scratch [][2][]uint8
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
	if w := min(opt.Workers, batch); w > 1 {
		l.draws = make([]drawn, batch)
		l.scratch = make([][2][]uint8, w)
		for i := range l.scratch {
			l.scratch[i] = [2][]uint8{make([]uint8, size), make([]uint8, size)}
		}
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
	if len(l.scratch) > 1 && n > 1 {
		l.nextParallel(x, y, n)
		l.pos += n
		return n
	}
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

// Skip passes over the next batches of the epoch as Next would have
// served them, drawing their augmentations without rendering a pixel, so
// that the batches after them are the ones Next would have served then:
// a run resumed within an epoch goes on with the rest of its order. It
// returns how many batches it passed over (fewer when the epoch runs out).
func (l *Loader) Skip(batches int) int {
	skipped := 0
	for ; skipped < batches && l.pos < len(l.order); skipped++ {
		n := min(l.batch, len(l.order)-l.pos)
		if l.aug != nil {
			for range n {
				l.aug.draw(l.augRNG)
			}
		}
		l.pos += n
	}
	return skipped
}

// nextParallel is Next's work for n examples on the Workers goroutines:
// the draws first, in order, then the pixels in parts.
func (l *Loader) nextParallel(x []float32, y []int32, n int) {
	aug := l.aug
	if aug != nil {
		for i := range n {
			l.draws[i] = aug.draw(l.augRNG)
		}
	}
	if len(l.norm.table) != 256*len(l.norm.Mean) {
		l.norm.build() // before the goroutines share it
	}
	parts := min(len(l.scratch), n)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		pixels, tmp := l.scratch[p][0], l.scratch[p][1]
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				idx := int(l.order[l.pos+i])
				img := l.split.Images[idx*l.size : (idx+1)*l.size]
				if aug != nil {
					aug.render(pixels, img, tmp, &l.draws[i])
					img = pixels
				}
				l.norm.Apply(x[i*l.size:(i+1)*l.size], img)
				y[i] = l.split.Labels[idx]
			}
		})
	}
	wg.Wait()
}

// Prefetcher serves one epoch's batches from a goroutine that fills them
// ahead of their use (Loader.Prefetch).
type Prefetcher struct {
	size         int
	filled, free chan *filledBatch
	stop, done   chan struct{}
	held         *filledBatch // the batch the caller has, until its next call
	stopped      bool
}

type filledBatch struct {
	x []float32
	y []int32
	n int
}

// Prefetch starts epoch e and fills its batches in a goroutine, up to
// depth of them ahead of the caller, so that a trainer whose steps run on
// another device finds the next batch ready instead of waiting for it.
// The batches are Next's, in Next's order. The Loader belongs to the
// Prefetcher until the epoch's batches run out or Stop returns.
func (l *Loader) Prefetch(e, depth int) *Prefetcher { return l.PrefetchAfter(e, 0, depth) }

// PrefetchAfter is Prefetch for the batches of epoch e after its first
// skip (Skip): the rest of an epoch a resumed run ended within.
func (l *Loader) PrefetchAfter(e, skip, depth int) *Prefetcher {
	depth = max(depth, 1)
	p := &Prefetcher{size: l.size, filled: make(chan *filledBatch, depth), free: make(chan *filledBatch, depth+1),
		stop: make(chan struct{}), done: make(chan struct{})}
	for range depth + 1 {
		p.free <- &filledBatch{x: make([]float32, l.batch*l.size), y: make([]int32, l.batch)}
	}
	go func() {
		defer close(p.done)
		defer close(p.filled)
		l.Epoch(e)
		l.Skip(skip)
		for {
			var b *filledBatch
			select {
			case b = <-p.free:
			case <-p.stop:
				return
			}
			if b.n = l.Next(b.x, b.y); b.n == 0 {
				return
			}
			select {
			case p.filled <- b:
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Next returns the epoch's next batch, n images in x and their labels in
// y, or n = 0 at its end. The slices are valid until the next call to Next
// or Stop.
func (p *Prefetcher) Next() (x []float32, y []int32, n int) {
	if p.held != nil {
		p.free <- p.held
		p.held = nil
	}
	b, ok := <-p.filled
	if !ok {
		return nil, nil, 0
	}
	p.held = b
	return b.x[:b.n*p.size], b.y[:b.n], b.n
}

// Stop ends the filling, if it has not ended, and waits for the goroutine:
// the Loader is the caller's again. Stopping twice is harmless.
func (p *Prefetcher) Stop() {
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
	<-p.done
}
