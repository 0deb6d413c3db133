package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"

	"plateau/spec"
	"plateau/train"
)

func main() {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		net      = fs.String("net", "convnetjs-cifar", "model preset to train")
		batch    = fs.Int("batch", 32, "examples per training step")
		seconds  = fs.Float64("seconds", 5, "timed seconds, after a warm-up of at most one second")
		specText = fs.String("spec-json", "", "a spec as JSON text: its model and training settings instead of -net's (the name -net gives stays the result's)")
		jsonOut  = fs.Bool("json", false, "print the result as one JSON object")
	)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	// One thread, as in a Web Worker, wherever it runs.
	runtime.GOMAXPROCS(1)
	var r train.BenchResult
	var err error
	if *specText != "" {
		var s *spec.Spec
		if s, err = spec.Parse([]byte(*specText)); err == nil {
			r, err = train.BenchmarkSpec(s, *net, *batch, *seconds, 1)
		}
	} else {
		r, err = train.Benchmark(*net, *batch, *seconds, 1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *jsonOut {
		b, _ := json.Marshal(r)
		fmt.Printf("%s\n", b)
		return
	}
	fmt.Printf("%s, batch %d, %s: %.1f images/s, %.2f GFLOP/s (%.1f MFLOP per image, %d steps in %.1f s)\n",
		r.Net, r.Batch, r.Platform, r.ImagesPerSecond, r.GFLOPS, r.MFLOPPerImage, r.Steps, r.Seconds)
}
