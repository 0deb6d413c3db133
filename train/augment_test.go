package train

import (
	"context"
	"slices"
	"testing"

	"plateau/spec"
)

// TestAugmentMidRun changes the augmentation after a few steps: the run
// then differs from one that kept its settings, a hook that never answers
// changes nothing, and the caller's spec is left as it was.
func TestAugmentMidRun(t *testing.T) {
	ds := tinyDataset()
	losses := func(hook func() *spec.Augment) []float64 {
		s := tinySpec(func(s *spec.Spec) { s.Train.Epochs = 3 })
		before := s.Data.Augment
		res, err := Run(context.Background(), Config{Spec: s, Dataset: ds, Augment: hook})
		if err != nil {
			t.Fatal(err)
		}
		if s.Data.Augment != before {
			t.Errorf("the caller's spec.data.augment changed to %+v", s.Data.Augment)
		}
		var out []float64
		for _, e := range res.History {
			out = append(out, e.TrainLoss)
		}
		return out
	}
	plain := losses(nil)
	if got := losses(func() *spec.Augment { return nil }); !slices.Equal(got, plain) {
		t.Errorf("a hook that never answers changed the run: %v, want %v", got, plain)
	}
	calls := 0
	flipped := losses(func() *spec.Augment {
		calls++
		if calls == 3 {
			return &spec.Augment{FlipVertical: spec.Transform{P: 1}, Rotation: spec.Transform{P: 1, Strength: 90}}
		}
		return nil
	})
	if slices.Equal(flipped, plain) {
		t.Errorf("changing the augmentation at step 3 left the run as it was: %v", flipped)
	}
}
