package data

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	scaledjpeg "plateau/data/internal/jpeg"
)

// resizeAreaNaive integrates every source pixel's overlap with every
// output pixel's footprint, in float64: the reference for resizeArea.
func resizeAreaNaive(src []uint8, sh, sw, h, w, c int) []float64 {
	out := make([]float64, h*w*c)
	sy, sx := float64(sh)/float64(h), float64(sw)/float64(w)
	overlap := func(a0, a1, b0, b1 float64) float64 { return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0)) }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for j := 0; j < sh; j++ {
				oy := overlap(float64(y)*sy, float64(y+1)*sy, float64(j), float64(j+1))
				for i := 0; i < sw; i++ {
					a := oy * overlap(float64(x)*sx, float64(x+1)*sx, float64(i), float64(i+1))
					for k := 0; k < c; k++ {
						out[(y*w+x)*c+k] += a * float64(src[(j*sw+i)*c+k]) / (sx * sy)
					}
				}
			}
		}
	}
	return out
}

// resizeArea is scaleArea of an image held whole.
func resizeArea(dst, src []uint8, sh, sw, h, w, c int) {
	scaleArea(dst, func(y int) []uint8 { return src[y*sw*c : (y+1)*sw*c] }, sh, sw, h, w, c)
}

func TestResizeAreaAgainstTheReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range [][4]int{{10, 10, 8, 8}, {7, 10, 3, 4}, {31, 17, 5, 3}, {64, 48, 64, 48}, {9, 9, 1, 1}, {100, 3, 7, 2}} {
		sh, sw, h, w := tc[0], tc[1], tc[2], tc[3]
		for _, c := range []int{1, 3} {
			src := make([]uint8, sh*sw*c)
			for i := range src {
				src[i] = uint8(r.IntN(256))
			}
			got := make([]uint8, h*w*c)
			resizeArea(got, src, sh, sw, h, w, c)
			want := resizeAreaNaive(src, sh, sw, h, w, c)
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 0.5+1e-9 {
					t.Fatalf("%d×%d×%d to %d×%d: value %d is %d, want %.3f", sh, sw, c, h, w, i, got[i], want[i])
				}
			}
		}
	}
}

// An image is scaled as stored and turned once small: the same pixels as
// turning it first and then scaling it, for every orientation, shape, crop
// and channel count.
func TestTurnedSmallIsTurnedFirst(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rgba := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(r.IntN(256))
	}
	ycc := image.NewYCbCr(image.Rect(0, 0, 41, 30), image.YCbCrSubsampleRatio420)
	for _, p := range [][]uint8{ycc.Y, ycc.Cb, ycc.Cr} {
		for i := range p {
			p[i] = uint8(r.IntN(256))
		}
	}
	gray := image.NewGray(image.Rect(0, 0, 29, 19))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(r.IntN(256))
	}
	// A sub-image: its bounds do not start at the origin.
	sub := rgba.SubImage(image.Rect(3, 2, 34, 21))
	for _, img := range []image.Image{rgba, ycc, gray, sub} {
		for _, size := range [][2]int{{7, 5}, {5, 7}, {9, 9}, {13, 4}, {64, 48}} {
			for _, c := range []int{1, 3} {
				h, w := size[0], size[1]
				for o := 1; o <= 8; o++ {
					got := make([]uint8, h*w*c)
					putImage(got, img, o, h, w, c)
					want := make([]uint8, h*w*c)
					putImage(want, orient(img, o), 1, h, w, c)
					if !slices.Equal(got, want) {
						t.Fatalf("%T %v into %d×%d×%d, orientation %d: scaled then turned differs from turned then scaled", img, img.Bounds(), h, w, c, o)
					}
				}
			}
		}
	}
}

// A pattern finer than the output's pixels averages to its mean gray
// rather than aliasing into stripes, as sampling would.
func TestResizeAreaDoesNotAlias(t *testing.T) {
	const n = 60
	src := make([]uint8, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if (x+y)%2 == 0 {
				src[y*n+x] = 255
			}
		}
	}
	dst := make([]uint8, 15*15)
	resizeArea(dst, src, n, n, 15, 15, 1)
	for i, v := range dst {
		if v != 128 {
			t.Fatalf("pixel %d of a scaled 1-pixel checkerboard is %d, want its mean gray (127.5)", i, v)
		}
	}
}

