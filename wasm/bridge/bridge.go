//go:build js && wasm

// Package bridge carries protocol frames across postMessage: a JavaScript
// object {json: string, bin: Uint8Array} whose bin travels as a
// transferable (see package protocol). It also gives a worker a way to
// yield to the JavaScript event loop. JS values are looked up once and every
// FuncOf made here lives as long as the program.
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
	msg, err := object.New()
	if err != nil {
		return err
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

// Read takes a frame out of a message event's data.
func Read(data safejs.Value) (text, bin []byte, err error) {
	j, err := data.Get("json")
	if err != nil {
		return nil, nil, err
	}
	if j.Type() != safejs.TypeString {
		return nil, nil, errors.New("a message without its json text")
	}
	s, err := j.String()
	if err != nil {
		return nil, nil, err
	}
	b, err := data.Get("bin")
	if err == nil && !b.IsUndefined() && !b.IsNull() {
		n, err := b.Length()
		if err != nil {
			return nil, nil, err
		}
		bin = make([]byte, n)
		if _, err := safejs.CopyBytesToGo(bin, b); err != nil {
			return nil, nil, err
		}
	}
	return []byte(s), bin, nil
}

// Listen calls handle with every frame that target receives. Frames that
// arrived before Go started wait in target's plateauQueue array (worker.js
// fills it) and are handled first, in order.
func Listen(target safejs.Value, handle func(text, bin []byte, err error)) error {
	fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) == 0 {
			return nil
		}
		data, err := args[0].Get("data")
		if err != nil {
			handle(nil, nil, err)
			return nil
		}
		handle(Read(data))
		return nil
	})
	if err != nil {
		return err
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
	return target.Set("onmessage", fn.Value())
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
