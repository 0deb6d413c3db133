package nn

import (
	"fmt"
	"testing"

	"plateau/kernels"
	"plateau/spec"
)

// BenchmarkTrainStep times one forward and backward pass of each preset.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range spec.PresetNames() {
		s, err := spec.Preset(name)
		if err != nil {
			b.Fatal(err)
		}
		const batch = 32
		b.Run(fmt.Sprintf("%s/N=%d", name, batch), func(b *testing.B) {
			n := mustNew(b, s.Model, batch, 1)
			x, y := randomBatch(n, batch, 1)
			dlogits := make([]float32, batch*n.Classes())
			for b.Loop() {
				logits := n.Forward(x, batch, true)
				kernels.SoftmaxCrossEntropy(dlogits, nil, logits, y, nil, 0, batch, n.Classes())
				n.ZeroGrads()
				n.Backward(dlogits)
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
