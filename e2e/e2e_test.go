package e2e

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"plateau/nn"
	"plateau/spec"
)

var screenshots = flag.Bool("screenshots", false, "write screenshots of the main views to docs/")

// page is a served copy of the page and a browser pointed at it.
type page struct {
	url     string
	dir     string
	browser context.Context
	stop    func()
	// restartServer stops plateau serve as an interrupt does and starts it
	// again on the same address, data and jobs.
	restartServer func() error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

var (
	setupOnce sync.Once
	shared    *page
	setupErr  error
)

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// start builds and serves the page once for all tests.
func start(t *testing.T) *page {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the page and runs a browser")
	}
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("no chromium installed (apt-get install chromium)")
	}
	setupOnce.Do(func() { shared, setupErr = setup(chromium) })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

func setup(chromium string) (*page, error) {
	dir, err := os.MkdirTemp("", "plateau-e2e-")
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "root")
	assets := filepath.Join(root, "assets")
	os.MkdirAll(assets, 0o755)
	for _, f := range []string{"index.html", "assets/worker.js", "assets/style.css"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			return nil, err
		}
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	builds := []struct {
		out, pkg string
		wasm     bool
	}{
		{filepath.Join(dir, "plateau"), "./server", false},
		{filepath.Join(assets, "app.wasm"), "./wasm/app", true},
		{filepath.Join(assets, "worker.wasm"), "./wasm/worker", true},
	}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = ".."
		cmd.Env = os.Environ()
		if b.wasm {
			cmd.Env = append(cmd.Env, "GOOS=js", "GOARCH=wasm")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
		}
	}
	dataDir := filepath.Join(dir, "data")
	if err := writeTinyDataset(filepath.Join(dataDir, "tiny")); err != nil {
		return nil, err
	}
	var srv *exec.Cmd
	serve := func(addr string) (url string, err error) {
		srv = exec.Command(filepath.Join(dir, "plateau"), "serve", "-addr", addr, "-data", dataDir, "-root", root)
		stdout, _ := srv.StdoutPipe()
		if err := srv.Start(); err != nil {
			return "", err
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("plateau serve: %v", err)
		}
		return strings.Fields(strings.TrimPrefix(line, "serving the page on "))[0], nil
	}
	url, err := serve("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	restart := func() error {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
		_, port, _ := strings.Cut(strings.TrimPrefix(url, "http://"), ":")
		_, err := serve("127.0.0.1:" + port)
		return err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("window-size", "1280,900"),
	}
	alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, closeBrowser := chromedp.NewContext(alloc)
	stop := func() {
		closeBrowser()
		srv.Process.Kill()
		srv.Wait()
		os.RemoveAll(dir)
	}
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		stop()
		return nil, fmt.Errorf("starting chromium: %v", err)
	}
	return &page{url: url, dir: dir, browser: browser, stop: stop, restartServer: restart}, nil
}

// writeTinyDataset writes an MNIST-like set small enough to train in
// seconds: 28×28 grey images whose class is a bright bar at one of ten
// places, with noise.
func writeTinyDataset(dir string) error {
	os.MkdirAll(dir, 0o755)
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(prefix string, n int) error {
		images := make([]byte, 16+n*784)
		binary.BigEndian.PutUint32(images[0:], 0x803)
		binary.BigEndian.PutUint32(images[4:], uint32(n))
		binary.BigEndian.PutUint32(images[8:], 28)
		binary.BigEndian.PutUint32(images[12:], 28)
		labels := make([]byte, 8+n)
		binary.BigEndian.PutUint32(labels[0:], 0x801)
		binary.BigEndian.PutUint32(labels[4:], uint32(n))
		for i := range n {
			k := i % 10
			labels[8+i] = byte(k)
			img := images[16+i*784 : 16+(i+1)*784]
			for p := range img {
				img[p] = byte(rng.IntN(60))
			}
			for y := 2 + 2*k; y < 5+2*k; y++ {
				for x := 4; x < 24; x++ {
					img[y*28+x] = byte(180 + rng.IntN(76))
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), images, 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), labels, 0o644)
	}
	if err := write("train", 600); err != nil {
		return err
	}
	return write("t10k", 100)
}

// tab opens a fresh tab on the page with the tiny dataset.
func (p *page) tab(t *testing.T) context.Context {
	t.Helper()
	return p.tabFor(t, 3*time.Minute)
}

// tabFor is tab with a tab that lives for d.
func (p *page) tabFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	return p.tabLeaving(t, d, func() bool { return true })
}

// tabLeaving is tabFor with leave answering the browser's question
// before the page is left while it would lose a run (true: leave). The
// browser asks only on a page the user touched (a real click or key, not
// a script's click), and a question nobody answers would hold the tab.
func (p *page) tabLeaving(t *testing.T, d time.Duration, leave func() bool) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(p.browser)
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, d)
	t.Cleanup(cancel2)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok && e.Type == cdppage.DialogTypeBeforeunload {
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: leave()})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/?dataset=tiny")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelectorAll("#samples img").length > 0`, "the sample grid")
	return ctx
}

// chooseFile picks a dataset file in the Data tab's file input, as a user
// does.
func chooseFile(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{path})); err != nil {
		t.Fatal(err)
	}
}

// trainOneEpochOnServer sets one epoch in the Training tab, presses Run on
// server once it can be pressed, and waits for the run (what) to end.
func trainOneEpochOnServer(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	waitFor(t, ctx, `!document.querySelector("#run-server").disabled`, "Run on server")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, what)
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t *testing.T, ctx context.Context, cond, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#message")||{}).textContent||""`))
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 3000)`))
	t.Fatalf("timed out waiting for %s (%s); page message: %q\npage:\n%s", what, cond, msg, body)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// set changes a control's value as a user would and fires change.
func set(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error("no %s");
		if (e.type === "checkbox") { e.checked = %q === "true"; } else { e.value = %q; }
		e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, sel, sel, value, value))
}

// waitForWeights waits until the page holds the finished current run's
// weights: the evaluate button is enabled while a run trains too (it then
// measures the weights between two steps), so a run's result shown is not
// enough, while continuing needs the finished run's weights.
func waitForWeights(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, `!document.querySelector("#continue").disabled && !document.querySelector("#evaluate").disabled`, "the finished run's weights")
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error("no %s"); e.click(); return true; })()`, sel, sel))
}

func step(t *testing.T, ctx context.Context) int {
	return eval[int](t, ctx, `+(document.querySelector("#progress-text")||{dataset:{step:0}}).dataset.step`)
}

