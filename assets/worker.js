// The training worker: starts the Go program wasm/worker (worker.wasm) and
// keeps the page's messages until it listens (see package wasm/bridge).
// plateauMemory is the program's linear memory, whose size it reports.
self.plateauQueue = [];
self.onmessage = (e) => self.plateauQueue.push(e.data);
importScripts("wasm_exec.js");
const go = new Go();
WebAssembly.instantiateStreaming(fetch("worker.wasm"), go.importObject)
  .then((r) => { self.plateauMemory = r.instance.exports.mem; return go.run(r.instance); })
  .catch((err) => self.postMessage({json: JSON.stringify({v: 2, run: "", kind: "error",
    error: "the training worker could not start: " + err + "; rebuild it with make wasm"})}));
