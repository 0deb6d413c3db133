// Command worker is the training worker of the page: Go compiled to wasm
// and run in a dedicated Web Worker by assets/worker.js. It speaks package
// protocol with the page. A run with several workers (the start command's
// workers) starts more of itself, nested Web Workers of this one, and hands
// each a part of every batch with shard and part commands (shard.go).
package main