func TestTrainingInThePage(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)

	// Preprocessing, augmentation and the learning rate.
	set(t, ctx, "#normalization", "standardize")
	waitFor(t, ctx, `document.querySelector("#normalization").value === "standardize"`, "normalization")
	before := eval[string](t, ctx, `Array.from(document.querySelectorAll("#preview img")).map(i => i.src).join()`)
	set(t, ctx, "#aug-flip_vertical-p", "1")
	waitFor(t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll("#preview img")).map(i => i.src).join() !== %q`, before), "the augmentation preview to change")
	// The flip rows say what a flip does to these images: a bar's height
	// is its class, so upside down it is another class; mirrored, the same.
	waitFor(t, ctx, `(document.querySelector("#note-flip_vertical.layer-note")||{textContent:""}).textContent.startsWith("upside down, images lose their class") &&
		(document.querySelector("#note-flip_horizontal")||{textContent:""}).textContent.startsWith("mirrored, images keep their class")`, "the flips' notes")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.003")
	set(t, ctx, "#epochs", "200")
	// Validation checks within an epoch after every 50 ms of training.
	set(t, ctx, "#val-check", "0.05")
	waitFor(t, ctx, `document.querySelector("#lr-plot svg polyline")`, "the LR plot")

	// An invalid layer edit shows its error at the field.
	click(t, ctx, "#tab-Model")
	set(t, ctx, "#layer-0-kernel", "-2")
	waitFor(t, ctx, `document.querySelector('.field-error[data-path="model.layers[0].kernel"]')`, "the error at the kernel field")
	if !eval[bool](t, ctx, `document.querySelector("#start").disabled`) {
		t.Error("Start is enabled with an invalid spec")
	}
	set(t, ctx, "#layer-0-kernel", "3")
	waitFor(t, ctx, `!document.querySelector(".field-error") && !document.querySelector("#start").disabled`, "the error to clear")
	// A hidden dense layer narrower than the classes is valid, with a note.
	set(t, ctx, "#layer-6-units", "4")
	waitFor(t, ctx, `(document.querySelector(".layer-note")||{textContent:""}).textContent.includes("fewer units than the 10 classes") && !document.querySelector("#start").disabled`, "the bottleneck's note")
	set(t, ctx, "#layer-6-units", "128")
	waitFor(t, ctx, `!document.querySelector(".layer-note")`, "the note to go")

	// Start, pause, resume, stop.
	click(t, ctx, "#start")
	waitFor(t, ctx, `+document.querySelector("#progress-text").dataset.step > 5`, "training steps")
	waitFor(t, ctx, `document.querySelector("#loss-chart polyline")`, "the loss curve")
	waitFor(t, ctx, `parseFloat(document.querySelector("#progress-bar").style.width) > 0`, "the progress bar")
	// The progress line, cut short with an ellipsis on a narrow screen,
	// shows whole when the pointer rests on it.
	waitFor(t, ctx, `(e => e.title !== "" && e.title === e.textContent)(document.querySelector("#progress-text"))`, "the progress line's title")
	waitFor(t, ctx, `document.querySelector("#accuracy-chart").textContent.includes("validation (checks)") && /validation [0-9.]+%/.test(document.querySelector("#progress-text").textContent)`, "the validation checks on the curves and in the progress")
	click(t, ctx, "#pause")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("paused")`, "the pause")
	time.Sleep(300 * time.Millisecond)
	paused := step(t, ctx)
	time.Sleep(time.Second)
	if got := step(t, ctx); got != paused {
		t.Errorf("step went from %d to %d while paused", paused, got)
	}
	// The paused weights, measured on the validation and test images.
	click(t, ctx, "#evaluate")
	waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#evaluation h3") && document.querySelector("#evaluation h3").textContent.includes("after %d steps")`, paused), "the evaluation of the paused run")
	if n := eval[int](t, ctx, `document.querySelectorAll("#evaluation tr.eval-validation, #evaluation tr.eval-test").length`); n != 2 {
		t.Errorf("the evaluation has %d of the validation and test rows", n)
	}
	waitFor(t, ctx, `document.querySelector("#evaluation-val svg") && document.querySelector("#evaluation-test svg")`, "both confusion matrices")
	click(t, ctx, "#resume")
	waitFor(t, ctx, fmt.Sprintf(`+document.querySelector("#progress-text").dataset.step > %d`, paused+3), "training to resume")
	// Text typed in a field while the run trains and renders stays there
	// until its change event commits it.
	click(t, ctx, "#tab-Training")
	eval[bool](t, ctx, `(() => { const e = document.querySelector("#lr"); e.focus(); e.value = "0.00"; e.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`)
	typed := step(t, ctx)
	waitFor(t, ctx, fmt.Sprintf(`+document.querySelector("#progress-text").dataset.step > %d`, typed+5), "renders while typing")
	if got := eval[string](t, ctx, `document.querySelector("#lr").value`); got != "0.00" {
		t.Errorf("the half-typed learning rate became %q while the run rendered", got)
	}
	set(t, ctx, "#lr", "0.002")
	waitFor(t, ctx, `document.querySelector("#lr").value === "0.002"`, "the learning rate to commit")
	// The augmentation changes while the run trains.
	click(t, ctx, "#tab-Data")
	set(t, ctx, "#aug-flip_vertical-p", "0")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("augmentation changed at step")`, "the run to take the new augmentation")
	click(t, ctx, "#tab-Run")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")

	// A second, finished run; reload keeps both; the two overlay.
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("completed")`, "the second run to finish")
	waitFor(t, ctx, `document.querySelector("#confusion svg") && document.querySelector("#misclassified, #filters img")`, "the confusion matrix and galleries")
	// The finished run's stored weights measure the test accuracy the run
	// ended with.
	waitForWeights(t, ctx)
	click(t, ctx, "#evaluate")
	waitFor(t, ctx, `document.querySelector("#evaluation h3") && document.querySelector("#evaluation h3").textContent.includes("stored weights")`, "the evaluation of the stored weights")
	ended := eval[float64](t, ctx, `parseFloat(document.querySelector("#run-result").textContent.match(/test accuracy ([0-9.]+)%/)[1])`)
	measured := eval[float64](t, ctx, `parseFloat(document.querySelector("#evaluation tr.eval-test .accuracy").textContent)`)
	if math.Abs(ended-measured) > 0.051 {
		t.Errorf("the stored weights measure %.1f%% on the test images, the run ended with %.2f%%", measured, ended)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#tab-Runs")`, "the page after reload")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `document.querySelectorAll("#runs .run-row").length >= 2`, "the runs after reload")
	// The stopped run was saved as it ended, although it has no test
	// loss (a missing number, which JSON cannot write as NaN).
	if got := eval[string](t, ctx, `Array.from(document.querySelectorAll("#runs .run-row")).map(r => r.textContent).join(" | ")`); !strings.Contains(got, "canceled") {
		t.Errorf("the runs after reload: %q, want the stopped one listed as canceled", got)
	}
	eval[bool](t, ctx, `(() => { const boxes = document.querySelectorAll("#runs .overlay"); boxes[boxes.length-1].click(); boxes[boxes.length-2].click(); return true; })()`)
	waitFor(t, ctx, `document.querySelectorAll("#overlay-loss polyline").length >= 2`, "two overlaid curves")
}

