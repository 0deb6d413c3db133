//go:build js && wasm

package bridge

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hack-pad/safejs"
)

// blobWindow is how much of a Blob a BlobReader copies into Go memory at
// a time: enough that a stream costs one promise per 4 MiB, little beside
// a dataset.
const blobWindow = 4 << 20

// A BlobReader reads a JavaScript Blob (a File is one) in place: ReadAt
// copies a window of the blob into Go memory at a time, so that an archive
// is decoded without its bytes ever being whole in wasm memory, whose
// growth is never given back. A window is read through the slice's byte
// stream into one ArrayBuffer that every read hands back; reading each
// window into a new ArrayBuffer (arrayBuffer, the fallback) left the
// archive's size in buffers for V8 to collect, which it had not yet done
// when a 172 MB archive was loaded (the renderer held 680 MB then, 501 MB
// with the one buffer). Reads wait for promises: call them off the event
// loop's goroutine.
type BlobReader struct {
	blob safejs.Value
	size int64

	mu     sync.Mutex
	window []byte // the blob's bytes from off
	off    int64
	buf    safejs.Value // the ArrayBuffer BYOB reads fill and hand back
}

// NewBlobReader reads blob, which must be a Blob or a File.
func NewBlobReader(blob safejs.Value) (*BlobReader, error) {
	v, err := blob.Get("size")
	if err != nil {
		return nil, err
	}
	if v.Type() != safejs.TypeNumber {
		return nil, errors.New("not a Blob or File: it has no size")
	}
	size, err := v.Float()
	if err != nil {
		return nil, err
	}
	return &BlobReader{blob: blob, size: int64(size), buf: safejs.Undefined()}, nil
}

// Size is the blob's length in bytes.
func (b *BlobReader) Size() int64 { return b.size }

