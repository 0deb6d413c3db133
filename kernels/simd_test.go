//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
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
