package nn

import (
	"plateau/kernels"
	"plateau/spec"
)

// TrainingBytes estimates the memory a Network of m built for batches of
// maxBatch examples holds, for a caller that must decide before building
// one (a server refusing a job that would not fit): every layer's output
// and gradient for the batch, batch norm's normalized input, dropout's
// mask and max pooling's winners, the convolutions' scratch, and the
// parameter arena (values, gradients, optimizer slots, batch-norm state).
// It leaves out the scratch of layers that feed several others;
// TestTrainingBytes keeps the estimate within 10% of what New allocates.
func TrainingBytes(m spec.Model, maxBatch int) (int64, error) {
	infos, err := m.Shapes()
	if err != nil {
		return 0, err
	}
	expanded := m.Clone()
	expanded.Expand()
	var perExample, params, state, scratch int64
	for i, l := range infos {
		e := int64(l.Elements())
		switch l.Type {
		case spec.Flatten:
			// Its output is its input's; its gradient is its own.
		case spec.Dropout, spec.MaxPool:
			e *= 3 // the mask, the winners
		default:
			e *= 2
		}
		perExample += e
		params += int64(l.Params)
		state += int64(l.State)
		if sl := expanded.Layers[i]; sl.Type == spec.Conv2D && len(l.InputShape) == 3 && len(l.Shape) == 3 {
			p := kernels.NewConvParams(maxBatch, l.InputShape[0], l.InputShape[1], l.InputShape[2], sl.Kernel, sl.Kernel,
				l.Shape[2], sl.Stride, sl.Stride, l.Pad[0], l.Pad[1], l.Pad[2], l.Pad[3])
			scratch = max(scratch, int64(p.ScratchSize()))
		}
	}
	arena := params*(2+MaxOptimizerSlots) + state
	return 4 * (int64(maxBatch)*perExample + arena + scratch), nil
}

// bytes is what the network's buffers hold, in bytes: what TrainingBytes
// estimates.
func (n *Network) bytes() int64 {
	floats := len(n.arena) + len(n.ws.convScratch) + len(n.edgeScratch)
	for _, nd := range n.nodes {
		floats += len(nd.out) + len(nd.grad)
		switch l := nd.impl.(type) {
		case *batchNorm:
			floats += len(l.spareGrad)
		case *dropout:
			floats += len(l.mask)
		case *pool:
			floats += len(l.argmax)
		}
	}
	return 4 * int64(floats)
}
