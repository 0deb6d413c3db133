package doctor

import (
	"fmt"

	"plateau/train"
)

// checkDeadReLU: ReLU units that output zero for every input receive no
// gradient and never recover.
//
// Evidence: the last epoch's dead_fraction of each relu-family layer (the
// fraction of its channels that were ≤ 0 for a whole batch): their mean
// and maximum, and the rate relative to the optimizer's usual one.
//
// Thresholds: fires when the mean dead fraction exceeds 0.3 or one layer
// exceeds 0.6. Confidence 0.35 + 0.5 × ramp(mean, 0.3, 0.8).
//
// Advice: a lower rate (a large update pushes biases negative for good),
// leaky_relu, batchnorm before the activation, he_normal init.
func checkDeadReLU(t *Telemetry) *train.Diagnosis {
	l := t.last()
	if l == nil {
		return nil
	}
	var sum, worst float64
	n := 0
	worstName := ""
	for _, s := range l.Layers {
		if s.Type != "relu" {
			continue
		}
		sum += s.DeadFraction
		n++
		if s.DeadFraction > worst {
			worst, worstName = s.DeadFraction, s.Name
		}
	}
	if n == 0 {
		return nil
	}
	mean := sum / float64(n)
	if !(mean > 0.3 || worst > 0.6) {
		return nil
	}
	advice := fmt.Sprintf("%.0f%% of %s's units never fire: ", 100*worst, worstName)
	if t.relativeLR() >= 3 {
		advice += fmt.Sprintf("lower train.lr (try %.3g), ", t.Spec.Train.LR/10)
	}
	advice += "use leaky_relu, put batchnorm before the activations, and keep he_normal init"
	return &train.Diagnosis{Confidence: 0.35 + 0.5*ramp(mean, 0.3, 0.8),
		Evidence: map[string]float64{"mean_dead_fraction": mean, "max_dead_fraction": worst, "relu_layers": float64(n), "relative_lr": t.relativeLR()},
		Advice:   advice}
}
