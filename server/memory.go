package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// checkMemory refuses a native job whose networks and data would not fit
// in limit bytes (a Go program out of memory dies with every job it
// holds), saying which batch size would: the trainer's network holds the
// batch, each other worker's a part of it (nn.TrainingBytes), and the
// dataset sits in memory as bytes. budget names the limit for the message,
// with %s for its size ("this server's %s for a job").
func checkMemory(sp *spec.Spec, workers int, ds *data.Dataset, limit int64, budget string) *requestError {
	bytesFor := func(batch int) int64 {
		part := (batch + workers - 1) / workers
		b, err := nn.TrainingBytes(sp.Model, batch)
		if err != nil {
			return 0
		}
		if workers > 1 {
			p, _ := nn.TrainingBytes(sp.Model, part)
			b += int64(workers-1) * p
		}
		return b
	}
	batch := sp.Train.BatchSize
	images := int64(len(ds.Train.Images) + len(ds.Test.Images))
	need := bytesFor(batch) + images
	if need <= limit {
		return nil
	}
	// The largest batch that fits: the need grows with the batch.
	fits := 0
	for lo, hi := 1, batch-1; lo <= hi; {
		mid := (lo + hi) / 2
		if bytesFor(mid)+images <= limit {
			fits, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	perExample := (need - bytesFor(1) - images) / int64(max(batch-1, 1))
	fixed := bytesFor(1) - perExample + images
	if fits == 0 {
		return tooLarge("spec.model", limit, "this run needs about %s of memory (the data %s, the model's weights and their optimizer state %s), over %s even for a batch of one: use a smaller model, or fewer images (train_limit, test_limit)",
			size(need), size(images), size(fixed-images), fmt.Sprintf(budget, size(limit)))
	}
	return tooLarge("train.batch_size", limit, "this run needs about %s of memory for a batch of %d (%s for each image of the batch), over %s: set train.batch_size to %d or less, or use a smaller model",
		size(need), batch, size(perExample), fmt.Sprintf(budget, size(limit)), fits)
}

// size says a number of bytes in GB, MB or kB.
func size(b int64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.1f kB", float64(b)/1e3)
}

// machineMemory is the machine's memory in bytes (MemTotal in
// /proc/meminfo), or 8 GiB where it cannot be read.
func machineMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
					return kb << 10
				}
			}
		}
	}
	return 8 << 30
}
