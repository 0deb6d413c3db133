package train

import (
	"fmt"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// CheckMemory reports, as a *spec.FieldError on train.batch_size, that a
// run of sp on ds would hold more than limit bytes, and which batch size
// would fit; on the model when not even a batch of one fits. A Go program
// out of memory ends, so a server, the command line and the page's worker
// ask first. The trainer's network holds the batch, each of the other
// workers' a part of it (nn.TrainingBytes), and the dataset sits in memory
// as bytes. budget names the limit for the message, with a %s for its size
// ("this server's %s for a job").
func CheckMemory(sp *spec.Spec, workers int, ds *data.Dataset, limit int64, budget string) error {
	workers = max(workers, 1)
	bytesFor := func(batch int) int64 {
		b, err := nn.TrainingBytes(sp.Model, batch)
		if err != nil {
			return 0 // the spec's own checks say what is wrong
		}
		if workers > 1 {
			p, _ := nn.TrainingBytes(sp.Model, (batch+workers-1)/workers)
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
	fixed := bytesFor(1) - perExample
	over := fmt.Sprintf(budget, ByteSize(limit))
	if fits == 0 {
		return &spec.FieldError{Path: "model", Message: fmt.Sprintf("this run needs about %s of memory (the data %s, the model's weights and their optimizer state %s), over %s even for a batch of one: use a smaller model, or fewer images",
			ByteSize(need), ByteSize(images), ByteSize(fixed), over)}
	}
	return &spec.FieldError{Path: "train.batch_size", Message: fmt.Sprintf("this run needs about %s of memory for a batch of %d (%s for each image of the batch), over %s: set train.batch_size to %d or less, or use a smaller model",
		ByteSize(need), batch, ByteSize(perExample), over, fits)}
}

// ByteSize says a number of bytes in GB, MB or kB.
func ByteSize(b int64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.1f kB", float64(b)/1e3)
}
