package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"plateau/spec"
)

// setFlags collects repeated -fashion-set flags.
type setFlags []string

func (f *setFlags) String() string     { return strings.Join(*f, " ") }
func (f *setFlags) Set(v string) error { *f = append(*f, v); return nil }

var (
	fashion        = flag.Bool("fashion", false, "measure the Fashion-MNIST test accuracy the page reaches in -fashion-seconds of training")
	fashionPreset  = flag.String("fashion-preset", spec.DefaultPreset("fashion-mnist"), "the preset picked in the page's preset list for -fashion")
	fashionSeconds = flag.Float64("fashion-seconds", 180, "training wall time of each -fashion run, from pressing Start")
	fashionRuns    = flag.Int("fashion-runs", 3, "runs of -fashion; the median is logged")
	fashionSpec    = flag.String("fashion-spec", "", "a spec JSON file to measure instead of -fashion-preset; it comes in the page's address")
	fashionWorkers = flag.Int("fashion-workers", 0, "the workers picked in the Training tab for -fashion runs (0: the page's default for the machine)")
	fashionSets    setFlags
)

func init() {
	flag.Var(&fashionSets, "fashion-set", "a spec change on top of -fashion-preset, e.g. -fashion-set train.lr=0.003 (repeatable); the spec then comes in the page's address, as a shared link")
}

// fashionRun is what one -fashion run measured.
type fashionRun struct {
	seconds        float64 // from pressing Start to the pause or the end
	completed      bool    // the run ended before the time was up
	steps          int
	imagesPerSec   float64 // as the page shows it: images trained per second of training
	val, test      float64 // accuracy of the evaluation
	progress, load string
}

