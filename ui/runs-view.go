package ui

import (
	"fmt"
	"strings"

	"plateau/spec"
)

// RunsView is the Runs tab: the runs kept in this browser, to show,
// overlay, download and delete.
type RunsView struct{ *Root }

// ToggleOverlay adds a run to the overlay chart or removes it.
func (rs *RunsView) ToggleOverlay(id string) { rs.Overlay[id] = !rs.Overlay[id] }

// Baseline is the run the others' settings are compared with: the first
// run ticked for the overlay, else the first run.
func (rs *RunsView) Baseline() *Run {
	for _, run := range rs.Runs {
		if rs.Overlay[run.ID] {
			return run
		}
	}
	if len(rs.Runs) > 0 {
		return rs.Runs[0]
	}
	return nil
}

// ChangesHeader heads the column of what each run changed.
func (rs *RunsView) ChangesHeader() string {
	if b := rs.Baseline(); b != nil {
		return fmt.Sprintf("settings changed from #%d", rs.index(b))
	}
	return "settings changed"
}

// ChangesText is what a run's spec changes from the baseline's: its first
// settings in Set's syntax ("train.lr=0.01"), "the baseline" for the
// baseline itself.
func (rs *RunsView) ChangesText(run *Run) string {
	b := rs.Baseline()
	if run == b {
		return "the baseline"
	}
	d := rs.changes(b, run)
	if d == nil {
		return ""
	}
	if len(d) == 0 {
		return "the same settings"
	}
	const shown = 3
	s := strings.Join(d[:min(len(d), shown)], ", ")
	if len(d) > shown {
		s += fmt.Sprintf(" and %d more", len(d)-shown)
	}
	return s
}

// ChangesTitle lists every setting a run changes from the baseline, one a
// line, for the cell's tooltip.
func (rs *RunsView) ChangesTitle(run *Run) string {
	b := rs.Baseline()
	if run == b {
		return "the other runs' settings are compared with this run's; tick a run to compare with it instead"
	}
	return strings.Join(rs.changes(b, run), "\n")
}

// changes is spec.Diff of the two runs' specs: nil when one has none, and
// empty (not nil) when they are the same.
func (rs *RunsView) changes(b, run *Run) []string {
	if b == nil || b.Spec == nil || run.Spec == nil {
		return nil
	}
	key := [2]*spec.Spec{b.Spec, run.Spec}
	if d, ok := rs.diffs[key]; ok {
		return d
	}
	d := spec.Diff(b.Spec, run.Spec)
	if d == nil {
		d = []string{}
	}
	if rs.diffs == nil {
		rs.diffs = map[[2]*spec.Spec][]string{}
	}
	rs.diffs[key] = d
	return d
}

// RunSummary is a line of the runs list.
func RunSummary(run *Run) string {
	s := run.State
	if run.Imported != "" {
		s = "imported weights"
	}
	if run.Result != nil {
		s = run.Result.Stopped
		if finite(run.Result.TestAccuracy) {
			s += fmt.Sprintf(", test %.1f%%", 100*run.Result.TestAccuracy)
		}
	}
	if n := len(run.Epochs); n > 0 {
		if v := run.Epochs[n-1].ValAccuracy; finite(v) {
			s += fmt.Sprintf(", val %.1f%% after %s", 100*v, spec.Count(n, "epoch"))
		}
	}
	return s
}

// DownloadWeights offers a run's weights as safetensors.
func (rs *RunsView) DownloadWeights(id string) {
	rs.Host.LoadWeights(id, func(b []byte) {
		if b == nil {
			rs.Message = "this run has no stored weights"
			return
		}
		rs.Host.Download(id+".safetensors", "application/octet-stream", b)
	})
}
