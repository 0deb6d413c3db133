package gomlx

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"plateau/data"
)

// upload is one batch on the device, padded to the whole batch.
type upload struct {
	x, y   *tensors.Tensor // y is nil where the labels stay on the host
	labels []int32         // the n examples' labels, on the host
	n      int
}

// release frees the batch's host and device memory.
func (u *upload) release() {
	for _, t := range []*tensors.Tensor{u.x, u.y} {
		if t != nil {
			t.FinalizeAll()
		}
	}
	*u = upload{}
}

// uploader puts an epoch's batches on the device from a goroutine of its
// own, one ahead of the step that uses them: each step's execution returns
// only when the device has finished it, so a batch copied to the device
// inside it (and copied into a tensor on the host before that) is time the
// device waits. The batches come from a Prefetcher, already filled.
type uploader struct {
	ready   chan upload
	stop    chan struct{}
	done    chan struct{}
	batches *data.Prefetcher
	err     error // the upload that failed, read after ready closes
	stopped bool
}

// uploadAhead starts uploading batches's batches to backend's device 0,
// each padded with zeros to batch examples of dims (the image's, after
// the batch): the images, and the labels too when labels is set.
func uploadAhead(backend backends.Backend, batches *data.Prefetcher, batch int, dims []int, labels bool) *uploader {
	u := &uploader{ready: make(chan upload, 1), stop: make(chan struct{}), done: make(chan struct{}), batches: batches}
	shape := append([]int{batch}, dims...)
	go func() {
		defer close(u.done)
		defer close(u.ready)
		for {
			x, y, n := batches.Next()
			if n == 0 {
				return
			}
			b := upload{labels: append([]int32(nil), y...), n: n}
			b.x = tensors.FromFlatDataAndDimensions(padBatch(x, n, batch), shape...)
			err := b.x.MaterializeOnDevice(backend, false, 0)
			if labels && err == nil {
				b.y = tensors.FromFlatDataAndDimensions(padBatch(y, n, batch), batch)
				err = b.y.MaterializeOnDevice(backend, false, 0)
			}
			if err != nil {
				b.release()
				u.err = err
				return
			}
			select {
			case u.ready <- b:
			case <-u.stop:
				b.release()
				return
			}
		}
	}()
	return u
}

// Next returns the next batch on the device, which the caller releases,
// or ok = false at the epoch's end or after an upload failed (Err).
func (u *uploader) Next() (b upload, ok bool) {
	b, ok = <-u.ready
	return b, ok
}

// Err is the error of an upload that failed, once Next has said there is
// no more.
func (u *uploader) Err() error {
	<-u.done
	return u.err
}

// Stop ends the uploads and the filling behind them, releases the batches
// uploaded and not taken, and waits for both goroutines. Stopping twice is
// harmless.
func (u *uploader) Stop() {
	if !u.stopped {
		u.stopped = true
		close(u.stop)
	}
	// The uploading goroutine may wait in the Prefetcher's Next, which
	// ends when the filling stops.
	u.batches.Stop()
	for b := range u.ready {
		b.release()
	}
	<-u.done
}

// padBatch extends v, the data of n examples (in its length) to that of
// full, with zeros, within its capacity: a data.Prefetcher's batch.
func padBatch[T float32 | int32](v []T, n, full int) []T {
	if n == full {
		return v
	}
	per := len(v) / n
	v = v[:full*per]
	clear(v[n*per:])
	return v
}
