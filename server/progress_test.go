package main

import (
	"strings"
	"testing"

	"plateau/train"
)

// The result line counts epochs in words: "1 epoch", "2 epochs".
func TestProgressResultLine(t *testing.T) {
	for _, c := range []struct {
		epochs int
		want   string
	}{{1, "after 1 epoch, "}, {2, "after 2 epochs, "}} {
		var b strings.Builder
		newProgressBar(&b).report(train.Event{Event: train.EventResult, Epochs: c.epochs, Stopped: train.StoppedCompleted})
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%q, want %q", b.String(), c.want)
		}
	}
}
