package nn

import (
	"fmt"
	"math"
	"testing"

	"plateau/spec"
)

// TrainingBytes is within 10% of what New allocates, for every preset and
// batch sizes from one to a large batch, where the batch's buffers
// dominate.
func TestTrainingBytes(t *testing.T) {
	for _, name := range spec.PresetNames() {
		s, err := spec.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1, 8, 128} {
			t.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(t *testing.T) {
				n, err := New(s.Model, batch, 1)
				if err != nil {
					t.Fatal(err)
				}
				est, err := TrainingBytes(s.Model, batch)
				if err != nil {
					t.Fatal(err)
				}
				got := n.bytes()
				if d := math.Abs(float64(est-got)) / float64(got); d > 0.10 {
					t.Errorf("estimate %d bytes, New allocates %d (%.1f%% off)", est, got, 100*d)
				}
			})
		}
	}
}