func TestCorruptFileKeepsThePageWorking(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	bad := filepath.Join(p.dir, "corrupt.zip")
	os.WriteFile(bad, []byte("PK\x03\x04 not really a zip file"), 0o644)
	chooseFile(t, ctx, bad)
	waitFor(t, ctx, `document.querySelector("#message") && document.querySelector("#message").textContent.includes("corrupt")`, "the error about the file")
	set(t, ctx, "#dataset", "tiny")
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("tiny loaded")`, "the dataset to load again")

	// A good archive chosen in the file input loads: the worker reads the
	// File where it lies, a window at a time (its 7 MB of records take two).
	good := filepath.Join(p.dir, "chosen-cifar.tar.gz")
	if err := writeCIFARArchive(good, 2400, 300); err != nil {
		t.Fatal(err)
	}
	chooseFile(t, ctx, good)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 2,400 training and 300 test images of 32×32×3")`, "the chosen archive to load")
}

// A dataset file chosen in the page trains on the server: the page sends
// the file to the server's data folder, then the run, and lists the
// dataset among the server's.
func TestRunOnServerWithAChosenFile(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	chosen := filepath.Join(p.dir, "my shapes.zip")
	if err := writeShapesZip(chosen, 40); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(p.dir, "data", "my-shapes.zip")
	t.Cleanup(func() { os.Remove(kept) }) // the other tests' listing stays as it was
	chooseFile(t, ctx, chosen)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 64 training and 16 test images")`, "the chosen zip to load")
	trainOneEpochOnServer(t, ctx, "the server run on the sent dataset")
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the server's data folder: %v", err)
	}
	click(t, ctx, "#tab-Data")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#dataset option")).some(o => o.value == "my-shapes.zip")`, "the sent dataset among the server's")

	// Another file named as the server's my-shapes.zip is not that dataset:
	// it is sent too, and kept under a numbered name.
	chosen = filepath.Join(p.dir, "my-shapes.zip")
	if err := writeShapesZip(chosen, 25); err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(p.dir, "data", "my-shapes-2.zip")
	t.Cleanup(func() { os.Remove(renamed) })
	chooseFile(t, ctx, chosen)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 40 training")`, "the other file to load")
	click(t, ctx, "#run-server")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#runs .run-row")).filter(r => r.textContent.includes("shapes") && r.textContent.includes("server") && r.textContent.includes("test")).length == 2`,
		"the server run on the other file")
	if _, err := os.Stat(renamed); err != nil {
		t.Errorf("the other file under a numbered name: %v", err)
	}
	click(t, ctx, "#tab-Data")

	// An experiment's arms on the server, with another chosen file: the
	// three arms wait for the one sending of it.
	chosen = filepath.Join(p.dir, "more shapes.zip")
	if err := writeShapesZip(chosen, 30); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(p.dir, "data", "more-shapes.zip")) })
	chooseFile(t, ctx, chosen)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 48 training")`, "the second chosen zip to load")
	click(t, ctx, "#tab-Experiments")
	click(t, ctx, "#experiment-server-optimizer")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#runs .run-row")).filter(r => r.textContent.includes("optimizer:") && r.textContent.includes("server") && r.textContent.includes("test")).length == 3`,
		"the three arms trained on the server on the sent dataset")
}

// Stop, pressed while a chosen dataset is still on its way to the server
// (sent, or read there), aborts the sending: no job is made, and the run
// says it stopped. Of an experiment's arms, it stops the one in view.
func TestStopWhileTheDatasetIsSent(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	chosen := filepath.Join(p.dir, "noise.zip")
	if err := writeNoiseZip(chosen, 60); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(p.dir, "data", "noise.zip")) })
	chooseFile(t, ctx, chosen)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 96 training")`, "the chosen zip to load")
	before := len(serverJobs(t, p))
	click(t, ctx, "#run-server")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#view-run .field-error")).some(e => e.textContent.includes("stopped before the server trained it"))`, "the run shown as stopped")
	time.Sleep(2 * time.Second) // a job asked for late would show by now
	if jobs := serverJobs(t, p); len(jobs) != before {
		t.Errorf("%d jobs on the server after the stop, %d before: %+v", len(jobs), before, jobs[0])
	}
	waitFor(t, ctx, `!document.querySelector("#start").disabled`, "the page ready for another run")

	// An experiment's arms wait for one sending of the file: Stop stops
	// the arm in view, and the sending goes on for the others, which the
	// server is then asked to train.
	click(t, ctx, "#tab-Experiments")
	click(t, ctx, "#experiment-server-optimizer")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#view-run .field-error")).some(e => e.textContent.includes("stopped before the server trained it"))`, "the arm in view shown as stopped")
	var jobs []struct{ ID, State string }
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if jobs = serverJobs(t, p); len(jobs) >= before+2 {
			break
		}
	}
	if len(jobs) != before+2 {
		t.Fatalf("%d jobs on the server after one arm of three stopped, %d before; want the other two", len(jobs), before)
	}
	for _, j := range jobs[:2] {
		req, _ := http.NewRequest(http.MethodDelete, p.url+"/api/jobs/"+j.ID, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}

// serverJobs lists the server's jobs, newest first.
func serverJobs(t *testing.T, p *page) []struct{ ID, State string } {
	t.Helper()
	resp, err := http.Get(p.url + "/api/jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jobs []struct{ ID, State string }
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		t.Fatal(err)
	}
	return jobs
}

// writeNoiseZip writes a zip of two class folders of perClass 256×256
// colour PNGs of noise, stored: about 200 kB an image.
func writeNoiseZip(path string, perClass int) error {
	rng := rand.New(rand.NewPCG(5, 6))
	return writeImageZip(path, perClass, zip.Store, func(int, int) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 256, 256))
		for k := range img.Pix {
			img.Pix[k] = uint8(rng.IntN(256))
		}
		return img
	})
}

// writeShapesZip writes a zip of two class folders of 28×28 PNGs, perClass
// each: a bar across the top or the bottom half.
func writeShapesZip(path string, perClass int) error {
	return writeImageZip(path, perClass, zip.Deflate, func(c, i int) image.Image {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for y := range 28 {
			for x := range 28 {
				v := uint8((x*7 + y*13 + i*31) % 50)
				if (y < 14) == (c == 0) && y%14 > 4 && y%14 < 9 {
					v = 220
				}
				img.SetGray(x, y, color.Gray{v})
			}
		}
		return img
	})
}

