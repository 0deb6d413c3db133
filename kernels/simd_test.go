//go:build goexperiment.simd && amd64

package kernels

import "testing"

// The scalar micro-kernel that stands in for the vector one on a CPU
// without AVX2 or FMA computes the same products.
func TestGemmScalarFallback(t *testing.T) {
	defer func(v bool) { simdKernel = v }(simdKernel)
	simdKernel = false
	TestGemmMatchesReference(t)
	TestOpsMatchReference(t)
}
