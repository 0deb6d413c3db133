//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The scalar micro-kernel that stands in for the vector one on a CPU
// without AVX2 or FMA computes the same products.
func TestGemmScalarFallback(t *testing.T) {
	defer func(v bool) { simdKernel = v }(simdKernel)
	simdKernel = false
	TestGemmMatchesReference(t)
	TestOpsMatchReference(t)
}

// The vector ReLU and its gradient keep exactly what the scalar ones keep,
// on the values where a comparison could differ from the bit test: signed
// zeros, infinities, NaNs of either sign, subnormals.
func TestReLUVectorBits(t *testing.T) {
	special := []float32{
		float32(math.Copysign(0, -1)), 0, 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), -float32(math.NaN()), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32,
	}
	x := append(append([]float32(nil), special...), special[:7]...) // 19: two vectors and a tail
	y := slices.Clone(x)
	slices.Reverse(y)
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = float32(i) - 9.5
	}
	want, got := make([]float32, len(x)), make([]float32, len(x))
	reluScalar(want, x)
	relu(got, x)
	if !slices.EqualFunc(got, want, sameBits) {
		t.Errorf("relu(%v) = %v, want %v", x, got, want)
	}
	reluGradScalar(want, dy, y)
	reluGrad(got, dy, y)
	if !slices.EqualFunc(got, want, sameBits) {
		t.Errorf("reluGrad(y = %v) = %v, want %v", y, got, want)
	}
}

// Winograd's tile transforms with vectors give the scalar ones' bits,
// signed zeros (a negation is a sign flip, not 0−x) and NaNs included, for
// 19 channels: two vectors and a tail.
func TestWinogradTilesVectorBits(t *testing.T) {
	const c = 19
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, float32(math.Inf(1)), float32(math.NaN()), 3e-39}
	r := rand.New(rand.NewPCG(5, 6))
	value := func() float32 {
		if r.IntN(3) == 0 {
			return special[r.IntN(len(special))]
		}
		return r.Float32()*4 - 2
	}
	slice := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = value()
		}
		return s
	}
	same := func(what string, got, want []float32) {
		t.Helper()
		if !slices.EqualFunc(got, want, sameBits) {
			t.Errorf("%s: vector %v, scalar %v", what, got, want)
		}
	}
	var in [16][]float32
	for i := range in {
		in[i] = slice(c)
	}
	got, want := make([]float32, 16*c), make([]float32, 16*c)
	winogradInputTile(got, &in)
	winogradInputTileScalar(want, &in, 0)
	same("input transform", got, want)

	m := slice(16 * c)
	for _, bias := range [][]float32{nil, slice(c)} {
		var gotOut, wantOut [4][]float32
		for i := range 4 {
			gotOut[i], wantOut[i] = make([]float32, c), make([]float32, c)
		}
		winogradOutputTile(&gotOut, m, bias)
		winogradOutputTileScalar(&wantOut, m, bias, 0)
		for i := range 4 {
			same("output transform", gotOut[i], wantOut[i])
		}
	}

	var dy [4][]float32
	for i := range dy {
		dy[i] = slice(c)
	}
	winogradGradTile(got, &dy)
	winogradGradTileScalar(want, &dy, 0)
	same("gradient transform", got, want)
}

