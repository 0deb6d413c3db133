package doctor

import (
	"math"

	"plateau/train"
)

// weightedLayers returns the last epoch's statistics of the layers that
// have parameters, input side first.
func (t *Telemetry) weightedLayers() []train.LayerStats {
	l := t.last()
	if l == nil {
		return nil
	}
	var out []train.LayerStats
	for _, s := range l.Layers {
		if s.WeightNorm > 0 && s.Type != "batchnorm" {
			out = append(out, s)
		}
	}
	return out
}

// gradientRatio is the relative gradient (‖g‖/‖w‖) of the first weighted
// layer over the last one's: far below 1 the early layers barely learn,
// far above 1 they are pushed harder than the head.
func (t *Telemetry) gradientRatio() float64 {
	ls := t.weightedLayers()
	if len(ls) < 3 {
		return math.NaN()
	}
	first, last := ls[0], ls[len(ls)-1]
	rf, rl := first.GradNorm/first.WeightNorm, last.GradNorm/last.WeightNorm
	if rl == 0 {
		return math.NaN()
	}
	return rf / rl
}
