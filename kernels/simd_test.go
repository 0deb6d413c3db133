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