// writeImageZip writes a zip of two class folders, c0 and c1, of perClass
// PNGs each, image i of class c drawn by draw(c, i).
func writeImageZip(path string, perClass int, method uint16, draw func(c, i int) image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for c := range 2 {
		for i := range perClass {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("c%d/%03d.png", c, i), Method: method})
			if err != nil {
				return err
			}
			if err := png.Encode(w, draw(c, i)); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func TestScreenshots(t *testing.T) {
	if !*screenshots {
		t.Skip("run with -screenshots to write docs/*.png")
	}
	p := start(t)
	ctx := p.tab(t)
	shoot := func(name string) {
		time.Sleep(500 * time.Millisecond)
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join("..", "docs"), 0o755)
	// A full-page capture lays the page out without the scroll bar but
	// keeps the width measured with it, which cut off the right edge.
	eval[bool](t, ctx, `(document.head.insertAdjacentHTML("beforeend", "<style>::-webkit-scrollbar { display: none }</style>"), true)`)
	set(t, ctx, "#aug-rotation-p", "0.8")
	set(t, ctx, "#aug-rotation-s", "20")
	waitFor(t, ctx, `document.querySelectorAll("#preview img").length > 0`, "the preview")
	shoot("data.png")
	click(t, ctx, "#tab-Model")
	shoot("model.png")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#schedule", "cosine")
	set(t, ctx, "#epochs", "4")
	set(t, ctx, "#batch", "16")
	waitFor(t, ctx, `document.querySelector("#lr-plot svg polyline")`, "the LR plot")
	click(t, ctx, "#lr-find")
	waitFor(t, ctx, `document.querySelector("#lr-find-chart svg polyline")`, "the LR range test")
	shoot("training.png")
	// A run planted with raw pixels, so the doctor has something to say,
	// with validation checks within its short epochs (every 50 ms), so
	// the curves show them as a long epoch's do.
	set(t, ctx, "#val-check", "0.05")
	click(t, ctx, "#tab-Data")
	set(t, ctx, "#normalization", "raw")
	set(t, ctx, "#train-limit", "300")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("completed")`, "the run to finish")
	waitFor(t, ctx, `document.querySelector("#doctor .finding")`, "the doctor's findings")
	shoot("run.png")
	click(t, ctx, `#doctor .try-fix[data-cause=unnormalized_input]`)
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("fix") && document.querySelector("#run-result").textContent.includes("completed")`, "the fixed run")
	shoot("fix.png")
	click(t, ctx, "#tab-Experiments")
	shoot("experiments.png")
	// The same spec trained by the server's jobs API, streamed back.
	click(t, ctx, "#tab-Data")
	set(t, ctx, "#normalization", "scale01")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `document.querySelector("#run-backend").textContent.includes("backend")`, "the server's backend")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("server") && document.querySelector("#run-result").textContent.includes("completed")`, "the server run")
	waitFor(t, ctx, `!document.querySelector("#evaluate").disabled`, "the evaluate button")
	click(t, ctx, "#evaluate")
	waitFor(t, ctx, `document.querySelectorAll("#filters img").length > 0`, "the server run's filters")
	shoot("server.png")
	click(t, ctx, "#tab-Runs")
	shoot("runs.png")
	// A mistake planted on purpose, and the doctor naming it.
	click(t, ctx, "#tab-Experiments")
	set(t, ctx, "#fault", "rate-too-high")
	waitFor(t, ctx, `!document.querySelector("#plant-fault").disabled`, "Train with this mistake")
	click(t, ctx, "#plant-fault")
	waitFor(t, ctx, `document.querySelector("#doctor-planted") && document.querySelector("#doctor-planted").textContent.includes("The doctor names it") && document.querySelector("#run-result")`, "the planted run named")
	shoot("fault.png")
	// A rate far off, named before the first epoch's end (as in
	// TestLRTooHighBeforeTheFirstEpochEnds), paused there.
	ctx = cifarTab(t, "thrown-cifar.tar.gz")
	eval[bool](t, ctx, `(document.head.insertAdjacentHTML("beforeend", "<style>::-webkit-scrollbar { display: none }</style>"), true)`)
	trainUntilThrown(t, ctx)
	click(t, ctx, "#pause")
	waitFor(t, ctx, `document.querySelector("#progress-text").textContent.includes("paused")`, "the pause")
	shoot("early.png")
}

// A run planted with raw 0–255 inputs and a large learning rate: the
// doctor names it in the panel, the evidence is on the curves, and its fix
// forks a second run overlaid on the first.
func TestDoctorPanelAndFix(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	set(t, ctx, "#normalization", "raw")
	set(t, ctx, "#train-limit", "200")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.05")
	set(t, ctx, "#epochs", "3")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("stopped")`, "the planted run to end")
	waitFor(t, ctx, `document.querySelector('#doctor .finding[data-cause="unnormalized_input"]')`, "the unnormalized_input finding in the doctor panel")
	if advice := eval[string](t, ctx, `document.querySelector('#doctor .finding[data-cause="unnormalized_input"] .advice').textContent`); advice == "" {
		t.Error("the finding has no advice")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#doctor .finding[data-cause="unnormalized_input"] table.evidence tr').length`); n == 0 {
		t.Error("the finding shows no evidence numbers")
	}
	// On a narrow screen, one column: the findings come right under the
	// run's result, before the charts; on a phone nothing is wider than
	// the screen but the cards' own scrolling content.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(760, 900)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `(() => { const d = document.querySelector("#doctor").getBoundingClientRect(), r = document.querySelector("#run-result").getBoundingClientRect(), l = document.querySelector("#loss-chart").getBoundingClientRect(); return d.left === l.left && r.bottom <= d.top && d.bottom <= l.top; })()`, "the doctor between the run's result and its charts at 760 px")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 800)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.documentElement.scrollWidth <= 390 && document.querySelector("#tab-Experiments").getBoundingClientRect().right <= 390 && document.querySelector("#run-server").getBoundingClientRect().right <= 390`, "a page no wider than a 390 px phone, every tab and button on it")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	runs := eval[int](t, ctx, `document.querySelectorAll("#doctor .finding").length`)
	t.Logf("%d findings: %s", runs, eval[string](t, ctx, `Array.from(document.querySelectorAll("#doctor .finding")).map(f => f.dataset.cause + " " + f.querySelector(".muted").textContent).join(", ")`))

	click(t, ctx, `#doctor .try-fix[data-cause=unnormalized_input]`)
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("fix unnormalized_input")`, "the forked run")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("completed")`, "the fixed run to finish")
	waitFor(t, ctx, `document.querySelectorAll("#loss-chart polyline").length >= 4 && document.querySelectorAll("#loss-chart text.legend").length >= 2`, "both runs overlaid (train and validation of each)")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#runs .run-row")).some(r => r.textContent.includes("fix unnormalized_input"))`, "the fix in the runs list")

	// With only the planted run ticked (the row before its fix), the fix's
	// row says what it changed from it.
	eval[bool](t, ctx, `(() => { document.querySelectorAll("#runs .overlay").forEach(b => { if (b.checked) b.click(); }); return true; })()`)
	eval[bool](t, ctx, `(() => { const rows = Array.from(document.querySelectorAll("#runs .run-row")); const i = rows.findIndex(r => r.textContent.includes("fix unnormalized_input")); rows[i-1].querySelector(".overlay").click(); return true; })()`)
	waitFor(t, ctx, `(() => { const rows = Array.from(document.querySelectorAll("#runs .run-row")); const i = rows.findIndex(r => r.textContent.includes("fix unnormalized_input"));
		return rows[i].querySelector(".changes").textContent === "data.normalization=scale01" && rows[i-1].querySelector(".changes").textContent === "the baseline"
			&& document.querySelector("#runs th:nth-child(5)").textContent === "settings changed from #" + i; })()`, "the fix's row to name its change from the planted run")
}