func TestScaledShape(t *testing.T) {
	for _, tc := range []struct{ h, w, side, wantH, wantW int }{
		{28, 28, 0, 28, 28},      // small images keep their size
		{64, 48, 0, 64, 48},      // at the default
		{3024, 4032, 0, 48, 64},  // a photo
		{4032, 3024, 0, 64, 48},  // upright
		{300, 20, 0, 64, 4},      // a strip keeps a pixel or more
		{3024, 4032, 32, 24, 32}, // a side asked for
		{28, 28, 56, 56, 56},     // scaled up when asked
		{1000, 1, 10, 10, 1},
	} {
		if h, w := scaledShape(tc.h, tc.w, tc.side); h != tc.wantH || w != tc.wantW {
			t.Errorf("scaledShape(%d×%d, side %d) = %d×%d, want %d×%d", tc.h, tc.w, tc.side, h, w, tc.wantH, tc.wantW)
		}
	}
}

func TestCentreCrop(t *testing.T) {
	for _, tc := range []struct{ sw, sh, w, h, x0, y0, cw, ch int }{
		{200, 150, 64, 48, 0, 0, 200, 150},  // the same shape
		{150, 200, 64, 48, 0, 43, 150, 113}, // upright into landscape: 112.5 rows, rounded
		{200, 100, 10, 10, 50, 0, 100, 100}, // wide into square
		{10, 10, 10, 10, 0, 0, 10, 10},
	} {
		x0, y0, cw, ch := centreCrop(tc.sw, tc.sh, tc.w, tc.h)
		if x0 != tc.x0 || y0 != tc.y0 || cw != tc.cw || ch != tc.ch {
			t.Errorf("centreCrop(%d×%d into %d×%d) = (%d, %d) %d×%d, want (%d, %d) %d×%d", tc.sw, tc.sh, tc.w, tc.h, x0, y0, cw, ch, tc.x0, tc.y0, tc.cw, tc.ch)
		}
	}
}

// photoZip is a zip of two class folders of 6 landscape images w×h each,
// and in each class one upright image h×w (the 3rd) whose top and bottom
// fifths are red and the rest green: cropped to the landscape shape at the
// centre, it is green all over.
func photoZip(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, class := range []string{"cats", "dogs"} {
		for i := range 6 {
			var img *image.RGBA
			if i == 2 {
				img = image.NewRGBA(image.Rect(0, 0, h, w))
				for y := range w {
					c := color.RGBA{0, 200, 0, 255}
					if y < w/5 || y >= w-w/5 {
						c = color.RGBA{200, 0, 0, 255}
					}
					for x := range h {
						img.Set(x, y, c)
					}
				}
			} else {
				img = image.NewRGBA(image.Rect(0, 0, w, h))
				for y := range h {
					for x := range w {
						img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(40 * i), 255})
					}
				}
			}
			f, err := z.Create(fmt.Sprintf("photos/%s/IMG_%d.png", class, i))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Photos are scaled down to DefaultImageSide on their longer side, an
// upright one among landscape ones cropped rather than squashed, and
// data.image_side chooses another size.
func TestPhotosAreScaledDown(t *testing.T) {
	raw := photoZip(t, 200, 150)
	for _, tc := range []struct {
		side, h, w int
		note       string
	}{
		{0, 48, 64, "resized 12 images to 48×64 (most were 150×200: images larger than 64 pixels on their longer side are scaled down to it; data.image_side chooses another size), 2 images of another shape first cropped to it at the centre"},
		{32, 24, 32, "resized 12 images to 24×32 (most were 150×200; data.image_side 32), 2 images"},
		{200, 150, 200, "resized 2 images to 150×200, 2 images of another shape"},
	} {
		d, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{ImageSide: tc.side})
		if err != nil {
			t.Fatal(err)
		}
		if d.H != tc.h || d.W != tc.w || d.C != 3 {
			t.Errorf("image_side %d: %d×%d×%d, want %d×%d×3", tc.side, d.H, d.W, d.C, tc.h, tc.w)
		}
		if notes := strings.Join(d.Notes, "; "); !strings.Contains(notes, tc.note) {
			t.Errorf("image_side %d: notes %q, want %q in them", tc.side, notes, tc.note)
		}
		// The upright image is the first class's third: every 5th image
		// of a class is held out for test, so it is training image 2.
		size := d.H * d.W * d.C
		img := d.Train.Images[2*size : 3*size]
		for p := 0; p < d.H*d.W; p++ {
			if r, g := img[3*p], img[3*p+1]; r > 8 || g < 190 {
				t.Fatalf("image_side %d: pixel %d of the upright image is (%d, %d, _): its red bands were not cropped away", tc.side, p, r, g)
			}
		}
	}
}

