package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
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
	memoryChoose = flag.Bool("memory-choose", false, "load the -memory-sample archive through the page's file input, as a user's own file, instead of from the server's data folder")
	memoryFull   = flag.Bool("memory-full", false, "measure with a full-size release made of the -memory-sample archive's images: 50,000 training and 10,000 test records, as the official archive holds (its accuracy means nothing)")
)

// TestMemoryOnTheCIFARSample is a measurement, not a check: run with
// -memory-sample PATH, it trains convnetjs-cifar in the page on that
// archive and logs the peaks of the worker's and the page's wasm linear
// memory, of the page's JavaScript heap, and of the resident memory of all
// of Chromium's processes together.
func TestMemoryOnTheCIFARSample(t *testing.T) {
	if *memorySample == "" {
		t.Skip("run with -memory-sample PATH to measure")
	}
	p := start(t)
	name := filepath.Base(*memorySample)
	if *memoryFull {
		name = "cifar-10-full-size.tar.gz"
		if err := writeFullSizeCIFAR(filepath.Join(p.dir, "data", name), *memorySample); err != nil {
			t.Fatal(err)
		}
	} else if err := copyFile(filepath.Join(p.dir, "data", name), *memorySample); err != nil {
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
	opened := time.Now()
	var ctx context.Context
	if *memoryChoose {
		ctx = p.openFor(t, "tiny", s, 40*time.Minute)
		opened = time.Now()
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{filepath.Join(p.dir, "data", name)})); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("test images of 32×32×3")`, "the chosen archive to load")
		click(t, ctx, "#tab-Model")
		set(t, ctx, "#preset", "convnetjs-cifar")
		click(t, ctx, "#tab-Training")
		set(t, ctx, "#epochs", strconv.Itoa(s.Train.Epochs))
		click(t, ctx, "#tab-Run")
	} else {
		ctx = p.openFor(t, name, s, 40*time.Minute)
	}
	loaded := readMemory(t, ctx)
	atLoad := chromiumMemory(browserPID)
	t.Logf("loaded %s in %.1f s: %.1f MB of images and labels; worker linear memory %.1f MB, live heap %.1f MB; Pss of the renderers %.1f MB, of all of Chromium %.1f MB",
		name, time.Since(opened).Seconds(), mb(loaded.Dataset), mb(loaded.Linear), mb(loaded.Live), mb(atLoad["renderer"]), mb(atLoad["all"]))

	click(t, ctx, "#start")
	var peakWorker, peakPage, peakJS int64
	peakPss := map[string]int64{}
	var samples int
	started := time.Now()
	for {
		m := readMemory(t, ctx)
		peakWorker, peakPage = max(peakWorker, m.Linear), max(peakPage, m.Page)
		if heap, err := chromedp.Call(ctx, cdpruntime.GetHeapUsage, cdp.Empty{}); err == nil {
			peakJS = max(peakJS, int64(heap.UsedSize))
		}
		for kind, pss := range chromiumMemory(browserPID) {
			peakPss[kind] = max(peakPss[kind], pss)
		}
		samples++
		done := eval[bool](t, ctx, `!!document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("stopped")`)
		if done {
			break
		}
		if time.Since(started) > 35*time.Minute {
			t.Fatal("the run did not end in 35 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
	result := eval[string](t, ctx, `document.querySelector("#run-result").textContent`)
	progress := eval[string](t, ctx, `document.querySelector("#progress-text").textContent`)
	t.Logf("trained %d epochs in %.0f s (%s; %s), %d samples every 0.5 s", s.Train.Epochs, time.Since(started).Seconds(), result, progress, samples)
	t.Logf("peaks: worker linear memory %.1f MB; page linear memory %.1f MB; page JavaScript heap %.1f MB; proportional resident memory (Pss) of Chromium's processes: all together %.1f MB, renderers %.1f MB, browser %.1f MB, GPU %.1f MB, utilities %.1f MB",
		mb(peakWorker), mb(peakPage), mb(peakJS), mb(peakPss["all"]), mb(peakPss["renderer"]), mb(peakPss["browser"]), mb(peakPss["gpu-process"]), mb(peakPss["utility"]))
}

// writeFullSizeCIFAR writes a CIFAR-10 release of the official size (five
// training batches of 10,000 records and a test batch of 10,000) made of
// the records of the sample archive at src, which holds fewer: the records
// repeat in variants, mirrored or not and brightened by -6 to +6, so that
// no two records are equal and the held-out images are not copies of
// training images. Repeats lie megabytes apart, beyond gzip's window, so
// the archive compresses as the real one does (about 0.9 of its bytes).
func writeFullSizeCIFAR(dst, src string) error {
	const record = 1 + 3*32*32
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	batches := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		batches[path.Base(h.Name)] = b
	}
	train, test := batches["data_batch_1.bin"], batches["test_batch.bin"]
	if len(train) < record || len(test) < record || len(train)%record != 0 || len(test)%record != 0 {
		return fmt.Errorf("%s: want data_batch_1.bin and test_batch.bin of whole %d-byte records", src, record)
	}
	// fill makes n records from the source's, variant v of source record
	// i at position v·len(source)+i, counting from first.
	fill := func(source []byte, first, n int) []byte {
		count := len(source) / record
		out := make([]byte, n*record)
		for j := range n {
			k := first + j
			rec, v := source[(k%count)*record:][:record], k/count
			o := out[j*record:][:record]
			o[0] = rec[0]
			flip, shift := v%2 == 1, v/2%13-6
			for c := range 3 {
				for y := range 32 {
					for x := range 32 {
						sx := x
						if flip {
							sx = 31 - x
						}
						p := int(rec[1+c*1024+y*32+sx]) + shift
						o[1+c*1024+y*32+x] = byte(min(max(p, 0), 255))
					}
				}
			}
		}
		return out
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	put := func(name string, body []byte) error {
		hdr := &tar.Header{Name: "cifar-10-batches-bin/" + name, Mode: 0o644, Size: int64(len(body)), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	meta := batches["batches.meta.txt"]
	if len(meta) == 0 {
		meta = []byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n")
	}
	if err := put("batches.meta.txt", meta); err != nil {
		return err
	}
	for b := range 5 {
		if err := put(fmt.Sprintf("data_batch_%d.bin", b+1), fill(train, b*10000, 10000)); err != nil {
			return err
		}
	}
	if err := put("test_batch.bin", fill(test, 0, 10000)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
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

// chromiumMemory sums the proportional set size (Pss: resident memory,
// each shared page divided among the processes that share it, so that the
// sum counts it once) of the browser process and all its descendants, by
// kind (--type: renderer, gpu-process, utility; "browser" for the browser
// process itself). Whichever renderer holds the page and its workers is
// among them.
func chromiumMemory(browser int) map[string]int64 {
	parent := map[int]int{}
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
	}
	kinds := map[string]int64{}
	for pid := range parent {
		in := pid == browser
		for p := parent[pid]; !in && p > 1; p = parent[p] {
			in = p == browser
		}
		if !in {
			continue
		}
		kind := "browser"
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		// Arguments are NUL-separated, or space-separated where the
		// process has rewritten its command line (zygote children do).
		for _, arg := range strings.FieldsFunc(string(cmd), func(r rune) bool { return r == 0 || r == ' ' }) {
			if t, ok := strings.CutPrefix(arg, "--type="); ok {
				kind = t
			}
		}
		pss := procMemory(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
		kinds[kind] += pss
		kinds["all"] += pss
	}
	return kinds
}

// procMemory reads a memory line ("Key: N kB") of a /proc file in bytes.
func procMemory(path, key string) int64 {
	b, err := os.ReadFile(path)
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
