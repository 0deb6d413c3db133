package nn

import "math"

// LayerStats describes one layer during the last Forward and Backward, for
// the doctor's rules on dead units and vanishing or exploding gradients.
type LayerStats struct {
	Name, Type string
	// ActMean and ActStd summarize the layer's output over the last batch.
	ActMean, ActStd float64
	// DeadFraction, for relu-family layers (relu, leaky_relu, elu), is the
	// fraction of channels (or units, for vector outputs) whose output was
	// <= 0 for every example and position of the last batch.
	DeadFraction float64
	// GradNorm and WeightNorm are the L2 norms of the layer's trainable
	// parameter gradients and values; 0 for layers without parameters.
	// The gradient is what accumulated since the last ZeroGrads.
	GradNorm, WeightNorm float64
}

// LayerStats returns statistics for every layer, in order, from the last
// Forward and Backward.
func (n *Network) LayerStats() []LayerStats {
	stats := make([]LayerStats, 0, len(n.nodes)-1)
	var alive []bool
	for _, nd := range n.nodes[1:] {
		s := LayerStats{Name: nd.spec.Name, Type: nd.spec.Type}
		if n.lastBatch > 0 {
			y := nd.out[:n.lastBatch*nd.size]
			var sum, sumSq float64
			for _, v := range y {
				sum += float64(v)
				sumSq += float64(v) * float64(v)
			}
			mean := sum / float64(len(y))
			s.ActMean = mean
			s.ActStd = math.Sqrt(max(sumSq/float64(len(y))-mean*mean, 0))
			if nd.relu {
				channels := nd.shape[len(nd.shape)-1]
				alive = append(alive[:0], make([]bool, channels)...)
				for i, v := range y {
					if v > 0 {
						alive[i%channels] = true
					}
				}
				dead := 0
				for _, a := range alive {
					if !a {
						dead++
					}
				}
				s.DeadFraction = float64(dead) / float64(channels)
			}
		}
		var grad, weight float64
		for _, i := range nd.params {
			p := n.params[i]
			if p.Grad == nil {
				continue
			}
			for j, v := range p.Value {
				weight += float64(v) * float64(v)
				g := float64(p.Grad[j])
				grad += g * g
			}
		}
		s.GradNorm, s.WeightNorm = math.Sqrt(grad), math.Sqrt(weight)
		stats = append(stats, s)
	}
	return stats
}
