package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"plateau/data"
	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// evaluateChunk is how many images are measured between two chances to
// yield: a few hundred forward passes, well under yieldEvery for the
// presets.
const evaluateChunk = 128

// evaluate answers an evaluate command: weights sent with it are measured
// at once; without weights, the run training in this worker is measured
// by its own goroutine between two steps, and the run that last finished
// here (the page may not know yet that it has) on its final weights.
func (s *Session) evaluate(c protocol.Command) {
	if len(c.Bytes) > 0 {
		s.evaluateWeights(c)
		return
	}
	s.mu.Lock()
	r := s.run
	if r != nil && r.id == c.Run && r.training {
		r.evaluate = true
		close(r.wake)
		r.wake = make(chan struct{})
		s.mu.Unlock()
		return
	}
	res, sp := s.result, s.resultSpec
	finished := res != nil && s.resultRun == c.Run
	s.mu.Unlock()
	if finished {
		go s.evaluateResult(c, res, sp)
		return
	}
	s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("run %q is not training in this worker: send its weights with the evaluate command", c.Run)))
}

// evaluateResult measures the final weights of the run that last finished
// in this worker, once the run has given its slot back.
func (s *Session) evaluateResult(c protocol.Command, res *train.Result, sp *spec.Spec) {
	s.mu.Lock()
	ending := s.run
	s.mu.Unlock()
	if ending != nil && ending.id == c.Run {
		<-ending.released
	}
	c.Spec = sp
	ctx, r, sp, d, ok := s.claimRun(c, "a run is training in this worker: stop it before evaluating other weights")
	if !ok {
		return
	}
	ev, err := s.measureNetwork(ctx, r, sp, d, func(train.Splits) (*nn.Network, *data.Normalizer, error) {
		return res.Network, res.Normalizer, nil
	})
	if err != nil {
		s.post(protocol.ErrorMessage(r.id, err))
		return
	}
	s.postEvaluation(r.id, ev)
}

// evaluateWeights measures the safetensors weights of a command for its
// spec. It holds the run slot while it measures, since it splits the
// dataset in place as a run does.
func (s *Session) evaluateWeights(c protocol.Command) {
	ctx, r, sp, d, ok := s.claimRun(c, "a run is training in this worker: stop it before evaluating other weights")
	if !ok {
		return
	}
	go func() {
		// The slot is free again before the answer goes out.
		ev, err := s.measureWeights(ctx, r, sp, d, c.Bytes)
		if err != nil {
			s.post(protocol.ErrorMessage(r.id, err))
			return
		}
		s.postEvaluation(r.id, ev)
	}()
}

// measureWeights measures weights for sp on d and gives the run slot r
// back.
func (s *Session) measureWeights(ctx context.Context, r *activeRun, sp *spec.Spec, d *data.Dataset, weights []byte) (ev *protocol.Evaluation, err error) {
	return s.measureNetwork(ctx, r, sp, d, func(splits train.Splits) (*nn.Network, *data.Normalizer, error) {
		net, err := networkWithWeights(sp, weights, "", sp.Train.BatchSize)
		if err != nil {
			return nil, nil, err
		}
		norm, err := data.NewNormalizer(sp.Data.Normalization, splits.Train, d.C)
		if err != nil {
			return nil, nil, &spec.FieldError{Path: "data.normalization", Message: err.Error()}
		}
		return net, norm, nil
	})
}

// measureNetwork measures the network and normalizer that build gives for
// sp's splits of d, and gives the run slot r back.
func (s *Session) measureNetwork(ctx context.Context, r *activeRun, sp *spec.Spec, d *data.Dataset, build func(train.Splits) (*nn.Network, *data.Normalizer, error)) (ev *protocol.Evaluation, err error) {
	splits, restore := train.PrepareInPlace(d, sp.Data, sp.Train.Seed)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the evaluation failed: %v", p)
		}
		restore()
		s.releaseRun(r)
	}()
	net, norm, err := build(splits)
	if err != nil {
		return nil, err
	}
	ev, err = s.measure(ctx, net, norm, splits, sp.Train.LabelSmoothing)
	if ev != nil {
		ev.Dataset = d.Name
	}
	if err == nil {
		// The misclassified images and the filters of these weights: a
		// server run or one stored before a reload has none of its own.
		s.inspect(r.id, 0, net, norm, splits.Val, d)
	}
	return ev, err
}

// serveEvaluation measures a training run's weights when the page has
// asked for it; it runs on the run's goroutine between two steps.
func (s *Session) serveEvaluation(ctx context.Context, r *activeRun, step int, net *nn.Network, norm *data.Normalizer, d *data.Dataset, splits train.Splits, smoothing float64) {
	s.mu.Lock()
	asked := r.evaluate
	r.evaluate = false
	s.mu.Unlock()
	if !asked {
		return
	}
	if net == nil {
		s.post(protocol.ErrorMessage(r.id, errors.New("the run has not built its network yet: evaluate it after the first step")))
		return
	}
	ev, err := s.measure(ctx, net, norm, splits, smoothing)
	if err != nil {
		s.post(protocol.ErrorMessage(r.id, err))
		return
	}
	ev.Step, ev.Dataset = step, d.Name
	s.postEvaluation(r.id, ev)
}

func (s *Session) postEvaluation(run string, ev *protocol.Evaluation) {
	m := protocol.NewMessage(run, protocol.KindEvaluation)
	m.Evaluation = ev
	s.post(m)
}

// measure scores a network on the validation and test splits.
func (s *Session) measure(ctx context.Context, net *nn.Network, norm *data.Normalizer, splits train.Splits, smoothing float64) (*protocol.Evaluation, error) {
	ev := &protocol.Evaluation{}
	var err error
	if ev.Val, err = s.score(ctx, net, norm, splits.Val, smoothing); err != nil {
		return nil, err
	}
	if ev.Test, err = s.score(ctx, net, norm, splits.Test, smoothing); err != nil {
		return nil, err
	}
	return ev, nil
}

// score measures one split in chunks, yielding to the event loop between
// them so that the worker keeps answering; nil for an empty split.
func (s *Session) score(ctx context.Context, net *nn.Network, norm *data.Normalizer, split data.Split, smoothing float64) (*protocol.Score, error) {
	n := split.Len()
	if n == 0 {
		return nil, nil
	}
	size := net.InputSize()
	conf := train.NewConfusion(net.Classes())
	lossSum := 0.0
	lastYield := time.Now()
	for i := 0; i < n; i += evaluateChunk {
		if ctx.Err() != nil {
			return nil, errors.New("the evaluation was stopped")
		}
		k := min(evaluateChunk, n-i)
		part := data.Split{Images: split.Images[i*size : (i+k)*size], Labels: split.Labels[i : i+k]}
		loss, _, c := train.Evaluate(net, norm, part, smoothing)
		lossSum += loss * float64(k)
		for j, v := range c.Counts {
			conf.Counts[j] += v
		}
		if s.yield != nil && time.Since(lastYield) >= yieldEvery {
			s.yield()
			lastYield = time.Now()
		}
	}
	sc := &protocol.Score{Images: n, Loss: protocol.Number(lossSum / float64(n)), Accuracy: protocol.Number(conf.Accuracy()), Confusion: conf.Matrix()}
	for _, v := range conf.Recall() {
		sc.PerClassAccuracy = append(sc.PerClassAccuracy, protocol.Number(v))
	}
	return sc, nil
}
