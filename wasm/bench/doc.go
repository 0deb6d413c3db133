// Command bench is the training throughput benchmark built for the
// browser: GOOS=js GOARCH=wasm, run by node through wasm_exec_node.js or by
// assets/bench.html in a Web Worker. It measures with the same harness as
// `plateau bench` (train.Benchmark) and prints the same JSON.
//
//	node $(go env GOROOT)/lib/wasm/wasm_exec_node.js bin/bench.wasm -net convnetjs-cifar -batch 32 -seconds 5 -json
//
// It builds for any platform, so on the host it is a single-threaded
// `plateau bench` that vet and tests see too.
package main
