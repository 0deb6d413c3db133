//go:build js && wasm

package bridge

import (
	"archive/zip"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/hack-pad/safejs"
)

// A FolderFile is one file of a folder the user chose or dropped: its path
// within the folder, with "/" between names ("cats/1.jpg"), and its File.
type FolderFile struct {
	Path string
	File safejs.Value
}

// ZipBlob makes a zip of files as a Blob whose parts are the files
// themselves, stored as they are, between the headers archive/zip writes:
// nothing is copied into memory but the headers, so a folder of photos
// becomes one archive that the worker reads in place, as it reads a zip
// the user made, and that the page can send to the server. Each file is
// read once for the CRC-32 its headers hold, so that the zip reads as any
// other, checksums and all. progress, when set, is told the files read.
func ZipBlob(files []FolderFile, progress func(done, total int)) (safejs.Value, error) {
	if len(files) == 0 {
		return safejs.Undefined(), errors.New("the folder holds no files")
	}
	rec := &blobParts{}
	zw := zip.NewWriter(rec)
	zeros := make([]byte, 64<<10)
	for i, f := range files {
		r, err := NewBlobReader(f.File)
		if err != nil {
			return safejs.Undefined(), fmt.Errorf("%s: %v", f.Path, err)
		}
		sum := crc32.NewIEEE()
		if _, err := io.Copy(sum, io.NewSectionReader(r, 0, r.Size())); err != nil {
			return safejs.Undefined(), fmt.Errorf("%s: %v", f.Path, err)
		}
		h := &zip.FileHeader{Name: f.Path, Method: zip.Store, CRC32: sum.Sum32(),
			CompressedSize64: uint64(r.Size()), UncompressedSize64: uint64(r.Size())}
		if v, err := f.File.Get("lastModified"); err == nil && v.Type() == safejs.TypeNumber {
			ms, _ := v.Float()
			h.Modified = time.UnixMilli(int64(ms))
		}
		w, err := zw.CreateRaw(h)
		if err != nil {
			return safejs.Undefined(), err
		}
		// The header goes in as bytes; the file's place in the stream is
		// counted with zeros that blobParts drops, and the File itself
		// takes it.
		if err := zw.Flush(); err != nil {
			return safejs.Undefined(), err
		}
		if err := rec.cut(); err != nil {
			return safejs.Undefined(), err
		}
		rec.skip = r.Size()
		for left := r.Size(); left > 0; {
			n := min(left, int64(len(zeros)))
			if _, err := w.Write(zeros[:n]); err != nil {
				return safejs.Undefined(), err
			}
			left -= n
		}
		if err := zw.Flush(); err != nil {
			return safejs.Undefined(), err
		}
		if rec.skip != 0 {
			return safejs.Undefined(), fmt.Errorf("%s: %d bytes of its place were not written", f.Path, rec.skip)
		}
		rec.parts = append(rec.parts, f.File)
		if progress != nil {
			progress(i+1, len(files))
		}
	}
	if err := zw.Close(); err != nil {
		return safejs.Undefined(), err
	}
	if err := rec.cut(); err != nil {
		return safejs.Undefined(), err
	}
	parts, err := array.New(len(rec.parts))
	if err != nil {
		return safejs.Undefined(), err
	}
	for i, p := range rec.parts {
		if err := parts.SetIndex(i, p); err != nil {
			return safejs.Undefined(), err
		}
	}
	opts, err := mustGet(global, "Object").New()
	if err != nil {
		return safejs.Undefined(), err
	}
	opts.Set("type", "application/zip")
	return mustGet(global, "Blob").New(parts, opts)
}

// blobParts collects what a zip.Writer writes as the parts of a Blob:
// runs of bytes become Uint8Arrays; skip bytes written next are dropped
// (a file's place, which the File fills).
type blobParts struct {
	parts []safejs.Value
	buf   []byte
	skip  int64
}

func (p *blobParts) Write(b []byte) (int, error) {
	n := len(b)
	if p.skip > 0 {
		k := min(int64(len(b)), p.skip)
		p.skip -= k
		b = b[k:]
	}
	p.buf = append(p.buf, b...)
	return n, nil
}

// cut ends the run of bytes written so far as a part.
func (p *blobParts) cut() error {
	if len(p.buf) == 0 {
		return nil
	}
	u, err := uint8Array.New(len(p.buf))
	if err != nil {
		return err
	}
	if _, err := safejs.CopyBytesToJS(u, p.buf); err != nil {
		return err
	}
	p.parts, p.buf = append(p.parts, u), nil
	return nil
}
