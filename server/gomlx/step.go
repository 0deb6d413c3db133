package gomlx

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph code reads like maths

	"plateau/spec"
	"plateau/train"
)

// Loss builds the mean softmax cross-entropy of logits (N,K) against
// labels (N) int32, as nn.SoftmaxCrossEntropy computes it: label smoothing
// s makes the target (1−s)·onehot + s/K, and class weights w (K) weigh
// each example: Σ w[y]·loss / Σ w[y]. weights may be nil. It also returns
// the number of examples whose largest logit is their label.
func Loss(logits, labels, weights *Node, smoothing float64) (loss, correct *Node) {
	loss, correct, _ = lossAndCounts(logits, labels, weights, nil, smoothing)
	return loss, correct
}

// lossAndCounts is Loss, and the count of wrong predictions whose
// probability is at least train.ConfidentProbability, as train.Run's epoch
// events count them, from the same log-softmax and argmax. rows, when not
// nil, is how many of the first rows are examples (a float32 scalar): the
// rest pad a short batch and count for nothing.
func lossAndCounts(logits, labels, weights, rows *Node, smoothing float64) (loss, correct, confidentWrong *Node) {
	k := logits.Shape().Dimensions[1]
	logp := LogSoftmax(logits, -1)
	onehot := OneHot(labels, k, dtypes.Float32)
	target := onehot
	if smoothing > 0 {
		target = AddScalar(MulScalar(onehot, 1-smoothing), smoothing/float64(k))
	}
	perExample := Neg(ReduceSum(Mul(target, logp), -1))
	var mask *Node // with rows: 1 for the examples, 0 for the padding
	if rows != nil {
		mask = rowMask(rows, logits.Shape().Dimensions[0], 1)
		perExample = Mul(perExample, mask)
	}
	count := func(b *Node) *Node {
		c := ConvertDType(b, dtypes.Float32)
		if mask != nil {
			c = Mul(c, mask)
		}
		return c
	}
	switch {
	case weights != nil:
		w := ReduceSum(Mul(onehot, ExpandLeftToRank(weights, 2)), -1)
		if mask != nil {
			w = Mul(w, mask)
		}
		loss = Div(ReduceAllSum(Mul(w, perExample)), ReduceAllSum(w))
	case rows != nil:
		loss = Div(ReduceAllSum(perExample), rows)
	default:
		loss = ReduceAllMean(perExample)
	}
	pred := ArgMax(logits, -1, dtypes.Int32)
	correct = ReduceAllSum(count(Equal(pred, labels)))
	wrong := NotEqual(pred, labels)
	sure := GreaterOrEqual(ReduceMax(logp, -1), Scalar(logits.Graph(), dtypes.Float32, math.Log(train.ConfidentProbability)))
	confidentWrong = ReduceAllSum(count(LogicalAnd(wrong, sure)))
	return loss, correct, confidentWrong
}

// slotCount is how many state tensors each optimizer keeps per parameter,
// as package train's optimizers do.
func slotCount(t spec.Train) int {
	switch t.Optimizer {
	case "sgd":
		if t.Momentum != 0 {
			return 1
		}
		return 0
	case "rmsprop":
		if t.Momentum != 0 {
			return 2
		}
		return 1
	default: // adam, adamw
		return 2
	}
}

// update applies one step of the spec's optimizer to values, in the order
// package train documents: L1/L2 into the gradient, clipping by the global
// norm, decoupled weight decay, then the optimizer. lr and step are scalar
// graph inputs, so a schedule never recompiles the step. It returns the
// new values and slots and the gradient norm before clipping.
func update(t spec.Train, params []ParamInfo, values, grads []*Node, slots [][]*Node, lr, step *Node) (newValues []*Node, newSlots [][]*Node, norm *Node) {
	grads = append([]*Node(nil), grads...)
	for i, p := range params {
		if !p.Decay {
			continue
		}
		if t.L1 != 0 {
			grads[i] = Add(grads[i], MulScalar(Sign(values[i]), t.L1))
		}
		if t.L2 != 0 {
			grads[i] = Add(grads[i], MulScalar(values[i], t.L2))
		}
	}
	var sq *Node
	for _, gr := range grads {
		s := ReduceAllSum(Square(gr))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm = Sqrt(sq)
	if t.GradClip > 0 {
		clip := Scalar(norm.Graph(), dtypes.Float32, t.GradClip)
		scale := Where(GreaterThan(norm, clip), Div(clip, norm), OnesLike(norm))
		for i := range grads {
			grads[i] = Mul(grads[i], scale)
		}
	}
	newValues = make([]*Node, len(values))
	newSlots = make([][]*Node, len(values))
	for i, p := range params {
		w, gr := values[i], grads[i]
		if t.WeightDecay != 0 && p.Decay {
			w = Mul(w, OneMinus(MulScalar(lr, t.WeightDecay)))
		}
		s := slots[i]
		switch t.Optimizer {
		case "sgd":
			if t.Momentum == 0 {
				w = Sub(w, Mul(lr, gr))
				newSlots[i] = nil
				break
			}
			v := Add(MulScalar(s[0], t.Momentum), gr)
			if t.Nesterov {
				w = Sub(w, Mul(lr, Add(gr, MulScalar(v, t.Momentum))))
			} else {
				w = Sub(w, Mul(lr, v))
			}
			newSlots[i] = []*Node{v}
		case "rmsprop":
			rho := t.RhoValue()
			sq := Add(MulScalar(s[0], rho), MulScalar(Square(gr), 1-rho))
			u := Div(gr, AddScalar(Sqrt(sq), t.Epsilon))
			if t.Momentum != 0 {
				b := Add(MulScalar(s[1], t.Momentum), u)
				w = Sub(w, Mul(lr, b))
				newSlots[i] = []*Node{sq, b}
			} else {
				w = Sub(w, Mul(lr, u))
				newSlots[i] = []*Node{sq}
			}
		default: // adam, adamw
			beta1, beta2 := t.Beta1Value(), t.Beta2Value()
			m := Add(MulScalar(s[0], beta1), MulScalar(gr, 1-beta1))
			v := Add(MulScalar(s[1], beta2), MulScalar(Square(gr), 1-beta2))
			b1 := OneMinus(Pow(Scalar(w.Graph(), dtypes.Float32, beta1), step))
			b2 := OneMinus(Pow(Scalar(w.Graph(), dtypes.Float32, beta2), step))
			w = Sub(w, Mul(lr, Div(Div(m, b1), AddScalar(Sqrt(Div(v, b2)), t.Epsilon))))
			newSlots[i] = []*Node{m, v}
		}
		newValues[i] = w
	}
	return newValues, newSlots, norm
}
