package data

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestLoadIDXFolder(t *testing.T) {
	d, err := Load("testdata/idx", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.H != idxH || d.W != idxW || d.C != 1 {
		t.Errorf("size = %d×%d×%d, want %d×%d×1", d.H, d.W, d.C, idxH, idxW)
	}
	if got, want := d.Train.Images, idxImages(7, 0); !bytes.Equal(got, want) {
		t.Errorf("train images differ from the fixture")
	}
	if got, want := d.Test.Images, idxImages(4, 50); !bytes.Equal(got, want) {
		t.Errorf("test images differ from the fixture")
	}
	wantLabels := []int32{0, 1, 2, 0, 1, 2, 0}
	if !slices.Equal(d.Train.Labels, wantLabels) {
		t.Errorf("train labels = %v, want %v", d.Train.Labels, wantLabels)
	}
	if got, want := d.Classes, []string{"0", "1", "2"}; !slices.Equal(got, want) {
		t.Errorf("classes = %v, want %v", got, want)
	}
	if d.Name != "idx" {
		t.Errorf("name = %q, want idx", d.Name)
	}
}

func TestLoadLimits(t *testing.T) {
	d, err := Load("testdata/idx", LoadOptions{TrainLimit: 3, TestLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 3 || d.Test.Len() != 2 {
		t.Fatalf("lengths = %d, %d, want 3, 2", d.Train.Len(), d.Test.Len())
	}
	if !bytes.Equal(d.Train.Images, idxImages(3, 0)) {
		t.Errorf("limited train images are not the first three")
	}
	if len(d.Notes) != 2 {
		t.Errorf("notes = %q, want one per limit", d.Notes)
	}
}

// wantCIFAR checks a dataset decoded from the CIFAR fixture.
func wantCIFAR(t *testing.T, d *Dataset) {
	t.Helper()
	if d.Name != "cifar-10" || d.H != 32 || d.W != 32 || d.C != 3 {
		t.Fatalf("got %s %d×%d×%d, want cifar-10 32×32×3", d.Name, d.H, d.W, d.C)
	}
	if d.Train.Len() != 5 || d.Test.Len() != 2 {
		t.Fatalf("got %d train and %d test images, want 5 and 2", d.Train.Len(), d.Test.Len())
	}
	// Batch 1 (3 records) comes before batch 3 (2 records) whatever the
	// order of the files.
	offsets := []int{0, 1, 2, 100, 101}
	for i, off := range offsets {
		if got, want := d.Train.Labels[i], int32(off%10); got != want {
			t.Errorf("train label %d = %d, want %d", i, got, want)
		}
		img := d.Train.Images[i*3072 : (i+1)*3072]
		for _, p := range [][3]int{{0, 0, 0}, {0, 1, 2}, {31, 30, 1}, {5, 7, 2}} {
			y, x, k := p[0], p[1], p[2]
			if got, want := img[(y*32+x)*3+k], cifarPixel(off, y, x, k); got != want {
				t.Errorf("train image %d pixel (%d,%d,%d) = %d, want %d", i, y, x, k, got, want)
			}
		}
	}
	if d.Classes[3] != "cat" || len(d.Classes) != 10 {
		t.Errorf("classes = %v", d.Classes)
	}
	sum := d.Summary()
	for _, want := range []string{"5 train", "2 test", "train from 2 of 5 batches (1, 3)", "test_batch.bin holds 2 of 10,000"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q does not say %q", sum, want)
		}
	}
}

func TestLoadCIFAR(t *testing.T) {
	for _, p := range []string{"testdata/cifar", "testdata/cifar/cifar-10-batches-bin", "testdata/cifar-10-binary.tar.gz"} {
		t.Run(p, func(t *testing.T) {
			d, err := Load(p, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantCIFAR(t, d)
		})
	}
}

func TestLoadCIFARFromDataDir(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/cifar-10-binary.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{"cifar-10/cifar-10-binary.tar.gz": b})
	d, err := Load("CIFAR10", LoadOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wantCIFAR(t, d)
}

func TestLoadImageZip(t *testing.T) {
	d, err := Load("testdata/shapes.zip", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "shapes" || d.H != 8 || d.W != 8 || d.C != 3 {
		t.Fatalf("got %s %d×%d×%d, want shapes 8×8×3", d.Name, d.H, d.W, d.C)
	}
	if got, want := d.Classes, []string{"circle", "square"}; !slices.Equal(got, want) {
		t.Errorf("classes = %v, want %v", got, want)
	}
	if got, want := d.Train.Labels, []int32{0, 0, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("train labels = %v, want %v", got, want)
	}
	if got, want := d.Test.Labels, []int32{0, 1}; !slices.Equal(got, want) {
		t.Errorf("test labels = %v, want %v", got, want)
	}
	rgb := func(m *image.RGBA) []uint8 {
		var out []uint8
		for i := 0; i < len(m.Pix); i += 4 {
			out = append(out, m.Pix[i], m.Pix[i+1], m.Pix[i+2])
		}
		return out
	}
	const size = 8 * 8 * 3
	if !bytes.Equal(d.Train.Images[:size], rgb(rgbImage(0, 8))) {
		t.Errorf("train image 0 differs from the fixture")
	}
	// The gray image is copied into three channels.
	g := grayImage(1, 8)
	img := d.Train.Images[size : 2*size]
	for i, v := range g.Pix {
		if img[3*i] != v || img[3*i+1] != v || img[3*i+2] != v {
			t.Fatalf("gray pixel %d = %v, want %d in every channel", i, img[3*i:3*i+3], v)
		}
	}
	// The 10×10 test image is scaled down to 8×8.
	want := make([]uint8, size)
	resizeArea(want, rgb(rgbImage(4, 10)), 10, 10, 8, 8, 3)
	if !bytes.Equal(d.Test.Images[:size], want) {
		t.Errorf("resized test image differs from the area resize of the fixture")
	}
	notes := strings.Join(d.Notes, "; ")
	for _, w := range []string{"resized 1 image to 8×8", "converted 1 image to RGB", "skipped 1 file that is not PNG, JPEG, WebP, GIF, BMP or TIFF: 1 TXT (shapes/README.txt)"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes %q do not say %q", notes, w)
		}
	}
}

func TestLoadImageFolderSplit(t *testing.T) {
	d, err := Load("testdata/letters", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.C != 1 || d.H != 8 || d.W != 8 {
		t.Fatalf("size = %d×%d×%d, want 8×8×1", d.H, d.W, d.C)
	}
	// Every 5th image of each class is held out: a/4.png and b/4.png.
	if d.Train.Len() != 9 || d.Test.Len() != 2 {
		t.Fatalf("got %d train and %d test, want 9 and 2", d.Train.Len(), d.Test.Len())
	}
	if !bytes.Equal(d.Test.Images[:64], grayImage(4, 8).Pix) || !bytes.Equal(d.Test.Images[64:], grayImage(14, 8).Pix) {
		t.Errorf("test images are not a/4.png and b/4.png")
	}
	if got, want := d.Test.Labels, []int32{0, 1}; !slices.Equal(got, want) {
		t.Errorf("test labels = %v, want %v", got, want)
	}
}

func TestLoadFSMatchesLoad(t *testing.T) {
	a, err := LoadFS(os.DirFS("testdata/idx"), "digits", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("testdata/idx", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Train, b.Train) || !reflect.DeepEqual(a.Test, b.Test) {
		t.Errorf("LoadFS and Load disagree")
	}
}

func TestDecodeBytes(t *testing.T) {
	for _, name := range []string{"cifar-10-binary.tar.gz", "shapes.zip"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Decode(name, bytes.NewReader(b), int64(len(b)), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Train.Len() == 0 {
				t.Errorf("no training images")
			}
		})
	}
}

// TestCIFARSample reads the real-pixel sample of CIFAR-10 shipped beside
// the repository, when it is there.
func TestCIFARSample(t *testing.T) {
	p := os.Getenv("PLATEAU_CIFAR_SAMPLE")
	if p == "" {
		p = "../../shared/datasets/cifar-10-sample/cifar-10-sample.tar.gz"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no CIFAR-10 sample at %s", p)
	}
	d, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 2000 || d.Test.Len() != 1000 {
		t.Errorf("got %d train and %d test, want 2000 and 1000", d.Train.Len(), d.Test.Len())
	}
	// The first image of the official test batch is a cat.
	if got := d.Classes[d.Test.Labels[0]]; got != "cat" || d.Test.Labels[0] != 3 {
		t.Errorf("first test label = %d (%s), want 3 (cat)", d.Test.Labels[0], got)
	}
	if !strings.Contains(d.Summary(), "train from 1 of 5 batches") {
		t.Errorf("summary %q does not say how many batches it found", d.Summary())
	}
	t.Log(d.Summary())
}

// TestRealIDX reads the real MNIST and Fashion-MNIST where the registry
// finds them (the module cache, Debian's package), when they are there.
func TestRealIDX(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB")
	}
	for _, name := range []string{MNIST, FashionMNIST} {
		t.Run(name, func(t *testing.T) {
			found := false
			for _, dir := range candidates(name, t.TempDir()) {
				found = found || hasDataset(name, dir)
			}
			if !found {
				t.Skipf("%s is not installed", name)
			}
			d, err := Load(name, LoadOptions{DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if d.Train.Len() != 60000 || d.Test.Len() != 10000 || d.H != 28 || d.W != 28 || d.C != 1 || len(d.Classes) != 10 {
				t.Errorf("got %s", d.Summary())
			}
			counts := ClassCounts(d.Test, 10)
			for k, c := range counts {
				if c < 800 || c > 1200 {
					t.Errorf("test class %d has %d images", k, c)
				}
			}
			t.Logf("%s from %s; first train labels %v", d.Summary(), d.Source, d.Train.Labels[:10])
		})
	}
}

// A release with one training batch (as the CIFAR-10 sample has) keeps
// that batch as the training set: loading allocates the pixels once, not
// once more for a copy, which in a browser worker would stay as memory.
func TestOneCIFARBatchIsNotCopied(t *testing.T) {
	files := map[string][]byte{
		"cifar-10-batches-bin/data_batch_1.bin": cifarBatch(500, 0),
		"cifar-10-batches-bin/test_batch.bin":   cifarBatch(10, 0),
	}
	archive := tarGz(files, []string{"cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/test_batch.bin"})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, err := Decode("one-batch.tar.gz", bytes.NewReader(archive), int64(len(archive)), LoadOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	pixels := uint64(len(d.Train.Images) + len(d.Test.Images))
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > pixels*3/2 {
		t.Errorf("decoding %d bytes of pixels allocated %d bytes", pixels, alloc)
	}
}

// The five batches of a full release decode into the training set's own
// buffer (the first one copied in when the second comes), so the training
// pixels are not held twice for a join; batches in any order give the
// same training set.
func TestFiveCIFARBatchesAreNotJoinedByACopy(t *testing.T) {
	const n = 1000
	files := map[string][]byte{"cifar-10-batches-bin/test_batch.bin": cifarBatch(10, 9)}
	inOrder := []string{}
	for b := 1; b <= 5; b++ {
		name := fmt.Sprintf("cifar-10-batches-bin/data_batch_%d.bin", b)
		files[name] = cifarBatch(n, b)
		inOrder = append(inOrder, name)
	}
	inOrder = append(inOrder, "cifar-10-batches-bin/test_batch.bin")
	archive := tarGz(files, inOrder)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, err := Decode("cifar-10-binary.tar.gz", bytes.NewReader(archive), int64(len(archive)), LoadOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 5*n {
		t.Fatalf("%d training images, want %d", d.Train.Len(), 5*n)
	}
	pixels := uint64(len(d.Train.Images) + len(d.Test.Images))
	t.Logf("decoding %d bytes of pixels allocated %d bytes", pixels, after.TotalAlloc-before.TotalAlloc)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > pixels*3/2 {
		t.Errorf("decoding %d bytes of pixels allocated %d bytes", pixels, alloc)
	}
	for _, order := range [][]int{{5, 3, 1, 2, 4}, {2, 1, 3}} {
		var names []string
		sub := map[string][]byte{"cifar-10-batches-bin/test_batch.bin": files["cifar-10-batches-bin/test_batch.bin"]}
		for _, b := range order {
			name := fmt.Sprintf("cifar-10-batches-bin/data_batch_%d.bin", b)
			names = append(names, name)
			sub[name] = files[name]
		}
		names = append(names, "cifar-10-batches-bin/test_batch.bin")
		got, err := Decode("cifar-10-binary.tar.gz", bytes.NewReader(tarGz(sub, names)), -1, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Batches 1..k in batch order, whatever the archive's order.
		k := len(order)
		if !bytes.Equal(got.Train.Images, d.Train.Images[:k*n*cifarImageBytes]) || !slices.Equal(got.Train.Labels, d.Train.Labels[:k*n]) {
			t.Errorf("batches in the order %v give another training set", order)
		}
	}
}
