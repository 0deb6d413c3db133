package ui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"plateau/protocol"
)

// LossChart and AccuracyChart plot the current run, and the runs
// overlaid when any are ticked.
func (r *Root) LossChart() string {
	return LineChart{Title: r.chartTitle("loss (log scale)"), XLabel: "epoch", WholeX: true, Width: 460, Height: 240, LogY: true, Marks: r.LossMarks(), Series: r.series(func(run *Run) curves {
		return curves{
			step:  run.StepLoss,
			train: epochPoints(run, func(e protocol.Event) float64 { return e.TrainLoss }),
			val:   epochPoints(run, func(e protocol.Event) float64 { return e.ValLoss }),
			check: run.CheckLoss,
		}
	})}.SVG()
}

func (r *Root) AccuracyChart() string {
	return LineChart{Title: r.chartTitle("accuracy"), XLabel: "epoch", WholeX: true, Width: 460, Height: 240, YMin: 0, YMax: 1, Bands: r.AccuracyBands(), Series: r.series(func(run *Run) curves {
		return curves{
			step:  run.StepAccuracy,
			train: epochPoints(run, func(e protocol.Event) float64 { return e.TrainAccuracy }),
			val:   epochPoints(run, func(e protocol.Event) float64 { return e.ValAccuracy }),
			check: run.CheckAccuracy,
		}
	})}.SVG()
}

func epochPoints(run *Run, f func(protocol.Event) float64) []Point {
	pts := make([]Point, 0, len(run.Epochs))
	for _, e := range run.Epochs {
		pts = append(pts, Point{float64(e.Epoch), f(e)})
	}
	return pts
}

// curves are one measure of a run: its step events, its epochs' training
// and validation values, and its validation checks within epochs.
type curves struct{ step, train, val, check []Point }

// series builds the lines: the current run's step curve, its epoch
// train and validation curves, and, when it made validation checks within
// its epochs, a light validation line through the checks and the epochs'
// ends; or, with runs ticked for overlay, the train (solid) and validation
// (dashed) curves of each of them (a run started while others are overlaid
// is ticked with them: see newRun).
func (r *Root) series(get func(*Run) curves) []Series {
	var overlay []*Run
	for _, run := range r.Runs {
		if r.Overlay[run.ID] {
			overlay = append(overlay, run)
		}
	}
	if len(overlay) == 0 {
		if r.Current == nil {
			return nil
		}
		c := get(r.Current)
		out := []Series{{Name: "train (steps)", Color: "#93c5fd", Points: c.step}}
		if len(c.check) > 0 {
			out = append(out, Series{Name: "validation (checks)", Color: "#fca5a5", Points: mergeByX(c.check, c.val)})
		}
		return append(out,
			Series{Name: "train", Color: Palette[0], Points: c.train},
			Series{Name: "validation", Color: Palette[1], Points: c.val})
	}
	var out []Series
	for i, run := range overlay {
		cv := get(run)
		c := Palette[i%len(Palette)]
		name, train := truncate(overlayName(run), 34), cv.train
		if len(train) == 0 && len(cv.step) > 0 {
			// A run that ended within its first epoch (diverged at its
			// second step, stopped) shows its steps rather than nothing.
			name, train = truncate(overlayName(run), 26)+" · steps", cv.step
		}
		out = append(out, Series{Name: fmt.Sprintf("#%d %s", r.index(run), name), Color: c, Points: train},
			Series{Color: c, Dashed: true, Points: cv.val})
	}
	return out
}

// mergeByX is the points of a and b in the order of their x.
func mergeByX(a, b []Point) []Point {
	out := append(append(make([]Point, 0, len(a)+len(b)), a...), b...)
	slices.SortStableFunc(out, func(p, q Point) int { return cmp.Compare(p.X, q.X) })
	return out
}

// overlayName is the part of a run's name that tells it from the others
// overlaid with it.
func overlayName(run *Run) string {
	if i := strings.Index(run.Name, " + fix "); i > 0 {
		return "fix" + strings.TrimPrefix(run.Name[i:], " + fix")
	}
	return run.Name
}

// chartTitle says how overlaid runs are drawn.
func (r *Root) chartTitle(title string) string {
	if r.overlaying() {
		return title + " · solid train, dashed validation"
	}
	return title
}

