// Runs bench.wasm (wasm/bench) with the arguments the page sends and posts
// back each line it prints, then {exit: code} or {error: message}.
importScripts("wasm_exec.js");

// wasm_exec.js prints the program's output through console.log, line by
// line; pass the lines on to the page as well.
const log = console.log.bind(console);
console.log = (line) => {
  self.postMessage({line: String(line)});
  log(line);
};

self.onmessage = async (e) => {
  try {
    const go = new Go();
    go.argv = ["bench"].concat(e.data.args);
    // Instantiate from bytes, so any static server works whatever MIME
    // type it gives .wasm files.
    const bytes = await (await fetch("bench.wasm")).arrayBuffer();
    const {instance} = await WebAssembly.instantiate(bytes, go.importObject);
    await go.run(instance);
    self.postMessage({exit: go.exited ? 0 : 1});
  } catch (err) {
    self.postMessage({error: String(err)});
  }
};
