package jpeg

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/draw"
	stdjpeg "image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// Smaller by 8, 4 or 2, each pixel of each component is the mean of the
// pixels it stands for in the full decoding (an 8×8 block, a 4×4 quarter
// of one or a 2×2 cell), within the rounding and clipping the full decoding does
// pixel by pixel; the size is the full one over the scale, rounded up.
func TestSmallerIsTheMeans(t *testing.T) {
	for _, scale := range []int{8, 4, 2} {
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
	// heavily quantized block's ringing gives more, here and there, the
	// more the smaller the cells.
	t.Logf("%s at 1/%d: worst %.2f unclipped, %.2f in all, %.3f on average", name, scale, worst, worstClipped, sum/float64(n))
	// A clipped pixel weighs more in a smaller cell: a quarter of a 2×2
	// one.
	clipBound := map[int]float64{8: 5, 4: 5, 2: 15}[scale]
	if worst > 1.1 || worstClipped > clipBound || sum/float64(n) > 0.4 {
		t.Errorf("%s at 1/%d: off the full decoding's means by %.2f at worst where it did not clip, %.2f where it did, %.3f on average", name, scale, worst, worstClipped, sum/float64(n))
	}
	return true
}

// The fixed-point weights are the means of the inverse DCT's cosines over
// each half of a block's side and over each pair of its columns, scaled
// and rounded.
func TestMeanWeights(t *testing.T) {
	// q is k(u, x)'s mean over the n columns from x0.
	q := func(u, x0, n int) float64 {
		c := 1.0
		if u == 0 {
			c = 1 / math.Sqrt2
		}
		sum := 0.0
		for x := x0; x < x0+n; x++ {
			sum += math.Cos(float64(2*x+1) * float64(u) * math.Pi / 16)
		}
		return c / 2 * sum / float64(n)
	}
	fixed := func(v float64) int64 { return int64(math.Round(v * (1 << meanFrac))) }
	if fixed(q(0, 0, 4)) != quarterDC {
		t.Errorf("quarterDC %d, want %d", quarterDC, fixed(q(0, 0, 4)))
	}
	for j, u := range quarterFreq[1:] {
		if w := fixed(q(u, 0, 4)); w != quarterOdd[j] {
			t.Errorf("quarterOdd[%d] (u = %d) %d, want %d", j, u, quarterOdd[j], w)
		}
	}
	for _, u := range []int{2, 4, 6} {
		if math.Abs(q(u, 0, 4)) > 1e-12 {
			t.Errorf("u = %d: %g over half a side, want nought", u, q(u, 0, 4))
		}
	}
	halfEven := [2][3]int64{{halfE00, halfE02, halfE06}, {halfE10, halfE12, halfE16}}
	halfOdd := [2][4]int64{{halfO01, halfO03, halfO05, halfO07}, {halfO11, halfO13, halfO15, halfO17}}
	for i := range 2 {
		for j, u := range []int{0, 2, 6} {
			if w := fixed(q(u, 2*i, 2)); w != halfEven[i][j] {
				t.Errorf("halfEven[%d][%d] (u = %d) %d, want %d", i, j, u, halfEven[i][j], w)
			}
		}
		for j, u := range []int{1, 3, 5, 7} {
			if w := fixed(q(u, 2*i, 2)); w != halfOdd[i][j] {
				t.Errorf("halfOdd[%d][%d] (u = %d) %d, want %d", i, j, u, halfOdd[i][j], w)
			}
		}
	}
	for u := range 8 {
		for i := range 2 {
			sign := 1.0
			if u%2 == 1 {
				sign = -1
			}
			if d := q(u, 6-2*i, 2) - sign*q(u, 2*i, 2); math.Abs(d) > 1e-12 {
				t.Errorf("u = %d: pair %d is not pair %d mirrored", u, 3-i, i)
			}
		}
		if math.Abs(q(4, 2*(u%4), 2)) > 1e-12 {
			t.Errorf("u = 4 over a pair: %g, want nought", q(4, 2*(u%4), 2))
		}
	}
}

// Any other scale is refused.
func TestDecodeScales(t *testing.T) {
	b := testFiles(t)["video-001.jpeg"]
	for _, scale := range []int{0, 3, 5, 16, -8} {
		if _, err := Decode(bytes.NewReader(b), scale); err == nil {
			t.Errorf("decoded at 1/%d", scale)
		}
	}
}

// Hostile or cut files give an error, never a panic, at full size and
// smaller alike, and the smaller sizes are always the full one's over 2,
// 4 and 8.
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
		for _, scale := range []int{2, 4, 8} {
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

// quarters and halves against the inverse DCT's definition in float64,
// averaged over each cell: random blocks of coefficients of the sizes
// photos have, dequantized by steps of 1 to 20.
func TestMeansAgainstTheDefinition(t *testing.T) {
	for _, tc := range []struct {
		cell  int
		means func(b *block, dst []byte, stride int)
	}{{4, func(b *block, dst []byte, stride int) {
		var ones block
		for i := range ones {
			ones[i] = 1
		}
		quarters(b, &ones, dst, stride)
	}}, {2, halves}} {
		r := rand.New(rand.NewPCG(1, 2))
		var qt block
		for i := range qt {
			qt[i] = int32(1 + r.IntN(20))
		}
		n := 8 / tc.cell
		worst := 0.0
		for range 1000 {
			var b block
			for k := range b {
				// Lower frequencies carry more.
				u, v := k%8, k/8
				span := 1 + 400/(1+u+v)
				b[k] = int32(r.IntN(2*span+1)-span) / qt[k] * qt[k]
			}
			want := b
			got := make([]byte, n*n)
			tc.means(&b, got, n)
			for cy := range n {
				for cx := range n {
					mean := 0.0
					for y := tc.cell * cy; y < tc.cell*(cy+1); y++ {
						for x := tc.cell * cx; x < tc.cell*(cx+1); x++ {
							mean += idctAt(&want, x, y)
						}
					}
					mean = mean/float64(tc.cell*tc.cell) + 128
					m := min(max(mean, 0), 255)
					d := math.Abs(float64(got[cy*n+cx]) - m)
					worst = max(worst, d)
					if d > 0.505 {
						t.Fatalf("%d×%d cell (%d, %d): %d, want %.3f", tc.cell, tc.cell, cx, cy, got[cy*n+cx], m)
					}
				}
			}
		}
		t.Logf("%d×%d cells: worst %.3f", tc.cell, tc.cell, worst)
	}
}

// idctAt is the inverse DCT of the dequantized block b at pixel (x, y),
// by its definition.
func idctAt(b *block, x, y int) float64 {
	f := 0.0
	for k := range b {
		u, v := k%8, k/8
		cu, cv := 1.0, 1.0
		if u == 0 {
			cu = 1 / math.Sqrt2
		}
		if v == 0 {
			cv = 1 / math.Sqrt2
		}
		f += cu * cv / 4 * float64(b[k]) * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
	}
	return f
}

// The smaller decodings are integer arithmetic, so the page's WebAssembly
// and a native build give the same bytes: the hash of every test file
// decoded at 1/2, 1/4 and 1/8 is the one a native amd64 build gave
// (make test runs this package natively and under wasm).
func TestSmallerIsTheSameEverywhere(t *testing.T) {
	const want = "3f9fc220fca258d0bc962a109661cd7d23d0fd423a1cc66debe508a3383a11c9"
	files := testFiles(t)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		for _, scale := range []int{2, 4, 8} {
			img, err := Decode(bytes.NewReader(files[n]), scale)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(rgba(img).Pix)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the test files decoded smaller hash to %s, not %s", got, want)
	}
}
