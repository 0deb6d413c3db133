package kernels

import "math"

// Dropout zeroes each element with probability rate and scales the
// survivors by 1/(1-rate) (inverted dropout, so inference needs no
// rescaling): mask[i] = 0 or 1/(1-rate), y = x·mask. Element i is dropped
// when DropoutUniform(key, first+i) < rate: a hash of the key and the
// element's counter, not a stream, so any part of a tensor draws the mask
// the whole tensor would, on any thread and any backend that computes the
// same hash (the GoMLX trainer does, in its graph). rate 0 keeps every
// element. y, mask, x have the same length.
func Dropout(y, mask, x []float32, rate float32, key, first uint32) {
	if !(rate >= 0 && rate < 1) {
		panic(errBadRate)
	}
	checkSame(len(y), mask, x)
	runElementwise(&partTask{op: partDropout, dst: y, a: mask, b: x, alpha: rate, key: key, first: first}, len(y), 3)
}

func dropout(y, mask, x []float32, rate float32, key, first uint32) {
	mask, x = mask[:len(y)], x[:len(y)]
	if rate == 0 {
		for i := range mask {
			mask[i] = 1
		}
		copy(y, x)
		return
	}
	keep := math.Float32bits(1 / (1 - rate))
	// DropoutUniform(key, c) < rate, in integers: the hash's top 24 bits
	// against ⌈rate·2²⁴⌉ (exact: rate·2²⁴ is a float32 times a power of
	// two), so that the choice is a sign bit instead of a branch that half
	// the elements would mispredict at rate 0.5.
	threshold := int32(math.Ceil(float64(rate) * (1 << 24)))
	for i, v := range x {
		drop := (int32(dropoutHash(key, first+uint32(i))>>8) - threshold) >> 31 // -1 or 0
		m := math.Float32frombits(keep &^ uint32(drop))
		mask[i] = m
		y[i] = v * m
	}
}

// DropoutGrad computes dx = dy·mask.
func DropoutGrad(dx, dy, mask []float32) {
	checkSame(len(dx), dy, mask)
	runElementwise(&partTask{op: partDropoutGrad, dst: dx, a: dy, b: mask}, len(dx), 3)
}

func dropoutGrad(dx, dy, mask []float32) {
	dy, mask = dy[:len(dx)], mask[:len(dx)]
	for i, g := range dy {
		dx[i] = g * mask[i]
	}
}

// Mix32 is a bijective 32-bit integer hash (Wellons' lowbias32: xor-shifts
// and two odd multiplications, wrapping), of which dropout's masks are
// made. Every operation is one a compiled graph has on uint32, so another
// backend computes the same bits.
func Mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// DropoutStepKey is the key of one training step's masks: a hash of the
// run's two seed words and the step's number.
func DropoutStepKey(seed0, seed1, step uint32) uint32 {
	return Mix32(seed0 ^ Mix32(step+seed1))
}

// DropoutLayerKey is the key of one layer's mask in a step: a hash of the
// step's key and the layer's salt.
func DropoutLayerKey(stepKey uint32, layer int) uint32 {
	return Mix32(stepKey ^ DropoutLayerSalt(layer))
}

// DropoutLayerSalt is what a layer's index (in the expanded spec) mixes
// into a step's key.
func DropoutLayerSalt(layer int) uint32 {
	return Mix32(uint32(layer)*0x9e3779b9 + 0x7f4a7c15)
}

// DropoutUniform is the number in [0, 1) that decides element counter's
// fate under key, dropped when it is under the rate: the top 24 bits of a
// two-round hash, exact in float32.
func DropoutUniform(key, counter uint32) float32 {
	return float32(dropoutHash(key, counter)>>8) * (1.0 / (1 << 24))
}

func dropoutHash(key, counter uint32) uint32 {
	return Mix32(Mix32(counter+key) ^ key)
}
