package train

import (
	"fmt"
	"math"
	"strings"

	"plateau/spec"
)

// Schedule names (spec.Schedule.Type). The empty name means constant.
const (
	Constant        = "constant"
	StepDecay       = "step"
	Exponential     = "exponential"
	Cosine          = "cosine"
	OneCycle        = "one_cycle"
	ReduceOnPlateau = "reduce_on_plateau"
)

// Schedules maps a schedule name to its rate as a function of the
// fractional epoch t, counted from the end of the warm-up, over a run of
// total epochs (also without the warm-up):
//
//	constant           lr0
//	step               lr0·factor^floor(t/every)        factor 0.1, every max(1, floor(total/3))
//	exponential        lr0·gamma^t                      gamma 0.9
//	cosine             min_lr + (lr0−min_lr)·(1+cos(π·t/total))/2, then min_lr
//	one_cycle          cosine from lr0 up to max_lr at pct_start·total, then down to min_lr
//	                                                    max_lr 10·lr0, pct_start 0.3
//	reduce_on_plateau  lr0, lowered by PlateauState
//
// A zero field takes the default on its right, the one spec.Expand fills.
var Schedules = map[string]func(s spec.Schedule, lr0, t, total float64) float64{
	Constant:        constantRate,
	StepDecay:       stepRate,
	Exponential:     exponentialRate,
	Cosine:          cosineRate,
	OneCycle:        oneCycleRate,
	ReduceOnPlateau: constantRate, // the reductions are PlateauState's
}

// CheckSchedule reports an unknown schedule name.
func CheckSchedule(s spec.Schedule) error {
	if _, ok := Schedules[scheduleName(s)]; !ok {
		return fmt.Errorf("train.schedule.type: unknown schedule %q (known: %s)", s.Type, strings.Join(sortedKeys(Schedules), ", "))
	}
	return nil
}

func scheduleName(s spec.Schedule) string {
	if s.Type == "" {
		return Constant
	}
	return s.Type
}

// LR returns the learning rate at a fractional epoch of a run of
// totalEpochs, before any reduce_on_plateau reduction. Step i (from 0) of
// epoch e (from 0) of an epoch of S steps trains at LR(…, e + i/S, …).
//
// A warm-up of w epochs ramps the rate linearly from 0 to the schedule's
// starting rate, and the schedule then runs over the remaining
// totalEpochs−w epochs, as if the run began after the warm-up. LR is pure
// so that the page can plot the planned rate; it panics on an unknown
// schedule name (see CheckSchedule).
func LR(s spec.Schedule, lr0 float64, epoch float64, totalEpochs int) float64 {
	rate, ok := Schedules[scheduleName(s)]
	if !ok {
		panic("train: unknown schedule")
	}
	total := float64(totalEpochs)
	if w := s.WarmupEpochs; w > 0 {
		if epoch < w {
			return rate(s, lr0, 0, total-w) * epoch / w
		}
		epoch -= w
		total -= w
	}
	return rate(s, lr0, epoch, total)
}

func constantRate(s spec.Schedule, lr0, t, total float64) float64 { return lr0 }

// stepRate is lr0·factor^floor(t/every). Defaults: factor 0.1, every a
// third of the run (at least 1 epoch).
func stepRate(s spec.Schedule, lr0, t, total float64) float64 {
	every := s.Every
	if every <= 0 {
		every = max(1, math.Floor(total/3))
	}
	return lr0 * math.Pow(orDefault(s.Factor, 0.1), math.Floor(t/every))
}

// exponentialRate is lr0·gamma^t, gamma 0.9 by default.
func exponentialRate(s spec.Schedule, lr0, t, total float64) float64 {
	return lr0 * math.Pow(orDefault(s.Gamma, 0.9), t)
}

// cosineRate anneals from lr0 to MinLR over the run along half a cosine
// (Loshchilov and Hutter's SGDR without restarts) and stays at MinLR after.
func cosineRate(s spec.Schedule, lr0, t, total float64) float64 {
	return cosineBetween(lr0, s.MinLR, progress(t, total))
}

// oneCycleRate rises from lr0 to MaxLR (default 10·lr0) over the first
// PctStart (default 0.3) of the run and falls to MinLR by its end, both
// halves along a cosine (PyTorch's OneCycleLR anneal_strategy "cos", with
// lr0 as the starting rate).
func oneCycleRate(s spec.Schedule, lr0, t, total float64) float64 {
	peak := orDefault(s.MaxLR, 10*lr0)
	pct := orDefault(s.PctStart, 0.3)
	p := progress(t, total)
	if p < pct {
		return cosineBetween(lr0, peak, p/pct)
	}
	if pct >= 1 {
		return peak
	}
	return cosineBetween(peak, s.MinLR, (p-pct)/(1-pct))
}

// cosineBetween goes from a at p=0 to b at p=1.
func cosineBetween(a, b, p float64) float64 {
	return b + (a-b)*(1+math.Cos(math.Pi*p))/2
}

// progress is t/total clamped to [0, 1]; a run with no epochs left is done.
func progress(t, total float64) float64 {
	if total <= 0 {
		return 1
	}
	return min(max(t/total, 0), 1)
}

// PlateauState is reduce_on_plateau's memory, kept between epochs (and in
// checkpoints), as in Keras's ReduceLROnPlateau: the rate is multiplied by
// Factor (default 0.1) once the validation loss has not improved by 1e-4
// for Patience (default 2, as spec.Expand fills it) epochs in a row, never going below MinLR.
type PlateauState struct {
	// Scale multiplies the scheduled rate; it starts at 1.
	Scale float64
	Best  float64
	Wait  int
}

// plateauMinDelta is Keras's min_delta: smaller improvements do not count.
const plateauMinDelta = 1e-4

// NewPlateauState returns the state before the first epoch.
func NewPlateauState() PlateauState { return PlateauState{Scale: 1, Best: math.Inf(1)} }

// Observe records an epoch's validation loss and reports whether the rate
// was just reduced. It does nothing for other schedules.
func (p *PlateauState) Observe(s spec.Schedule, valLoss float64) (reduced bool) {
	if s.Type != ReduceOnPlateau {
		return false
	}
	if valLoss < p.Best-plateauMinDelta {
		p.Best, p.Wait = valLoss, 0
		return false
	}
	p.Wait++
	if p.Wait < orDefaultInt(s.Patience, 2) {
		return false
	}
	p.Wait = 0
	p.Scale *= orDefault(s.Factor, 0.1)
	return true
}

// Apply returns the rate after the reductions so far, floored at MinLR once
// any reduction happened (a warm-up below MinLR is left alone).
func (p *PlateauState) Apply(s spec.Schedule, lr float64) float64 {
	if s.Type != ReduceOnPlateau || p.Scale == 1 {
		return lr
	}
	return max(lr*p.Scale, s.MinLR)
}

func orDefaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
