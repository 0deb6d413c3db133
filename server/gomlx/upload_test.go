package gomlx

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"plateau/data"
)

// The uploaded batches are the Loader's, in its order, on the device and
// padded to the whole batch; an uploader stopped after one batch leaves no
// goroutine behind.
func TestUploadAhead(t *testing.T) {
	tr := pureGo(t)
	// Five 2×1×1 images in batches of 2: the last batch is short.
	s := data.Split{Images: []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Labels: []int32{0, 1, 1, 0, 1}}
	opt := data.LoaderOptions{H: 2, W: 1, C: 1, Shuffle: true, Seed: 3}
	newLoader := func() *data.Loader { return data.NewLoader(s, 2, nil, nil, opt) }

	want := newLoader()
	want.Epoch(1)
	wx, wy := make([]float32, 4), make([]int32, 2)
	u := uploadAhead(tr.Backend(), newLoader().Prefetch(1, 2), 2, []int{2, 1, 1}, true)
	defer u.Stop()
	batches := 0
	for {
		b, ok := u.Next()
		if !ok {
			break
		}
		batches++
		n := want.Next(wx, wy)
		if b.n != n || !slices.Equal(b.labels, wy[:n]) {
			t.Fatalf("batch %d: %d examples labelled %v, want %d labelled %v", batches, b.n, b.labels, n, wy[:n])
		}
		if b.x.Shape().Dimensions[0] != 2 || b.y.Shape().Dimensions[0] != 2 {
			t.Fatalf("batch %d: shapes %s and %s, want whole batches of 2", batches, b.x.Shape(), b.y.Shape())
		}
		if !b.x.IsOnDevice(0) || !b.y.IsOnDevice(0) {
			t.Errorf("batch %d is not on the device", batches)
		}
		padded := append(wx[:2*n:2*n], make([]float32, 2*(2-n))...)
		tensors.ConstFlatData(b.x, func(x []float32) {
			if !slices.Equal(x, padded) {
				t.Errorf("batch %d: images %v, want %v", batches, x, padded)
			}
		})
		tensors.ConstFlatData(b.y, func(y []int32) {
			if !slices.Equal(y, append(wy[:n:n], make([]int32, 2-n)...)) {
				t.Errorf("batch %d: labels on the device %v, want %v padded with zeros", batches, y, wy[:n])
			}
		})
		b.release()
	}
	if batches != 3 {
		t.Errorf("%d batches, want 3", batches)
	}
	if err := u.Err(); err != nil {
		t.Error(err)
	}

	stopped := uploadAhead(tr.Backend(), newLoader().Prefetch(0, 2), 2, []int{2, 1, 1}, false)
	if b, ok := stopped.Next(); !ok || b.y != nil {
		t.Fatalf("first batch %v (%v), want one without labels on the device", b, ok)
	} else {
		b.release()
	}
	stopped.Stop()
	stopped.Stop()
	noFilling(t)
}
