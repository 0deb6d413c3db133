package kernels

// checkDense panics when a dense layer's slices are shorter than its shape.
func checkDense(x, y, w, n, in, out int) {
	if n < 0 || in <= 0 || out <= 0 {
		panic(errBadSize)
	}
	if x < n*in {
		panic(errShortInput)
	}
	if y < n*out {
		panic(errShortOutput)
	}
	if w < in*out {
		panic(errShortWeights)
	}
}

// Dense computes y = x·w + bias.
// x is (N,IN); w is (IN,OUT); bias is (OUT) or nil; y is (N,OUT).
func Dense(y, x, w, bias []float32, n, in, out int) {
	checkDense(len(x), len(y), len(w), n, in, out)
	if bias != nil && len(bias) < out {
		panic(errShortBias)
	}
	Gemm(false, false, n, out, in, 1, x, in, w, out, 0, y, out)
	if bias != nil {
		addRowVectorParallel(y[:n*out], bias[:out])
	}
}

// DenseGradInput computes dx = dy·wᵀ (assigned).
// dy is (N,OUT); w is (IN,OUT); dx is (N,IN).
func DenseGradInput(dx, dy, w []float32, n, in, out int) {
	checkDense(len(dx), len(dy), len(w), n, in, out)
	Gemm(false, true, n, in, out, 1, dy, out, w, out, 0, dx, in)
}

// DenseGradParams accumulates dw += xᵀ·dy and dbias += Σ dy over the batch.
// dy is (N,OUT); x is (N,IN); dw is (IN,OUT); dbias is (OUT) or nil.
func DenseGradParams(dw, dbias, dy, x []float32, n, in, out int) {
	checkDense(len(x), len(dy), len(dw), n, in, out)
	if dbias != nil && len(dbias) < out {
		panic(errShortBias)
	}
	Gemm(true, false, in, out, n, 1, x, in, dy, out, 1, dw, out)
	if dbias != nil {
		addColumnSumsParallel(dbias[:out], dy, n, out)
	}
}