func TestImageSideOutOfBounds(t *testing.T) {
	raw := photoZip(t, 20, 15)
	for _, side := range []int{-1, 2, 5000} {
		_, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{ImageSide: side})
		if err == nil || !strings.Contains(err.Error(), "data.image_side") {
			t.Errorf("image_side %d: error %v, want one naming data.image_side", side, err)
		}
	}
}

// Progress counts the images read, one call an image, up to all of them.
func TestProgressCountsTheImages(t *testing.T) {
	raw := photoZip(t, 20, 15)
	var calls [][2]int
	_, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 12 {
		t.Fatalf("%d calls, want one per image (12): %v", len(calls), calls)
	}
	for i, c := range calls {
		if c != [2]int{i + 1, 12} {
			t.Fatalf("call %d said %d of %d, want %d of 12", i, c[0], c[1], i+1)
		}
	}
}

func TestDatasetFile(t *testing.T) {
	for p, want := range map[string]bool{
		"photos/cats/IMG_1.JPG": true, "a/b.png": true, "x/train-images-idx3-ubyte.gz": true,
		"cifar-10-batches-bin/data_batch_1.bin": true, "cifar-10-batches-bin/batches.meta.txt": true,
		"cifar-10-binary.tar.gz": true, "photos/.DS_Store": false, "__MACOSX/cats/._1.jpg": false,
		"photos/.thumbs/1.jpg": false, "photos/cats/clip.mp4": false, "notes.txt": false,
	} {
		if got := DatasetFile(p); got != want {
			t.Errorf("DatasetFile(%q) = %v, want %v", p, got, want)
		}
	}
}

// Images decoded on several cores land where one core puts them.
func TestParallelDecodeIsTheSame(t *testing.T) {
	raw := photoZip(t, 90, 70)
	decode := func(procs int) *Dataset {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		d, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	one, four := decode(1), decode(4)
	if !bytes.Equal(one.Train.Images, four.Train.Images) || !bytes.Equal(one.Test.Images, four.Test.Images) ||
		!slices.Equal(one.Train.Labels, four.Train.Labels) || !slices.Equal(one.Notes, four.Notes) {
		t.Error("decoding on 4 cores gave another dataset than on 1")
	}
}

// An image whose header reads but whose pixels do not is left out, and
// named in the notes, whichever core came to it; the others keep their
// places in order.
func TestABrokenImageAmongManyIsLeftOut(t *testing.T) {
	// Each image its own, so that one in another's place shows.
	want := map[string]int32{} // the pixels each image decodes to, and its class
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for c, class := range []string{"a", "b"} {
		for i := range 8 {
			img := image.NewRGBA(image.Rect(0, 0, 40, 30))
			for p := range img.Pix {
				img.Pix[p] = uint8(p*7 + 31*(8*c+i))
				if p%4 == 3 {
					img.Pix[p] = 255
				}
			}
			var one bytes.Buffer
			if err := png.Encode(&one, img); err != nil {
				t.Fatal(err)
			}
			name, b := fmt.Sprintf("%s/%d.png", class, i), one.Bytes()
			if class == "a" && i == 5 {
				name, b = "a/2broken.png", b[:len(b)/2] // between a/2 and a/3: the images after it move, b's too
			} else {
				px := make([]uint8, 30*40*3)
				if err := DecodeImage(px, b, ImageJob{Path: name, Orientation: 1, H: 30, W: 40, C: 3}, nil); err != nil {
					t.Fatal(err)
				}
				want[string(px)] = int32(c)
			}
			w, _ := z.Create(name)
			w.Write(b)
		}
	}
	z.Close()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	d, err := Decode("set.zip", bytes.NewReader(buf.Bytes()), int64(buf.Len()), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(d.Notes, "; "); !strings.Contains(notes, "skipped 1 image that could not be read (a/2broken.png: ") {
		t.Errorf("notes %q do not name a/2broken.png", notes)
	}
	n := 30 * 40 * 3
	got := 0
	for _, s := range []Split{d.Train, d.Test} {
		for i, l := range s.Labels {
			c, ok := want[string(s.Images[i*n:(i+1)*n])]
			if !ok || c != l {
				t.Fatalf("image %d of class %d is none of the fixtures of its class", i, l)
			}
			delete(want, string(s.Images[i*n:(i+1)*n]))
			got++
		}
	}
	if got != 15 || len(want) != 0 {
		t.Errorf("%d images, %d of the fixtures missing; want the 15 that read", got, len(want))
	}
}

// BenchmarkDecodePhotos reads a zip of 24 JPEG photos of 1600×1200 into
// 64×48 images: -cpu 1,2 compares one core with two.
func BenchmarkDecodePhotos(b *testing.B) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	r := rand.New(rand.NewPCG(5, 6))
	img := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for i := range 24 {
		for p := range img.Pix {
			img.Pix[p] = uint8(p/4%1600/8) + uint8(r.IntN(24))
		}
		w, _ := z.Create(fmt.Sprintf("c%d/IMG_%02d.jpg", i%2, i))
		if err := jpeg.Encode(w, img, &jpeg.Options{Quality: 85}); err != nil {
			b.Fatal(err)
		}
	}
	z.Close()
	raw := buf.Bytes()
	// The default side, decoded at an eighth; 128, at a quarter; 256, at
	// a half; 512, whole.
	for _, side := range []int{0, 128, 256, 512} {
		b.Run(fmt.Sprintf("side=%d", side), func(b *testing.B) {
			for b.Loop() {
				if _, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{ImageSide: side}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N)/24, "ms/photo")
		})
	}
}

