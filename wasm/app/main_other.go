//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// The page runs only in a browser; built for the host it says so.
func main() {
	fmt.Fprintln(os.Stderr, "the plateau page runs in a browser: build it with GOOS=js GOARCH=wasm (make wasm) and open plateau serve")
	os.Exit(2)
}
