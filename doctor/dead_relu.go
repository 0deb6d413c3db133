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
// and maximum, the rate relative to the optimizer's usual one, and the
// training progress (1 − best loss / ln K).
//
// Thresholds: fires when the mean dead fraction exceeds 0.5 or one layer
// exceeds 0.8 (small networks measured on one batch show 30–45% dead
// units while they learn well). Confidence 0.35 + 0.5 × ramp(mean, 0.5,
// 0.9), × 0.6 when the run learned anyway (progress > 0.7); at least 0.8
// when a whole layer is dead and the run learned nothing (progress < 0.1:
// no signal passes it), halved when that layer follows a hidden dense
// layer narrower than the classes, which underfitting names, and halved
// when the spec's label noise drowns the labels' signal, or the labels say
// nothing of the images (label_noise's drownedLabels and silentLabels),
// or the images are blank (blank_inputs), or label smoothing leaves the
// targets near uniform (underfitting's heavySmoothing).
//
// Before the first epoch's end, the same reading of the layers of the
// step before the latest check, when the checks are stuck at a constant
// guess at a usual rate (layersAtTheChecks), at 0.85 of the confidence.
//
// Advice: a lower rate (a large update pushes biases negative for good),
// leaky_relu, batchnorm before the activation, he_normal init.
func checkDeadReLU(t *Telemetry) *train.Diagnosis {
	if v, s, ok := t.layersAtTheChecks(); ok {
		return s.earlyLayers(checkDeadReLU(v))
	}
	l := t.last()
	if l == nil {
		return nil
	}
	mean, worst, worstName, n := deadReLUs(l.Layers)
	if n == 0 {
		return nil
	}
	if !(mean > 0.5 || worst > 0.8) {
		return nil
	}
	conf := 0.35 + 0.5*ramp(mean, 0.5, 0.9)
	if t.progress() > 0.7 {
		// The network learns with what is left alive.
		conf *= 0.6
	}
	ev := map[string]float64{"mean_dead_fraction": mean, "max_dead_fraction": worst, "relu_layers": float64(n), "relative_lr": t.relativeLR(), "progress": t.progress()}
	if worst >= 0.999 && t.progress() < 0.1 {
		// A whole layer dead cuts every path through it: the network
		// answers the same for every image and nothing below it learns.
		ev["layer_dead"] = 1
		conf = max(conf, 0.8)
	}
	if i, _ := narrowLayer(t); i >= 0 && i+1 < len(t.Spec.Model.Layers) && t.Spec.Model.Layers[i+1].Name == worstName {
		// The dead units are those of a layer narrower than the classes,
		// where a few units die at once: underfitting names the cure.
		conf *= 0.5
	}
	if drownedLabels(t) != nil || silentLabels(t) != nil || blankInputs(t) || heavySmoothing(t) != nil {
		// Units die as a network that gets no signal from its labels
		// settles on a constant guess: label_noise names the cause.
		conf *= 0.5
	}
	advice := fmt.Sprintf("%.0f%% of %s's units never fire: ", 100*worst, worstName)
	if t.relativeLR() >= 3 {
		advice += fmt.Sprintf("lower %s, ", rateText(t.Spec, 0.1))
	}
	advice += "use leaky_relu, put batchnorm before the activations, and keep he_normal init"
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
}

// deadReLUs is the mean and the largest dead fraction over the ReLU
// layers among layers, the worst layer's name, and how many there are.
func deadReLUs(layers []train.LayerStats) (mean, worst float64, worstName string, n int) {
	for _, s := range layers {
		if s.Type != "relu" {
			continue
		}
		mean += s.DeadFraction
		n++
		if s.DeadFraction > worst {
			worst, worstName = s.DeadFraction, s.Name
		}
	}
	if n > 0 {
		mean /= float64(n)
	}
	return mean, worst, worstName, n
}
