package train

import (
	"math"
	"slices"
)

// SaliencyMaps turns n input gradients (n, h, w, c) into n maps of h×w
// bytes: each pixel's largest absolute gradient over its channels, scaled
// so that the image's 99th percentile is 255 (the few pixels above it
// saturate rather than darken the rest). An image whose gradient is zero
// everywhere gets a map of zeros.
func SaliencyMaps(grad []float32, n, h, w, c int) []byte {
	pixels := h * w
	out := make([]byte, n*pixels)
	mag := make([]float64, pixels)
	sorted := make([]float64, pixels)
	for i := range n {
		g := grad[i*pixels*c : (i+1)*pixels*c]
		for p := range pixels {
			m := 0.0
			for ch := range c {
				if v := math.Abs(float64(g[p*c+ch])); v > m { // NaN counts as nothing
					m = v
				}
			}
			mag[p] = m
		}
		copy(sorted, mag)
		slices.Sort(sorted)
		top := sorted[min(pixels-1, int(math.Ceil(0.99*float64(pixels)))-1)]
		if !(top > 0) {
			continue
		}
		for p, m := range mag {
			out[i*pixels+p] = byte(math.Round(255 * min(1, m/top)))
		}
	}
	return out
}
