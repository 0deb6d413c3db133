package doctor

import (
	"fmt"
	"math"

	"plateau/train"
)

// checkVanishingGradients: the gradient shrinks on its way back, so the
// first layers do not learn.
//
// Evidence: the last epoch's per-layer relative gradients ‖g‖/‖w‖ of the
// first and last weighted layers (gradient_ratio = first / last, needs 3
// weighted layers), the count of saturating activations (sigmoid, tanh),
// the depth, and the training progress (1 − best loss / ln K).
//
// Thresholds: fires when gradient_ratio < 0.01, or < 0.05 with sigmoid
// or tanh layers in a run that after 3 epochs has learned little
// (progress < 0.3: confidence 0.5). Confidence 0.6 + 0.3 ×
// ramp(−log10 ratio, 2, 4), + 0.05 when the model uses sigmoid or tanh;
// × 0.6 when the run learned anyway (progress > 0.5); silent when more
// than half the ReLU units are dead, or a whole ReLU layer, which zeroes
// gradients for another reason (dead_relu); halved when the layers passed
// the gradient at the first check of a run stuck at a constant guess
// since (label_noise's silentLabels).
//
// Before the first epoch's end, the same reading of the layers of the
// step before the latest check, when the checks are stuck at a constant
// guess at a usual rate (layersAtTheChecks), at 0.85 of the confidence.
//
// Advice: relu (or leaky_relu) with he_normal init instead of saturating
// activations, batch norm after each conv or dense layer, residual
// connections, or fewer layers.
func checkVanishingGradients(t *Telemetry) *train.Diagnosis {
	if v, s, ok := t.layersAtTheChecks(); ok {
		return s.earlyLayers(checkVanishingGradients(v))
	}
	ratio := t.gradientRatio()
	saturating := t.countLayers("sigmoid", "tanh")
	var conf float64
	switch {
	case ratio < 0.01:
		conf = 0.6 + 0.3*ramp(-math.Log10(ratio), 2, 4) + 0.05*b2f(saturating > 0)
	case ratio < 0.05 && saturating > 0 && t.progress() < 0.3 && len(t.Epochs) >= 3:
		// Saturating activations in a run that has not got going: each
		// one scales the gradient by a quarter at most on its way back
		// (small-cnn with sigmoids and sgd at 0.01 sat at chance for 8
		// epochs, its first layer's relative gradient 0.018 of the
		// last's; with relu it tests 70%).
		conf = 0.5
	default:
		return nil
	}
	if t.progress() > 0.5 {
		conf *= 0.6
	}
	if d := checkDeadReLU(t); d != nil && (d.Evidence["mean_dead_fraction"] > 0.5 || d.Evidence["max_dead_fraction"] >= 0.999) {
		// Dead units pass no gradient at all: that rule names the cause,
		// and batch norm or residual connections would not revive them.
		return nil
	}
	if silentLabels(t) != nil {
		// The gradient faded as the network settled on a constant guess,
		// after its first check had passed it: label_noise names why.
		conf *= 0.5
	}
	ls := t.weightedLayers()
	advice := fmt.Sprintf("the first layer's relative gradient is %.2g times the last layer's: ", ratio)
	if saturating > 0 {
		advice += "replace sigmoid/tanh with relu and he_normal init, "
	}
	advice += "add batchnorm after each conv or dense layer, use residual connections (resnet-small), or remove layers"
	return &train.Diagnosis{Confidence: conf,
		Evidence: map[string]float64{
			"gradient_ratio":         ratio,
			"first_layer_grad_norm":  ls[0].GradNorm,
			"last_layer_grad_norm":   ls[len(ls)-1].GradNorm,
			"weighted_layers":        float64(len(ls)),
			"saturating_activations": float64(saturating),
			"progress":               t.progress(),
		},
		Advice: advice}
}
