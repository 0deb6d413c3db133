//go:build js && wasm

// Package bridge carries protocol frames across postMessage: a JavaScript
// object {json: string, bin: Uint8Array, blob: File} whose bin travels as a
// transferable and whose blob, a dataset file, by reference (see package
// protocol); BlobReader reads such a file, or a fetched body, in place. It
// also gives a worker a way to yield to the JavaScript event loop. JS
// values are looked up once; a FuncOf made here lives as long as the
// program unless it answers one promise.
package bridge

import (
	"errors"

	"github.com/hack-pad/safejs"
)

var (
	global     = safejs.Global()
	uint8Array = mustGet(global, "Uint8Array")
	object     = mustGet(global, "Object")
	array      = mustGet(global, "Array")
)

func mustGet(v safejs.Value, name string) safejs.Value {
	x, err := v.Get(name)
	if err != nil {
		panic("bridge: " + name + ": " + err.Error())
	}
	return x
}

// Global is the global object: the window, or the worker's self.
func Global() safejs.Value { return global }

// Post sends one frame to target (a Worker, or a worker's self) with
// postMessage, moving bin's bytes as a transferable.
func Post(target safejs.Value, text, bin []byte) error {
	return PostBlob(target, text, bin, safejs.Undefined())
}

// PostBlob is Post with a Blob (or File) beside the frame, unless blob is
// undefined. The structured clone of a Blob is a reference to the same
// bytes, wherever the browser keeps them: they are not copied, nor read.
func PostBlob(target safejs.Value, text, bin []byte, blob safejs.Value) error {
	msg, err := object.New()
	if err != nil {
		return err
	}
	if !blob.IsUndefined() {
		if err := msg.Set("blob", blob); err != nil {
			return err
		}
	}
	if err := msg.Set("json", string(text)); err != nil {
		return err
	}
	transfer, err := array.New()
	if err != nil {
		return err
	}
	if bin != nil {
		u, err := uint8Array.New(len(bin))
		if err != nil {
			return err
		}
		if _, err := safejs.CopyBytesToJS(u, bin); err != nil {
			return err
		}
		if err := msg.Set("bin", u); err != nil {
			return err
		}
		buf, err := u.Get("buffer")
		if err != nil {
			return err
		}
		if _, err := transfer.Call("push", buf); err != nil {
			return err
		}
	}
	_, err = target.Call("postMessage", msg, transfer)
	return err
}

// A Frame is a message as Read takes it out of an event: the JSON text,
// the binary payload and the Blob posted beside them (undefined if none).
type Frame struct {
	Text, Bin []byte
	Blob      safejs.Value
}

// Read takes a frame out of a message event's data.
func Read(data safejs.Value) (Frame, error) {
	f := Frame{Blob: safejs.Undefined()}
	j, err := data.Get("json")
	if err != nil {
		return f, err
	}
	if j.Type() != safejs.TypeString {
		return f, errors.New("a message without its json text")
	}
	s, err := j.String()
	if err != nil {
		return f, err
	}
	f.Text = []byte(s)
	b, err := data.Get("bin")
	if err == nil && !b.IsUndefined() && !b.IsNull() {
		n, err := b.Length()
		if err != nil {
			return f, err
		}
		f.Bin = make([]byte, n)
		if _, err := safejs.CopyBytesToGo(f.Bin, b); err != nil {
			return f, err
		}
	}
	if v, err := data.Get("blob"); err == nil && !v.IsUndefined() && !v.IsNull() {
		f.Blob = v
	}
	return f, nil
}

