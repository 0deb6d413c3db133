package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"plateau/train"
)

func TestRecordBench(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(path, []byte("# Benchmarks\n\nSome prose.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := func(in string, threads int, perSecond float64) benchReport {
		return benchReport{In: in, Runs: []float64{perSecond},
			BenchResult: train.BenchResult{Net: "mnist-cnn", Batch: 32, Threads: threads, ImagesPerSecond: perSecond}}
	}
	for _, r := range []benchReport{rep("native", 2, 100), rep("node", 1, 50), rep("native", 2, 120)} {
		if err := recordBench(path, r); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "# Benchmarks\n\nSome prose.\n") {
		t.Errorf("the prose before the table changed:\n%s", text)
	}
	var rows []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| native") || strings.HasPrefix(line, "| node") {
			rows = append(rows, line)
		}
	}
	if len(rows) != 2 || !strings.Contains(rows[0], "| 120.0 |") || !strings.HasPrefix(rows[1], "| node | mnist-cnn | 32 | 1 | 50.0 |") {
		t.Errorf("rows = %q, want the native row replaced by the second native run and the node row kept", rows)
	}
}

func TestMedianRun(t *testing.T) {
	runs := []train.BenchResult{{ImagesPerSecond: 3}, {ImagesPerSecond: 1}, {ImagesPerSecond: 2}, {ImagesPerSecond: 9}}
	if got := median(runs).ImagesPerSecond; got != 2 {
		t.Errorf("median of 3, 1, 2, 9 = %v, want 2 (the lower middle run)", got)
	}
	if got := median(runs[:3]).ImagesPerSecond; got != 2 {
		t.Errorf("median of 3, 1, 2 = %v, want 2", got)
	}
}

// plateau bench -spec trains the file's model under the file's name, at
// its batch size unless -batch is given, and a bad file is refused with
// the file named.
func TestBenchSpecFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny-net.json")
	text := `{"model": {"input": [8, 8, 1], "classes": 3, "layers": [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "relu"}, {"type": "dense", "units": 3}]},
		"train": {"batch_size": 6}}`
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		net   string
		batch int
	}{
		{[]string{"-spec", file}, "tiny-net", 6},
		{[]string{"-spec", file, "-batch", "3", "-net", "other"}, "other", 3},
	} {
		var out, errOut strings.Builder
		args := append([]string{"-seconds", "0.05", "-threads", "1", "-json"}, tc.args...)
		if err := benchCommand(args, &out, &errOut); err != nil {
			t.Fatalf("bench %v: %v %s", args, err, errOut.String())
		}
		var rep benchReport
		if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
			t.Fatalf("bench %v printed %q: %v", args, out.String(), err)
		}
		if rep.Net != tc.net || rep.Batch != tc.batch || rep.MFLOPPerImage > 0.1 || rep.Steps < 1 {
			t.Errorf("bench %v: %+v, want net %s at batch %d with the file's tiny model", args, rep.BenchResult, tc.net, tc.batch)
		}
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"model": {"input": [8, 8, 1], "classes": 3, "layers": [{"type": "dense"}]}, "train": {"optimizer": "adamx"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if err := benchCommand([]string{"-spec", bad, "-seconds", "0.05"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bench -spec with optimizer adamx: %v, want an error naming the file", err)
	}
}

// Without bench.wasm, -in node says how to build it rather than printing
// node's stack trace.
func TestBenchInNodeWithoutTheWasm(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "bench.wasm")
	var out, errOut strings.Builder
	err := benchCommand([]string{"-in", "node", "-wasm", missing, "-net", "mnist-cnn", "-seconds", "0.05", "-runs", "1"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "make bench-assets") || strings.Contains(err.Error(), "at Object") {
		t.Errorf("bench -in node with no %s: %v, want an error that says to build it", missing, err)
	}
}
