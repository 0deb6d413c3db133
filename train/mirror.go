package train

import (
	"math"
	"math/rand/v2"

	"plateau/data"
)

// mirrorSample is the number of training images Mirror reads: half make
// the class means, half are classified. Images larger than mirrorSide on
// a side are read as thumbnails of that side, and datasets of more than
// mirrorClasses classes (a few images each in the sample) not at all.
const (
	mirrorSample  = 2000
	mirrorSide    = 32
	mirrorClasses = 256
)

// Mirror measures whether flipped images of s (h×w×c each, labels below
// classes) still look like their class: it averages every class's images
// over half of a sample spread evenly across s, then classifies the other
// half by the nearest class mean (squared pixel distance) as they are,
// mirrored left to right and turned upside down. A flip that takes away
// most of the matches above chance makes images unlike any the network
// will be tested on (3,000 MNIST digits: 79% match, 45% mirrored; 3,000
// Fashion-MNIST clothes: 71%, 40% upside down); one that takes nothing
// keeps the label (the CIFAR-10 sample: 25%, 26% mirrored). Nil when fewer
// than 20 images can be classified, fewer than two classes have a mean,
// or there are more than mirrorClasses classes.
func Mirror(s data.Split, h, w, c, classes int) *MirrorStats {
	n, imageSize := s.Len(), h*w*c
	if n < 40 || classes < 2 || classes > mirrorClasses || len(s.Images) != n*imageSize {
		return nil
	}
	// A sample spread evenly over s (uploads may come sorted by class),
	// dealt into the two halves at random (labels may repeat with a
	// period, as in 0, 1, …, 9, 0, 1, …).
	picks := min(n, mirrorSample)
	order := rand.New(rand.NewPCG(1, 2)).Perm(picks)
	at := func(j int) int { return order[j] * n / picks }
	// Large images are read as thumbnails (orientation is a coarse
	// property), so memory and time stay those of CIFAR-sized ones.
	th, tw, tc := min(h, mirrorSide), min(w, mirrorSide), c
	if c > 4 {
		tc = 1
	}
	img := make([]float64, th*tw*tc)
	read := func(i int) []float64 {
		return thumbnail(img, s.Images[i*imageSize:(i+1)*imageSize], h, w, c, th, tw, tc)
	}
	size := th * tw * tc

	means := make([][]float64, classes)
	counts := make([]int, classes)
	for j := range picks / 2 {
		i := at(j)
		k := int(s.Labels[i])
		if k < 0 || k >= classes {
			continue
		}
		if means[k] == nil {
			means[k] = make([]float64, size)
		}
		counts[k]++
		for p, v := range read(i) {
			means[k][p] += v
		}
	}
	var known []int
	for k, m := range means {
		if m == nil {
			continue
		}
		for p := range m {
			m[p] /= float64(counts[k])
		}
		known = append(known, k)
	}
	if len(known) < 2 {
		return nil
	}
	// Flipping an image against a mean is the image against the flipped
	// mean, so each class has three means and each image is read as it is.
	flip := func(m []float64, vertical bool) []float64 {
		out := make([]float64, size)
		for y := range th {
			for x := range tw {
				sy, sx := y, tw-1-x
				if vertical {
					sy, sx = th-1-y, x
				}
				copy(out[(y*tw+x)*tc:(y*tw+x+1)*tc], m[(sy*tw+sx)*tc:(sy*tw+sx+1)*tc])
			}
		}
		return out
	}
	type mean struct {
		class  int
		pixels []float64
		norm   float64 // squared length
	}
	var views [3][]mean
	for _, k := range known {
		for v, m := range [][]float64{means[k], flip(means[k], false), flip(means[k], true)} {
			var sq float64
			for _, x := range m {
				sq += x * x
			}
			views[v] = append(views[v], mean{k, m, sq})
		}
	}
	var matched [3]int
	classified := 0
	for j := picks / 2; j < picks; j++ {
		i := at(j)
		k := int(s.Labels[i])
		if k < 0 || k >= classes || means[k] == nil {
			continue
		}
		img := read(i)
		classified++
		for v, ms := range views {
			// |x−m|² = |x|² − 2x·m + |m|²: |x|² is the same for every class.
			best, bestClass := math.Inf(1), -1
			for _, m := range ms {
				if d := m.norm - 2*dot(img, m.pixels); d < best {
					best, bestClass = d, m.class
				}
			}
			if bestClass == k {
				matched[v]++
			}
		}
	}
	if classified < 20 {
		return nil
	}
	share := func(m int) float64 { return float64(m) / float64(classified) }
	return &MirrorStats{Sample: classified, Match: share(matched[0]), Horizontal: share(matched[1]), Vertical: share(matched[2])}
}

// dot is x·y over len(x) elements, in four running sums (one sum waits on
// every addition before it; four keep the adder busy).
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// thumbnail writes into dst the h×w×c image src shrunk to th×tw×tc, each
// value the mean of a box of pixels (of all channels when tc is 1 and c
// is not), and returns dst; an image already that size is only converted.
func thumbnail(dst []float64, src []uint8, h, w, c, th, tw, tc int) []float64 {
	if th == h && tw == w && tc == c {
		for p, v := range src {
			dst[p] = float64(v)
		}
		return dst
	}
	clear(dst)
	for y := range h {
		ty := y * th / h
		for x := range w {
			tx := x * tw / w
			for ch := range c {
				tch := ch
				if tc == 1 {
					tch = 0
				}
				dst[(ty*tw+tx)*tc+tch] += float64(src[(y*w+x)*c+ch])
			}
		}
	}
	for ty := range th {
		rows := boxLen(ty, h, th)
		for tx := range tw {
			per := float64(rows * boxLen(tx, w, tw) * (c / tc))
			for tch := range tc {
				dst[(ty*tw+tx)*tc+tch] /= per
			}
		}
	}
	return dst
}

// boxLen counts the i in [0, n) with i·m/n = b (integer division): the
// pixels of box b when n pixels shrink to m boxes.
func boxLen(b, n, m int) int {
	// i·m/n ≥ b ⇔ i ≥ ⌈b·n/m⌉.
	return (n*(b+1)+m-1)/m - (n*b+m-1)/m
}