// A run that diverges ends as diverged, the doctor says the rate is too
// high, and the run is kept as it ended through a reload, the doctor's
// finding and the loss that exploded at its second step included; so is a run without a validation split, whose
// validation measurements are missing numbers.
func TestRunsAreKeptAsTheyEnded(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	// The browser keeps the other tests' runs too: these two are told
	// apart by their learning rates, which name them. reloaded reloads the
	// page and returns the Runs tab's line of the run so named.
	reloaded := func(name string) string {
		// The page writes a run to IndexedDB as its events arrive, in the
		// background: wait for the ended run's record before reloading.
		waitFor(t, ctx, fmt.Sprintf(`(() => {
			indexedDB.open("plateau").onsuccess = e => {
				const r = e.target.result.transaction("runs").objectStore("runs").getAll();
				r.onsuccess = () => { window.storedRuns = r.result.map(s => JSON.parse(s)); };
			};
			return (window.storedRuns || []).some(run => run.name.includes(%q) && run.result);
		})()`, name), "the ended run named "+name+" stored")
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `document.querySelector("#tab-Runs")`, "the page after reload")
		click(t, ctx, "#tab-Runs")
		row := fmt.Sprintf(`Array.from(document.querySelectorAll("#runs .run-row")).find(r => r.textContent.includes(%q))`, name)
		waitFor(t, ctx, row, "the run named "+name+" after reload")
		return eval[string](t, ctx, row+".textContent")
	}
	set(t, ctx, "#normalization", "raw")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "50")
	set(t, ctx, "#epochs", "3")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("diverged")`, "the run to diverge")
	waitFor(t, ctx, `document.querySelector('#doctor .finding[data-cause="lr_too_high"]')`, "the lr_too_high finding")
	if got := reloaded("lr 50"); !strings.Contains(got, "diverged") {
		t.Fatalf("the diverged run after reload: %q, want it listed as diverged", got)
	}
	eval[bool](t, ctx, `(Array.from(document.querySelectorAll("#runs .run-row")).find(r => r.textContent.includes("lr 50")).querySelector("a").click(), true)`)
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("diverged") && document.querySelector("#loss-chart circle, #loss-chart polyline")`, "the reloaded run's result and the exploding loss on its curve")
	waitFor(t, ctx, `document.querySelector('#doctor .finding[data-cause="lr_too_high"]')`, "the lr_too_high finding after reload")

	click(t, ctx, "#tab-Data")
	set(t, ctx, "#validation", "0")
	set(t, ctx, "#normalization", "scale01")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.0031")
	set(t, ctx, "#epochs", "1")
	waitFor(t, ctx, `!document.querySelector("#start").disabled`, "Start, with the dataset loaded again")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("lr 0.0031") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the run without validation to end")
	if got := reloaded("lr 0.0031"); !strings.Contains(got, "completed, test") {
		t.Errorf("the run without validation after reload: %q, want it listed as completed with its test accuracy", got)
	}

	// The diverged run's settings, used again from its row, are the page's:
	// its rate, epochs and raw inputs, as they were.
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("tiny loaded")`, "the dataset loaded after the reload")
	eval[bool](t, ctx, `(Array.from(document.querySelectorAll("#runs .run-row")).find(r => r.textContent.includes("lr 50")).querySelector(".use-spec").click(), true)`)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("are the page's now")`, "the notice that the run's settings are the page's")
	click(t, ctx, "#tab-Training")
	waitFor(t, ctx, `document.querySelector("#lr").value == "50" && document.querySelector("#epochs").value == "3"`, "the diverged run's rate and epochs in the fields")
	click(t, ctx, "#tab-Data")
	waitFor(t, ctx, `document.querySelector("#normalization").value == "raw" && document.querySelector("#validation").value == "0.1"`, "the diverged run's data settings in the fields")
}