// The shape most images have wins, even when an image of the other comes
// first: a phone's few upright photos among many held sideways.
func TestTheCommonShapeWins(t *testing.T) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, class := range []string{"a", "b"} {
		for i := range 5 {
			w, h := 40, 30
			if i == 0 {
				w, h = 30, 40 // upright, and first
			}
			f, _ := z.Create(fmt.Sprintf("%s/%d.png", class, i))
			png.Encode(f, image.NewGray(image.Rect(0, 0, w, h)))
		}
	}
	z.Close()
	d, err := Decode("set.zip", bytes.NewReader(buf.Bytes()), int64(buf.Len()), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.H != 30 || d.W != 40 {
		t.Errorf("shape %d×%d, want 30×40, the shape of 8 of the 10 images", d.H, d.W)
	}
}

// BenchmarkDecodeSmallImages reads a zip of 2,000 PNGs of 8×8, where the
// per-image costs around the pixels (headers, buffers) show.
func BenchmarkDecodeSmallImages(b *testing.B) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range 2000 {
		img.Pix[i%64] = uint8(i)
		w, _ := z.Create(fmt.Sprintf("c%d/%04d.png", i%2, i))
		if err := png.Encode(w, img); err != nil {
			b.Fatal(err)
		}
	}
	z.Close()
	raw := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("small.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Decoders elsewhere (other workers in a browser) are asked for when the
// images are large enough, get every image once with its orientation and
// shape, give the dataset decoding here gives, and are released; for a
// small dataset, or when none are given, the images are decoded here.
func TestDecodersElsewhere(t *testing.T) {
	raw := photoZip(t, 90, 70)
	want, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func(p int64) { remoteDecodePixels = p }(remoteDecodePixels)
	remoteDecodePixels = 12 * 90 * 70 // all of photoZip's images
	var mu sync.Mutex
	var jobs []ImageJob
	asked, released := 0, 0
	opt := LoadOptions{Decoders: func() ([]ImageDecoder, func()) {
		asked++
		dec := func(dst []uint8, raw []byte, job ImageJob) error {
			mu.Lock()
			jobs = append(jobs, job)
			mu.Unlock()
			return DecodeImage(dst, raw, job, nil)
		}
		return []ImageDecoder{dec, dec, dec}, func() { released++ }
	}}
	got, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), opt)
	if err != nil {
		t.Fatal(err)
	}
	if asked != 1 || released != 1 || len(jobs) != 12 {
		t.Fatalf("asked %d, released %d, %d images decoded elsewhere; want 1, 1, 12", asked, released, len(jobs))
	}
	for _, j := range jobs {
		if j.H != want.H || j.W != want.W || j.C != want.C || j.Orientation != 1 || !strings.HasPrefix(j.Path, "photos/") {
			t.Fatalf("job %+v, want the dataset's shape %d×%d×%d", j, want.H, want.W, want.C)
		}
	}
	if !bytes.Equal(got.Train.Images, want.Train.Images) || !bytes.Equal(got.Test.Images, want.Test.Images) || !slices.Equal(got.Notes, want.Notes) {
		t.Error("decoders elsewhere gave another dataset than decoding here")
	}

	// One pixel short of the size that asks for them.
	remoteDecodePixels++
	asked = 0
	if _, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), opt); err != nil || asked != 0 {
		t.Errorf("a smaller dataset asked for decoders %d times (%v)", asked, err)
	}
	remoteDecodePixels--
	none := LoadOptions{Decoders: func() ([]ImageDecoder, func()) { return nil, nil }}
	if d, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), none); err != nil || !bytes.Equal(d.Train.Images, want.Train.Images) {
		t.Errorf("with no decoders given: %v", err)
	}
	// A decoder that fails (its worker died) leaves its images to this
	// process: the same dataset.
	calls := 0
	failing := LoadOptions{Decoders: func() ([]ImageDecoder, func()) {
		return []ImageDecoder{func([]uint8, []byte, ImageJob) error {
			mu.Lock()
			calls++
			mu.Unlock()
			return errors.New("another worker failed: out of memory")
		}}, nil
	}}
	if d, err := Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), failing); err != nil || !bytes.Equal(d.Train.Images, want.Train.Images) || !bytes.Equal(d.Test.Images, want.Test.Images) {
		t.Errorf("with a failing decoder: %v, or another dataset", err)
	}
	if calls != 1 {
		t.Errorf("a failing decoder was called %d times, want once", calls)
	}
	// A broken image is left out, named as decoding it here says it.
	var broken bytes.Buffer
	z := zip.NewWriter(&broken)
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range zr.File {
		b, _ := f.Open()
		data, _ := io.ReadAll(b)
		if i == 3 {
			data = data[:len(data)/2]
		}
		w, _ := z.Create(f.Name)
		w.Write(data)
	}
	z.Close()
	d, err := Decode("photos.zip", bytes.NewReader(broken.Bytes()), int64(broken.Len()), failing)
	if err != nil {
		t.Fatalf("a broken image with a failing decoder: %v", err)
	}
	if notes := strings.Join(d.Notes, "; "); !strings.Contains(notes, "skipped 1 image that could not be read ("+zr.File[3].Name+": ") {
		t.Errorf("a broken image with a failing decoder: notes %q do not name %s", notes, zr.File[3].Name)
	}
}

