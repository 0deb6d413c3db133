//go:build js && wasm

package main

import (
	"fmt"
	"runtime/debug"

	"plateau/data"
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
	s.decoders = spawnDecoders
	_, err = bridge.Listen(self, func(f bridge.Frame, err error) {
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
// batches, starting those it does not have yet.
func spawnShards(n int) ([]*remoteShard, error) {
	for len(started) < n {
		r := newRemoteShard(nil)
		send, _, err := startWorker(r.deliver)
		if err != nil {
			return nil, err
		}
		r.send = send
		started = append(started, r)
	}
	return started[:n], nil
}

// spawnDecoders starts n workers running this program to decode a
// dataset's images (as many as start), and returns their decoders and
// what ends them.
func spawnDecoders(n int) ([]data.ImageDecoder, func()) {
	var decoders []data.ImageDecoder
	var ends []func()
	for range n {
		r := newRemoteDecoder()
		send, end, err := startWorker(r.deliver)
		if err != nil {
			fmt.Println("worker: starting a worker to decode images:", err)
			break
		}
		r.send = send
		decoders, ends = append(decoders, r.decode), append(ends, end)
	}
	return decoders, func() {
		for _, end := range ends {
			end()
		}
	}
}

// startWorker starts a worker running this program (worker.js, beside
// this worker's script), whose messages go to deliver; send posts it a
// command and end terminates it.
func startWorker(deliver func(protocol.Message)) (send func(protocol.Command) error, end func(), err error) {
	w, err := bridge.Global().Get("Worker")
	if err != nil {
		return nil, nil, err
	}
	worker, err := w.New("worker.js")
	if err != nil {
		return nil, nil, err
	}
	send = func(c protocol.Command) error {
		text, bin, err := protocol.Frame(&c)
		if err != nil {
			return err
		}
		return bridge.Post(worker, text, bin)
	}
	stopListening, err := bridge.Listen(worker, func(f bridge.Frame, err error) {
		if err == nil {
			var m protocol.Message
			if m, err = protocol.UnframeMessage(f.Text, f.Bin); err == nil {
				deliver(m)
				return
			}
		}
		deliver(protocol.ErrorMessage("", err))
	})
	if err != nil {
		return nil, nil, err
	}
	stopErrors, err := bridge.OnError(worker, func(msg string) {
		deliver(protocol.ErrorMessage("", fmt.Errorf("another worker failed: %s", msg)))
	})
	if err != nil {
		stopListening()
		return nil, nil, err
	}
	end = func() {
		worker.Call("terminate")
		stopListening()
		stopErrors()
	}
	return send, end, nil
}
