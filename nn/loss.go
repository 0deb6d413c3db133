package nn

import "plateau/kernels"

// SoftmaxCrossEntropy returns the mean softmax cross-entropy of logits (N,
// classes) against labels and, when dlogits is non-nil, writes its gradient
// there, ready for Backward. classWeights (one per class, or nil) weight the
// mean; smoothing s trains against (1-s)·onehot + s/classes. It is the
// training loss of every network; see kernels.SoftmaxCrossEntropy.
func SoftmaxCrossEntropy(dlogits, logits []float32, labels []int32, classWeights []float32, smoothing float64, n, classes int) float64 {
	return float64(kernels.SoftmaxCrossEntropy(dlogits, nil, logits, labels, classWeights, float32(smoothing), n, classes))
}
