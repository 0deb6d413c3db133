package train

import (
	"math"
	"testing"
)

func TestSaliencyMaps(t *testing.T) {
	// Two 10×10 images of 2 channels. The first: pixel p's gradient is
	// p/100 in channel 1 and its negative, larger by half, in channel 0;
	// the second is all zeros but for a NaN.
	const h, w, c = 10, 10, 2
	grad := make([]float32, 2*h*w*c)
	for p := range h * w {
		grad[p*c+1] = float32(p) / 100
		grad[p*c] = -1.5 * float32(p) / 100
	}
	grad[h*w*c+7] = float32(math.NaN())
	got := SaliencyMaps(grad, 2, h, w, c)
	if len(got) != 2*h*w {
		t.Fatalf("%d bytes, want %d", len(got), 2*h*w)
	}
	// The 99th percentile of 0..99 is 98: pixel 98 maps to 255, 99
	// saturates, 49 is half way, 0 is 0; the largest magnitude is the
	// negative channel's.
	for p, want := range map[int]byte{0: 0, 49: 128, 98: 255, 99: 255} {
		if got[p] != want {
			t.Errorf("pixel %d: %d, want %d", p, got[p], want)
		}
	}
	for p := range h * w {
		if got[h*w+p] != 0 {
			t.Fatalf("a zero gradient (and a NaN) gave pixel %d of the second map %d", p, got[h*w+p])
		}
	}
}
