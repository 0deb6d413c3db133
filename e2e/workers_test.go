package e2e

import "testing"

// A run with two workers trains in the page: the second worker starts,
// the progress says the run has two, the run pauses, resumes and ends
// with a result, and a second two-worker run reuses the worker it
// started, checks its validation split within epochs, and learns about as
// well as the run with one.
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
	// The memory line counts the other worker's memory too.
	waitFor(t, ctx, `+document.querySelector("#memory").dataset.others > 1e6 && document.querySelector("#memory").textContent.includes("the other worker")`, "the other worker's memory")
	click(t, ctx, "#pause")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("paused")`, "the pause")
	click(t, ctx, "#resume")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")

	// This one checks the validation split within its epochs too, every
	// 50 ms of training: a pass the two workers share.
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "2")
	set(t, ctx, "#val-check", "0.05")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed") && document.querySelector("#progress-text").textContent.includes("2 workers")`, "the two-worker run to finish")
	waitFor(t, ctx, `document.querySelector("#accuracy-chart").textContent.includes("validation (checks)")`, "the two workers' validation checks on the curves")
	two := eval[float64](t, ctx, `parseFloat(document.querySelector("#run-result").textContent.match(/test accuracy ([0-9.]+)%/)[1])`)
	// The page's spec has dropout, whose masks differ between one worker
	// and two, so the two runs agree only roughly; the parts' gradients
	// are checked to add up exactly in the worker's own tests.
	t.Logf("test accuracy %.2f%% with two workers, %.2f%% with one", two, one)
	if two < one-15 || two < 30 {
		t.Errorf("test accuracy %.2f%% with two workers, %.2f%% with one", two, one)
	}
}
