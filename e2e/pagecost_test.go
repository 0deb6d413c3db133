package e2e

import (
	"flag"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
)

var pageCost = flag.Bool("page-cost", false, "measure how busy the page's own thread is while fashion-fast trains on Fashion-MNIST in its workers")

// TestPageCostWhileTraining measures the page's main thread (the app's
// script, style, layout and the rest of its tasks, as Chromium's
// Performance domain counts them) over 40 s of a fashion-fast run, after
// its first 10 s: time the page takes is time the workers do not get on a
// machine with as many cores as workers.
func TestPageCostWhileTraining(t *testing.T) {
	if !*pageCost {
		t.Skip("run with -page-cost")
	}
	p := start(t)
	ctx, cancel := chromedp.NewContext(p.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/?dataset=fashion-mnist")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#dataset") && document.querySelector("#dataset").options.length > 0`, "the dataset list")
	if !eval[bool](t, ctx, `Array.from(document.querySelector("#dataset").options).some(o => o.value === "fashion-mnist")`) {
		t.Skip("the server offers no Fashion-MNIST (apt-get install dataset-fashion-mnist)")
	}
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("fashion-mnist loaded") && !document.querySelector("#start").disabled`, "Fashion-MNIST to load")
	click(t, ctx, "#tab-Model")
	set(t, ctx, "#preset", "fashion-fast")
	waitFor(t, ctx, `document.querySelector("#preset").value === "fashion-fast"`, "the preset")
	click(t, ctx, "#tab-Run")
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, "#start")
	time.Sleep(10 * time.Second)
	read := func() map[string]float64 {
		r, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]float64{}
		for _, x := range r.Metrics {
			m[x.Name] = x.Value
		}
		return m
	}
	before, from := read(), time.Now()
	time.Sleep(40 * time.Second)
	after, wall := read(), time.Since(from).Seconds()
	share := func(k string) float64 { return 100 * (after[k] - before[k]) / wall }
	t.Logf("the page's thread was busy %.1f%% of %.0f s: script %.1f%%, style %.1f%%, layout %.1f%%, other %.1f%%; %.0f layouts",
		share("TaskDuration"), wall, share("ScriptDuration"), share("RecalcStyleDuration"), share("LayoutDuration"), share("TaskOtherDuration"),
		after["LayoutCount"]-before["LayoutCount"])
	t.Log(eval[string](t, ctx, `document.querySelector("#progress-text").textContent`))
	click(t, ctx, "#stop")
}