// The architecture experiment trains its four nets in the page, the
// residual ones (whose layers name their inputs) included, and overlays
// them.
func TestArchitectureExperiment(t *testing.T) {
	p := start(t)
	// Its arms wait up to three minutes (waitForLong), beyond tab's life.
	ctx := p.tabFor(t, 6*time.Minute)
	// 270 training images, five steps an arm: the MobileNet-like arm, at
	// full resolution, trains at about 20 images a second in the page.
	set(t, ctx, "#train-limit", "300")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#tab-Experiments")
	click(t, ctx, "#experiment-architecture")
	waitForLong(t, ctx, `document.querySelector("#run-name") && document.querySelector("#run-name").textContent.includes("architecture: mobilenet-like") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the last arm", 3*time.Minute)
	exp, _ := spec.FindExperiment("architecture")
	waitFor(t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll("#loss-chart text.legend")).filter(l => l.textContent.includes("architecture:")).length == %d`, len(exp.Variants)), "every arm overlaid")
	if msg := eval[string](t, ctx, `(document.querySelector("#message") || {textContent: ""}).textContent`); msg != "" {
		t.Errorf("the page says %q", msg)
	}
	// The Experiments tab tabulates the arms: each with a test accuracy
	// and the doctor's word.
	click(t, ctx, "#tab-Experiments")
	waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll("#results-architecture tr").length == %d + 1 &&
		Array.from(document.querySelectorAll("#results-architecture tr")).slice(1).every(r => /%%$/.test(r.children[2].textContent) && r.children[4].textContent !== "")`, len(exp.Variants)),
		"a row per arm with its test accuracy and the doctor's finding")
}

// The LR range test plots loss against the rate and sets the suggestion.
func TestLRFinder(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.5")
	set(t, ctx, "#batch", "8")
	click(t, ctx, "#lr-find")
	waitFor(t, ctx, `document.querySelector("#lr-find-chart svg polyline") && document.querySelector("#apply-lr")`, "the LR range test's plot")
	click(t, ctx, "#apply-lr")
	waitFor(t, ctx, `document.querySelector("#lr").value !== "0.5"`, "the suggested rate in the field")

	// The layer editor edits a layer's activation, initializer, padding
	// (selects of the names the spec takes) and bias (a checkbox).
	click(t, ctx, "#tab-Model")
	if got := eval[string](t, ctx, `[...document.querySelector("#layer-0-activation").options].map(o => o.value + "=" + o.textContent).join(",")`); got != "=none,relu=relu,leaky_relu=leaky_relu,elu=elu,sigmoid=sigmoid,tanh=tanh" {
		t.Errorf("the activation select offers %s", got)
	}
	set(t, ctx, "#layer-0-activation", "tanh")
	set(t, ctx, "#layer-0-init", "glorot_uniform")
	set(t, ctx, "#layer-0-padding", "valid")
	set(t, ctx, "#layer-0-use_bias", "false")
	waitFor(t, ctx, `!document.querySelector(".field-error") && document.querySelector("#layer-0-use_bias").checked === false`, "the layer edits to take")
	s := pageSpec(t, ctx)
	if l := s.Model.Layers[0]; l.Activation != "tanh" || l.Init != "glorot_uniform" || l.Padding.String() != "valid" || l.Bias() {
		t.Errorf("after the edits the first layer is %+v", l)
	}
	for _, f := range []string{"activation", "init", "padding"} {
		if got := eval[string](t, ctx, `document.querySelector("#layer-0-`+f+`").value`); got == "" {
			t.Errorf("the %s select shows nothing after the edit", f)
		}
	}
}

// An experiment runs its arms one after another and overlays them; a run
// on the server shows in the run view and the runs list with its backend.
func TestExperimentAndServerRun(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	set(t, ctx, "#train-limit", "200")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#tab-Experiments")
	click(t, ctx, "#experiment-normalization")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("normalization: scale01") && document.querySelector("#run-result").textContent.includes("completed")`, "both arms of the experiment")
	waitFor(t, ctx, `document.querySelectorAll("#loss-chart text.legend").length >= 2`, "the arms overlaid")

	// The last arm, trained in the browser, goes on on the server from its
	// weights.
	waitFor(t, ctx, `!document.querySelector("#continue-server").disabled`, "Continue on the server to be enabled")
	click(t, ctx, "#continue-server")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("continues #") && document.querySelector("#run-name").textContent.includes("server") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`,
		"the run continued on the server")

	waitFor(t, ctx, `document.querySelector("#server-backend") && document.querySelector("#server-backend").textContent == "on native"`, "where the server trains, beside Run on server")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `document.querySelector("#run-backend").textContent.includes("backend")`, "the server's backend")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("completed")`, "the server run to finish")
	waitFor(t, ctx, `document.querySelector("#confusion svg")`, "the server run's confusion matrix")
	// The arms stay overlaid and the server run is drawn with them.
	waitFor(t, ctx, `document.querySelectorAll("#loss-chart text.legend").length >= 3`, "the server run beside the overlaid arms")
	// Its weights, evaluated in the worker, bring its filters.
	waitFor(t, ctx, `document.querySelector("#filters").parentElement.textContent.includes("when the run is evaluated")`, "what the empty filters card says")
	waitFor(t, ctx, `!document.querySelector("#evaluate").disabled`, "the evaluate button")
	click(t, ctx, "#evaluate")
	waitFor(t, ctx, `document.querySelectorAll("#filters img").length > 0`, "the server run's filters")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#runs .run-row")).some(r => r.textContent.includes("server") && r.textContent.includes("test"))`, "the server run in the runs list")

	// The same experiment with its arms trained by the server.
	click(t, ctx, "#tab-Experiments")
	click(t, ctx, "#experiment-server-normalization")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#runs .run-row")).filter(r => r.textContent.includes("normalization:") && r.textContent.includes("server") && r.textContent.includes("test")).length == 2`,
		"both arms trained on the server")
	click(t, ctx, "#tab-Run")
	waitFor(t, ctx, `Array.from(document.querySelectorAll("#loss-chart text.legend")).filter(l => l.textContent.includes("normalization:")).length == 2`, "the server's arms overlaid")
}

// The data experiment trains its arms in the worker on a quarter, half and
// all of each class's training images, with the same validation images.
func TestDataExperiment(t *testing.T) {
	p := start(t)
	// Its arms wait up to three minutes (waitForLong), beyond tab's life.
	ctx := p.tabFor(t, 6*time.Minute)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#tab-Experiments")
	// A script's click on a disabled button does nothing: wait for it.
	waitFor(t, ctx, `!document.querySelector("#experiment-data").disabled`, "Run the A/B")
	click(t, ctx, "#experiment-data")
	// Three runs one after another: minutes when make test's other
	// packages share the machine's cores with the browser.
	waitForLong(t, ctx, `document.querySelector("#run-name").textContent.includes("data: all") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the three arms", 3*time.Minute)
	// tiny: 60 images a class, 6 of each held out; a quarter of 54 is 14.
	for _, a := range [][2]string{{"all", "540 training, 60 validation"}, {"a quarter", "140 training, 60 validation"}, {"half", "270 training, 60 validation"}} {
		arm, want := a[0], a[1]
		click(t, ctx, "#tab-Runs")
		waitFor(t, ctx, `Array.from(document.querySelectorAll("#runs .run-row a")).some(a => a.textContent.includes("data: `+arm+`"))`, "the arm in the runs list")
		eval[bool](t, ctx, `(Array.from(document.querySelectorAll("#runs .run-row a")).find(a => a.textContent.includes("data: `+arm+`")).click(), true)`)
		waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("data: `+arm+`") && document.querySelector("#run-backend").textContent.includes("`+want+`")`, "arm "+arm+" on "+want+" images")
	}
	// The card reads the arms against the noise of the 100 test images.
	click(t, ctx, "#tab-Experiments")
	waitFor(t, ctx, `document.querySelector("#reading-data") && document.querySelector("#reading-data").textContent.includes("100 test images tell apart")`, "the data experiment's reading")
}

// pageSpec reads the spec the page holds from its address.
// importSpec writes s to a file and imports it in the Training tab, as a
// user does, waiting for the page to take it.
func importSpec(t *testing.T, ctx context.Context, p *page, s *spec.Spec, name string) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(p.dir, name)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#import-spec"), []string{file})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("spec imported")`, "the imported spec")
}

func pageSpec(t *testing.T, ctx context.Context) *spec.Spec {
	t.Helper()
	hash := eval[string](t, ctx, `location.hash`)
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(hash, "#spec="))
	if err != nil {
		t.Fatalf("the page's address %q holds no spec: %v", hash, err)
	}
	s, err := spec.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeWeights writes the initial weights of a spec's network as nn saves
