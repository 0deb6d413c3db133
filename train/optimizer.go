package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"plateau/spec"
)

// Group is a run of parameters that one flat loop updates: values, their
// gradients and the optimizer's state, aligned element for element. A
// network's whole trainable arena is a handful of groups (kernels, which
// decay, and the rest, which do not), so every optimizer is one loop.
type Group struct {
	Value []float32
	Grad  []float32
	// Slots holds Optimizer.Slots() state slices, each len(Value) long,
	// zero before the first step.
	Slots [][]float32
	// Decay is true for conv and dense kernels: L1, L2 and weight decay
	// apply to them and to nothing else.
	Decay bool
}

// Optimizer updates parameters from their gradients.
//
// Step applies one update with learning rate lr; step counts updates from 1
// (Adam's bias correction needs it). It applies the decoupled weight decay
// lr·wd·w to Decay groups before its own update, as Keras 3 does; L1, L2
// and gradient clipping are the caller's (see Regularize and ClipGlobalNorm).
type Optimizer interface {
	Name() string
	// Slots is the number of state values the optimizer keeps per parameter.
	Slots() int
	Step(groups []Group, lr float64, step int)
}

// Optimizers maps an optimizer's name in spec.Train.Optimizer to its
// constructor. Zero hyperparameters take the defaults documented on each.
var Optimizers = map[string]func(spec.Train) Optimizer{
	"sgd":     newSGD,
	"rmsprop": newRMSprop,
	"adam":    newAdam,
	"adamw":   newAdamW,
}

// NewOptimizer returns the optimizer that t names.
func NewOptimizer(t spec.Train) (Optimizer, error) {
	newOptimizer, ok := Optimizers[t.Optimizer]
	if !ok {
		return nil, fmt.Errorf("train.optimizer: unknown optimizer %q (known: %s)", t.Optimizer, strings.Join(sortedKeys(Optimizers), ", "))
	}
	return newOptimizer(t), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Regularize adds the gradients of the L1 and L2 penalties to the gradients
// of Decay groups: λ1·sign(w) + λ2·w, the gradient of λ1·|w| + λ2/2·w².
// sign(0) is 0, so a weight that is exactly zero stays there.
func Regularize(groups []Group, l1, l2 float64) {
	if l1 == 0 && l2 == 0 {
		return
	}
	a, b := float32(l1), float32(l2)
	for _, g := range groups {
		if !g.Decay {
			continue
		}
		grad := g.Grad[:len(g.Value)]
		for i, w := range g.Value {
			d := b * w
			if w > 0 {
				d += a
			} else if w < 0 {
				d -= a
			}
			grad[i] += d
		}
	}
}

// RegularizationLoss returns λ1·Σ|w| + λ2/2·Σw² over the Decay groups.
func RegularizationLoss(groups []Group, l1, l2 float64) float64 {
	if l1 == 0 && l2 == 0 {
		return 0
	}
	var abs, sq float64
	for _, g := range groups {
		if !g.Decay {
			continue
		}
		for _, w := range g.Value {
			abs += math.Abs(float64(w))
			sq += float64(w) * float64(w)
		}
	}
	return l1*abs + l2/2*sq
}

// GradNorm returns the global L2 norm of all gradients, accumulated in
// float64 so that large networks do not lose precision.
func GradNorm(groups []Group) float64 {
	var sum float64
	for _, g := range groups {
		// Four squares per iteration, added in order: under wasm each
		// iteration costs a branch through the dispatch table.
		d, i := g.Grad, 0
		for ; i+4 <= len(d); i += 4 {
			v := d[i : i+4 : i+4]
			sum += float64(v[0]) * float64(v[0])
			sum += float64(v[1]) * float64(v[1])
			sum += float64(v[2]) * float64(v[2])
			sum += float64(v[3]) * float64(v[3])
		}
		for ; i < len(d); i++ {
			sum += float64(d[i]) * float64(d[i])
		}
	}
	return math.Sqrt(sum)
}

// ClipGlobalNorm scales every gradient by maxNorm/norm when the global norm
// exceeds maxNorm > 0 (Keras global_clipnorm, PyTorch clip_grad_norm_). It
// returns the norm before clipping; a non-finite norm is returned without
// touching the gradients so the caller can report the divergence.
func ClipGlobalNorm(groups []Group, maxNorm float64) (norm float64) {
	norm = GradNorm(groups)
	if maxNorm <= 0 || !(norm > maxNorm) || math.IsInf(norm, 0) {
		return norm
	}
	scale := float32(maxNorm / norm)
	for _, g := range groups {
		for i := range g.Grad {
			g.Grad[i] *= scale
		}
	}
	return norm
}

// decayWeights applies the decoupled weight decay w -= lr·wd·w to a Decay
// group (Loshchilov and Hutter; Keras 3 applies it before the update).
func decayWeights(g Group, lr, wd float64) {
	if wd == 0 || !g.Decay {
		return
	}
	k := float32(1 - lr*wd)
	for i := range g.Value {
		g.Value[i] *= k
	}
}

// orDefault returns v, or def when v is zero (an unset spec field).
func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
