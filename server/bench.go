package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"

	"plateau/train"
)

// benchCommand measures training throughput on random data: the same
// harness as bin/bench.wasm and /bench.html, so the three compare.
func benchCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		net     = fs.String("net", "convnetjs-cifar", "model preset to train (see plateau presets)")
		batch   = fs.Int("batch", 32, "examples per training step")
		seconds = fs.Float64("seconds", 5, "timed seconds, after a warm-up of at most one second")
		threads = fs.Int("threads", 0, "goroutines the kernels may use (GOMAXPROCS); 0: all cores")
		jsonOut = fs.Bool("json", false, "print the result as one JSON object")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *threads < 0 {
		return usagef("-threads %d must be 0 (all cores) or more", *threads)
	}
	if *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	}
	r, err := train.Benchmark(*net, *batch, *seconds)
	if err != nil {
		return err
	}
	if *jsonOut {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s, batch %d, %d thread(s): %.1f images/s, %.2f GFLOP/s (%.1f MFLOP per image, %d steps in %.1f s, %.2g allocations per step)\n",
		r.Net, r.Batch, r.Threads, r.ImagesPerSecond, r.GFLOPS, r.MFLOPPerImage, r.Steps, r.Seconds, r.AllocsPerStep)
	return err
}
