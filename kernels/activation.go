package kernels

import "math"

// Element-wise activations. y, x, dy and dx all have the same length; the
// length of the destination decides how many elements are processed. Long
// slices are split across threads (parallel.go); each function's loop is
// the lower-case function below it.

// checkSame panics unless every source is at least as long as dst.
func checkSame(dst int, srcs ...[]float32) {
	for _, s := range srcs {
		if len(s) < dst {
			panic(errLengthMismatch)
		}
	}
}

// ReLU computes y = max(x, 0).
func ReLU(y, x []float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partReLU, dst: y, a: x}, len(y), 2)
}

// positive returns all ones when v > 0 and zero otherwise (for zeros of
// either sign, negative numbers and NaNs), without a branch: v > 0 exactly
// when its bits, less one, are below those of +Inf. Activations are
// positive or not about at random, so a branch on the sign is mispredicted
// about half the time and costs several times the rest of the loop
// (natively, and under wasm).
func positive(v float32) uint32 {
	return uint32((int64(math.Float32bits(v)-1) - 0x7f800000) >> 63)
}

// keepIf returns v where mask is all ones and +0 where it is zero.
func keepIf(v float32, mask uint32) float32 {
	return math.Float32frombits(math.Float32bits(v) & mask)
}

// reluScalar is relu one element at a time (relu, in each build's file,
// calls it for what it does not do with vectors). It, reluGradScalar,
// add and addTo take four elements per iteration: under wasm every
// iteration is a branch through the function's dispatch table, which costs
// more than the element's work (in node, 38% less time for reluGrad and
// half for add and addTo; natively the same speed).
func reluScalar(y, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		a, b := x[i:i+4:i+4], y[i:i+4:i+4]
		b[0] = keepIf(a[0], positive(a[0]))
		b[1] = keepIf(a[1], positive(a[1]))
		b[2] = keepIf(a[2], positive(a[2]))
		b[3] = keepIf(a[3], positive(a[3]))
	}
	for ; i < len(y); i++ {
		y[i] = keepIf(x[i], positive(x[i]))
	}
}

// ReLUGrad computes dx = dy where the output y was positive, else 0.
func ReLUGrad(dx, dy, y []float32) {
	checkSame(len(dx), dy, y)
	runElementwise(&partTask{op: partReLUGrad, dst: dx, a: dy, b: y}, len(dx), 3)
}

// reluGradScalar is reluGrad one element at a time.
func reluGradScalar(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	i := 0
	for ; i+4 <= len(dx); i += 4 {
		d, g, o := dx[i:i+4:i+4], dy[i:i+4:i+4], y[i:i+4:i+4]
		d[0] = keepIf(g[0], positive(o[0]))
		d[1] = keepIf(g[1], positive(o[1]))
		d[2] = keepIf(g[2], positive(o[2]))
		d[3] = keepIf(g[3], positive(o[3]))
	}
	for ; i < len(dx); i++ {
		dx[i] = keepIf(dy[i], positive(y[i]))
	}
}

// LeakyReLU computes y = x for x > 0, alpha·x otherwise.
func LeakyReLU(y, x []float32, alpha float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partLeakyReLU, dst: y, a: x, alpha: alpha}, len(y), 2)
}

func leakyReLU(y, x []float32, alpha float32) {
	x = x[:len(y)]
	for i, v := range x {
		keep := positive(v)
		y[i] = math.Float32frombits(math.Float32bits(v)&keep | math.Float32bits(alpha*v)&^keep)
	}
}

// LeakyReLUGrad computes dx = dy for x > 0, alpha·dy otherwise.
func LeakyReLUGrad(dx, dy, x []float32, alpha float32) {
	checkSame(len(dx), dy, x)
	runElementwise(&partTask{op: partLeakyReLUGrad, dst: dx, a: dy, b: x, alpha: alpha}, len(dx), 3)
}

func leakyReLUGrad(dx, dy, x []float32, alpha float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i, g := range dy {
		keep := positive(x[i])
		dx[i] = math.Float32frombits(math.Float32bits(g)&keep | math.Float32bits(alpha*g)&^keep)
	}
}

// expCost is roughly how many streamed floats one call of math.Exp or
// math.Tanh costs, so that ELU, sigmoid and tanh split at shorter lengths
// than the loops that only move memory.
const expCost = 8

// ELU computes y = x for x > 0, alpha·(eˣ-1) otherwise.
func ELU(y, x []float32, alpha float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partELU, dst: y, a: x, alpha: alpha}, len(y), expCost)
}

func elu(y, x []float32, alpha float32) {
	x = x[:len(y)]
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = alpha * float32(math.Expm1(float64(v)))
		}
	}
}

// ELUGrad computes dx = dy for x > 0, dy·(y+alpha) otherwise, reusing the
// forward output since d/dx alpha·(eˣ-1) = alpha·eˣ = y + alpha.
func ELUGrad(dx, dy, x, y []float32, alpha float32) {
	checkSame(len(dx), dy, x, y)
	runElementwise(&partTask{op: partELUGrad, dst: dx, a: dy, b: x, c: y, alpha: alpha}, len(dx), 4)
}

func eluGrad(dx, dy, x, y []float32, alpha float32) {
	dy, x, y = dy[:len(dx)], x[:len(dx)], y[:len(dx)]
	for i, g := range dy {
		if x[i] > 0 {
			dx[i] = g
		} else {
			dx[i] = g * (y[i] + alpha)
		}
	}
}

// Sigmoid computes y = 1/(1+e⁻ˣ) without overflow for large |x|.
func Sigmoid(y, x []float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partSigmoid, dst: y, a: x}, len(y), expCost)
}

func sigmoid(y, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		if v >= 0 {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		} else {
			e := math.Exp(float64(v))
			y[i] = float32(e / (1 + e))
		}
	}
}

// SigmoidGrad computes dx = dy·y·(1-y) from the forward output y.
func SigmoidGrad(dx, dy, y []float32) {
	checkSame(len(dx), dy, y)
	runElementwise(&partTask{op: partSigmoidGrad, dst: dx, a: dy, b: y}, len(dx), 3)
}

func sigmoidGrad(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, g := range dy {
		dx[i] = g * y[i] * (1 - y[i])
	}
}

// Tanh computes y = tanh(x).
func Tanh(y, x []float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partTanh, dst: y, a: x}, len(y), expCost)
}

func tanh(y, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] = float32(math.Tanh(float64(v)))
	}
}

// TanhGrad computes dx = dy·(1-y²) from the forward output y.
func TanhGrad(dx, dy, y []float32) {
	checkSame(len(dx), dy, y)
	runElementwise(&partTask{op: partTanhGrad, dst: dx, a: dy, b: y}, len(dx), 3)
}

func tanhGrad(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, g := range dy {
		dx[i] = g * (1 - y[i]*y[i])
	}
}
