package train

import "plateau/spec"

// RMSprop divides each gradient by a running root mean square of its recent
// values, in PyTorch's form (ε outside the square root, as in Adam):
//
//	s = ρ·s + (1−ρ)·g²
//	u = g / (√s + ε)
//	w -= lr·u            (momentum: b = μ·b + u; w -= lr·b)
//
// Defaults: ρ 0.9 (Keras), ε 1e-7.
type RMSprop struct {
	Rho, Momentum, Epsilon float64
	WeightDecay            float64
}

func newRMSprop(t spec.Train) Optimizer {
	return &RMSprop{
		Rho:         t.RhoValue(),
		Momentum:    t.Momentum,
		Epsilon:     orDefault(t.Epsilon, 1e-7),
		WeightDecay: t.WeightDecay,
	}
}

func (o *RMSprop) Name() string { return "rmsprop" }

// Slots is 1 (the mean square), plus 1 (the momentum buffer) with momentum.
func (o *RMSprop) Slots() int {
	if o.Momentum == 0 {
		return 1
	}
	return 2
}

func (o *RMSprop) Step(groups []Group, lr float64, step int) {
	rate, rho, mu, eps := float32(lr), float32(o.Rho), float32(o.Momentum), float32(o.Epsilon)
	for _, g := range groups {
		decayWeights(g, lr, o.WeightDecay)
		w, grad := g.Value, g.Grad[:len(g.Value)]
		s := g.Slots[0][:len(w)]
		if mu == 0 {
			for i, d := range grad {
				s[i] = rho*s[i] + (1-rho)*d*d
				w[i] -= rate * d / (sqrt32(s[i]) + eps)
			}
			continue
		}
		b := g.Slots[1][:len(w)]
		for i, d := range grad {
			s[i] = rho*s[i] + (1-rho)*d*d
			b[i] = mu*b[i] + d/(sqrt32(s[i])+eps)
			w[i] -= rate * b[i]
		}
	}
}
