package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// formatFiles are a zip's files with an image in each format, two HEIC
// photos and a text file, in zip order, and the images' bytes by format.
func formatFiles(tb testing.TB) (files map[string][]byte, order []string, webpLossy, webpLossless, gifs, bmps, tiffs, pngs []byte) {
	var err error
	webpLossy, err = os.ReadFile("testdata/webp/blue-purple-pink.lossy.webp")
	if err != nil {
		tb.Fatal(err)
	}
	webpLossless, err = os.ReadFile("testdata/webp/gopher-doc.8bpp.lossless.webp")
	if err != nil {
		tb.Fatal(err)
	}
	// 150×100 like the lossy WebP, so that the dataset keeps that shape.
	photo := image.NewRGBA(image.Rect(0, 0, 150, 100))
	for y := range 100 {
		for x := range 150 {
			photo.Set(x, y, color.RGBA{uint8(x), uint8(y * 2), uint8(x + y), 255})
		}
	}
	var gifBuf, bmpBuf, tiffBuf, pngBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, photo, nil); err != nil {
		tb.Fatal(err)
	}
	if err := bmp.Encode(&bmpBuf, photo); err != nil {
		tb.Fatal(err)
	}
	if err := tiff.Encode(&tiffBuf, photo, &tiff.Options{Compression: tiff.Deflate}); err != nil {
		tb.Fatal(err)
	}
	png.Encode(&pngBuf, photo)
	files = map[string][]byte{
		"set/train/a/1.webp": webpLossy,
		"set/train/a/2.GIF":  gifBuf.Bytes(),
		"set/train/b/1.bmp":  bmpBuf.Bytes(),
		"set/train/b/2.tif":  tiffBuf.Bytes(),
		"set/test/a/1.webp":  webpLossless,
		"set/test/b/1.tiff":  tiffBuf.Bytes(),
		"set/test/b/2.png":   pngBuf.Bytes(),
		"set/train/a/3.HEIC": []byte("\x00\x00\x00\x18ftypheic"),
		"set/train/b/4.heic": []byte("\x00\x00\x00\x18ftypheic"),
		"set/notes.txt":      []byte("two classes\n"),
	}
	order = []string{"set/train/a/1.webp", "set/train/a/2.GIF", "set/train/a/3.HEIC", "set/train/b/1.bmp", "set/train/b/2.tif", "set/train/b/4.heic", "set/test/a/1.webp", "set/test/b/1.tiff", "set/test/b/2.png", "set/notes.txt"}
	return files, order, webpLossy, webpLossless, gifBuf.Bytes(), bmpBuf.Bytes(), tiffBuf.Bytes(), pngBuf.Bytes()
}

// A folder of images may hold WebP, GIF, BMP and TIFF files beside PNG and
// JPEG: each is read as its format's decoder gives it, cropped and scaled
// as any image. Photos that cannot be read (HEIC) are named in the notes
// with what to do, and other files by their kind.
func TestOtherImageFormats(t *testing.T) {
	files, order, webpLossy, webpLossless, gifs, bmps, tiffs, pngs := formatFiles(t)
	raw := zipBytes(files, order, 0)
	d, err := Decode("set.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.H != 43 || d.W != 64 || d.C != 3 || d.Train.Len() != 4 || d.Test.Len() != 3 {
		t.Fatalf("%d train and %d test images of %d×%d×%d, want 4 and 3 of 43×64×3", d.Train.Len(), d.Test.Len(), d.H, d.W, d.C)
	}
	// Each image is its own format's decoding, scaled as any image.
	want := func(b []byte) []uint8 {
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]uint8, 43*64*3)
		putImage(out, img, 1, 43, 64, 3)
		return out
	}
	n := 43 * 64 * 3
	for i, b := range [][]byte{webpLossy, gifs, bmps, tiffs} {
		if !bytes.Equal(d.Train.Images[i*n:(i+1)*n], want(b)) {
			t.Errorf("train image %d is not its file's decoding", i)
		}
	}
	for i, b := range [][]byte{webpLossless, tiffs, pngs} {
		if !bytes.Equal(d.Test.Images[i*n:(i+1)*n], want(b)) {
			t.Errorf("test image %d is not its file's decoding", i)
		}
	}
	// The BMP, the TIFF and the PNG hold the same pixels.
	if b, p := d.Train.Images[2*n:3*n], d.Test.Images[2*n:3*n]; !bytes.Equal(b, p) {
		t.Error("the BMP and the PNG of one image differ")
	}
	notes := strings.Join(d.Notes, "; ")
	for _, w := range []string{
		"skipped 3 files that are not PNG, JPEG, WebP, GIF, BMP or TIFF: 2 HEIC (set/train/a/3.HEIC, …), 1 TXT (set/notes.txt)",
		"export HEIC, AVIF or raw photos as JPEG",
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes %q do not say %q", notes, w)
		}
	}
	// A folder in the page keeps the photos it cannot read, so that the
	// notes name them, and leaves out other files.
	for p, keep := range map[string]bool{"a/1.webp": true, "a/1.GIF": true, "a/1.bmp": true, "a/1.tif": true, "a/1.tiff": true, "a/IMG_1.HEIC": true, "a/1.avif": true, "a/1.dng": true, "notes.txt": false, "a/clip.mov": false} {
		if DatasetFile(p) != keep {
			t.Errorf("DatasetFile(%q) = %v, want %v", p, !keep, keep)
		}
	}
}

