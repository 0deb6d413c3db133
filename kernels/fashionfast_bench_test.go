package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkFashionFastConvs runs the convolutions of a half batch (64
// images) of fashion-fast, forward and backward.
func BenchmarkFashionFastConvs(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		p    ConvParams
	}{
		{"conv1-5x5s2", NewConvParams(64, 28, 28, 1, 5, 5, 8, 2, 2, 1, 1, 2, 2)},
		{"conv2-3x3", NewConvParams(64, 14, 14, 8, 3, 3, 16, 1, 1, 1, 1, 1, 1)},
	} {
		p := c.p
		x := randSlice(r, p.N*p.H*p.W*p.C, -1, 1)
		w := randSlice(r, p.KH*p.KW*p.C*p.OC, -1, 1)
		bias := randSlice(r, p.OC, -1, 1)
		y := make([]float32, p.N*p.OH*p.OW*p.OC)
		dy := randSlice(r, len(y), -1, 1)
		dx := make([]float32, len(x))
		dw := make([]float32, len(w))
		db := make([]float32, p.OC)
		s := make([]float32, p.ScratchSize())
		b.Run(c.name+"/forward", func(b *testing.B) {
			for b.Loop() {
				Conv2D(y, x, w, bias, p, s)
			}
		})
		b.Run(c.name+"/gradinput", func(b *testing.B) {
			for b.Loop() {
				Conv2DGradInput(dx, dy, w, p, s)
			}
		})
		b.Run(c.name+"/gradfilter", func(b *testing.B) {
			for b.Loop() {
				Conv2DGradFilter(dw, db, dy, x, p, s)
			}
		})
	}
}

// BenchmarkIm2colOneChannel writes the im2col matrix of fashion-fast's
// first convolution (5×5, stride 2, one channel) for 64 images.
func BenchmarkIm2colOneChannel(b *testing.B) {
	p := NewConvParams(64, 28, 28, 1, 5, 5, 8, 2, 2, 1, 1, 2, 2)
	r := rand.New(rand.NewPCG(1, 2))
	x := randSlice(r, p.N*p.H*p.W*p.C, -1, 1)
	col := make([]float32, p.N*p.OH*p.OW*p.KH*p.KW*p.C)
	for b.Loop() {
		im2col(col, x, p, p.N)
	}
}

// BenchmarkFashionFastDense runs the first dense layer of a half batch of
// fashion-fast (64×784 → 128).
func BenchmarkFashionFastDense(b *testing.B) {
	const n, in, out = 64, 784, 128
	r := rand.New(rand.NewPCG(1, 2))
	x := randSlice(r, n*in, -1, 1)
	w := randSlice(r, in*out, -1, 1)
	bias := randSlice(r, out, -1, 1)
	y := make([]float32, n*out)
	dy := randSlice(r, n*out, -1, 1)
	dx, dw, db := make([]float32, n*in), make([]float32, in*out), make([]float32, out)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			Dense(y, x, w, bias, n, in, out)
		}
	})
	b.Run("gradinput", func(b *testing.B) {
		for b.Loop() {
			DenseGradInput(dx, dy, w, n, in, out)
		}
	})
	b.Run("gradparams", func(b *testing.B) {
		for b.Loop() {
			DenseGradParams(dw, db, dy, x, n, in, out)
		}
	})
}

// BenchmarkCopyLoop is the cost of a loop iteration: a copy of one float
// per iteration, as large as BenchmarkIm2colOneChannel's matrix. Under
// wasm (valgrind's instruction count of node running the test binary) it
// takes about 28 machine instructions per float, the loop's branch
// through the function's dispatch table most of them.
func BenchmarkCopyLoop(b *testing.B) {
	s := make([]float32, 313600)
	d := make([]float32, 313600)
	for b.Loop() {
		for i, v := range s {
			d[i] = v
		}
	}
}
