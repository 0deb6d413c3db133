//go:build js && wasm

package bridge

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/hack-pad/safejs"
)

// newBlob makes a JavaScript Blob holding b.
func newBlob(t *testing.T, b []byte) safejs.Value {
	t.Helper()
	u, err := uint8Array.New(len(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := safejs.CopyBytesToJS(u, b); err != nil {
		t.Fatal(err)
	}
	parts, err := array.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parts.Call("push", u); err != nil {
		t.Fatal(err)
	}
	blob, err := mustGet(global, "Blob").New(parts)
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

// TestBlobReaderReadsWhatTheBlobHolds compares reads at random offsets and
// lengths (within a window, across windows, longer than a window, past the
// end) with the bytes themselves.
func TestBlobReaderReadsWhatTheBlobHolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 2*blobWindow+12345)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	r, err := NewBlobReader(newBlob(t, want))
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(want)) {
		t.Fatalf("Size %d, want %d", r.Size(), len(want))
	}
	lengths := []int{1, 512, 4096, blobWindow - 1, blobWindow, blobWindow + 7, 2 * blobWindow}
	for i := range 60 {
		n := lengths[i%len(lengths)]
		off := rng.Int64N(int64(len(want)))
		if i%5 == 0 {
			off = int64(len(want)) - int64(n/2) // past the end
		}
		p := make([]byte, n)
		got, err := r.ReadAt(p, off)
		end := min(int64(len(want)), off+int64(n))
		if wantN := int(end - off); got != wantN {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, want %d", n, off, got, wantN)
		}
		if !bytes.Equal(p[:got], want[off:end]) {
			t.Fatalf("ReadAt(%d bytes at %d) read other bytes", n, off)
		}
		if (got < n) != (err == io.EOF) || (got == n && err != nil) {
			t.Fatalf("ReadAt(%d bytes at %d) read %d with error %v", n, off, got, err)
		}
	}
	if _, err := r.ReadAt(make([]byte, 1), int64(len(want))); err != io.EOF {
		t.Fatalf("a read at the end: %v, want EOF", err)
	}
}

// TestBlobReaderStreamsAnArchive reads a tar.gz through the reader as the
// dataset decoders do: a stream of small reads.
func TestBlobReaderStreamsAnArchive(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	rng := rand.New(rand.NewPCG(3, 4))
	body := make([]byte, 3*blobWindow)
	for i := range body {
		body[i] = byte(rng.IntN(16)) // compressible, but not much
	}
	tw.WriteHeader(&tar.Header{Name: "a/data_batch_1.bin", Mode: 0o644, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()
	zw.Close()
	r, err := NewBlobReader(newBlob(t, buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(io.NewSectionReader(r, 0, r.Size()))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "a/data_batch_1.bin" || !bytes.Equal(got, body) {
		t.Fatalf("read %s, %d bytes; want the %d bytes written", h.Name, len(got), len(body))
	}
}

func TestNewBlobReaderRefusesWhatIsNotABlob(t *testing.T) {
	o, _ := object.New()
	if _, err := NewBlobReader(o); err == nil {
		t.Fatal("a plain object was taken for a Blob")
	}
}

// A Blob whose slices have no byte stream is read through arrayBuffer.
func TestBlobReaderWithoutStreams(t *testing.T) {
	want := make([]byte, blobWindow+999)
	for i := range want {
		want[i] = byte(i * 7)
	}
	wrap, err := mustGet(global, "Function").New("blob", `return {size: blob.size, slice: (a, b) => { const p = blob.slice(a, b); return {arrayBuffer: () => p.arrayBuffer()}; }};`)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := wrap.Invoke(newBlob(t, want))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewBlobReader(blob)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if n, err := r.ReadAt(got, 0); n != len(want) || err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), equal: %v", n, err, bytes.Equal(got, want))
	}
}
