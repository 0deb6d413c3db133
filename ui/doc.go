// Package ui is the page: vugu components that steer a training worker
// and render what it reports. Components are a name.vugu template, a
// name.go file with their logic and a generated name_gen.go (run
// `make vugugen`). The package speaks to the browser only through Host,
// which package wasm/app implements, so everything here builds and is
// tested on the host.
//
// # State
//
// Root holds the page's state: the dataset picked, the spec being edited,
// the runs. Worker messages change it through Root.Apply, which the app
// calls under the event environment's lock, then renders. Controls edit
// the spec through spec.Set paths ("train.lr", "model.layers[2].kernel"),
// and every edit is validated at once, so an error shows next to the field
// that caused it.
package ui
