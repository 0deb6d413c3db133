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

// ErrStopped is PutBlob's error when its stop channel closed first.
var ErrStopped = errors.New("stopped")

// PutBlob sends blob (a File the user chose, say) as the body of a PUT to
// url with an XMLHttpRequest, which streams it from where it lies: none of
// it enters wasm memory. progress, when not nil, learns the bytes sent so
// far and the total as the browser reports them (a few times a second; it
// runs on the event loop and must not block). Closing stop aborts the
// request (ErrStopped). It returns the answer's status and text. A token,
// when given, goes as a bearer token. Call it off the event loop's
// goroutine.
func PutBlob(url, token string, blob safejs.Value, stop <-chan struct{}, progress func(sent, total int64)) (status int, text string, err error) {
	ctor, err := global.Get("XMLHttpRequest")
	if err != nil {
		return 0, "", err
	}
	xhr, err := ctor.New()
	if err != nil {
		return 0, "", err
	}
	if _, err := xhr.Call("open", "PUT", url); err != nil {
		return 0, "", err
	}
	if token != "" {
		if _, err := xhr.Call("setRequestHeader", "Authorization", "Bearer "+token); err != nil {
			return 0, "", err
		}
	}
	done := make(chan error, 1)
	loaded, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		done <- nil
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	defer loaded.Release()
	failed, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		done <- errors.New("the connection to the server failed")
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	defer failed.Release()
	xhr.Set("onload", loaded.Value())
	xhr.Set("onerror", failed.Value())
	xhr.Set("onabort", failed.Value())
	if progress != nil {
		moved, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			if len(args) > 0 {
				sent, _ := args[0].Get("loaded")
				total, _ := args[0].Get("total")
				s, _ := sent.Float()
				t, _ := total.Float()
				progress(int64(s), int64(t))
			}
			return nil
		})
		if err != nil {
			return 0, "", err
		}
		defer moved.Release()
		if up, err := xhr.Get("upload"); err == nil {
			up.Set("onprogress", moved.Value())
		}
	}
	if _, err := xhr.Call("send", blob); err != nil {
		return 0, "", err
	}
	select {
	case err := <-done:
		if err != nil {
			return 0, "", err
		}
	case <-stop:
		xhr.Call("abort")
		<-done // onabort
		return 0, "", ErrStopped
	}
	st, err := xhr.Get("status")
	if err != nil {
		return 0, "", err
	}
	status, _ = st.Int()
	if t, err := xhr.Get("responseText"); err == nil {
		text, _ = t.String()
	}
	return status, text, nil
}

func truthy(v safejs.Value) bool {
	b, err := v.Bool()
	return err == nil && b
}
