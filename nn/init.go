package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Initializer names, as in Keras and GoMLX.
const (
	HeNormal      = "he_normal"
	HeUniform     = "he_uniform"
	GlorotNormal  = "glorot_normal"
	GlorotUniform = "glorot_uniform"
)

// truncatedStd corrects the standard deviation of a normal truncated at two
// standard deviations so the samples keep the wanted variance (Keras does the
// same in its variance-scaling initializers).
const truncatedStd = 0.87962566103423978

func checkInit(name string) error {
	switch name {
	case HeNormal, HeUniform, GlorotNormal, GlorotUniform:
		return nil
	}
	return fmt.Errorf("unknown initializer %q (want he_normal, he_uniform, glorot_normal or glorot_uniform)", name)
}

// initialize fills w with the named variance-scaling initializer. Samples
// are drawn in order from rng, so the same seed gives the same weights.
func initialize(w []float32, name string, fanIn, fanOut int, rng *rand.Rand) {
	var scale float64 // variance of the distribution
	switch name {
	case HeNormal, HeUniform:
		scale = 2 / float64(max(fanIn, 1))
	case GlorotNormal, GlorotUniform:
		scale = 2 / float64(max(fanIn+fanOut, 1))
	default:
		panic("nn: unknown initializer")
	}
	switch name {
	case HeUniform, GlorotUniform:
		limit := math.Sqrt(3 * scale)
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * limit)
		}
	default:
		std := math.Sqrt(scale) / truncatedStd
		for i := range w {
			v := rng.NormFloat64()
			for math.Abs(v) > 2 {
				v = rng.NormFloat64()
			}
			w[i] = float32(v * std)
		}
	}
}
