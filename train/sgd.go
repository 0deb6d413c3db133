package train

import "plateau/spec"

// SGD is stochastic gradient descent with optional momentum, in PyTorch's
// form: the velocity accumulates gradients and the learning rate scales the
// whole step, so a schedule's new rate takes effect at once.
//
//	v = μ·v + g
//	w -= lr·v            (Nesterov: w -= lr·(g + μ·v))
//
// With a constant rate this equals Keras's form (v = μ·v − lr·g; w += v).
type SGD struct {
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
}

func newSGD(t spec.Train) Optimizer {
	return &SGD{Momentum: t.Momentum, Nesterov: t.Nesterov, WeightDecay: t.WeightDecay}
}

func (o *SGD) Name() string { return "sgd" }

// Slots is 1 (the velocity) with momentum, 0 without.
func (o *SGD) Slots() int {
	if o.Momentum == 0 {
		return 0
	}
	return 1
}

func (o *SGD) Step(groups []Group, lr float64, step int) {
	rate, mu := float32(lr), float32(o.Momentum)
	for _, g := range groups {
		decayWeights(g, lr, o.WeightDecay)
		w, grad := g.Value, g.Grad[:len(g.Value)]
		switch {
		case mu == 0:
			for i, d := range grad {
				w[i] -= rate * d
			}
		case o.Nesterov:
			v := g.Slots[0][:len(w)]
			for i, d := range grad {
				v[i] = mu*v[i] + d
				w[i] -= rate * (d + mu*v[i])
			}
		default:
			v := g.Slots[0][:len(w)]
			for i, d := range grad {
				v[i] = mu*v[i] + d
				w[i] -= rate * v[i]
			}
		}
	}
}
