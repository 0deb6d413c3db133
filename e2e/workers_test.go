package e2e

import (
	"math"
	"testing"
)

// A run with two workers trains in the page: the second worker starts,
// the progress says the run has two, the run pauses, resumes and ends
// with a result, and a second two-worker run reuses the worker it
// started. The tiny spec has no batch norm or dropout, so its test
// accuracy is the one-worker run's up to rounding.
func TestTwoWorkers(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "2")
	set(t, ctx, "#workers", "1")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the one-worker run to finish")
	one := eval[float64](t, ctx, `parseFloat(document.querySelector("#run-result").textContent.match(/test accuracy ([0-9.]+)%/)[1])`)

	click(t, ctx, "#tab-Training")
	set(t, ctx, "#workers", "2")
	set(t, ctx, "#epochs", "200")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("2 workers") && +document.querySelector("#progress-text").dataset.step > 10`, "two workers training")
	click(t, ctx, "#pause")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("paused")`, "the pause")
	click(t, ctx, "#resume")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")

	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "2")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed") && document.querySelector("#progress-text").textContent.includes("2 workers")`, "the two-worker run to finish")
	two := eval[float64](t, ctx, `parseFloat(document.querySelector("#run-result").textContent.match(/test accuracy ([0-9.]+)%/)[1])`)
	if math.Abs(one-two) > 1.01 {
		t.Errorf("test accuracy %.2f%% with two workers, %.2f%% with one", two, one)
	}
}