// DecodeImage refuses a destination of the wrong size and a header past
// the limits, before decoding.
func TestDecodeImageChecks(t *testing.T) {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 40, 30)))
	job := ImageJob{Path: "a/1.png", Orientation: 1, H: 3, W: 4, C: 1}
	if err := DecodeImage(make([]uint8, 12), buf.Bytes(), job, nil); err != nil {
		t.Fatal(err)
	}
	if err := DecodeImage(make([]uint8, 11), buf.Bytes(), job, nil); err == nil {
		t.Error("a destination of 11 bytes for 3×4×1 was taken")
	}
	lim := DefaultLimits
	lim.MaxImageSide = 32
	if err := DecodeImage(make([]uint8, 12), buf.Bytes(), job, &lim); err == nil || !strings.Contains(err.Error(), "a/1.png: image is 40×30; the limit is 32") {
		t.Errorf("an image past the side limit: %v", err)
	}
	if err := DecodeImage(make([]uint8, 12), buf.Bytes()[:20], job, nil); err == nil || !strings.HasPrefix(err.Error(), "a/1.png: ") {
		t.Errorf("a truncated file: %v", err)
	}
}

// A JPEG scaled down 16 times or more is decoded at an eighth, each block
// as its mean, 8 times or more at a quarter, each block as its quarters'
// means, 4 times or more at a half, each block as its 2×2 cells' means,
// and averaged from there: the full decoding's averages but where a cell
// straddles an output pixel's edge.
func TestSmallerJPEGOfAPhoto(t *testing.T) {
	for _, edges := range []bool{false, true} {
		smallerJPEGOfAPhoto(t, edges)
	}
}

