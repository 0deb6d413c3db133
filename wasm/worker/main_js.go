//go:build js && wasm

// Command worker is the training worker of the page: Go compiled to wasm
// and run in a dedicated Web Worker by assets/worker.js. It speaks package
// protocol with the page.
package main

import (
	"fmt"

	"plateau/protocol"
	"plateau/wasm/bridge"
)

func main() {
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