// them.
func writeWeights(t *testing.T, path string, s *spec.Spec) {
	t.Helper()
	s = s.Clone()
	s.Expand()
	net, err := nn.New(s.Model, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := net.Save(f); err != nil {
		t.Fatal(err)
	}
}

// Weights from a file: one that does not fit the model is refused with
// what does not match; one that fits becomes a run to evaluate and to
// continue training from.
func TestImportWeights(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	s := pageSpec(t, ctx)
	wider := s.Clone()
	wider.Model.Layers[0].Filters++
	wrong, right := filepath.Join(p.dir, "wider.safetensors"), filepath.Join(p.dir, "fits.safetensors")
	writeWeights(t, wrong, wider)
	writeWeights(t, right, s)

	click(t, ctx, "#tab-Model")
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#import-weights"), []string{wrong})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#message") && document.querySelector("#message").textContent.includes("do not fit")`, "the refusal of weights that do not fit")
	if msg := eval[string](t, ctx, `document.querySelector("#message").textContent`); !strings.Contains(msg, "wider.safetensors") || !strings.Contains(msg, "conv1/kernel: file has shape") {
		t.Errorf("the refusal does not say what does not match: %q", msg)
	}
	click(t, ctx, "#message button")

	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#import-weights"), []string{right})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#run-imported") && document.querySelector("#run-imported").textContent.includes("fits.safetensors")`, "the imported weights as a run")
	click(t, ctx, "#evaluate")
	waitFor(t, ctx, `document.querySelector("#evaluation tr.eval-test .accuracy")`, "the evaluation of the imported weights")

	click(t, ctx, "#tab-Data")
	set(t, ctx, "#train-limit", "200")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#tab-Run")
	waitFor(t, ctx, `!document.querySelector("#continue").disabled`, "Continue to be enabled")
	click(t, ctx, "#continue")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("continues #")`, "the continued run")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("completed")`, "the continued run to finish")
}

// A run on the server goes on through a restart of the server: the job
// resumes from its checkpoint and the page, whose event stream broke,
// follows it again to its end.
func TestServerRunSurvivesAServerRestart(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	set(t, ctx, "#train-limit", "200")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "40")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `+document.querySelector("#progress-text").dataset.step > 12`, "the server run's first epochs")
	if err := p.restartServer(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed after 40 epochs")`, "the server run to finish after the restart")
	if msg := eval[string](t, ctx, `(document.querySelector("#message") || {textContent: ""}).textContent`); strings.Contains(msg, "lost the server") {
		t.Errorf("the page gave the server run up: %q", msg)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#loss-chart polyline").length`); n == 0 {
		t.Error("no curves after the restart")
	}
}

// A run on the server goes on while the page is reloaded: the new page
// follows the job again and shows it to its end.
func TestServerRunSurvivesAReload(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	set(t, ctx, "#train-limit", "200")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "40")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `document.querySelector("#run-backend") && document.querySelector("#run-backend").textContent.includes("backend")`, "the server run to start")
	waitFor(t, ctx, `+document.querySelector("#progress-text").dataset.step > 0`, "the server run's first steps")
	if eval[bool](t, ctx, `document.querySelector("#run-result") !== null && document.querySelector("#run-result").textContent.includes("completed")`) {
		t.Fatal("the server run finished before the reload; give it more epochs")
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#tab-Run")`, "the page after reload")
	click(t, ctx, "#tab-Run")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the server run to finish after the reload")
	if got := eval[string](t, ctx, `document.querySelector("#run-result").textContent`); strings.Contains(got, "closed while this run trained") {
		t.Errorf("the reloaded page gave the server run up: %q", got)
	}
	waitFor(t, ctx, `document.querySelector("#confusion svg")`, "the server run's confusion matrix")
}

