package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPoolTiesNaNsAndZeros checks MaxPool's documented rule on inputs
// full of ties, NaNs and zeros of both signs, for each way it walks a
// window: 2×2 (unrolled), up to maxPoolCells cells, and larger, with
// windows cut by padding: the first cell starts the maximum and a later
// one replaces it only when greater, or when it is a NaN and the maximum
// is not yet one.
func TestMaxPoolTiesNaNsAndZeros(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	values := []float32{0, negZero, 1, 1, -1, nan, 2, 2}
	// 19 channels: two vectors and a tail where the SIMD build vectorizes.
	for _, tc := range [][2]int{{2, 3}, {3, 3}, {5, 3}, {2, 19}} {
		k := tc[0]
		p := NewPoolParams(2, 7, 6, tc[1], k, k, 2, 2, 1, 1, 1, 1)
		r := rand.New(rand.NewPCG(uint64(k), 1))
		x := make([]float32, p.N*p.H*p.W*p.C)
		for i := range x {
			x[i] = values[r.IntN(len(values))]
		}
		y, argmax := make([]float32, p.N*p.OH*p.OW*p.C), make([]int32, p.N*p.OH*p.OW*p.C)
		MaxPool(y, argmax, x, p)
		for n := range p.N {
			for oh := range p.OH {
				for ow := range p.OW {
					h0, h1, w0, w1 := p.window(oh, ow)
					for c := range p.C {
						want, wantArg := float32(0), -1
						for ih := h0; ih < h1; ih++ {
							for iw := w0; iw < w1; iw++ {
								i := ((n*p.H+ih)*p.W+iw)*p.C + c
								v := x[i]
								if wantArg < 0 || v > want || (v != v && want == want) {
									want, wantArg = v, i
								}
							}
						}
						at := ((n*p.OH+oh)*p.OW+ow)*p.C + c
						if math.Float32bits(y[at]) != math.Float32bits(want) || int(argmax[at]) != wantArg {
							t.Fatalf("K=%d: output %d = %v at %d, want %v at %d", k, at, y[at], argmax[at], want, wantArg)
						}
					}
				}
			}
		}
	}
}