// smallerJPEGOfAPhoto checks a photo of gradients and noise, with hard
// edges of full contrast off the blocks' grid or without; the errors
// allowed are those measured, with a little room.
func smallerJPEGOfAPhoto(t *testing.T, edges bool) {
	r := rand.New(rand.NewPCG(7, 8))
	img := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for y := range 1200 {
		for x := range 1600 {
			v := uint8(x / 7)
			if edges && (x/150+y/110)%2 == 0 {
				v = 255 - v
			}
			img.SetRGBA(x, y, color.RGBA{v, uint8(y/5) + uint8(r.IntN(16)), uint8((x + y) / 12), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	full, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	maxWorst, maxMean := 3, 0.5
	if edges {
		maxWorst, maxMean = 50, 2.5
	}
	for _, tc := range []struct{ scale, o, h, w int }{
		{8, 1, 48, 64}, {8, 6, 64, 48}, {8, 3, 30, 30}, {8, 1, 75, 100},
		{4, 1, 96, 128}, {4, 8, 128, 96}, {4, 1, 140, 140}, {4, 1, 75, 101},
		{2, 1, 192, 256}, {2, 5, 256, 192}, {2, 1, 300, 300}, {2, 1, 160, 213},
	} {
		job := ImageJob{Path: "a/1.jpg", Orientation: tc.o, H: tc.h, W: tc.w, C: 3}
		if s := jpegScale(1600, 1200, job); s != tc.scale {
			t.Fatalf("%+v: decoded at 1/%d, want 1/%d", job, s, tc.scale)
		}
		got := make([]uint8, tc.h*tc.w*3)
		if err := DecodeImage(got, buf.Bytes(), job, nil); err != nil {
			t.Fatal(err)
		}
		// Decoded smaller: the smaller image's averages, byte for byte.
		smaller, err := scaledjpeg.Decode(bytes.NewReader(buf.Bytes()), tc.scale)
		if err != nil {
			t.Fatal(err)
		}
		small := make([]uint8, len(got))
		putImage(small, smaller, tc.o, tc.h, tc.w, 3)
		if !bytes.Equal(got, small) {
			t.Fatalf("edges %v, %+v: not the averages of the image decoded at 1/%d", edges, job, tc.scale)
		}
		want := make([]uint8, len(got))
		putImage(want, full, tc.o, tc.h, tc.w, 3)
		worst, sum := 0, 0
		for i := range got {
			d := int(got[i]) - int(want[i])
			worst, sum = max(worst, d, -d), sum+max(d, -d)
		}
		mean := float64(sum) / float64(len(got))
		t.Logf("edges %v, %+v at 1/%d: worst %d, mean %.3f", edges, job, tc.scale, worst, mean)
		if worst > maxWorst || mean > maxMean {
			t.Errorf("edges %v, orientation %d into %d×%d at 1/%d: off the full decoding's averages by %d at worst, %.3f on average", edges, tc.o, tc.h, tc.w, tc.scale, worst, mean)
		}
	}
	// Less than 4 times smaller: decoded whole, the same bytes.
	job := ImageJob{Path: "a/1.jpg", Orientation: 1, H: 320, W: 427, C: 3}
	if s := jpegScale(1600, 1200, job); s != 1 {
		t.Fatalf("1600×1200 into 427×320 decoded at 1/%d", s)
	}
	got, want := make([]uint8, 320*427*3), make([]uint8, 320*427*3)
	if err := DecodeImage(got, buf.Bytes(), job, nil); err != nil {
		t.Fatal(err)
	}
	putImage(want, full, 1, 320, 427, 3)
	if !bytes.Equal(got, want) {
		t.Error("a JPEG scaled by less than 4 is not its full decoding's averages")
	}
}