// ReadAt implements io.ReaderAt. Reads of a window or more go straight
// into p; smaller ones are served from the window, refilled from off when
// they fall outside it, which makes a sequential stream of small reads
// cost one promise per window.
func (b *BlobReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("bridge: negative offset")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for n < len(p) && off < b.size {
		if off >= b.off && off < b.off+int64(len(b.window)) {
			c := copy(p[n:], b.window[off-b.off:])
			n, off = n+c, off+int64(c)
			continue
		}
		if len(p)-n >= blobWindow {
			end := min(b.size, off+int64(len(p)-n))
			if err := b.read(p[n:n+int(end-off)], off); err != nil {
				return n, err
			}
			n, off = n+int(end-off), end
			continue
		}
		end := min(b.size, off+blobWindow)
		if cap(b.window) < blobWindow {
			b.window = make([]byte, blobWindow)
		}
		b.window = b.window[:end-off]
		if err := b.read(b.window, off); err != nil {
			b.window = b.window[:0]
			return n, err
		}
		b.off = off
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// read copies len(dst) bytes of the blob from off into dst.
func (b *BlobReader) read(dst []byte, off int64) error {
	part, err := b.blob.Call("slice", float64(off), float64(off+int64(len(dst))))
	if err != nil {
		return err
	}
	if n, ok := b.readBYOB(dst, part); ok {
		if n != len(dst) {
			return fmt.Errorf("reading the file: %d bytes at %d, want %d (did it change?)", n, off, len(dst))
		}
		return nil
	}
	p, err := part.Call("arrayBuffer")
	if err != nil {
		return err
	}
	ab, err := await(p)
	if err != nil {
		return fmt.Errorf("reading the file: %v", err)
	}
	u8, err := uint8Array.New(ab)
	if err != nil {
		return err
	}
	n, err := safejs.CopyBytesToGo(dst, u8)
	if err != nil {
		return err
	}
	if n != len(dst) {
		return fmt.Errorf("reading the file: %d bytes at %d, want %d (did it change?)", n, off, len(dst))
	}
	return nil
}

// readBYOB reads part into dst through a byte stream's BYOB reader, into
// one buffer that every read hands back (b.buf), so that reading a large
// archive leaves no trail of buffers for V8 to collect. ok is false where
// the browser's Blob streams have no BYOB reader.
func (b *BlobReader) readBYOB(dst []byte, part safejs.Value) (n int, ok bool) {
	stream, err := part.Call("stream")
	if err != nil {
		return 0, false
	}
	opts, _ := object.New()
	opts.Set("mode", "byob")
	reader, err := stream.Call("getReader", opts)
	if err != nil {
		return 0, false
	}
	defer reader.Call("releaseLock")
	if b.buf.IsUndefined() {
		if b.buf, err = mustGet(global, "ArrayBuffer").New(blobWindow); err != nil {
			return 0, false
		}
	}
	for n < len(dst) {
		size, _ := b.buf.Get("byteLength")
		bufLen, _ := size.Int()
		view, err := uint8Array.New(b.buf, 0, min(bufLen, len(dst)-n))
		if err != nil {
			return n, n > 0
		}
		p, err := reader.Call("read", view)
		if err != nil {
			return n, n > 0
		}
		res, err := await(p)
		if err != nil {
			return n, n > 0
		}
		value, _ := res.Get("value")
		if value.IsUndefined() {
			break
		}
		b.buf, _ = value.Get("buffer")
		k, _ := safejs.CopyBytesToGo(dst[n:], value)
		n += k
		if d, _ := res.Get("done"); k == 0 || d.Type() == safejs.TypeBoolean && truthy(d) {
			break
		}
	}
	return n, true
}

// FetchBlob gets url's body with the browser's fetch as a Blob, refusing
// bodies over limit bytes, and reads it in place. The body stays with the
// browser, which may keep a large one on disk; only the windows a decoder
// reads enter wasm memory, where Go's net/http would have read the whole
// body into chunks that become garbage in a linear memory that never
// shrinks. Call it off the event loop's goroutine.
func FetchBlob(url string, limit int64) (*BlobReader, error) {
	p, err := global.Call("fetch", url)
	if err != nil {
		return nil, err
	}
	resp, err := await(p)
	if err != nil {
		return nil, err
	}
	if ok, err := resp.Get("ok"); err != nil {
		return nil, err
	} else if b, _ := ok.Bool(); !b {
		status, _ := resp.Get("status")
		code, _ := status.Int()
		text := ""
		if t, err := resp.Call("text"); err == nil {
			if v, err := await(t); err == nil {
				text, _ = v.String()
			}
		}
		if len(text) > 1024 {
			text = text[:1024]
		}
		return nil, fmt.Errorf("%s: status %d %s", url, code, strings.TrimSpace(text))
	}
	bp, err := resp.Call("blob")
	if err != nil {
		return nil, err
	}
	blob, err := await(bp)
	if err != nil {
		return nil, err
	}
	r, err := NewBlobReader(blob)
	if err != nil {
		return nil, err
	}
	if r.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", url, limit)
	}
	return r, nil
}

// PutBlob sends blob (a File the user chose, say) as the body of a PUT to
// url with the browser's fetch, which streams it from where it lies: none
// of it enters wasm memory. It returns the answer's status and text (up to
// 64 KB). A token, when given, goes as a bearer token. Call it off the
// event loop's goroutine.
func PutBlob(url, token string, blob safejs.Value) (status int, text string, err error) {
	headers := map[string]any{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	opts, err := safejs.ValueOf(map[string]any{"method": "PUT", "headers": headers})
	if err != nil {
		return 0, "", err
	}
	if err := opts.Set("body", blob); err != nil {
		return 0, "", err
	}
	p, err := global.Call("fetch", url, opts)
	if err != nil {
		return 0, "", err
	}
	resp, err := await(p)
	if err != nil {
		return 0, "", err
	}
	st, err := resp.Get("status")
	if err != nil {
		return 0, "", err
	}
	status, _ = st.Int()
	if t, err := resp.Call("text"); err == nil {
		if v, err := await(t); err == nil {
			text, _ = v.String()
		}
	}
	if len(text) > 64<<10 {
		text = text[:64<<10]
	}
	return status, text, nil
}

func truthy(v safejs.Value) bool {
	b, err := v.Bool()
	return err == nil && b
}