// A job sent to the server by another program shows in the Runs tab and,
// shown, plays in the run view like a run sent from the page.
func TestFollowAJobSentElsewhere(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	resp, err := http.Post(p.url+"/api/jobs", "application/json", strings.NewReader(`{"dataset":"tiny","epochs":2,"train_limit":200}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.ID == "" {
		t.Fatalf("POST /api/jobs: %s", resp.Status)
	}
	click(t, ctx, "#tab-Runs")
	row := "#job-" + created.ID
	waitFor(t, ctx, `document.querySelector("`+row+` .show")`, "the job in the Runs tab")
	click(t, ctx, row+" .show")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("job `+created.ID+`") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed after 2 epochs")`,
		"the job played in the run view")
	waitFor(t, ctx, `document.querySelector("#confusion svg")`, "its confusion matrix")
	click(t, ctx, "#tab-Runs")
	waitFor(t, ctx, `!document.querySelector("`+row+`") && Array.from(document.querySelectorAll("#runs .run-row")).some(r => r.textContent.includes("job `+created.ID+`"))`,
		"the job among the page's runs, no longer among the others")

	// A long job sent elsewhere is canceled from the list.
	resp, err = http.Post(p.url+"/api/jobs", "application/json", strings.NewReader(`{"dataset":"tiny","epochs":400}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	row = "#job-" + created.ID
	click(t, ctx, "#jobs-refresh")
	waitFor(t, ctx, `document.querySelector("`+row+` .cancel")`, "the running job's cancel button")
	click(t, ctx, row+" .cancel")
	waitFor(t, ctx, `document.querySelector("`+row+`").textContent.includes("canceling")`, "the job marked as canceling")
	deadline := time.Now().Add(30 * time.Second)
	for serverJobs(t, p)[0].State != "canceled" {
		if time.Now().After(deadline) {
			t.Fatalf("the job was not canceled: %+v", serverJobs(t, p)[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	click(t, ctx, "#jobs-refresh")
	waitFor(t, ctx, `document.querySelector("`+row+`").textContent.includes("canceled") && !document.querySelector("`+row+` .cancel")`, "the job listed as canceled")
}

// A finding the doctor made and then dropped stays in its panel as one
// made earlier: upside down, a bar's height names another class, which
// the doctor says from the data before the first epoch; the network then
// learns both views and the clean validation images are all right.
func TestFindingsMadeEarlier(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	set(t, ctx, "#aug-flip_vertical-p", "0.5")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "4")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#doctor .finding[data-cause=augmentation_too_strong]")`, "the flip's finding before the first epoch")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the run to finish")
	waitFor(t, ctx, `!document.querySelector("#doctor .finding[data-cause=augmentation_too_strong]") &&
		(document.querySelector("#doctor-earlier")||{textContent:""}).textContent.includes("Augmentation too strong (before the first epoch")`, "the finding among the earlier ones")
}

// A spec that pools its features globally before they see the image:
// the Model tab notes the layer, the doctor names it from the start, and
// its fix, a flatten in its place, trains a second run that tells the
// tiny dataset's bars apart (their height is their class, which a
// global pooling throws away).
func TestLocalPoolFix(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	s := pageSpec(t, ctx)
	i := slices.IndexFunc(s.Model.Layers, func(l spec.Layer) bool { return l.Type == spec.Dense }) - 1
	if i < 1 || s.Model.Layers[i].Type != spec.MaxPool {
		t.Fatalf("the page's spec has no pooling before its first dense layer: %+v", s.Model.Layers)
	}
	s.Model.Layers[i] = spec.Layer{Type: spec.GlobalAvgPool, Name: "gap"}
	s.Train.Epochs = 3
	click(t, ctx, "#tab-Training")
	importSpec(t, ctx, p, s, "gap-spec.json")
	click(t, ctx, "#tab-Model")
	waitFor(t, ctx, `(document.querySelector(".layer-note")||{textContent:""}).textContent.includes("to 1×1 while each feature sees")`, "the pooling's note")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the run to finish")
	waitFor(t, ctx, `document.querySelector("#doctor .try-fix[data-cause=underfitting]")`, "underfitting's fix")
	before := eval[string](t, ctx, `document.querySelector("#run-result").textContent`)
	click(t, ctx, `#doctor .try-fix[data-cause=underfitting]`)
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("fix underfitting") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the fixed run")
	after := eval[string](t, ctx, `document.querySelector("#run-result").textContent`)
	if fixed := pageSpec(t, ctx); fixed.Model.Layers[i].Type != spec.Flatten {
		t.Errorf("the fixed run's layer %d is %s, want a flatten", i, fixed.Model.Layers[i].Type)
	}
	accuracy := func(text string) float64 {
		var v float64
		if _, err := fmt.Sscanf(text[strings.LastIndex(text, "test accuracy ")+len("test accuracy "):], "%f%%", &v); err != nil {
			t.Fatalf("no test accuracy in %q: %v", text, err)
		}
		return v
	}
	if b, a := accuracy(before), accuracy(after); !(b < 50 && a > 90) {
		t.Errorf("pooled globally: %s; flattened: %s; want under 50%% and over 90%%", before, after)
	}
}

// A teacher plants a mistake on purpose (Experiments tab, Break it on
// purpose): the run trains with the fault's changes alone, the page's
// spec keeps its rate, and the doctor's panel says the doctor named it.
func TestPlantAFault(t *testing.T) {
	p := start(t)
	ctx := p.tabFor(t, 4*time.Minute)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "2")
	click(t, ctx, "#tab-Experiments")
	set(t, ctx, "#fault", "rate-too-high")
	waitFor(t, ctx, `document.querySelector("#fault-changes").textContent === "train.lr=1" && document.querySelector("#fault-what").textContent.includes("1,000")`, "the fault's changes to the spec")
	waitFor(t, ctx, `!document.querySelector("#plant-fault").disabled`, "Train with this mistake")
	click(t, ctx, "#plant-fault")
	waitForLong(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("after")`, "the planted run's end", 2*time.Minute)
	waitFor(t, ctx, `document.querySelector("#doctor-planted") && document.querySelector("#doctor-planted").textContent.includes("The doctor names it: Learning rate too high")`, "the doctor's panel naming the planted fault")
	if s := pageSpec(t, ctx); s.Train.LR != 0.001 {
		t.Errorf("planting the fault changed the page's rate to %g", s.Train.LR)
	}
	click(t, ctx, "#tab-Experiments")
	waitFor(t, ctx, `document.querySelector("#fault-reading") && document.querySelector("#fault-reading").textContent.startsWith("Planted on purpose: A learning rate 1,000 times too high.")`, "the reading in the Experiments tab")
	// The same on the server: its run says so, and the doctor names it.
	click(t, ctx, "#plant-fault-server")
	waitForLong(t, ctx, `document.querySelector("#run-name").textContent.includes("· server") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("after")`, "the planted server run's end", 2*time.Minute)
	waitFor(t, ctx, `document.querySelector("#doctor-planted") && document.querySelector("#doctor-planted").textContent.includes("The doctor names it: Learning rate too high")`, "the doctor naming the fault planted on the server")
}

// Plant each in turn: one run per mistake, one after another, and the
// card's table of what the doctor said of each.
func TestPlantEachFault(t *testing.T) {
	p := start(t)
	ctx := p.tabFor(t, 6*time.Minute)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "3")
	click(t, ctx, "#tab-Experiments")
	waitFor(t, ctx, `!document.querySelector("#plant-each-fault").disabled`, "Plant each in turn")
	click(t, ctx, "#plant-each-fault")
	waitForLong(t, ctx, `document.querySelector("#run-name").textContent.includes("fault penalty") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("after")`, "the last planted run's end", 4*time.Minute)
	click(t, ctx, "#tab-Experiments")
	waitFor(t, ctx, `document.querySelectorAll("#fault-results tr").length === 8`, "a row per mistake")
	rows := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#fault-results tr")).slice(1).map(r => Array.from(r.cells).map(c => c.textContent).join(" | "))`)
	for i, r := range rows {
		t.Log(r)
		// On the tiny set an L2 penalty of 1 does no harm (100% with
		// Adam in three epochs), so there is nothing to name; every
		// other mistake is the doctor's top finding.
		if f := spec.Faults[i]; f.Name != "penalty" && !strings.HasSuffix(r, " | yes") {
			t.Errorf("%s: %s, want the doctor naming it first", f.Name, r)
		}
	}
	if *screenshots {
		// The card and its table, as docs/faults.png.
		eval[bool](t, ctx, `(document.head.insertAdjacentHTML("beforeend", "<style>::-webkit-scrollbar { display: none }</style>"), true)`)
		b, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("#faults")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "faults.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A time limit in the Training tab ends a run of many epochs at the
// limit, the progress bar following the time, and the run view says why
// it stopped.
func TestTimeLimitInThePage(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1000")
	set(t, ctx, "#time-limit", "4")
	set(t, ctx, "#schedule", "cosine")
	waitFor(t, ctx, `document.querySelector("#time-limit").value === "4" && document.querySelector("#schedule").value === "cosine"`, "the time limit")
	click(t, ctx, "#start")
	// Two seconds in, the bar is well past the 1,000 epochs' share.
	waitFor(t, ctx, `+document.querySelector("#progress-text").dataset.step > 0 && parseFloat(document.querySelector("#progress-bar").style.width) >= 25`, "the bar to follow the time")
	waitFor(t, ctx, `(document.querySelector("#run-result")||{textContent:""}).textContent.includes("stopped: time_limit")`, "the run to stop at its time limit")
	if got := eval[string](t, ctx, `document.querySelector("#run-result").textContent`); !strings.Contains(got, "time limit of 4 s was reached in epoch") || !strings.Contains(got, "of 1000") {
		t.Errorf("run result %q", got)
	}
}

// The misclassified validation images show where the network looked: a
// saliency map beside each, with a line that says what it is.
func TestMisclassifiedSaliency(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "1e-9") // the initial weights, which get most images wrong
	set(t, ctx, "#epochs", "1")
	waitFor(t, ctx, `parseFloat(document.querySelector("#lr").value) < 1e-8`, "the rate")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the run to finish")
	waitFor(t, ctx, `document.querySelectorAll("#misclassified figure").length > 0`, "the misclassified images")
	if n, m := eval[int](t, ctx, `document.querySelectorAll("#misclassified figure").length`), eval[int](t, ctx, `document.querySelectorAll("#misclassified figure img.saliency").length`); n != m {
		t.Errorf("%d misclassified images, %d saliency maps", n, m)
	}
	if !eval[bool](t, ctx, `[...document.querySelectorAll("p")].some(p => p.textContent.includes("where hiding a patch of the image lowers most its confidence"))`) {
		t.Error("no line says what the maps show")
	}
}
