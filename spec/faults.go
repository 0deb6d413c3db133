package spec

import (
	"fmt"
	"slices"
	"strings"
)

// A Fault is a classic mistake planted in a spec on purpose: the page
// trains the current spec with it, for a class or for oneself to see what
// the mistake does to the curves and whether the doctor names it. Each
// fault is a few spec changes ("path=value" pairs for Set), worked out
// from the spec it is planted in (a rate a thousand times the spec's own).
type Fault struct {
	// Name identifies the fault ("raw-pixels").
	Name string
	// Title names it for a person ("Raw 0–255 pixels").
	Title string
	// Cause is the doctor's cause the fault should be named as
	// ("unnormalized_input"); the doctor's tests plant every fault in a
	// healthy run and hold it to naming this.
	Cause string
	// What says what the fault does and what it shows.
	What string
	// changes returns the fault's changes to s, or why s already has it.
	changes func(s *Spec) ([]string, error)
}

// Changes returns the fault's changes to s as "path=value" pairs, or an
// error when s already has the fault.
func (f Fault) Changes(s *Spec) ([]string, error) { return f.changes(s) }

// Plant returns a copy of s (expanded) with the fault, and its changes.
func (f Fault) Plant(s *Spec) (*Spec, []string, error) {
	sets, err := f.changes(s)
	if err != nil {
		return nil, nil, err
	}
	out := s.Clone()
	for _, kv := range sets {
		path, value, _ := strings.Cut(kv, "=")
		if err := out.Set(path, value); err != nil {
			return nil, nil, fmt.Errorf("planting %s: %v", f.Name, err)
		}
	}
	out.Expand()
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("planting %s: %v", f.Name, err)
	}
	return out, sets, nil
}

// FindFault returns the fault of a name.
func FindFault(name string) (Fault, bool) {
	i := slices.IndexFunc(Faults, func(f Fault) bool { return f.Name == name })
	if i < 0 {
		return Fault{}, false
	}
	return Faults[i], true
}

// Faults are the mistakes the page can plant, in the order it lists them.
var Faults = []Fault{
	{
		Name: "raw-pixels", Title: "Raw 0–255 pixels", Cause: "unnormalized_input",
		What: "feeds the network the pixels as bytes, 0 to 255, instead of scaled to [0, 1] or standardized: every first-layer gradient is hundreds of times larger, and a rate that suits scaled inputs throws the weights about",
		changes: func(s *Spec) ([]string, error) {
			if s.Data.Normalization == "raw" {
				return nil, fmt.Errorf("the spec already feeds raw pixels (data.normalization raw)")
			}
			return []string{"data.normalization=raw"}, nil
		},
	},
	{
		Name: "rate-too-high", Title: "A learning rate 1,000 times too high", Cause: "lr_too_high",
		What:    "multiplies the learning rate by 1,000: each step overshoots, the loss jumps or stays at a constant guess's, and the accuracy stays near chance",
		changes: func(s *Spec) ([]string, error) { return s.RateSets(1000), nil },
	},
	{
		Name: "rate-too-low", Title: "A learning rate 1,000 times too low", Cause: "lr_too_low",
		What:    "divides the learning rate by 1,000: the weights barely move, the loss crawls down from a constant guess's, and the run ends long before it has learned",
		changes: func(s *Spec) ([]string, error) { return s.RateSets(1e-3), nil },
	},
	{
		Name: "wrong-labels", Title: "40% of the labels wrong", Cause: "label_noise",
		What: "gives 40% of the training and validation images a wrong label at random (the test images keep theirs): the network learns the rest and memorizes the wrong ones, and validation accuracy stalls near 60% of what it could be",
		changes: func(s *Spec) ([]string, error) {
			if s.Data.LabelNoise >= 0.4 {
				return nil, fmt.Errorf("the spec already makes %g of the labels wrong (data.label_noise)", s.Data.LabelNoise)
			}
			return []string{"data.label_noise=0.4"}, nil
		},
	},
	{
		Name: "imbalance", Title: "Classes 30 to 1", Cause: "class_imbalance",
		What: "thins the classes' training images step by step, from the first class, which keeps all of its, to the last, which keeps 3%: the network learns to answer the common classes, and the rare ones' recall collapses while the overall accuracy looks fair",
		changes: func(s *Spec) ([]string, error) {
			if s.Data.Imbalance > 0 && s.Data.Imbalance <= 0.03 {
				return nil, fmt.Errorf("the spec already thins the classes to %g (data.imbalance)", s.Data.Imbalance)
			}
			return []string{"data.imbalance=0.03", "data.balance=none"}, nil
		},
	},
	{
		Name: "augmentation", Title: "Augmentation that destroys the class", Cause: "augmentation_too_strong",
		What: "turns every training image by up to 180°, flips half of them upside down and shifts them by up to 40%: a 6 becomes a 9, a shoe points up, and the training images no longer look like the validation images",
		changes: func(s *Spec) ([]string, error) {
			return []string{"data.augment.rotation.p=1", "data.augment.rotation.strength=180", "data.augment.flip_vertical.p=0.5",
				"data.augment.shift.p=1", "data.augment.shift.strength=0.4"}, nil
		},
	},
	{
		Name: "penalty", Title: "An L2 penalty 10,000 times too strong", Cause: "underfitting",
		What: "sets the L2 penalty to 1 (1e-4 is usual): on all but the easiest data the penalty outweighs the loss, the weights shrink toward zero, and the network answers close to a constant guess on training and validation images alike",
		changes: func(s *Spec) ([]string, error) {
			if s.Train.L2 >= 1 {
				return nil, fmt.Errorf("the spec already has train.l2 %g", s.Train.L2)
			}
			return []string{"train.l2=1"}, nil
		},
	},
}