// Listen calls handle with every frame that target receives. Frames that
// arrived before Go started wait in target's plateauQueue array (worker.js
// fills it) and are handled first, in order. release stops it and frees
// the callback (for a worker that is ended).
func Listen(target safejs.Value, handle func(f Frame, err error)) (release func(), err error) {
	fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) == 0 {
			return nil
		}
		data, err := args[0].Get("data")
		if err != nil {
			handle(Frame{Blob: safejs.Undefined()}, err)
			return nil
		}
		handle(Read(data))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if q, err := target.Get("plateauQueue"); err == nil && !q.IsUndefined() {
		n, _ := q.Length()
		for i := range n {
			d, err := q.Index(i)
			if err != nil {
				continue
			}
			handle(Read(d))
		}
		target.Set("plateauQueue", safejs.Undefined())
	}
	if err := target.Set("onmessage", fn.Value()); err != nil {
		fn.Release()
		return nil, err
	}
	return releaser(target, "onmessage", fn), nil
}

// releaser unsets target's handler and frees its callback fn.
func releaser(target safejs.Value, handler string, fn safejs.Func) func() {
	return func() {
		target.Set(handler, safejs.Null())
		fn.Release()
	}
}

// OnError calls handle with the message of every error event target (a
// Worker) fires: its script failed to load or threw. release stops it and
// frees the callback.
func OnError(target safejs.Value, handle func(msg string)) (release func(), err error) {
	fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		msg := "an error event"
		if len(args) > 0 {
			if m, err := args[0].Get("message"); err == nil && m.Type() == safejs.TypeString {
				msg, _ = m.String()
			}
		}
		handle(msg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := target.Set("onerror", fn.Value()); err != nil {
		fn.Release()
		return nil, err
	}
	return releaser(target, "onerror", fn), nil
}

// NewYielder returns a function that lets the event loop run once: it
// posts to itself through a MessageChannel and waits for the message, so
// every event queued before it (a pause command, a timer) is handled
// first. runtime.Gosched and time.Sleep(0) do not return to the event loop.
func NewYielder() (func(), error) {
	ch, err := mustGet(global, "MessageChannel").New()
	if err != nil {
		return nil, err
	}
	port1, err := ch.Get("port1")
	if err != nil {
		return nil, err
	}
	port2, err := ch.Get("port2")
	if err != nil {
		return nil, err
	}
	done := make(chan struct{}, 1)
	fn, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		select {
		case done <- struct{}{}:
		default:
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := port1.Set("onmessage", fn.Value()); err != nil {
		return nil, err
	}
	return func() {
		if _, err := port2.Call("postMessage", 0); err != nil {
			return
		}
		<-done
	}, nil
}

// LinearMemory is the size in bytes of this program's WebAssembly linear
// memory, the Memory object that worker.js and index.html keep in the
// global plateauMemory (0 when it is not there). Its buffer is replaced
// whenever the memory grows, so it is read anew each time.
func LinearMemory() int64 {
	mem, err := global.Get("plateauMemory")
	if err != nil || mem.IsUndefined() {
		return 0
	}
	buf, err := mem.Get("buffer")
	if err != nil {
		return 0
	}
	n, err := buf.Get("byteLength")
	if err != nil {
		return 0
	}
	f, err := n.Float()
	if err != nil {
		return 0
	}
	return int64(f)
}

// await waits for a promise to settle.
func await(p safejs.Value) (safejs.Value, error) {
	return settled(func(ok, fail safejs.Value) error {
		_, err := p.Call("then", ok, fail)
		return err
	})
}

// Callback calls obj.method(onSuccess, onError), the callback style of the
// older browser APIs (the entries of a dropped folder), and waits for
// either. Call it off the event loop's goroutine.
func Callback(obj safejs.Value, method string) (safejs.Value, error) {
	return settled(func(ok, fail safejs.Value) error {
		_, err := obj.Call(method, ok, fail)
		return err
	})
}

// settled calls start with two JavaScript functions, one for a value and
// one for an error, and waits for either to be called.
func settled(start func(ok, fail safejs.Value) error) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	ok, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		v := safejs.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer ok.Release()
	fail, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		msg := "failed"
		if len(args) > 0 {
			if s, err := args[0].Call("toString"); err == nil {
				msg, _ = s.String()
			}
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer fail.Release()
	if err := start(ok.Value(), fail.Value()); err != nil {
		return safejs.Undefined(), err
	}
	r := <-ch
	return r.v, r.err
}
