package kernels

import "math"

// SoftmaxCrossEntropy returns the mean cross-entropy between softmax(logits)
// and the labels, and writes its gradient.
// logits, dlogits, probs are (N,classes); labels is (N); classWeights is
// (classes) or nil; dlogits and probs may be nil.
//
// With label smoothing s the target is t = (1-s)·onehot + s/classes. With
// class weights the mean is weighted: Σ w[yᵢ]·lossᵢ / Σ w[yᵢ], and
// dlogitsᵢ = w[yᵢ]·(pᵢ - tᵢ) / Σ w[yᵢ]. The softmax subtracts each row's
// maximum first, so large logits do not overflow; sums run in float64.
// When every weight is 0 the loss and gradient are 0.
func SoftmaxCrossEntropy(dlogits, probs, logits []float32, labels []int32, classWeights []float32, smoothing float32, n, classes int) (loss float32) {
	if n < 0 || classes <= 0 {
		panic(errBadSize)
	}
	size := n * classes
	if len(logits) < size || len(labels) < n {
		panic(errShortInput)
	}
	if (dlogits != nil && len(dlogits) < size) || (probs != nil && len(probs) < size) {
		panic(errShortOutput)
	}
	if classWeights != nil && len(classWeights) < classes {
		panic(errShortWeights)
	}
	var total float64
	for _, y := range labels[:n] {
		if y < 0 || int(y) >= classes {
			panic(errBadLabel)
		}
		if classWeights != nil {
			total += float64(classWeights[y])
		} else {
			total++
		}
	}
	if total == 0 {
		if dlogits != nil {
			clear(dlogits[:size])
		}
		if probs != nil {
			clear(probs[:size])
		}
		return 0
	}
	s := float64(smoothing)
	off := s / float64(classes) // target of every class from smoothing
	on := 1 - s + off           // target of the labelled class
	var sum float64
	for i := range n {
		row := logits[i*classes : (i+1)*classes]
		y := int(labels[i])
		maximum := row[0]
		for _, v := range row {
			if v > maximum {
				maximum = v
			}
		}
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v - maximum))
		}
		logZ := math.Log(z)
		// -Σ t_j·log p_j with log p_j = (v_j - max) - log Z.
		var rowLoss float64
		for j, v := range row {
			t := off
			if j == y {
				t = on
			}
			if t != 0 {
				rowLoss -= t * (float64(v-maximum) - logZ)
			}
		}
		w := 1.0
		if classWeights != nil {
			w = float64(classWeights[y])
		}
		sum += w * rowLoss
		scale := w / total
		for j, v := range row {
			p := math.Exp(float64(v-maximum)) / z
			if probs != nil {
				probs[i*classes+j] = float32(p)
			}
			if dlogits != nil {
				t := off
				if j == y {
					t = on
				}
				dlogits[i*classes+j] = float32(scale * (p - t))
			}
		}
	}
	return float32(sum / total)
}
