package doctor

import (
	"math"
	"strings"

	"plateau/train"
)

// checkExplodingGradients: activations and gradients grow layer by layer
// through a deep stack without normalization, until updates overshoot.
//
// Evidence: the depth (conv and dense layers) and whether the model has
// batchnorm, the first epoch's training loss over ln K (a deep stack that
// amplifies its input starts with huge logits), the epoch mean gradient
// norms (growth = largest / first epoch's), the last epoch's
// gradient_ratio (first weighted layer's relative gradient over the last
// one's), a divergence and its reason, and relative_lr.
//
// Thresholds:
//   - a deep stack (6 or more conv/dense layers, no batchnorm) that
//     diverged at an ordinary rate (relative_lr < 5), or diverged on a
//     non-finite gradient: 0.92;
//   - gradient norm growth > 10: 0.6 + 0.3 × ramp(log10 growth, 1, 3);
//   - gradient_ratio > 100: 0.7;
//   - a deep stack whose first epoch's loss exceeds 1.5 × ln K: 0.7.
//
// × 0.7 when train.grad_clip is already set.
//
// Advice: batchnorm after conv and dense layers, train.grad_clip 1, fewer
// layers or residual connections, a lower rate.
func checkExplodingGradients(t *Telemetry) *train.Diagnosis {
	depth := t.countLayers("conv2d", "dense", "depthwise_conv2d")
	deep := depth >= 6 && !t.hasLayer("batchnorm")
	ev := map[string]float64{"depth": float64(depth), "batchnorm": b2f(t.hasLayer("batchnorm")), "relative_lr": t.relativeLR()}
	conf := 0.0
	var norms []float64
	for _, e := range t.Epochs {
		if finite(e.GradNorm) && e.GradNorm > 0 {
			norms = append(norms, e.GradNorm)
		}
	}
	if len(norms) >= 2 {
		growth := norms[argmax(norms)] / norms[0]
		ev["grad_norm_growth"], ev["first_grad_norm"], ev["max_grad_norm"] = growth, norms[0], norms[argmax(norms)]
		if growth > 10 {
			conf = 0.6 + 0.3*ramp(math.Log10(growth), 1, 3)
		}
	}
	if r := t.gradientRatio(); r > 100 {
		ev["gradient_ratio"] = r
		conf = max(conf, 0.7)
	}
	if len(t.Epochs) > 0 && deep {
		first := t.Epochs[0].TrainLoss / t.chanceLoss()
		ev["first_loss_over_chance"] = first
		if first > 1.5 {
			conf = max(conf, 0.7)
		}
	}
	if t.diverged() {
		ev["diverged"] = 1
		if deep && t.relativeLR() < 5 {
			conf = max(conf, 0.92)
		}
		if t.Result != nil && strings.Contains(t.Result.Reason, "gradient norm") {
			ev["gradient_divergence"] = 1
			conf = max(conf, 0.92)
		}
	}
	if conf == 0 {
		return nil
	}
	advice := "add batchnorm after the conv and dense layers, clip the gradient (train.grad_clip 1), use fewer layers or residual connections, or lower train.lr"
	if t.Spec.Train.GradClip > 0 {
		conf *= 0.7
		ev["grad_clip"] = t.Spec.Train.GradClip
		advice = "the gradient is already clipped: add batchnorm, use fewer layers or residual connections, or lower train.lr"
	}
	return &train.Diagnosis{Confidence: conf, Evidence: ev, Advice: advice}
}