// TestFashionMNISTInThreeMinutes is a measurement, not a check: run with
// -fashion, it opens the page with Fashion-MNIST, picks -fashion-preset in
// the preset list (or, with -fashion-set or -fashion-spec, opens the spec
// from the page's address, as a shared link does), sets the seed, presses
// Start, pauses the run when -fashion-seconds have passed since (unless it
// has ended before), presses Evaluate and logs the test accuracy and the
// training images per second, for each of -fashion-runs runs in a fresh
// browser context, then the median. Run i (from 0) trains with the spec's
// seed plus i.
//
//	go test ./e2e -run FashionMNIST -fashion -fashion-preset fashion-fast -timeout 30m -v
func TestFashionMNISTInThreeMinutes(t *testing.T) {
	if !*fashion {
		t.Skip("run with -fashion to measure")
	}
	p := start(t)
	s, err := spec.Preset(*fashionPreset)
	if *fashionSpec != "" {
		var b []byte
		if b, err = os.ReadFile(*fashionSpec); err == nil {
			s, err = spec.Parse(b)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Expand()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, kv := range fashionSets {
		path, value, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("-fashion-set %q: want section.field=value", kv)
		}
		if err := s.Set(path, value); err != nil {
			t.Fatal(err)
		}
	}
	var runs []fashionRun
	for i := range *fashionRuns {
		// A run that ends in time gives the same numbers for the same
		// seed, so each run trains with its own.
		seed := s.Train.Seed + int64(i)
		r := measureFashion(t, p, s, seed)
		t.Logf("run %d (seed %d): test accuracy %.2f%% (validation %.2f%%) after %.1f s of training, %d steps, %.0f img/s%s; %s; load average before: %s",
			i+1, seed, 100*r.test, 100*r.val, r.seconds, r.steps, r.imagesPerSec, map[bool]string{true: ", the run had ended (its final test pass included)"}[r.completed], r.progress, r.load)
		runs = append(runs, r)
	}
	median := func(f func(fashionRun) float64) float64 {
		var v []float64
		for _, r := range runs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	t.Logf("%s, median of %d runs: test accuracy %.2f%%, %.0f img/s", s.Model.Name, len(runs),
		100*median(func(r fashionRun) float64 { return r.test }), median(func(r fashionRun) float64 { return r.imagesPerSec }))
}

// measureFashion does one run of TestFashionMNISTInThreeMinutes in a new
// browser context.
func measureFashion(t *testing.T, p *page, s *spec.Spec, seed int64) fashionRun {
	t.Helper()
	ctx, cancel := chromedp.NewContext(p.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, time.Duration(*fashionSeconds)*time.Second+10*time.Minute)
	defer cancel2()
	url := p.url + "/?dataset=fashion-mnist"
	fromAddress := len(fashionSets) > 0 || *fashionSpec != ""
	if fromAddress {
		s = s.Clone()
		s.Train.LogEvery = 10 // as the page sets it when a preset is picked
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		url += "#spec=" + base64.RawURLEncoding.EncodeToString(b)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#dataset") && document.querySelector("#dataset").options.length > 0`, "the dataset list")
	if !eval[bool](t, ctx, `Array.from(document.querySelector("#dataset").options).some(o => o.value === "fashion-mnist")`) {
		t.Skip("the server offers no Fashion-MNIST (apt-get install dataset-fashion-mnist, or put it in the data folder)")
	}
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("fashion-mnist loaded") && !document.querySelector("#start").disabled`, "Fashion-MNIST to load")
	if !fromAddress {
		click(t, ctx, "#tab-Model")
		set(t, ctx, "#preset", s.Model.Name)
		waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#preset").value === %q`, s.Model.Name), "the preset")
	}
	click(t, ctx, "#tab-Training")
	if *fashionWorkers > 0 {
		set(t, ctx, "#workers", strconv.Itoa(*fashionWorkers))
		if w := eval[string](t, ctx, `document.querySelector("#workers").value`); w != strconv.Itoa(*fashionWorkers) {
			t.Fatalf("the page offers no %d workers (it shows %s)", *fashionWorkers, w)
		}
	}
	set(t, ctx, "#seed", strconv.FormatInt(seed, 10))
	waitFor(t, ctx, fmt.Sprintf(`JSON.parse(atob(location.hash.slice("#spec=".length).replace(/-/g, "+").replace(/_/g, "/"))).train.seed === %d`, seed), "the seed in the page's spec")
	click(t, ctx, "#tab-Run")
	got := pageSpec(t, ctx)
	if got.Train.Seed != seed {
		t.Fatalf("the page trains with seed %d, want %d", got.Train.Seed, seed)
	}
	if got.Model.Name != s.Model.Name || got.Train.BatchSize != s.Train.BatchSize || got.Train.Epochs != s.Train.Epochs || got.Train.LR != s.Train.LR || got.Train.Schedule != s.Train.Schedule {
		t.Fatalf("the page holds %s (batch %d, %d epochs, lr %g, %+v), not the spec under test", got.Model.Name, got.Train.BatchSize, got.Train.Epochs, got.Train.LR, got.Train.Schedule)
	}
	b, _ := json.Marshal(got.Train)
	workers := "the page's default workers"
	if *fashionWorkers > 0 {
		workers = fmt.Sprintf("%d worker(s)", *fashionWorkers)
	}
	t.Logf("training %s on %s with %s and %s", got.Model.Name, got.Data.Dataset, workers, b)

	r := fashionRun{load: loadAverage()}
	started := time.Now()
	click(t, ctx, "#start")
	deadline := started.Add(time.Duration(*fashionSeconds * float64(time.Second)))
	for time.Now().Before(deadline) {
		if eval[bool](t, ctx, `!!document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("stopped")`) {
			r.completed = true
			break
		}
		time.Sleep(min(200*time.Millisecond, time.Until(deadline)))
	}
	if r.completed {
		r.seconds = time.Since(started).Seconds()
		// A run ends early when it completes its epochs or reaches its
		// own time limit (train.time_limit_seconds), not otherwise.
		if result := eval[string](t, ctx, `document.querySelector("#run-result").textContent`); !strings.Contains(result, "completed") && !strings.Contains(result, "time_limit") {
			t.Fatalf("the run ended before the time was up: %s", result)
		}
		waitForWeights(t, ctx)
	} else {
		click(t, ctx, "#pause")
		// The run may end between the last look and the pause.
		waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("paused") || (!!document.querySelector("#run-result") && /completed|time_limit/.test(document.querySelector("#run-result").textContent))`, "the pause")
		r.seconds = time.Since(started).Seconds()
		if !eval[bool](t, ctx, `document.querySelector("#progress-text").textContent.includes("paused")`) {
			r.completed = true
			waitForWeights(t, ctx)
		}
	}
	r.steps = step(t, ctx)
	r.progress = eval[string](t, ctx, `document.querySelector("#progress-text").textContent`)
	if m := regexp.MustCompile(`([0-9,]+) img/s`).FindStringSubmatch(r.progress); m != nil {
		r.imagesPerSec, _ = strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
	}
	click(t, ctx, "#evaluate")
	waitForLong(t, ctx, `document.querySelector("#evaluation tr.eval-test .accuracy") && !document.querySelector("#evaluate").disabled`, "the evaluation", 5*time.Minute)
	r.val = eval[float64](t, ctx, `+document.querySelector("#evaluation tr.eval-validation .accuracy").dataset.value`)
	r.test = eval[float64](t, ctx, `+document.querySelector("#evaluation tr.eval-test .accuracy").dataset.value`)
	if math.IsNaN(r.test) {
		t.Fatal("the evaluation shows no test accuracy")
	}
	if !r.completed {
		click(t, ctx, "#stop")
	}
	if *screenshots {
		// The wrong answers of these weights, with where the network
		// looked, alone on the page: docs/saliency.png.
		waitFor(t, ctx, `document.querySelectorAll("#misclassified img.saliency").length > 0`, "the saliency maps")
		eval[bool](t, ctx, `(card => {
			for (const e of document.body.children) e.style.display = "none";
			const c = card.cloneNode(true);
			c.style.width = "880px";
			c.style.margin = "8px";
			document.body.appendChild(c);
			return true;
		})(document.querySelector("#misclassified").closest(".card"))`)
		time.Sleep(time.Second)
		shot, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(`body > .card:last-child`), 1))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "saliency.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// waitForLong is waitFor with a longer patience.
func waitForLong(t *testing.T, ctx context.Context, cond, what string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, ctx, cond, what)
}

// loadAverage is the machine's load average over 1, 5 and 15 minutes, to
// say how busy it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
