package kernels

// Add computes y = a + b element-wise (a residual connection's forward).
// The length of y decides how many elements are processed.
func Add(y, a, b []float32) {
	checkSame(len(y), a, b)
	runElementwise(&partTask{op: partAdd, dst: y, a: a, b: b}, len(y), 3)
}

func add(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		d, u, v := y[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = u[0]+v[0], u[1]+v[1], u[2]+v[2], u[3]+v[3]
	}
	for ; i < len(y); i++ {
		y[i] = a[i] + b[i]
	}
}

// AddTo computes y += x: the gradient of a tensor read by several layers is
// the sum of what each of them sends back.
func AddTo(y, x []float32) {
	checkSame(len(y), x)
	runElementwise(&partTask{op: partAddTo, dst: y, a: x}, len(y), 3)
}
