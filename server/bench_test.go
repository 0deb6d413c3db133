package main

import (
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
