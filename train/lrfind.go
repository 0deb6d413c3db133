package train

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// LRFindOptions configures an LR range test. Zero fields take the
// defaults in brackets.
type LRFindOptions struct {
	// MinLR and MaxLR bound the sweep [1e-6, 1].
	MinLR, MaxLR float64
	// Steps is the number of training steps of the sweep [200].
	Steps int
	// Smoothing is the weight of the past in the exponential moving
	// average of the loss [0.9].
	Smoothing float64
	// StopFactor stops the sweep once the smoothed loss exceeds this many
	// times its minimum [4].
	StopFactor float64
}

// LRPoint is one step of an LR range test.
type LRPoint struct {
	LR       float64 `json:"lr"`
	Loss     float64 `json:"loss"`     // the step's loss
	Smoothed float64 `json:"smoothed"` // bias-corrected moving average
}

// LRFindResult is the outcome of an LR range test.
type LRFindResult struct {
	Points []LRPoint `json:"points"`
	// Steepest is the rate where the smoothed loss fell fastest against
	// log(lr); MinLoss is the rate of the lowest smoothed loss.
	Steepest float64 `json:"steepest"`
	MinLoss  float64 `json:"min_loss"`
	// Suggested is the rate to train with: Steepest when it lies below
	// MinLoss, otherwise MinLoss/10.
	Suggested float64 `json:"suggested"`
	// Diverged is set when the sweep stopped because the loss blew up.
	Diverged bool `json:"diverged"`
}

// LRFind runs the LR range test (Smith, "Cyclical Learning Rates for
// Training Neural Networks", 2017; the fastai lr_find): starting from the
// spec's initial weights it trains with a rate that grows exponentially
// from MinLR to MaxLR over Steps steps, with the spec's optimizer, batch
// size, data and augmentation, and records the loss of every step. The
// schedule, epochs and early stopping of the spec are ignored; the
// weights are thrown away. Of the hooks, only BeforeStep is called.
func LRFind(ctx context.Context, cfg Config, opt LRFindOptions) (*LRFindResult, error) {
	if opt.MinLR <= 0 {
		opt.MinLR = 1e-6
	}
	if opt.MaxLR <= 0 {
		opt.MaxLR = 1
	}
	if opt.Steps <= 1 {
		opt.Steps = 200
	}
	if opt.Smoothing <= 0 || opt.Smoothing >= 1 {
		opt.Smoothing = 0.9
	}
	if opt.StopFactor <= 1 {
		opt.StopFactor = 4
	}
	if opt.MaxLR <= opt.MinLR {
		return nil, fmt.Errorf("lr-find: the largest rate %g must exceed the smallest %g", opt.MaxLR, opt.MinLR)
	}
	cfg.ResumeFrom, cfg.Checkpoint = "", ""
	t, err := newTrainer(cfg)
	if err != nil {
		return nil, err
	}
	res := &LRFindResult{}
	ratio := math.Log(opt.MaxLR / opt.MinLR)
	var avg, best float64
	best = math.Inf(1)
	epoch := 0
	t.loader.Epoch(epoch)
	for i := range opt.Steps {
		if ctx.Err() != nil {
			break
		}
		if cfg.BeforeStep != nil {
			cfg.BeforeStep()
		}
		n := t.loader.Next(t.x, t.y)
		if n == 0 {
			epoch++
			t.loader.Epoch(epoch)
			n = t.loader.Next(t.x, t.y)
		}
		lr := opt.MinLR * math.Exp(ratio*float64(i)/float64(opt.Steps-1))
		loss, _, norm := t.trainStep(n, lr)
		if !finite(loss) || !finite(norm) {
			res.Diverged = true
			break
		}
		avg = opt.Smoothing*avg + (1-opt.Smoothing)*loss
		smoothed := avg / (1 - math.Pow(opt.Smoothing, float64(i+1)))
		res.Points = append(res.Points, LRPoint{LR: lr, Loss: loss, Smoothed: smoothed})
		best = min(best, smoothed)
		if i > 10 && smoothed > opt.StopFactor*best {
			res.Diverged = true
			break
		}
	}
	if len(res.Points) < 3 {
		return res, errors.New("lr-find: the loss diverged within the first steps; lower the smallest rate")
	}
	res.Steepest, res.MinLoss = suggestLR(res.Points)
	res.Suggested = res.MinLoss / 10
	if res.Steepest < res.MinLoss {
		res.Suggested = res.Steepest
	}
	return res, nil
}

// suggestLR finds the steepest descent of the smoothed loss against
// log(lr), over a window of a few points to steady it, and the rate of the
// lowest smoothed loss.
func suggestLR(points []LRPoint) (steepest, minLoss float64) {
	low := 0
	for i, p := range points {
		if p.Smoothed < points[low].Smoothed {
			low = i
		}
	}
	minLoss = points[low].LR
	w := max(1, len(points)/20)
	bestSlope := math.Inf(1)
	steepest = points[0].LR
	// Only points up to the minimum: past it the loss rises.
	for i := w; i <= low; i++ {
		slope := (points[i].Smoothed - points[i-w].Smoothed) / math.Log(points[i].LR/points[i-w].LR)
		if slope < bestSlope {
			bestSlope = slope
			steepest = math.Sqrt(points[i].LR * points[i-w].LR)
		}
	}
	return steepest, minLoss
}
