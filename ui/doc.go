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
//
// # Views
//
// Each part of the page is a component of its own: Header (title, tabs,
// run bar), StatusBar, ProgressBar, and one per tab (DataView, ModelView,
// TrainingView, RunView with the Doctor panel, RunsView, ExperimentsView).
// A view embeds *Root, set from root.vugu with :Root='c', so its template
// reads the shared state as c.Spec or c.Current, and its .go file holds
// the methods only that view uses. What more than one view needs (the
// spec's errors, the run queue, the training curves in curves.go) stays
// on Root.
//
// The Experiments tab also plants mistakes on purpose (faults.go,
// spec.Faults): a run of the current spec with one fault, or one run per
// fault, each marked with its fault (Run.Fault), so the doctor's panel and
// the tab say whether the doctor named it (FaultReading, FaultResults).
package ui
