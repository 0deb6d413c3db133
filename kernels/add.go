package kernels

// Add computes y = a + b element-wise (a residual connection's forward).
// The length of y decides how many elements are processed.
func Add(y, a, b []float32) {
	checkSame(len(y), a, b)
	runElementwise(&partTask{op: partAdd, dst: y, a: a, b: b}, len(y), 3)
}

func add(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// AddTo computes y += x: the gradient of a tensor read by several layers is
// the sum of what each of them sends back.
func AddTo(y, x []float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partAddTo, dst: y, a: x}, len(y), 3)
}