// LossMarks and AccuracyBands draw the current run's evidence on its
// curves: the epoch of the lowest validation loss when the doctor says
// it overfits or has stalled, the noise band of the validation accuracy
// when the validation set is too small to tell.
func (r *Root) LossMarks() []Mark {
	run := r.Current
	if run == nil || (r.overlaying() && !r.Overlay[run.ID]) {
		return nil
	}
	var marks []Mark
	stuck := false
	for _, d := range r.Diagnoses() {
		if since, ok := d.Evidence["since_step"]; ok && run.Progress.StepsPerEpoch > 0 {
			// Read at the checks before the first epoch's end (whatever
			// the cause): the first check at a constant guess, once.
			if !stuck {
				x := since / float64(run.Progress.StepsPerEpoch)
				marks = append(marks, Mark{X: x, Label: "a constant guess from here", Color: "#dc2626"})
				stuck = true
			}
			continue
		}
		switch d.Cause {
		case "overfitting":
			if e, ok := d.Evidence["best_val_loss_epoch"]; ok {
				// As the finding's advice says it: risen past a tenth
				// above its best, or stalled there.
				label := "val loss no lower since epoch "
				if d.Evidence["val_loss_rise"] > 0.1 {
					label = "val loss turns up after epoch "
				}
				marks = append(marks, Mark{X: e, Label: label + FormatFloat(e), Color: "#dc2626"})
			}
		case "plateau_needs_lr_drop":
			if since, ok := d.Evidence["epochs_since_best"]; ok && len(run.Epochs) > 0 {
				e := float64(run.Epochs[len(run.Epochs)-1].Epoch) - since
				marks = append(marks, Mark{X: e, Label: "no progress since epoch " + FormatFloat(e), Color: "#ca8a04"})
			}
		case "lr_too_high", "exploding_gradients", "lr_too_low":
			if d.Cause == "lr_too_low" {
				continue
			}
			if first := firstRise(run); first > 0 {
				marks = append(marks, Mark{X: first, Label: "loss rises from here", Color: "#dc2626"})
			}
		}
	}
	return marks
}

// firstRise is the first epoch whose training loss is above the one
// before, or 0.
func firstRise(run *Run) float64 {
	for i := 1; i < len(run.Epochs); i++ {
		a, b := run.Epochs[i-1].TrainLoss, run.Epochs[i].TrainLoss
		if !finite(b) || b > a {
			return float64(run.Epochs[i-1].Epoch)
		}
	}
	return 0
}

func (r *Root) AccuracyBands() []Band {
	run := r.Current
	if run == nil || (r.overlaying() && !r.Overlay[run.ID]) || len(run.Epochs) == 0 || run.Start == nil {
		return nil
	}
	var bands []Band
	for _, d := range r.Diagnoses() {
		if d.Cause == "test_shift" {
			// The two intervals that do not overlap.
			ev := d.Evidence
			if _, ok := ev["test_ci_low"]; ok {
				bands = append(bands, Band{Y0: ev["val_ci_low"], Y1: ev["val_ci_high"], Label: "val accuracy, 95% interval"},
					Band{Y0: ev["test_ci_low"], Y1: ev["test_ci_high"], Label: "test accuracy, 95% interval", Color: "#dc2626"})
			}
			continue
		}
		if d.Cause != "val_set_too_small" && d.Cause != "overfitting" {
			continue
		}
		acc := run.Epochs[len(run.Epochs)-1].ValAccuracy
		lo, hi := wilson(acc, run.Start.ValSize)
		label := fmt.Sprintf("95%% interval of val accuracy (%s images)", Count(run.Start.ValSize))
		if d.Cause == "overfitting" {
			if gap, ok := d.Evidence["accuracy_gap"]; ok {
				ta := run.Epochs[len(run.Epochs)-1].TrainAccuracy
				bands = append(bands, Band{Y0: ta - gap, Y1: ta, Label: "train–val gap " + Percent(gap), Color: "#dc2626"})
			}
			continue
		}
		bands = append(bands, Band{Y0: lo, Y1: hi, Label: label})
	}
	return bands
}

// wilson is the 95% Wilson score interval of an accuracy on n examples.
func wilson(p float64, n int) (lo, hi float64) {
	if n <= 0 || !finite(p) {
		return 0, 1
	}
	const z = 1.96
	nf := float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, mid-half), math.Min(1, mid+half)
}

func (r *Root) overlaying() bool {
	for _, on := range r.Overlay {
		if on {
			return true
		}
	}
	return false
}
