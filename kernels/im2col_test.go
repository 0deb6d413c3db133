package kernels

import (
	"math/rand/v2"
	"testing"
)

// The column-by-column im2col for inputs of few channels writes the same
// matrix as the row-by-row one, padding included, on shapes whose kernel
// is wider than the input, padding wider than the kernel, strides that
// skip columns and one-sided padding.
func TestIm2colFewChannelsMatchesRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tried := 0
	for range 400 {
		c := 1 + r.IntN(3)
		kh, kw := 1+r.IntN(6), 1+r.IntN(6)
		h, w := 1+r.IntN(9), 1+r.IntN(9)
		sh, sw := 1+r.IntN(3), 1+r.IntN(3)
		pt, pl, pb, pr := r.IntN(kh+3), r.IntN(kw+3), r.IntN(kh+3), r.IntN(kw+3)
		if h+pt+pb < kh || w+pl+pr < kw {
			continue
		}
		tried++
		n := 1 + r.IntN(3)
		p := NewConvParams(n, h, w, c, kh, kw, 2, sh, sw, pt, pl, pb, pr)
		x := randSlice(r, n*h*w*c, -1, 1)
		size := n * p.OH * p.OW * kh * kw * c
		want, got := make([]float32, size), make([]float32, size)
		for i := range got {
			want[i], got[i] = 7, 7 // every entry must be written
		}
		im2colRows(want, x, p, n)
		im2colFewChannels(got, x, p, n)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: col[%d] = %v, want %v", p, i, got[i], want[i])
			}
		}
	}
	if tried < 300 {
		t.Fatalf("only %d of 400 shapes were valid convolutions", tried)
	}
}
