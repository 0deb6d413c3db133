//go:build js && wasm

// Command worker is the training worker of the page: Go compiled to wasm
// and run in a dedicated Web Worker by assets/worker.js. It speaks package
// protocol with the page.
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
	s.download = func(url string) ([]byte, error) { return bridge.Fetch(url, maxDownload) }
	err = bridge.Listen(self, func(text, bin []byte, err error) {
		if err != nil {
			post(protocol.ErrorMessage("", err))
			return
		}
		c, err := protocol.UnframeCommand(text, bin)
		if err != nil {
			post(protocol.ErrorMessage(c.Run, err))
			return
		}
		s.Handle(c)
	})
	if err != nil {
		panic(err)
	}
	post(protocol.NewMessage("", protocol.KindReady))
	select {}
}
