//go:build js && wasm

package bridge

import (
	"archive/zip"
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// A folder made a zip Blob reads back as a zip of the same files, their
// checksums verified, the files' bytes never copied but for the headers.
func TestZipBlobReadsAsAZip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	contents := map[string][]byte{
		"cats/1.jpg":   make([]byte, 3*blobWindow/2+17), // across windows
		"cats/2.jpg":   []byte("small"),
		"dogs/é 3.png": {},
		"dogs/4.png":   make([]byte, 70_000), // more than one buffer of zeros
	}
	var files []FolderFile
	for _, name := range []string{"cats/1.jpg", "cats/2.jpg", "dogs/é 3.png", "dogs/4.png"} {
		b := contents[name]
		for i := range b {
			if len(b) > 5 {
				b[i] = byte(rng.Uint32())
			}
		}
		files = append(files, FolderFile{Path: name, File: newBlob(t, b)})
	}
	var said [][2]int
	blob, err := ZipBlob(files, func(done, total int) { said = append(said, [2]int{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if len(said) != 4 || said[3] != [2]int{4, 4} {
		t.Errorf("progress %v, want 1 to 4 of 4", said)
	}
	r, err := NewBlobReader(blob)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(r, r.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 4 {
		t.Fatalf("%d files in the zip, want 4", len(zr.File))
	}
	for i, f := range zr.File {
		if f.Name != files[i].Path || f.Method != zip.Store {
			t.Errorf("file %d: %s, method %d; want %s stored", i, f.Name, f.Method, files[i].Path)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc) // checks the CRC-32 at the end
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !bytes.Equal(got, contents[f.Name]) {
			t.Errorf("%s: %d bytes read back, not the file's %d", f.Name, len(got), len(contents[f.Name]))
		}
	}
	if _, err := ZipBlob(nil, nil); err == nil {
		t.Error("an empty folder made a zip")
	}
}
