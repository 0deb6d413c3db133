package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"plateau/data"
)

// halves makes n noisy images of h×w×c, two classes: class 0 bright in
// its left (or top) half, class 1 in its right (or bottom) half, sorted
// by class as an uploaded folder may be.
func halves(n, h, w, c int, vertical bool) data.Split {
	r := rand.New(rand.NewPCG(1, 2))
	s := data.Split{Images: make([]uint8, n*h*w*c), Labels: make([]int32, n)}
	for i := range n {
		k := 2 * i / n
		s.Labels[i] = int32(k)
		for y := range h {
			for x := range w {
				first := x < w/2
				if vertical {
					first = y < h/2
				}
				v := 40 + r.IntN(60)
				if first == (k == 0) {
					v += 120
				}
				for ch := range c {
					s.Images[((i*h+y)*w+x)*c+ch] = uint8(v)
				}
			}
		}
	}
	return s
}

func TestMirror(t *testing.T) {
	// Left against right: a left–right flip swaps the classes, an
	// upside-down one keeps them.
	m := Mirror(halves(300, 6, 8, 3, false), 6, 8, 3, 2)
	if m == nil || m.Sample != 150 || m.Match != 1 || m.Horizontal != 0 || m.Vertical != 1 {
		t.Errorf("left and right halves: %+v, want 150 images, match 1, horizontal 0, vertical 1", m)
	}
	m = Mirror(halves(300, 8, 6, 1, true), 8, 6, 1, 2)
	if m == nil || m.Match != 1 || m.Horizontal != 1 || m.Vertical != 0 {
		t.Errorf("top and bottom halves: %+v, want match 1, horizontal 1, vertical 0", m)
	}
	// Large images are read as thumbnails, to the same answer.
	m = Mirror(halves(200, 64, 48, 6, false), 64, 48, 6, 2)
	if m == nil || m.Match != 1 || m.Horizontal != 0 || m.Vertical != 1 {
		t.Errorf("64×48×6 halves: %+v, want match 1, horizontal 0, vertical 1", m)
	}
	// A sample spread over a split sorted by class sees every class.
	big := halves(5000, 4, 4, 1, false)
	if m := Mirror(big, 4, 4, 1, 2); m == nil || m.Sample != mirrorSample/2 || m.Match != 1 {
		t.Errorf("5,000 sorted images: %+v, want %d images, match 1", m, mirrorSample/2)
	}
	// Labels that repeat with a period of two: both halves see both.
	alternating := halves(300, 4, 4, 1, false)
	for i := range alternating.Len() {
		j := i/2 + 150*(i%2) // image j of the sorted split, class i%2
		copy(alternating.Images[i*16:(i+1)*16], halves(300, 4, 4, 1, false).Images[j*16:(j+1)*16])
		alternating.Labels[i] = int32(i % 2)
	}
	if m := Mirror(alternating, 4, 4, 1, 2); m == nil || m.Sample != 150 || m.Match != 1 || m.Horizontal != 0 {
		t.Errorf("alternating labels: %+v, want 150 images, match 1, horizontal 0", m)
	}
	for _, c := range []struct {
		name    string
		split   data.Split
		classes int
	}{
		{"too few images", halves(30, 4, 4, 1, false), 2},
		{"one class", halves(300, 4, 4, 1, false), 1},
		{"one class present", data.Split{Images: make([]uint8, 100*16), Labels: make([]int32, 100)}, 2},
		{"too many classes for a sample", halves(300, 4, 4, 1, false), mirrorClasses + 1},
	} {
		if m := Mirror(c.split, 4, 4, 1, c.classes); m != nil {
			t.Errorf("%s: %+v, want nil", c.name, m)
		}
	}
}

// BenchmarkMirror measures a CIFAR-sized dataset: 2,000 images of
// 32×32×3, ten classes.
func BenchmarkMirror(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	s := data.Split{Images: make([]uint8, 2000*32*32*3), Labels: make([]int32, 2000)}
	for i := range s.Images {
		s.Images[i] = uint8(r.IntN(256))
	}
	for i := range s.Labels {
		s.Labels[i] = int32(r.IntN(10))
	}
	for b.Loop() {
		Mirror(s, 32, 32, 3, 10)
	}
}

// Large images are read as thumbnails of box means: a 70×45×5 image
// (five channels, averaged into one) of constant boxes comes out as
// those constants.
func TestThumbnail(t *testing.T) {
	for _, c := range []struct{ n, m int }{{70, 32}, {45, 32}, {33, 32}, {64, 32}, {5, 5}} {
		total := 0
		for b := range c.m {
			total += boxLen(b, c.n, c.m)
		}
		if total != c.n {
			t.Errorf("boxes of %d pixels into %d hold %d", c.n, c.m, total)
		}
	}
	h, w, ch := 70, 45, 5
	src := make([]uint8, h*w*ch)
	for y := range h {
		for x := range w {
			for k := range ch {
				// Each box's pixels share a value; channels differ around it.
				src[(y*w+x)*ch+k] = uint8(3*(y*32/h) + (x * 32 / w) + k)
			}
		}
	}
	got := thumbnail(make([]float64, 32*32), src, h, w, ch, 32, 32, 1)
	for ty := range 32 {
		for tx := range 32 {
			if want := float64(3*ty + tx + 2); math.Abs(got[ty*32+tx]-want) > 1e-9 {
				t.Fatalf("box (%d, %d) = %g, want %g", ty, tx, got[ty*32+tx], want)
			}
		}
	}
}
