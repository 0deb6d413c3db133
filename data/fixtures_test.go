package data

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The fixtures in testdata/ are small files in every supported format,
// written by TestGenerateTestdata from the pixel formulas below, so the
// golden tests compare decoded pixels against the same formulas.
//
//	go test ./data/ -run TestGenerateTestdata -update
var update = flag.Bool("update", false, "rewrite the fixtures in testdata/")

// IDX fixture: 6×5 images (height ≠ width, to catch a swap), labels i%3.
const idxH, idxW = 6, 5

func idxPixel(img, y, x int) uint8 { return uint8(img*31 + y*7 + x*3) }

func idxImages(n, offset int) []byte {
	b := make([]byte, 0, n*idxH*idxW)
	for i := range n {
		for y := range idxH {
			for x := range idxW {
				b = append(b, idxPixel(i+offset, y, x))
			}
		}
	}
	return b
}

func idxLabels(n, offset int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = uint8((i + offset) % 3)
	}
	return b
}

func encodeIDX(dims []int, body []byte) []byte {
	var buf bytes.Buffer
	buf.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&buf, binary.BigEndian, uint32(d))
	}
	buf.Write(body)
	return buf.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// CIFAR fixture: records with label (i+batch)%10 and pixel planes from
// cifarPixel.
func cifarPixel(img, y, x, k int) uint8 { return uint8(img*13 + y*5 + x*3 + k*80) }

func cifarBatch(n, offset int) []byte {
	var b []byte
	for i := range n {
		b = append(b, uint8((i+offset)%10))
		for k := range 3 {
			for y := range 32 {
				for x := range 32 {
					b = append(b, cifarPixel(i+offset, y, x, k))
				}
			}
		}
	}
	return b
}

// cifarFiles is the CIFAR fixture: two of five train batches, short ones.
func cifarFiles() map[string][]byte {
	return map[string][]byte{
		"cifar-10-batches-bin/data_batch_1.bin": cifarBatch(3, 0),
		"cifar-10-batches-bin/data_batch_3.bin": cifarBatch(2, 100),
		"cifar-10-batches-bin/test_batch.bin":   cifarBatch(2, 200),
		"cifar-10-batches-bin/batches.meta.txt": []byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"),
	}
}

func tarGz(files map[string][]byte, order []string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range order {
		b := files[name]
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// Image fixture: 8×8 images, RGB or gray, PNG or JPEG.
func rgbImage(id, side int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			m.Set(x, y, color.RGBA{uint8(id*40 + x*20 + y*3), uint8(id*40 + x*3 + y*20 + 60), uint8(id*7 + 120), 255})
		}
	}
	return m
}

func grayImage(id, side int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			m.SetGray(x, y, color.Gray{uint8(id*40 + x*10 + y*20)})
		}
	}
	return m
}

func pngBytes(m image.Image) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, m)
	return buf.Bytes()
}

func jpegBytes(m image.Image) []byte {
	var buf bytes.Buffer
	jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95})
	return buf.Bytes()
}

// zipFixture is a zip with train/ and test/ folders under a top folder,
// mixing gray and RGB, PNG and JPEG, one image of another size, and files
// that are not images.
var zipOrder = []string{
	"shapes/train/circle/0.png", "shapes/train/circle/1.png", "shapes/train/square/0.png",
	"shapes/train/square/1.jpg", "shapes/test/circle/0.png", "shapes/test/square/0.png",
	"shapes/README.txt", "__MACOSX/shapes/._0.png",
}

func zipFiles() map[string][]byte {
	return map[string][]byte{
		"shapes/train/circle/0.png": pngBytes(rgbImage(0, 8)),
		"shapes/train/circle/1.png": pngBytes(grayImage(1, 8)),
		"shapes/train/square/0.png": pngBytes(rgbImage(2, 8)),
		"shapes/train/square/1.jpg": jpegBytes(rgbImage(3, 8)),
		"shapes/test/circle/0.png":  pngBytes(rgbImage(4, 10)),
		"shapes/test/square/0.png":  pngBytes(rgbImage(5, 8)),
		"shapes/README.txt":         []byte("two shapes\n"),
		"__MACOSX/shapes/._0.png":   []byte("not an image"),
	}
}

func zipBytes(files map[string][]byte, order []string, method uint16) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range order {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
		w.Write(files[name])
	}
	zw.Close()
	return buf.Bytes()
}

// folderFiles is a class folder without train/ and test/: gray 8×8 PNGs,
// six of class "a" and five of class "b".
func folderFiles() map[string][]byte {
	f := map[string][]byte{}
	for i := range 6 {
		f[filepath.Join("a", string(rune('0'+i))+".png")] = pngBytes(grayImage(i, 8))
	}
	for i := range 5 {
		f[filepath.Join("b", string(rune('0'+i))+".png")] = pngBytes(grayImage(10+i, 8))
	}
	return f
}

func writeFiles(t *testing.T, root string, files map[string][]byte) {
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenerateTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/")
	}
	os.RemoveAll("testdata")
	writeFiles(t, "testdata/idx", map[string][]byte{
		"train-images-idx3-ubyte.gz": gzipBytes(encodeIDX([]int{7, idxH, idxW}, idxImages(7, 0))),
		"train-labels-idx1-ubyte.gz": gzipBytes(encodeIDX([]int{7}, idxLabels(7, 0))),
		"t10k-images-idx3-ubyte":     encodeIDX([]int{4, idxH, idxW}, idxImages(4, 50)),
		"t10k-labels-idx1-ubyte":     encodeIDX([]int{4}, idxLabels(4, 50)),
	})
	writeFiles(t, "testdata/cifar", cifarFiles())
	writeFiles(t, "testdata", map[string][]byte{
		"cifar-10-binary.tar.gz": tarGz(cifarFiles(), []string{
			"cifar-10-batches-bin/batches.meta.txt", "cifar-10-batches-bin/data_batch_3.bin",
			"cifar-10-batches-bin/test_batch.bin", "cifar-10-batches-bin/data_batch_1.bin",
		}),
		"shapes.zip": zipBytes(zipFiles(), zipOrder, zip.Deflate),
	})
	writeFiles(t, "testdata/letters", folderFiles())
}
