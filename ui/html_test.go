package ui

import (
	"strings"
	"testing"

	"plateau/protocol"
)

// The misclassified gallery's HTML: each image with its map and caption,
// the caption's text escaped; without maps, the images alone.
func TestMisclassifiedHTML(t *testing.T) {
	run := &Run{wrongURLs: []string{"data:image/png;base64,AAA", "data:image/png;base64,BBB"}, saliencyURLs: []string{"data:image/png;base64,MMM", "data:image/png;base64,NNN"},
		Wrong: &protocol.Images{N: 2, Labels: []int{0, 1}, Predicted: []int{1, 0}}}
	rv := &RunView{Root: &Root{Current: run, Dataset: &protocol.Dataset{Classes: []string{"T-shirt/top", "<b>"}}}}
	got := rv.MisclassifiedHTML()
	want := `<figure><img src="data:image/png;base64,AAA" alt="misclassified"><img class="saliency" src="data:image/png;base64,MMM" alt="where the network looked" title="where hiding a patch lowers most the network&#39;s confidence in the class it predicted"><figcaption>labelled T-shirt/top, predicted &lt;b&gt;</figcaption></figure>`
	if !strings.HasPrefix(got, want) || strings.Count(got, "<figure>") != 2 || strings.Count(got, `class="saliency"`) != 2 {
		t.Errorf("gallery:\n%s\nwant it to start with\n%s", got, want)
	}
	run.saliencyURLs = nil
	if got := rv.MisclassifiedHTML(); strings.Contains(got, "saliency") || strings.Count(got, "<img") != 2 {
		t.Errorf("without maps: %s", got)
	}
	if got := (&RunView{Root: &Root{}}).MisclassifiedHTML(); got != "" {
		t.Errorf("without a run: %q", got)
	}
}
