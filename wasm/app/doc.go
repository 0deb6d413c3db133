// Command app is the page: the vugu components of package ui, rendered
// into index.html, with a training worker (assets/worker.js) beside them.
// main_js.go is the glue to the browser: the worker, IndexedDB, files,
// the URL and the question before leaving a page that would lose a run;
// built for another platform, the command says it runs in a browser.
package main
