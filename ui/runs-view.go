package ui

import "fmt"

// RunsView is the Runs tab: the runs kept in this browser, to show,
// overlay, download and delete.
type RunsView struct{ *Root }

// ShowRun makes a stored run the current one.
func (rs *RunsView) ShowRun(id string) {
	if run := rs.run(id); run != nil {
		rs.Current = run
		rs.Tab = "Run"
	}
}

// ToggleOverlay adds a run to the overlay chart or removes it.
func (rs *RunsView) ToggleOverlay(id string) { rs.Overlay[id] = !rs.Overlay[id] }

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
			s += fmt.Sprintf(", val %.1f%% after %d epoch%s", 100*v, n, plural(n))
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
