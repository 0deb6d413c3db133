package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"plateau/kernels"
	"plateau/spec"
	"plateau/train"
)

// benchCommand measures training throughput on random data with one
// harness (train.Benchmark) in three places: natively, in node running
// bench.wasm, and in bench.html in a headless browser's Web Worker. With
// -runs it repeats the measurement and reports the median run; -record
// writes that as a row of a Markdown table.
func benchCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		netName = fs.String("net", "convnetjs-cifar", "model preset to train (see plateau presets)")
		file    = fs.String("spec", "", "spec file whose model and training settings to train instead of a preset's (as plateau train -spec); batch: its batch size unless -batch is given")
		batch   = fs.Int("batch", 32, "examples per training step")
		seconds = fs.Float64("seconds", 5, "timed seconds per run, after a warm-up of at most one second")
		threads = fs.Int("threads", 0, "goroutines the kernels may use natively (GOMAXPROCS); 0: all cores")
		workers = fs.Int("workers", 1, "natively, cut every batch into N parts trained side by side, each kernel on one thread (data parallelism)")
		runs    = fs.Int("runs", 1, "runs; the median one is reported")
		in      = fs.String("in", "native", "where to run: native, node (bench.wasm) or a browser command such as chromium (bench.html, headless)")
		wasm    = fs.String("wasm", "bin/bench.wasm", "bench.wasm for -in node")
		root    = fs.String("root", ".", "folder holding assets/ with bench.html, bench_worker.js and bench.wasm, for a browser")
		record  = fs.String("record", "", "Markdown file whose results table gets a row for this measurement")
		jsonOut = fs.Bool("json", false, "print the result as one JSON object")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *threads < 0 || *runs < 1 {
		return usagef("-threads must be 0 (all cores) or more and -runs at least 1")
	}
	if *threads > 0 && *in != "native" {
		return usagef("-threads applies to native runs only: wasm runs on one thread")
	}
	if *workers < 1 || (*workers > 1 && *in != "native") {
		return usagef("-workers must be at least 1, and above 1 only natively")
	}
	// With -spec the model is the file's, the name the file's too, and
	// the batch its batch size unless -batch says otherwise; wasm runs get
	// the spec as JSON text.
	var own *spec.Spec
	var specJSON []byte
	if *file != "" {
		var err error
		if own, err = loadSpec("", *file, "", "", spec.PresetOptions{}); err != nil {
			return err
		}
		if err := own.Validate(); err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
		if specJSON, err = json.Marshal(own); err != nil {
			return err
		}
		if !flagGiven(fs, "net") {
			*netName = strings.TrimSuffix(filepath.Base(*file), filepath.Ext(*file))
		}
		if !flagGiven(fs, "batch") {
			*batch = own.Train.BatchSize
		}
	}
	if *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}
	if *workers > 1 {
		// The parts are the parallelism: each kernel call runs on one thread.
		defer kernels.SetThreads(kernels.SetThreads(1))
	}
	var rep benchReport
	for range *runs {
		var r train.BenchResult
		var err error
		switch *in {
		case "native":
			if own != nil {
				// BenchmarkSpec changes the spec it trains: each run a copy.
				r, err = train.BenchmarkSpec(own.Clone(), *netName, *batch, *seconds, *workers)
			} else {
				r, err = train.Benchmark(*netName, *batch, *seconds, *workers)
			}
		case "node":
			r, err = benchInNode(*wasm, *netName, specJSON, *batch, *seconds)
		default:
			r, err = benchInBrowser(*in, filepath.Join(*root, "assets"), *netName, specJSON, *batch, *seconds)
		}
		if err != nil {
			return err
		}
		rep.all = append(rep.all, r)
		rep.Runs = append(rep.Runs, r.ImagesPerSecond)
	}
	rep.In = *in
	rep.BenchResult = median(rep.all)
	if *record != "" {
		if err := recordBench(*record, rep); err != nil {
			return err
		}
	}
	if *jsonOut {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	r := rep.BenchResult
	workersNote := ""
	if r.Workers > 1 {
		workersNote = fmt.Sprintf(", %d workers", r.Workers)
	}
	_, err := fmt.Fprintf(stdout, "%s, batch %d, %s (%s, %s GEMM), %d thread(s)%s: %.1f images/s, %.2f GFLOP/s (%.1f MFLOP per image; median of %d runs of %d steps in about %.1f s; %.2g allocations per step)\n",
		r.Net, r.Batch, rep.In, r.Platform, r.Kernel, r.Threads, workersNote, r.ImagesPerSecond, r.GFLOPS, r.MFLOPPerImage, len(rep.Runs), r.Steps, r.Seconds, r.AllocsPerStep)
	return err
}

// benchReport is the median run, where it ran, and the images per second
// of every run.
type benchReport struct {
	train.BenchResult
	In   string    `json:"in"`
	Runs []float64 `json:"runs"`
	all  []train.BenchResult
}

// median returns the run with the median images per second (the lower
// middle one of an even count).
func median(rs []train.BenchResult) train.BenchResult {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b train.BenchResult) int { return cmp.Compare(a.ImagesPerSecond, b.ImagesPerSecond) })
	return sorted[(len(sorted)-1)/2]
}

