package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"slices"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var startup = flag.Bool("startup", false, "measure the time from opening the page to its first training step, three times")

// startupProbe runs in the page from its first line: it notes when the app
// has rendered, when the worker is ready, when the dataset is there (and
// presses Start at once) and when the first step shows, in milliseconds
// since the navigation began.
const startupProbe = `(() => {
  const times = {};
  window.plateauTimes = times;
  const tick = () => {
    const now = performance.now();
    const start = document.querySelector("#start");
    if (!times.app && start) times.app = now;
    if (times.app && !times.worker && !document.querySelector(".status").textContent.includes("starting the training worker")) times.worker = now;
    if (!times.data && start && !start.disabled && document.querySelector("#samples img")) {
      times.data = now;
      start.click();
    }
    const p = document.querySelector("#progress-text");
    if (times.data && p && +p.dataset.step >= 1) {
      times.step = now;
      return;
    }
    setTimeout(tick, 2);
  };
  tick();
})();`

type startupTimes struct {
	App    float64 `json:"app"`
	Worker float64 `json:"worker"`
	Data   float64 `json:"data"`
	Step   float64 `json:"step"`
}

// TestTimeToFirstStep is a measurement, not a check: run with -startup,
// it opens the page three times, each in a new browser context (empty
// cache and storage, as a first visit), presses Start as soon as the
// first dataset the server lists has loaded, and logs when the first
// training step shows.
func TestTimeToFirstStep(t *testing.T) {
	if !*startup {
		t.Skip("run with -startup to measure")
	}
	p := start(t)
	var runs []startupTimes
	for i := range 3 {
		ctx, cancel := chromedp.NewContext(p.browser, chromedp.WithNewBrowserContext())
		ctx, cancel2 := context.WithTimeout(ctx, 5*time.Minute)
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: startupProbe}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `window.plateauTimes && window.plateauTimes.step`, "the first step")
		var got startupTimes
		if err := json.Unmarshal([]byte(eval[string](t, ctx, `JSON.stringify(window.plateauTimes)`)), &got); err != nil {
			t.Fatal(err)
		}
		notice := eval[string](t, ctx, `(document.querySelector("#notice") || {}).textContent || ""`)
		run := eval[string](t, ctx, `document.querySelector("#run-name").textContent + " · " + document.querySelector("#progress-text").textContent`)
		click(t, ctx, "#stop")
		t.Logf("run %d: app %.0f ms, worker ready %.0f ms, dataset loaded %.0f ms, first step %.0f ms (%s; %s)", i+1, got.App, got.Worker, got.Data, got.Step, notice, run)
		runs = append(runs, got)
		cancel2()
		cancel()
	}
	median := func(f func(startupTimes) float64) float64 {
		var v []float64
		for _, r := range runs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	t.Logf("median of %d: app %.0f ms, worker ready %.0f ms, dataset loaded %.0f ms, first step %.0f ms", len(runs),
		median(func(r startupTimes) float64 { return r.App }), median(func(r startupTimes) float64 { return r.Worker }),
		median(func(r startupTimes) float64 { return r.Data }), median(func(r startupTimes) float64 { return r.Step }))
}
