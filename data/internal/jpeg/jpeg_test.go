package jpeg

import (
	"bytes"
	"image"
	"image/draw"
	stdjpeg "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func testFiles(t testing.TB) map[string][]byte {
	names, err := filepath.Glob("testdata/*.jpeg")
	if err != nil || len(names) == 0 {
		t.Fatalf("no test images: %v", err)
	}
	files := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(n)] = b
	}
	return files
}

func rgba(img image.Image) *image.RGBA {
	m := image.NewRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, img.Bounds().Min, draw.Src)
	return m
}

// Without the option, Decode is image/jpeg's: the same type, bounds and
// pixels, for baseline and progressive files, every chroma subsampling,
// gray, CMYK, RGB and restart intervals.
func TestDecodeIsImageJPEG(t *testing.T) {
	for name, b := range testFiles(t) {
		want, err := stdjpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: image/jpeg: %v", name, err)
		}
		got, err := Decode(bytes.NewReader(b), false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded otherwise than by image/jpeg", name)
		}
	}
}

// With the option, each pixel of each component is the mean of its 8×8
// block in the full decoding, within the rounding and clipping the full
// decoding does pixel by pixel; the size is an eighth, rounded up.
func TestEighthIsTheBlockMeans(t *testing.T) {
	checked := 0
	for name, b := range testFiles(t) {
		full, err := stdjpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		small, err := Decode(bytes.NewReader(b), true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if reflect.TypeOf(small) != reflect.TypeOf(full) {
			t.Errorf("%s: a %T, want a %T", name, small, full)
		}
		fb, sb := full.Bounds(), small.Bounds()
		if sb.Dx() != (fb.Dx()+7)/8 || sb.Dy() != (fb.Dy()+7)/8 {
			t.Fatalf("%s: %v at an eighth of %v", name, sb, fb)
		}
		type plane struct {
			pix    []uint8
			stride int
			w, h   int
		}
		var fulls, smalls []plane
		switch f := full.(type) {
		case *image.Gray:
			s := small.(*image.Gray)
			fulls = []plane{{f.Pix, f.Stride, fb.Dx(), fb.Dy()}}
			smalls = []plane{{s.Pix, s.Stride, sb.Dx(), sb.Dy()}}
		case *image.YCbCr:
			s := small.(*image.YCbCr)
			// The chroma planes' sizes, from their last pixels' offsets.
			fc, sc := f.COffset(fb.Max.X-1, fb.Max.Y-1), s.COffset(sb.Max.X-1, sb.Max.Y-1)
			fcw, fch := fc%f.CStride+1, fc/f.CStride+1
			scw, sch := sc%s.CStride+1, sc/s.CStride+1
			fulls = []plane{{f.Y, f.YStride, fb.Dx(), fb.Dy()}, {f.Cb, f.CStride, fcw, fch}, {f.Cr, f.CStride, fcw, fch}}
			smalls = []plane{{s.Y, s.YStride, sb.Dx(), sb.Dy()}, {s.Cb, s.CStride, scw, sch}, {s.Cr, s.CStride, scw, sch}}
		default:
			continue // CMYK and RGB files: converted after decoding
		}
		checked++
		worst, sum, n := 0.0, 0.0, 0
		for k := range fulls {
			f, s := fulls[k], smalls[k]
			// Whole blocks: a partial one at the right or bottom edge
			// averages the encoder's padding too.
			for by := 0; by < f.h/8; by++ {
				for bx := 0; bx < f.w/8; bx++ {
					mean, count := 0.0, 0
					for y := 8 * by; y < min(8*by+8, f.h); y++ {
						for x := 8 * bx; x < min(8*bx+8, f.w); x++ {
							mean += float64(f.pix[y*f.stride+x])
							count++
						}
					}
					mean /= float64(count)
					d := math.Abs(float64(s.pix[by*s.stride+bx]) - mean)
					worst, sum, n = max(worst, d), sum+d, n+1
				}
			}
		}
		// Rounding gives up to half a level; the full decoding's clipping
		// of a heavily quantized block's ringing more, here and there.
		if worst > 3 || sum/float64(n) > 0.3 {
			t.Errorf("%s: whole blocks off their means by %.2f at worst, %.3f on average", name, worst, sum/float64(n))
		}
	}
	if checked < 10 {
		t.Errorf("%d files checked", checked)
	}
}

// Hostile or cut files give an error, never a panic, at full size and at
// an eighth alike, and an eighth is always the full size's eighth.
func FuzzDecode(f *testing.F) {
	for _, b := range testFiles(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := stdjpeg.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width*cfg.Height > 1<<20 {
			return
		}
		full, errFull := Decode(bytes.NewReader(b), false)
		small, errSmall := Decode(bytes.NewReader(b), true)
		if (errFull == nil) != (errSmall == nil) {
			t.Fatalf("full size: %v; an eighth: %v", errFull, errSmall)
		}
		if errFull != nil {
			return
		}
		if fb, sb := full.Bounds(), small.Bounds(); sb.Dx() != (fb.Dx()+7)/8 || sb.Dy() != (fb.Dy()+7)/8 {
			t.Fatalf("%v at an eighth of %v", sb, fb)
		}
	})
}
