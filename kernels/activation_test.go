package kernels

import (
	"math"
	"testing"
)

// TestReLUFamilyEdgeValues checks the branch-free ReLU and leaky ReLU
// against their definitions with a comparison (x > 0) on the values where
// the bit tricks could go wrong: zeros of both signs, NaNs, infinities,
// subnormals and the extremes.
func TestReLUFamilyEdgeValues(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, nan, -nan,
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffffffff),
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, 0x1p-126, -0x1p-126,
	}
	const alpha = 0.25
	g := make([]float32, len(x))
	for i := range g {
		g[i] = float32(i) - 3.5
	}
	relu, reluGrad := make([]float32, len(x)), make([]float32, len(x))
	leaky, leakyGrad := make([]float32, len(x)), make([]float32, len(x))
	ReLU(relu, x)
	ReLUGrad(reluGrad, g, x)
	LeakyReLU(leaky, x, alpha)
	LeakyReLUGrad(leakyGrad, g, x, alpha)
	for i, v := range x {
		wantReLU, wantReLUGrad := float32(0), float32(0)
		wantLeaky, wantLeakyGrad := alpha*v, alpha*g[i]
		if v > 0 {
			wantReLU, wantReLUGrad, wantLeaky, wantLeakyGrad = v, g[i], v, g[i]
		}
		for _, c := range []struct {
			name      string
			got, want float32
		}{
			{"ReLU", relu[i], wantReLU},
			{"ReLUGrad", reluGrad[i], wantReLUGrad},
			{"LeakyReLU", leaky[i], wantLeaky},
			{"LeakyReLUGrad", leakyGrad[i], wantLeakyGrad},
		} {
			if math.Float32bits(c.got) != math.Float32bits(c.want) {
				t.Errorf("%s(%v) = %v (%#x), want %v (%#x)", c.name, v, c.got, math.Float32bits(c.got), c.want, math.Float32bits(c.want))
			}
		}
	}
}