// benchInNode runs bench.wasm under node with Go's wasm_exec_node.js.
func benchInNode(wasm, netName string, specJSON []byte, batch int, seconds float64) (train.BenchResult, error) {
	var r train.BenchResult
	if _, err := os.Stat(wasm); err != nil {
		return r, fmt.Errorf("%v: build it with make bench-assets, or name another with -wasm", err)
	}
	runner := filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec_node.js")
	args := []string{runner, wasm, "-net", netName, "-batch", fmt.Sprint(batch), "-seconds", fmt.Sprint(seconds), "-json"}
	if specJSON != nil {
		args = append(args, "-spec-json", string(specJSON))
	}
	cmd := exec.Command("node", args...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("node %s: %v %s", wasm, err, strings.TrimSpace(errOut.String()))
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("node %s printed %q: %v", wasm, out, err)
	}
	return r, nil
}

// Rows of the results table sit between these markers; a row is replaced
// when a measurement with the same place, net, batch and threads is
// recorded again.
const (
	benchTableStart = "<!-- bench results: plateau bench -record rewrites the rows below -->"
	benchTableEnd   = "<!-- end of bench results -->"
	benchTableHead  = "| where | net | batch | threads | images/s (median) | GFLOP/s | runs (images/s) | seconds per run | machine | date |\n|---|---|---|---|---|---|---|---|---|---|"
)

// recordBench adds or replaces rep's row in the results table of the
// Markdown file at path, creating the table (and the file) if needed.
func recordBench(path string, rep benchReport) error {
	text := ""
	if b, err := os.ReadFile(path); err == nil {
		text = string(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	start, end := strings.Index(text, benchTableStart), strings.Index(text, benchTableEnd)
	if start < 0 || end < start {
		if text = strings.TrimRight(text, "\n"); text != "" {
			text += "\n\n"
		}
		text += benchTableStart + "\n" + benchTableHead + "\n" + benchTableEnd + "\n"
		start, end = strings.Index(text, benchTableStart), strings.Index(text, benchTableEnd)
	}
	r := rep.BenchResult
	threads := fmt.Sprint(r.Threads)
	if r.Workers > 1 {
		threads += fmt.Sprintf(" (%d workers)", r.Workers)
	}
	key := fmt.Sprintf("| %s | %s | %d | %s |", rep.In, r.Net, r.Batch, threads)
	runs := make([]string, len(rep.Runs))
	for i, v := range rep.Runs {
		runs[i] = fmt.Sprintf("%.1f", v)
	}
	row := fmt.Sprintf("%s %.1f | %.2f | %s | %.1f | %s | %s |", key, r.ImagesPerSecond, r.GFLOPS,
		strings.Join(runs, ", "), r.Seconds, machine(), time.Now().Format("2006-01-02"))
	var rows []string
	replaced := false
	for _, line := range strings.Split(text[start+len(benchTableStart):end], "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "| where |") || strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, key):
			rows = append(rows, row)
			replaced = true
		default:
			rows = append(rows, line)
		}
	}
	if !replaced {
		rows = append(rows, row)
	}
	table := benchTableStart + "\n" + benchTableHead + "\n" + strings.Join(rows, "\n") + "\n"
	return os.WriteFile(path, []byte(text[:start]+table+text[end:]), 0o644)
}

// machine names the CPU and its number of cores, as far as the system says.
func machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
}

// benchResultPath is where bench.html posts its result when the server
// that gave it the page accepts one.
const benchResultPath = "/bench-result"

// benchInBrowser serves assets on a free local port, opens bench.html in
// a headless browser and waits for the page to post its result. The
// browser's flags keep it from fetching anything but the page.
func benchInBrowser(browser, assets, netName string, specJSON []byte, batch int, seconds float64) (train.BenchResult, error) {
	var r train.BenchResult
	for _, name := range []string{"bench.html", "bench_worker.js", "bench.wasm"} {
		if _, err := os.Stat(filepath.Join(assets, name)); err != nil {
			return r, fmt.Errorf("%v: build them with make bench-assets", err)
		}
	}
	results := make(chan []byte, 1)
	mux := http.NewServeMux()
	files := http.FileServer(http.Dir(assets))
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/wasm_exec.js" {
			if _, err := os.Stat(filepath.Join(assets, "wasm_exec.js")); err != nil {
				http.ServeFile(w, req, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
				return
			}
		}
		files.ServeHTTP(w, req)
	})
	mux.HandleFunc("POST "+benchResultPath, func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case results <- b:
		default:
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	profile, err := os.MkdirTemp("", "plateau-bench-browser-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(profile)
	query := url.Values{"net": {netName}, "batch": {fmt.Sprint(batch)}, "seconds": {fmt.Sprint(seconds)}}
	if specJSON != nil {
		query.Set("spec", string(specJSON))
	}
	page := fmt.Sprintf("http://%s/bench.html?%s", ln.Addr(), query.Encode())
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--user-data-dir="+profile, page)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// Ask the browser to close its renderers and quit; force it after a while.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds*float64(time.Second))+2*time.Minute)
	defer cancel()
	select {
	case b := <-results:
		line := strings.TrimSpace(string(b))
		if !strings.HasPrefix(line, "{") {
			return r, fmt.Errorf("the page reported: %s", line)
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return r, fmt.Errorf("the page's result %q: %v", line, err)
		}
		return r, nil
	case err := <-exited:
		exited <- err
		return r, fmt.Errorf("%s exited before the page reported (%v)", browser, err)
	case <-ctx.Done():
		return r, errors.New("no result from the page in time")
	}
}

// flagGiven reports whether the command line set the named flag.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
