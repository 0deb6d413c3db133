package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Leaving the page while a run trains in it would lose the run: the page
// asks first (the browser's own "leave site?" question), and staying
// keeps the run training; once the run has ended and its record is
// written, a reload goes ahead without asking.
func TestLeavingAsksWhileARunTrains(t *testing.T) {
	p := start(t)
	// Stay on the page, as a user who did not mean to leave.
	var asked atomic.Int32
	ctx := p.tabLeaving(t, 3*time.Minute, func() bool { asked.Add(1); return false })
	// The browser asks only on a page the user has touched: a real click.
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "30")
	set(t, ctx, "#lr", "0.00123") // names this test's run among the browser's stored ones
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#start"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `+document.querySelector("#progress-text").dataset.step > 0`, "the run's first steps")
	eval[bool](t, ctx, `(window.beforeReload = true)`)
	reload := func() {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		chromedp.Call(rctx, cdppage.Reload, cdppage.ReloadParams{})
	}
	reload()
	waitForCount := func(want int32) {
		deadline := time.Now().Add(20 * time.Second)
		for asked.Load() < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitForCount(1)
	if asked.Load() != 1 {
		t.Fatalf("the browser asked %d times before reloading a page that trains a run, want once", asked.Load())
	}
	// Stayed: the same page, the run still training.
	before := step(t, ctx)
	waitFor(t, ctx, fmt.Sprintf(`window.beforeReload && +document.querySelector("#progress-text").dataset.step > %d`, before+3), "the run to go on after staying")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")
	// The ended run's record and weights written, nothing holds the page.
	waitFor(t, ctx, `(() => {
		indexedDB.open("plateau").onsuccess = e => {
			const tx = e.target.result.transaction(["runs", "weights"]);
			const runs = tx.objectStore("runs").getAll(), keys = tx.objectStore("weights").getAllKeys();
			tx.oncomplete = () => { window.storedEnded = runs.result.map(s => JSON.parse(s)).some(r => r.has_weights && r.result && keys.result.includes(r.id) && r.result.stopped === "canceled" && r.spec.train.lr === 0.00123); };
		};
		return window.storedEnded;
	})()`, "the ended run and its weights stored")
	reload()
	waitFor(t, ctx, `!window.beforeReload && document.querySelector("#tab-Runs")`, "the page after a reload that did not ask")
	if n := asked.Load(); n != 1 {
		t.Errorf("the browser asked %d times in all, want once (not for the page after its run ended)", n)
	}
}