// Batch norm's row loops with vectors give the scalar ones' bits, for 19
// channels in rows 23 apart (vectors of four and eight, and a tail), on
// values of many magnitudes with signed zeros among them.
func TestBatchNormVectorBits(t *testing.T) {
	const rows, c, width = 7, 23, 19
	r := rand.New(rand.NewPCG(7, 8))
	values := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			switch r.IntN(8) {
			case 0:
				s[i] = float32(math.Copysign(0, -1))
			case 1:
				s[i] = 0
			default:
				s[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
			}
		}
		return s
	}
	x, dy := values(rows*c), values(rows*c)
	m, is, sc, of := values(width), values(width), values(width), values(width)
	sums64 := func(f func(a, b []float64)) (got, want []float64) {
		got, want = make([]float64, width), make([]float64, width)
		for i := range got {
			got[i] = float64(i) / 3
			want[i] = got[i]
		}
		f(got, want)
		return got, want
	}
	same64 := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

	got, want := sums64(func(g, w []float64) { columnSums(g, x, rows, c); columnSumsScalar(w, x, rows, c, 0) })
	if !slices.EqualFunc(got, want, same64) {
		t.Errorf("columnSums = %v, want %v", got, want)
	}
	got, want = sums64(func(g, w []float64) { bnSquares(g, x, m, rows, c); bnSquaresScalar(w, x, m, rows, c, 0) })
	if !slices.EqualFunc(got, want, same64) {
		t.Errorf("bnSquares = %v, want %v", got, want)
	}
	sdx, sdxWant := sums64(func(g, w []float64) {})
	got, want = sums64(func(g, w []float64) {
		bnGradSums(g, sdx, dy, x, m, is, rows, c)
		bnGradSumsScalar(w, sdxWant, dy, x, m, is, rows, c, 0)
	})
	if !slices.EqualFunc(got, want, same64) || !slices.EqualFunc(sdx, sdxWant, same64) {
		t.Errorf("bnGradSums = %v, %v, want %v, %v", got, sdx, want, sdxWant)
	}

	// The outputs' channels past the block keep their fill.
	fill := func() []float32 { return slices.Repeat([]float32{sentinel}, rows*c) }
	y, yw := fill(), fill()
	bnNormalize(y, x, m, is, sc, of, rows, c)
	bnNormalizeScalar(yw, x, m, is, sc, of, rows, c, 0)
	if !slices.EqualFunc(y, yw, sameBits) {
		t.Errorf("bnNormalize = %v, want %v", y, yw)
	}
	y, yw = fill(), fill()
	bnInfer(y, x, m, is, of, rows, c)
	bnInferScalar(yw, x, m, is, of, rows, c, 0)
	if !slices.EqualFunc(y, yw, sameBits) {
		t.Errorf("bnInfer = %v, want %v", y, yw)
	}
	y, yw = fill(), fill()
	bnGrad(y, dy, x, m, is, sc, of, is, rows, c)
	bnGradScalar(yw, dy, x, m, is, sc, of, is, rows, c, 0)
	if !slices.EqualFunc(y, yw, sameBits) {
		t.Errorf("bnGrad = %v, want %v", y, yw)
	}
}

// The depthwise kernels with vectors give the scalar ones' bits (each
// product rounded before it is added, in both), channel tails included:
// 43 channels are one block of four vectors, one vector and three left
// over.
func TestDepthwiseVectorBits(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	values := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	for _, s := range []shape{
		{N: 2, H: 5, W: 4, C: 43, KH: 3, KW: 3, Mult: 1, Same: true},
		{N: 1, H: 7, W: 6, C: 40, KH: 3, KW: 3, Mult: 1, S: 2, Pad: [4]int{0, 2, 2, 0}},
	} {
		p := s.conv()
		x, w, bias, dy := values(p.N*p.H*p.W*p.C), values(p.KH*p.KW*p.C), values(p.C), values(p.N*p.OH*p.OW*p.C)
		got, want := make([]float32, len(dy)), make([]float32, len(dy))
		depthwise1(got, x, w, bias, p, 0, p.N*p.OH)
		depthwise1Scalar(want, x, w, bias, p, 0, p.N*p.OH, 0)
		if !slices.EqualFunc(got, want, sameBits) {
			t.Errorf("%v: depthwise1 differs from depthwise1Scalar", s)
		}
		got = values(len(w))
		want = slices.Clone(got)
		depthwise1GradFilter(got, dy, x, p, 0, p.C)
		depthwise1GradFilterScalar(want, dy, x, p, 0, p.C)
		if !slices.EqualFunc(got, want, sameBits) {
			t.Errorf("%v: depthwise1GradFilter differs from depthwise1GradFilterScalar", s)
		}
		got = slices.Clone(x[:p.C])
		want = slices.Clone(got)
		dwAxpy(got, dy, w)
		dwAxpyScalar(want, dy, w)
		if !slices.EqualFunc(got, want, sameBits) {
			t.Errorf("dwAxpy(%d) differs from dwAxpyScalar", p.C)
		}
	}
}
