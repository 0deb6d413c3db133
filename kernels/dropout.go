package kernels

import "math/rand/v2"

// Dropout zeroes each element with probability rate and scales the
// survivors by 1/(1-rate) (inverted dropout, so inference needs no
// rescaling): mask[i] = 0 or 1/(1-rate), y = x·mask. One Float32 is drawn
// from rng per element, in order, so a seeded rng gives the same mask on
// every platform. rate 0 draws nothing and keeps every element.
// y, mask, x have the same length.
func Dropout(y, mask, x []float32, rate float32, rng *rand.Rand) {
	if !(rate >= 0 && rate < 1) {
		panic(errBadRate)
	}
	checkSame(len(y), mask, x)
	mask, x = mask[:len(y)], x[:len(y)]
	if rate == 0 {
		for i := range mask {
			mask[i] = 1
		}
		copy(y, x)
		return
	}
	keep := 1 / (1 - rate)
	for i, v := range x {
		if rng.Float32() < rate {
			mask[i] = 0
			y[i] = 0
		} else {
			mask[i] = keep
			y[i] = v * keep
		}
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
