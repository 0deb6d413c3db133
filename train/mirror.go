package train

import (
	"math"
	"math/rand/v2"

	"plateau/data"
)

// mirrorSample is the number of training images Mirror reads: half make
// the class means, half are classified.
const mirrorSample = 2000

// Mirror measures whether flipped images of s (h×w×c each, labels below
// classes) still look like their class: it averages every class's images
// over half of a sample spread evenly across s, then classifies the other
// half by the nearest class mean (squared pixel distance) as they are,
// mirrored left to right and turned upside down. A flip that takes away
// most of the matches above chance makes images unlike any the network
// will be tested on (3,000 MNIST digits: 80% match, 44% mirrored; 3,000
// Fashion-MNIST clothes: 68%, 42% upside down); one that takes nothing keeps
// the label (the CIFAR-10 sample: 26%, 27% mirrored). Nil when fewer than 20
// images can be classified or fewer than two classes have a mean.
func Mirror(s data.Split, h, w, c, classes int) *MirrorStats {
	n, size := s.Len(), h*w*c
	if n < 40 || classes < 2 || len(s.Images) != n*size {
		return nil
	}
	// A sample spread evenly over s (uploads may come sorted by class),
	// dealt into the two halves at random (labels may repeat with a
	// period, as in 0, 1, …, 9, 0, 1, …).
	picks := min(n, mirrorSample)
	order := rand.New(rand.NewPCG(1, 2)).Perm(picks)
	at := func(j int) int { return order[j] * n / picks }

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
		for p, v := range s.Images[i*size : (i+1)*size] {
			means[k][p] += float64(v)
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
		for y := range h {
			for x := range w {
				sy, sx := y, w-1-x
				if vertical {
					sy, sx = h-1-y, x
				}
				copy(out[(y*w+x)*c:(y*w+x+1)*c], m[(sy*w+sx)*c:(sy*w+sx+1)*c])
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
	img := make([]float64, size)
	for j := picks / 2; j < picks; j++ {
		i := at(j)
		k := int(s.Labels[i])
		if k < 0 || k >= classes || means[k] == nil {
			continue
		}
		for p, v := range s.Images[i*size : (i+1)*size] {
			img[p] = float64(v)
		}
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
