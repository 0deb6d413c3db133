package train

import (
	"math"
	"slices"

	"plateau/nn"
)

// OcclusionMaps covers each of the n examples x (n, h, w, c) with a grey
// patch (the value 0, the normalized inputs' black or mean) at each place
// of a 7×7 grid in turn, and maps how much the probability of class[i]
// falls where the patch hides what the network answers from (Zeiler and
// Fergus, 2014): n maps of h×w bytes, scaled so that each image's largest
// fall is 255; a rise counts as nothing. It runs 49 inference passes of n
// examples on net, whose batch must take n.
func OcclusionMaps(net *nn.Network, x []float32, n int, class []int, h, w, c int) []byte {
	const grid = 7
	size, classes := h*w*c, net.Classes()
	ph, pw := (h+grid-1)/grid, (w+grid-1)/grid
	prob := func(logits []float32, i int) float64 {
		l := logits[i*classes : (i+1)*classes]
		top := slices.Max(l)
		sum := 0.0
		for _, v := range l {
			sum += math.Exp(float64(v - top))
		}
		return math.Exp(float64(l[class[i]]-top)) / sum
	}
	base := make([]float64, n)
	logits := net.Forward(x[:n*size], n, false)
	for i := range n {
		base[i] = prob(logits, i)
	}
	fall := make([]float64, n*h*w)
	covered := make([]float32, n*size)
	for gy := 0; gy*ph < h; gy++ {
		for gx := 0; gx*pw < w; gx++ {
			copy(covered, x[:n*size])
			for i := range n {
				for y := gy * ph; y < min(h, (gy+1)*ph); y++ {
					for xx := gx * pw; xx < min(w, (gx+1)*pw); xx++ {
						clear(covered[i*size+(y*w+xx)*c : i*size+(y*w+xx+1)*c])
					}
				}
			}
			logits := net.Forward(covered, n, false)
			for i := range n {
				d := base[i] - prob(logits, i)
				for y := gy * ph; y < min(h, (gy+1)*ph); y++ {
					for xx := gx * pw; xx < min(w, (gx+1)*pw); xx++ {
						fall[i*h*w+y*w+xx] = d
					}
				}
			}
		}
	}
	out := make([]byte, n*h*w)
	for i := range n {
		f := fall[i*h*w : (i+1)*h*w]
		top := slices.Max(f)
		if !(top > 0) {
			continue
		}
		for p, d := range f {
			if d > 0 {
				out[i*h*w+p] = byte(math.Round(255 * d / top))
			}
		}
	}
	return out
}