// A folder of photos none of which can be read says so, and what to do.
func TestOnlyUnreadablePhotos(t *testing.T) {
	files := map[string][]byte{"a/1.heic": []byte("x"), "b/1.heic": []byte("x")}
	raw := zipBytes(files, []string{"a/1.heic", "b/1.heic"}, 0)
	_, err := Decode("phone.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "no PNG, JPEG, WebP, GIF, BMP or TIFF images in class folders; skipped 2 files that are not PNG, JPEG, WebP, GIF, BMP or TIFF: 2 HEIC (a/1.heic, …); export HEIC") {
		t.Errorf("a zip of HEIC photos: %v", err)
	}
}

// Images whose headers are not an image's (a web page saved as .jpg, an
// empty file, a HEIC photo renamed) are left out with a note naming them,
// unless they are half or more of the images, or all of a class's.
func TestUnreadableImagesAreSkipped(t *testing.T) {
	good := pngBytes(rgbImage(1, 8))
	load := func(files map[string][]byte) (*Dataset, error) {
		var order []string
		for p := range files {
			order = append(order, p)
		}
		slices.Sort(order)
		raw := zipBytes(files, order, 0)
		return Decode("set.zip", bytes.NewReader(raw), int64(len(raw)), LoadOptions{})
	}
	files := map[string][]byte{
		"a/5.jpg": []byte("<!doctype html><title>404</title>"),
		"a/6.jpg": {},
		"b/7.png": []byte("\x00\x00\x00\x18ftypheic"),
	}
	for i := range 5 {
		files[fmt.Sprintf("a/%d.png", i)] = good
		files[fmt.Sprintf("b/%d.png", i)] = good
	}
	d, err := load(files)
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Train.Len() + d.Test.Len(); n != 10 {
		t.Errorf("%d images, want the 10 that can be read", n)
	}
	notes := strings.Join(d.Notes, "; ")
	if want := "skipped 3 images that could not be read (a/5.jpg: a web page; a/6.jpg: an empty file; b/7.png: a HEIC photo)"; !strings.Contains(notes, want) {
		t.Errorf("notes %q do not say %q", notes, want)
	}
	// Half or more unreadable: something is wrong with them all.
	for i := range 5 {
		files[fmt.Sprintf("b/%d.png", i)] = []byte("not a PNG")
	}
	if _, err := load(files); err == nil || !strings.Contains(err.Error(), "8 of 13 images could not be read (a/5.jpg: a web page; a/6.jpg: an empty file; b/0.png: image: unknown format; …): are they PNG, JPEG, WebP, GIF, BMP or TIFF files?") {
		t.Errorf("most images unreadable: %v", err)
	}
	// A class left without a training image.
	for i := range 5 {
		files[fmt.Sprintf("a/%d%d.png", i, i)] = good
	}
	if _, err := load(files); err == nil || !strings.Contains(err.Error(), "class b has no training image that could be read") {
		t.Errorf("a class unreadable: %v", err)
	}
}
