package data

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"plateau/spec"
)

func testImage(h, w, c int) []uint8 {
	img := make([]uint8, h*w*c)
	for i := range img {
		img[i] = uint8(i*37 + 11)
	}
	return img
}

func always(strength float64) spec.Transform { return spec.Transform{P: 1, Strength: strength} }

func everything() spec.Augment {
	return spec.Augment{
		FlipHorizontal: spec.Transform{P: 0.5}, FlipVertical: spec.Transform{P: 0.5},
		Crop: always(2), Shift: always(0.1), Rotation: always(15), Zoom: always(0.1),
		Brightness: always(0.2), Contrast: always(0.2), Saturation: always(0.2), Hue: always(0.1),
		Cutout: always(0.25),
	}
}

func augment(t *testing.T, a spec.Augment, src []uint8, h, w, c int, seed uint64) []uint8 {
	t.Helper()
	aug, err := NewAugmenter(a, h, w, c)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]uint8, len(src))
	aug.Apply(dst, src, rand.New(rand.NewPCG(seed, 0)))
	return dst
}

func TestAugmentIdentity(t *testing.T) {
	src := testImage(5, 7, 3)
	tests := []struct {
		name string
		a    spec.Augment
	}{
		{"all off", spec.Augment{}},
		{"rotation by 0", spec.Augment{Rotation: always(0)}},
		{"zoom by 1", spec.Augment{Zoom: always(0)}},
		{"crop by 0", spec.Augment{Crop: always(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := augment(t, tt.a, src, 5, 7, 3, 1); !bytes.Equal(got, src) {
				t.Errorf("got %v, want the image unchanged", got[:9])
			}
		})
	}
	t.Run("in place", func(t *testing.T) {
		img := append([]uint8{}, src...)
		aug, _ := NewAugmenter(everything(), 5, 7, 3)
		want := augment(t, everything(), src, 5, 7, 3, 9)
		aug.Apply(img, img, rand.New(rand.NewPCG(9, 0)))
		if !bytes.Equal(img, want) {
			t.Errorf("augmenting in place differs from augmenting into another slice")
		}
	})
}

func TestAugmentFlips(t *testing.T) {
	const h, w, c = 4, 5, 3
	src := testImage(h, w, c)
	hflip := augment(t, spec.Augment{FlipHorizontal: always(0)}, src, h, w, c, 1)
	vflip := augment(t, spec.Augment{FlipVertical: always(0)}, src, h, w, c, 1)
	for y := range h {
		for x := range w {
			for k := range c {
				if got, want := hflip[(y*w+x)*c+k], src[(y*w+w-1-x)*c+k]; got != want {
					t.Fatalf("horizontal flip (%d,%d,%d) = %d, want %d", y, x, k, got, want)
				}
				if got, want := vflip[(y*w+x)*c+k], src[((h-1-y)*w+x)*c+k]; got != want {
					t.Fatalf("vertical flip (%d,%d,%d) = %d, want %d", y, x, k, got, want)
				}
			}
		}
	}
	if back := augment(t, spec.Augment{FlipHorizontal: always(0)}, hflip, h, w, c, 2); !bytes.Equal(back, src) {
		t.Errorf("flipping twice does not give the image back")
	}
}

// shifted returns src moved by (dx, dy) with zeros coming in.
func shifted(src []uint8, h, w, c, dx, dy int) []uint8 {
	out := make([]uint8, len(src))
	for y := range h {
		for x := range w {
			sx, sy := x-dx, y-dy
			if sx >= 0 && sx < w && sy >= 0 && sy < h {
				copy(out[(y*w+x)*c:(y*w+x+1)*c], src[(sy*w+sx)*c:(sy*w+sx+1)*c])
			}
		}
	}
	return out
}

func TestAugmentCropMovesWholePixels(t *testing.T) {
	const h, w, c = 6, 6, 1
	src := testImage(h, w, c)
	seen := map[[2]int]bool{}
	for seed := range uint64(40) {
		got := augment(t, spec.Augment{Crop: always(2)}, src, h, w, c, seed)
		found := false
		for dy := -2; dy <= 2 && !found; dy++ {
			for dx := -2; dx <= 2 && !found; dx++ {
				if bytes.Equal(got, shifted(src, h, w, c, dx, dy)) {
					found = true
					seen[[2]int{dx, dy}] = true
				}
			}
		}
		if !found {
			t.Fatalf("seed %d: crop is not a whole-pixel shift within 2 pixels", seed)
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct offsets in 40 crops", len(seen))
	}
}

func TestAugmentDeterministic(t *testing.T) {
	src := testImage(8, 8, 3)
	a := augment(t, everything(), src, 8, 8, 3, 42)
	b := augment(t, everything(), src, 8, 8, 3, 42)
	if !bytes.Equal(a, b) {
		t.Errorf("same seed, different bytes")
	}
	if c := augment(t, everything(), src, 8, 8, 3, 43); bytes.Equal(a, c) {
		t.Errorf("another seed, same bytes")
	}
}

func TestAugmentColor(t *testing.T) {
	gray := bytes.Repeat([]uint8{100}, 16*3)
	t.Run("brightness within strength", func(t *testing.T) {
		for seed := range uint64(20) {
			got := augment(t, spec.Augment{Brightness: always(0.2)}, gray, 4, 4, 3, seed)
			for _, v := range got {
				if v != got[0] || v < 49 || v > 151 {
					t.Fatalf("seed %d: pixel %d, want one value in 49..151", seed, v)
				}
			}
		}
	})
	t.Run("hue and saturation keep gray", func(t *testing.T) {
		got := augment(t, spec.Augment{Hue: always(1), Saturation: always(1)}, gray, 4, 4, 3, 5)
		for _, v := range got {
			if v < 99 || v > 101 {
				t.Fatalf("gray pixel became %d", v)
			}
		}
	})
	t.Run("hue and saturation skip one channel", func(t *testing.T) {
		src := testImage(4, 4, 1)
		if got := augment(t, spec.Augment{Hue: always(1), Saturation: always(1)}, src, 4, 4, 1, 5); !bytes.Equal(got, src) {
			t.Errorf("grayscale image changed")
		}
	})
	t.Run("contrast keeps the mean", func(t *testing.T) {
		src := []uint8{50, 150, 50, 150}
		got := augment(t, spec.Augment{Contrast: always(0.5)}, src, 2, 2, 1, 3)
		if int(got[0])+int(got[1]) < 199 || int(got[0])+int(got[1]) > 201 {
			t.Errorf("contrast moved the mean: %v", got)
		}
	})
}

func TestAugmentCutout(t *testing.T) {
	src := bytes.Repeat([]uint8{255}, 8*8)
	for seed := range uint64(20) {
		got := augment(t, spec.Augment{Cutout: always(0.5)}, src, 8, 8, 1, seed)
		zeros := bytes.Count(got, []byte{0})
		if zeros == 0 || zeros > 16 {
			t.Fatalf("seed %d: %d zeroed pixels, want 1 to 16", seed, zeros)
		}
	}
}

func TestAugmentNoAllocation(t *testing.T) {
	aug, err := NewAugmenter(everything(), 32, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := testImage(32, 32, 3), make([]uint8, 32*32*3)
	rng := rand.New(rand.NewPCG(1, 2))
	if n := testing.AllocsPerRun(50, func() { aug.Apply(dst, src, rng) }); n != 0 {
		t.Errorf("Apply allocates %g times per call", n)
	}
}

func TestNewAugmenterErrors(t *testing.T) {
	tests := []struct {
		a    spec.Augment
		want string
	}{
		{spec.Augment{FlipHorizontal: spec.Transform{P: 2}}, "augment.flip_horizontal.p is 2"},
		{spec.Augment{Zoom: always(1.5)}, "augment.zoom.strength is 1.5"},
		{spec.Augment{Rotation: always(-3)}, "augment.rotation.strength is -3"},
		{spec.Augment{Crop: always(100)}, "augment.crop.strength is 100"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := NewAugmenter(tt.a, 8, 8, 3)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func BenchmarkAugment(b *testing.B) {
	aug, _ := NewAugmenter(everything(), 32, 32, 3)
	src, dst := testImage(32, 32, 3), make([]uint8, 32*32*3)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		aug.Apply(dst, src, rng)
	}
}
