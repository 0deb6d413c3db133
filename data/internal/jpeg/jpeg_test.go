package jpeg

import (
	"bytes"
	"image"
	"image/draw"
	stdjpeg "image/jpeg"
	"math"
	"math/rand/v2"
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
		got, err := Decode(bytes.NewReader(b), 1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded otherwise than by image/jpeg", name)
		}
	}
}

// Smaller by 8 or 4, each pixel of each component is the mean of the
// pixels it stands for in the full decoding (an 8×8 block, or a 4×4
// quarter of one), within the rounding and clipping the full decoding does
// pixel by pixel; the size is the full one over the scale, rounded up.
func TestSmallerIsTheMeans(t *testing.T) {
	for _, scale := range []int{8, 4} {
		checked := 0
		for name, b := range testFiles(t) {
			if checkMeans(t, name, b, scale) {
				checked++
			}
		}
		if checked < 10 {
			t.Errorf("1/%d: %d files checked", scale, checked)
		}
	}
}

// checkMeans checks one file decoded smaller by scale against its full
// decoding, and reports whether it could (CMYK and RGB files are
// converted after decoding).
func checkMeans(t *testing.T, name string, b []byte, scale int) bool {
	full, err := stdjpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	small, err := Decode(bytes.NewReader(b), scale)
	if err != nil {
		t.Fatalf("%s at 1/%d: %v", name, scale, err)
	}
	if reflect.TypeOf(small) != reflect.TypeOf(full) {
		t.Errorf("%s at 1/%d: a %T, want a %T", name, scale, small, full)
	}
	fb, sb := full.Bounds(), small.Bounds()
	if sb.Dx() != (fb.Dx()+scale-1)/scale || sb.Dy() != (fb.Dy()+scale-1)/scale {
		t.Fatalf("%s: %v at 1/%d of %v", name, sb, scale, fb)
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
		return false
	}
	// The worst cell of those whose pixels the full decoding did not
	// clip, and of all.
	worst, worstClipped, sum, n := 0.0, 0.0, 0.0, 0
	for k := range fulls {
		f, s := fulls[k], smalls[k]
		// Whole blocks: a partial one at the right or bottom edge
		// averages the encoder's padding too.
		w, h := f.w/8*8/scale, f.h/8*8/scale
		for sy := range h {
			for sx := range w {
				mean, clipped := 0.0, false
				for y := sy * scale; y < (sy+1)*scale; y++ {
					for x := sx * scale; x < (sx+1)*scale; x++ {
						v := f.pix[y*f.stride+x]
						mean += float64(v)
						clipped = clipped || v == 0 || v == 255
					}
				}
				mean /= float64(scale * scale)
				d := math.Abs(float64(s.pix[sy*s.stride+sx]) - mean)
				if !clipped {
					worst = max(worst, d)
				}
				worstClipped, sum, n = max(worstClipped, d), sum+d, n+1
			}
		}
	}
	// Rounding gives up to half a level, and the full decoding's inverse
	// DCT, in integers, rounds in its passes too; its clipping of a
	// heavily quantized block's ringing gives more, here and there, most
	// in the smaller cells of 4×4.
	t.Logf("%s at 1/%d: worst %.2f unclipped, %.2f in all, %.3f on average", name, scale, worst, worstClipped, sum/float64(n))
	if worst > 1.1 || worstClipped > 5 || sum/float64(n) > 0.4 {
		t.Errorf("%s at 1/%d: off the full decoding's means by %.2f at worst where it did not clip, %.2f where it did, %.3f on average", name, scale, worst, worstClipped, sum/float64(n))
	}
	return true
}

// The quarters' fixed-point weights are the means of the inverse DCT's
// cosines over each half of a block's side, scaled and rounded.
func TestQuarterWeights(t *testing.T) {
	q := func(u int) float64 {
		c := 1.0
		if u == 0 {
			c = 1 / math.Sqrt2
		}
		sum := 0.0
		for x := range 4 {
			sum += math.Cos(float64(2*x+1) * float64(u) * math.Pi / 16)
		}
		return c / 2 * sum / 4
	}
	fixed := func(u int) int64 { return int64(math.Round(q(u) * (1 << quarterFrac))) }
	if fixed(0) != quarterDC {
		t.Errorf("quarterDC %d, want %d", quarterDC, fixed(0))
	}
	for j, u := range quarterFreq[1:] {
		if fixed(u) != quarterOdd[j] {
			t.Errorf("quarterOdd[%d] (u = %d) %d, want %d", j, u, quarterOdd[j], fixed(u))
		}
	}
	for _, u := range []int{2, 4, 6} {
		if math.Abs(q(u)) > 1e-12 {
			t.Errorf("u = %d: %g over half a side, want nought", u, q(u))
		}
	}
}

// Any other scale is refused.
func TestDecodeScales(t *testing.T) {
	b := testFiles(t)["video-001.jpeg"]
	for _, scale := range []int{0, 2, 3, 16, -8} {
		if _, err := Decode(bytes.NewReader(b), scale); err == nil {
			t.Errorf("decoded at 1/%d", scale)
		}
	}
}

// Hostile or cut files give an error, never a panic, at full size and
// smaller alike, and the smaller sizes are always the full one's over 4
// and 8.
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
		full, errFull := Decode(bytes.NewReader(b), 1)
		for _, scale := range []int{4, 8} {
			small, errSmall := Decode(bytes.NewReader(b), scale)
			if (errFull == nil) != (errSmall == nil) {
				t.Fatalf("full size: %v; at 1/%d: %v", errFull, scale, errSmall)
			}
			if errFull != nil {
				return
			}
			if fb, sb := full.Bounds(), small.Bounds(); sb.Dx() != (fb.Dx()+scale-1)/scale || sb.Dy() != (fb.Dy()+scale-1)/scale {
				t.Fatalf("%v at 1/%d of %v", sb, scale, fb)
			}
		}
	})
}

// quarters against the inverse DCT's definition in float64, averaged over
// each quarter: random blocks of coefficients of the sizes photos have,
// quantized by a table of steps 1 to 20.
func TestQuartersAgainstTheDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var qt block
	for i := range qt {
		qt[i] = int32(1 + r.IntN(20))
	}
	worst := 0.0
	for range 2000 {
		var b block
		for n := range b {
			// Lower frequencies carry more.
			u, v := n%8, n/8
			span := 1 + 400/(1+u+v)
			b[n] = int32(r.IntN(2*span+1)-span) / qt[quarterZig[n]]
		}
		var got [2 * 2]byte
		quarters(&b, &qt, got[:], 2)
		for qy := range 2 {
			for qx := range 2 {
				mean := 0.0
				for y := 4 * qy; y < 4*qy+4; y++ {
					for x := 4 * qx; x < 4*qx+4; x++ {
						for n := range b {
							u, v := n%8, n/8
							cu, cv := 1.0, 1.0
							if u == 0 {
								cu = 1 / math.Sqrt2
							}
							if v == 0 {
								cv = 1 / math.Sqrt2
							}
							f := float64(b[n]) * float64(qt[quarterZig[n]])
							mean += cu * cv / 4 * f * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
						}
					}
				}
				mean = mean/16 + 128
				want := min(max(mean, 0), 255)
				d := math.Abs(float64(got[2*qy+qx]) - want)
				worst = max(worst, d)
				if d > 0.51 {
					t.Fatalf("quarter (%d, %d): %d, want %.3f", qx, qy, got[2*qy+qx], want)
				}
			}
		}
	}
	t.Logf("worst %.3f", worst)
}
