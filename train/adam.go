package train

import (
	"math"

	"plateau/spec"
)

// Adam keeps running means of the gradient and of its square, corrected for
// their zero start (Kingma and Ba, Algorithm 1; PyTorch):
//
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	w -= lr · (m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
//
// Defaults: β1 0.9, β2 0.999, ε 1e-7 (Keras). Weight decay is decoupled for
// every optimizer (spec.Train.WeightDecay), so adam with weight_decay > 0
// is AdamW; "adamw" is the same update under the name people look for.
type Adam struct {
	Beta1, Beta2, Epsilon float64
	WeightDecay           float64
	name                  string
}

func newAdam(t spec.Train) Optimizer {
	return &Adam{
		Beta1:       t.Beta1Value(),
		Beta2:       t.Beta2Value(),
		Epsilon:     orDefault(t.Epsilon, 1e-7),
		WeightDecay: t.WeightDecay,
		name:        "adam",
	}
}

func newAdamW(t spec.Train) Optimizer {
	o := newAdam(t).(*Adam)
	o.name = "adamw"
	return o
}

func (o *Adam) Name() string { return o.name }

// Slots is 2: the first and second moments.
func (o *Adam) Slots() int { return 2 }

func (o *Adam) Step(groups []Group, lr float64, step int) {
	if step < 1 {
		panic("train: adam step counts from 1")
	}
	b1, b2, eps := float32(o.Beta1), float32(o.Beta2), float32(o.Epsilon)
	c1 := float32(1 / (1 - math.Pow(o.Beta1, float64(step))))
	c2 := float32(1 / (1 - math.Pow(o.Beta2, float64(step))))
	rate := float32(lr)
	for _, g := range groups {
		decayWeights(g, lr, o.WeightDecay)
		w, grad := g.Value, g.Grad[:len(g.Value)]
		m, v := g.Slots[0][:len(w)], g.Slots[1][:len(w)]
		for i, d := range grad {
			m[i] = b1*m[i] + (1-b1)*d
			v[i] = b2*v[i] + (1-b2)*d*d
			w[i] -= rate * (m[i] * c1) / (sqrt32(v[i]*c2) + eps)
		}
	}
}
