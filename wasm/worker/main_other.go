//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// The worker runs only in a browser; built for the host it says so.
func main() {
	fmt.Fprintln(os.Stderr, "the plateau worker runs in a browser: build it with GOOS=js GOARCH=wasm (make wasm)")
	os.Exit(2)
}
