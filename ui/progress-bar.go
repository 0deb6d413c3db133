package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"plateau/protocol"
)

// ProgressBar shows where the current run is: a bar, the epoch and step,
// the speed and the time left.
type ProgressBar struct{ *Root }

// ProgressPercent is how far the current run is, for the bar's width.
func (pb *ProgressBar) ProgressPercent() string {
	if pb.Current == nil {
		return "0"
	}
	return fmt.Sprintf("%.1f", 100*pb.Current.Progress.Fraction())
}

// ProgressText says where the current run is.
func (pb *ProgressBar) ProgressText() string {
	run := pb.Current
	if run == nil {
		return ""
	}
	p := run.Progress
	s := fmt.Sprintf("epoch %d/%d · step %s/%s", max(p.Epoch, 1), p.Epochs, Count(p.Step), Count(p.Epochs*p.StepsPerEpoch))
	if acc, ok := run.LatestValAccuracy(); ok {
		s += " · validation " + Percent(acc)
	}
	if p.ImagesPerSecond > 0 {
		s += fmt.Sprintf(" · %s img/s", Count(int(math.Round(p.ImagesPerSecond))))
	}
	if run.Start != nil && run.Start.Workers > 1 {
		s += fmt.Sprintf(" · %d workers", run.Start.Workers)
		if p.OthersBusy > 0 {
			s += fmt.Sprintf(" (the others busy %.0f%% of the time, this one waiting %.0f%%)", 100*p.OthersBusy, 100*p.Waiting)
		}
	}
	if run.State == protocol.StateRunning && run.Start != nil && p.Step == 0 && strings.HasPrefix(run.Backend, "xla") {
		// XLA compiles the step before it runs it: seconds, or minutes
		// with autotuning.
		s += " · compiling the training step on the server"
	}
	if run.State == protocol.StateRunning && p.ETA > 0 {
		s += " · ETA " + duration(p.ETA)
		if total := p.Epochs * p.StepsPerEpoch; p.TimeShare > 0 && p.TimeShare*float64(total) > float64(p.Step) {
			// The time limit comes before the epochs' end.
			s += " (the time limit)"
		}
	}
	if p.AugmentStep > 0 {
		s += fmt.Sprintf(" · augmentation changed at step %d", p.AugmentStep)
	}
	if run.State == protocol.StatePaused {
		s += " · paused"
	}
	return s
}

// LatestValAccuracy is the run's latest validation accuracy: its last
// epoch's, or a validation check's made since.
func (run *Run) LatestValAccuracy() (float64, bool) {
	acc, x := math.NaN(), 0.0
	if n := len(run.Epochs); n > 0 {
		acc, x = run.Epochs[n-1].ValAccuracy, float64(run.Epochs[n-1].Epoch)
	}
	if n := len(run.CheckAccuracy); n > 0 && run.CheckAccuracy[n-1].X > x {
		acc = run.CheckAccuracy[n-1].Y
	}
	return acc, finite(acc)
}

func duration(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	return d.String()
}

// Step is the current run's step count (the e2e tests read it).
func (pb *ProgressBar) Step() int {
	if pb.Current == nil {
		return 0
	}
	return pb.Current.Progress.Step
}
