package e2e

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"plateau/spec"
)

var (
	memorySample = flag.String("memory-sample", "", "measure the page's and the worker's peak memory while they train convnetjs-cifar on this CIFAR-10 archive (the 3,000-image sample)")
	memoryEpochs = flag.Int("memory-epochs", 0, "epochs of the -memory-sample run (0: the preset's)")
)

// TestMemoryOnTheCIFARSample is a measurement, not a check: run with
// -memory-sample PATH, it trains convnetjs-cifar in the page on that
// archive and logs the peaks of the worker's and the page's wasm linear
// memory, of the page's JavaScript heap, and of the resident memory of the
// browser's renderer process that holds both.
func TestMemoryOnTheCIFARSample(t *testing.T) {
	if *memorySample == "" {
		t.Skip("run with -memory-sample PATH to measure")
	}
	p := start(t)
	name := filepath.Base(*memorySample)
	if err := copyFile(filepath.Join(p.dir, "data", name), *memorySample); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Preset("convnetjs-cifar", spec.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *memoryEpochs > 0 {
		s.Train.Epochs = *memoryEpochs
	}
	s.Train.LogEvery = 10
	browserPID := 0
	if proc := chromedp.FromContext(p.browser).Browser.Process(); proc != nil {
		browserPID = proc.Pid
	}
	before := renderers(browserPID)
	opened := time.Now()
	ctx := p.open(t, name, s)
	var pids []int
	for pid := range renderers(browserPID) {
		if !before[pid] {
			pids = append(pids, pid)
		}
	}
	loaded := readMemory(t, ctx)
	t.Logf("loaded %s in %.1f s: %.1f MB of images and labels; worker linear memory %.1f MB, live heap %.1f MB; renderer processes of the page: %v",
		name, time.Since(opened).Seconds(), mb(loaded.Dataset), mb(loaded.Linear), mb(loaded.Live), pids)

	click(t, ctx, "#start")
	var peakWorker, peakPage, peakJS, peakRSS int64
	var samples int
	started := time.Now()
	for {
		m := readMemory(t, ctx)
		peakWorker, peakPage = max(peakWorker, m.Linear), max(peakPage, m.Page)
		if heap, err := chromedp.Call(ctx, cdpruntime.GetHeapUsage, cdp.Empty{}); err == nil {
			peakJS = max(peakJS, int64(heap.UsedSize))
		}
		for _, pid := range pids {
			peakRSS = max(peakRSS, procStatus(pid, "VmRSS"))
		}
		samples++
		done := eval[bool](t, ctx, `!!document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("stopped")`)
		if done {
			break
		}
		if time.Since(started) > 30*time.Minute {
			t.Fatal("the run did not end in 30 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
	result := eval[string](t, ctx, `document.querySelector("#run-result").textContent`)
	progress := eval[string](t, ctx, `document.querySelector("#progress-text").textContent`)
	var hwm int64
	for _, pid := range pids {
		hwm = max(hwm, procStatus(pid, "VmHWM"))
	}
	t.Logf("trained %d epochs in %.0f s (%s; %s), %d samples every 0.5 s", s.Train.Epochs, time.Since(started).Seconds(), result, progress, samples)
	t.Logf("peaks: worker linear memory %.1f MB; page linear memory %.1f MB; page JavaScript heap %.1f MB; renderer resident memory %.1f MB sampled, %.1f MB high-water mark (VmHWM)",
		mb(peakWorker), mb(peakPage), mb(peakJS), mb(peakRSS), mb(hwm))
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// renderers lists the renderer processes descended from the browser.
func renderers(browser int) map[int]bool {
	parent := map[int]int{}
	isRenderer := map[int]bool{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 {
			parent[pid], _ = strconv.Atoi(fields[1])
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		isRenderer[pid] = strings.Contains(string(cmd), "--type=renderer")
	}
	out := map[int]bool{}
	for pid := range isRenderer {
		if !isRenderer[pid] {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == browser {
				out[pid] = true
				break
			}
		}
	}
	return out
}

// procStatus reads a memory line of /proc/PID/status in bytes.
func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
