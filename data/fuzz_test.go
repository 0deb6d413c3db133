package data

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// fuzzLimits keep every fuzz input's memory small, so an input that gets
// past a check shows up as a failed bound rather than a crashed machine.
var fuzzLimits = Limits{
	MaxBytes:        1 << 20,
	MaxArchiveBytes: 4 << 20,
	MaxFileBytes:    2 << 20,
	MaxRatio:        100,
	MaxFiles:        64,
	MaxImageSide:    256,
}

// maxFuzzInput bounds the inputs tried, as image/png's fuzz test does.
const maxFuzzInput = 1 << 20

// maxFuzzAlloc bounds the bytes allocated while decoding one input.
const maxFuzzAlloc = 256 << 20

func addSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkAlloc fails when decode allocates more than maxFuzzAlloc bytes.
func checkAlloc(t *testing.T, decode func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > maxFuzzAlloc {
		t.Fatalf("decoding allocated %d bytes, more than %d", n, maxFuzzAlloc)
	}
}

func FuzzIDX(f *testing.F) {
	paths, _ := filepath.Glob("testdata/idx/*")
	addSeeds(f, paths...)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		checkAlloc(t, func() {
			for _, size := range []int64{-1, int64(len(b))} {
				a, err := decodeIDX(bytes.NewReader(b), size, fuzzLimits)
				if err != nil {
					continue
				}
				n := 1
				for _, d := range a.Dims {
					n *= d
				}
				if len(a.Data) != n {
					t.Fatalf("shape %v holds %d bytes", a.Dims, len(a.Data))
				}
			}
		})
	})
}

func FuzzCIFAR(f *testing.F) {
	// One record and a bit: small seeds keep the fuzzer's minimization fast.
	f.Add(cifarBatch(1, 0))
	f.Add(cifarBatch(2, 7)[:cifarRecordBytes+10])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		checkAlloc(t, func() {
			for _, size := range []int64{-1, int64(len(b))} {
				s, err := decodeCIFARBatch(bytes.NewReader(b), size, fuzzLimits.MaxBytes)
				if err != nil {
					continue
				}
				if len(s.Images) != s.Len()*cifarImageBytes {
					t.Fatalf("%d images in %d bytes", s.Len(), len(s.Images))
				}
			}
		})
	})
}

// fuzzDecode decodes an archive and checks the dataset's invariants.
func fuzzDecode(t *testing.T, b []byte) {
	if len(b) > maxFuzzInput {
		return
	}
	checkAlloc(t, func() {
		d, err := Decode("fuzz", bytes.NewReader(b), int64(len(b)), LoadOptions{Limits: &fuzzLimits})
		if err != nil {
			return
		}
		if err := d.check(); err != nil {
			t.Fatal(err)
		}
		if got := int64(len(d.Train.Images) + len(d.Test.Images)); got > fuzzLimits.MaxBytes*2 {
			t.Fatalf("%d bytes of pixels, beyond the limit", got)
		}
	})
}

func FuzzImageZip(f *testing.F) {
	addSeeds(f, "testdata/shapes.zip")
	// Stored, so that the mutations reach the WebP, GIF, BMP and TIFF
	// files' bytes.
	files, order, _, _, _, _, _, _ := formatFiles(f)
	f.Add(zipBytes(files, order, 0))
	f.Fuzz(fuzzDecode)
}

func FuzzArchive(f *testing.F) {
	addSeeds(f, "testdata/cifar-10-binary.tar.gz")
	f.Add(tarGz(fixtureIDXFiles(), []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}))
	f.Fuzz(fuzzDecode)
}

// FuzzJPEGOrientation: any bytes read as an orientation of 1 to 8, without
// reading past their end.
func FuzzJPEGOrientation(f *testing.F) {
	plain := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	for _, order := range []string{"II", "MM"} {
		f.Add(withOrientation(plain, 6, order))
	}
	f.Add(plain)
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
