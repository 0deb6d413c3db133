package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"plateau/spec"
	"plateau/train"
)

// progressBar draws one line on stderr that the training events update:
// epoch, a bar over the run's steps, throughput, ETA and the running loss.
// On a terminal the line redraws in place; elsewhere only epoch lines are
// written, so logs stay readable.
type progressBar struct {
	w        io.Writer
	terminal bool
	start    time.Time
	last     time.Time

	// From the start event.
	epochs, stepsPerEpoch, firstStep, batch int
	// limit is the run's train.time_limit_seconds: the bar follows the
	// time too when it is further along than the steps.
	limit float64
	// named holds the causes said before the first epoch's end, at the
	// start or at a check, each said once.
	named map[string]bool
}

func newProgressBar(w io.Writer) *progressBar {
	p := &progressBar{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// report turns training events into the bar and human-readable lines.
func (p *progressBar) report(e train.Event) {
	switch e.Event {
	case train.EventStart:
		p.epochs, p.stepsPerEpoch, p.firstStep, p.batch = e.Epochs, e.StepsPerEpoch, e.Step, e.BatchSize
		p.start = time.Now()
		p.line("%s: %s train, %s validation, %s test images; %s parameters; %s per epoch", e.Dataset,
			spec.Thousands(e.TrainSize), spec.Thousands(e.ValSize), spec.Thousands(e.TestSize), spec.Thousands(e.Params), spec.Count(e.StepsPerEpoch, "step"))
		// What the data and the spec show before any training, said now:
		// a long run can be stopped and set right before it spends its
		// time.
		p.named = map[string]bool{}
		for _, d := range e.Diagnoses {
			p.named[d.Cause] = true
			p.line("doctor, before the first epoch: %s (confidence %.2f): %s", d.Cause, d.Confidence, d.Advice)
		}
	case train.EventStep:
		total := p.epochs * p.stepsPerEpoch
		p.step(e.Epoch, e.Step-p.firstStep, total-p.firstStep, e.Loss, e.Accuracy)
	case train.EventValCheck:
		p.line("epoch %d/%d, step %s  val loss %.4f acc %.4f  (a check on %s validation images)",
			e.Epoch, p.epochs, spec.Thousands(e.Step), e.ValLoss, e.ValAccuracy, spec.Thousands(e.ValSize))
		// What the checks and steps show before the first epoch's end,
		// each cause when it is first made.
		for _, d := range e.Diagnoses {
			if !p.named[d.Cause] {
				if p.named == nil {
					p.named = map[string]bool{}
				}
				p.named[d.Cause] = true
				p.line("doctor, at step %s before the first epoch's end: %s (confidence %.2f): %s", spec.Thousands(e.Step), d.Cause, d.Confidence, d.Advice)
			}
		}
	case train.EventEpoch:
		// Without a validation split (data.validation 0) there is no
		// validation loss to show: the line says so rather than NaN.
		val := fmt.Sprintf("val loss %.4f acc %.4f", e.ValLoss, e.ValAccuracy)
		if math.IsNaN(e.ValLoss) {
			val = "no validation"
		}
		p.line("epoch %d/%d  train loss %.4f acc %.4f  %s  lr %.3g  %.0f img/s  %.1fs",
			e.Epoch, p.epochs, e.TrainLoss, e.TrainAccuracy, val, e.LR, e.ImagesPerSecond, e.Seconds)
	case train.EventResult:
		// A run stopped before its test (interrupted) has no test figures.
		test := fmt.Sprintf("test loss %.4f acc %.4f", e.TestLoss, e.TestAccuracy)
		if math.IsNaN(e.TestLoss) {
			test = "not tested"
		}
		p.line("%s  after %s, %.1fs, %.0f img/s  (%s)",
			test, spec.Count(e.Epochs, "epoch"), e.Seconds, e.ImagesPerSecond, e.Stopped)
		if e.Reason != "" {
			p.line("%s", e.Reason)
		}
	}
}

// step redraws the bar after done of total steps of this run.
func (p *progressBar) step(epoch, done, total int, loss, accuracy float64) {
	if !p.terminal {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	elapsed := now.Sub(p.start)
	if p.limit > 0 && done > 0 {
		frac = max(frac, min(1, elapsed.Seconds()/p.limit))
	}
	filled := int(frac * width)
	eta, imagesPerSecond := "?", 0.0
	if done > 0 {
		imagesPerSecond = float64(done*p.batch) / elapsed.Seconds()
		remaining := time.Duration(float64(elapsed) * (1 - frac) / frac)
		eta = remaining.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\033[Kepoch %d/%d [%s%s] %3.0f%% %6.0f img/s ETA %s  loss %.4f acc %.3f",
		epoch, p.epochs, strings.Repeat("█", filled), strings.Repeat("·", width-filled),
		100*frac, imagesPerSecond, eta, loss, accuracy)
}

// line prints a finished line (an epoch summary), clearing the bar first.
func (p *progressBar) line(format string, args ...any) {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// images draws how many images of a dataset of image files have
// been read (photos take a while), and clears the line after the last.
func (p *progressBar) images(name string, done, total int) {
	if !p.terminal || !p.due(done == total) {
		return
	}
	if done == total {
		fmt.Fprint(p.w, "\r\033[K")
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s: reading images, %s of %s", name, spec.Thousands(done), spec.Thousands(total))
}

// due reports whether the bar may be drawn again: a tenth of a second
// after the last time, or at once for the last count (final).
func (p *progressBar) due(final bool) bool {
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && !final {
		return false
	}
	p.last = now
	return true
}

// bytes draws a download's progress.
func (p *progressBar) bytes(name string, done, total int64) {
	if !p.terminal || !p.due(done == total) {
		return
	}
	if total <= 0 {
		fmt.Fprintf(p.w, "\r\033[K%s: %.1f MB", name, float64(done)/1e6)
		return
	}
	const width = 30
	frac := float64(done) / float64(total)
	filled := int(frac * width)
	fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %3.0f%% %.1f/%.1f MB", name,
		strings.Repeat("█", filled), strings.Repeat("·", width-filled), 100*frac, float64(done)/1e6, float64(total)/1e6)
}
