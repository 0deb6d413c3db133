//go:build js && wasm

package main

import (
	"fmt"
	"runtime/debug"

	"plateau/protocol"
	"plateau/wasm/bridge"
)

// gcPercent is the worker's GOGC. The dataset's images are most of the
// live heap and hold no pointers, so a collection costs little however
// often it runs, while the garbage allowed between two collections (at
// GOGC 100, as much as the live heap) becomes linear memory that is never
// given back.
const gcPercent = 25

func main() {
	debug.SetGCPercent(gcPercent)
	self := bridge.Global()
	post := func(m protocol.Message) {
		text, bin, err := protocol.Frame(&m)
		if err == nil {
			err = bridge.Post(self, text, bin)
		}
		if err != nil {
			fmt.Println("worker: posting a message:", err)
		}
	}
	yield, err := bridge.NewYielder()
	if err != nil {
		panic(err)
	}
	s := NewSession(post, yield)
	s.linearMemory = bridge.LinearMemory
	s.fetch = func(url string) (protocol.Source, error) { return bridge.FetchBlob(url, maxDownload) }
	s.shards = spawnShards
	err = bridge.Listen(self, func(f bridge.Frame, err error) {
		if err != nil {
			post(protocol.ErrorMessage("", err))
			return
		}
		c, err := protocol.UnframeCommand(f.Text, f.Bin)
		if err != nil {
			post(protocol.ErrorMessage(c.Run, err))
			return
		}
		if !f.Blob.IsUndefined() {
			if c.Blob, err = bridge.NewBlobReader(f.Blob); err != nil {
				post(protocol.ErrorMessage(c.Run, fmt.Errorf("reading the file: %v", err)))
				return
			}
		}
		s.Handle(c)
	})
	if err != nil {
		panic(err)
	}
	post(protocol.NewMessage("", protocol.KindReady))
	select {}
}

// started are the workers this one has started to hand parts of batches
// to, kept for later runs.
var started []*remoteShard

// spawnShards returns n workers running this program for parts of
// batches, starting those it does not have yet (worker.js, beside this
// worker's script).
func spawnShards(n int) ([]*remoteShard, error) {
	for len(started) < n {
		w, err := bridge.Global().Get("Worker")
		if err != nil {
			return nil, err
		}
		worker, err := w.New("worker.js")
		if err != nil {
			return nil, err
		}
		r := newRemoteShard(func(c protocol.Command) error {
			text, bin, err := protocol.Frame(&c)
			if err != nil {
				return err
			}
			return bridge.Post(worker, text, bin)
		})
		err = bridge.Listen(worker, func(f bridge.Frame, err error) {
			if err == nil {
				var m protocol.Message
				if m, err = protocol.UnframeMessage(f.Text, f.Bin); err == nil {
					r.deliver(m)
					return
				}
			}
			r.deliver(protocol.ErrorMessage("", err))
		})
		if err != nil {
			return nil, err
		}
		if err := bridge.OnError(worker, func(msg string) {
			r.deliver(protocol.ErrorMessage("", fmt.Errorf("another worker failed: %s", msg)))
		}); err != nil {
			return nil, err
		}
		started = append(started, r)
	}
	return started[:n], nil
}
