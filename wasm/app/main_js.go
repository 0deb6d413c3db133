//go:build js && wasm

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	sjs "syscall/js"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"

	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
	"plateau/ui"
	"plateau/wasm/bridge"
)

func main() {
	renderer, err := domrender.New("#vugu_mount_point")
	if err != nil {
		panic(err)
	}
	defer renderer.Release()
	buildEnv, err := vugu.NewBuildEnv(renderer.EventEnv())
	if err != nil {
		panic(err)
	}
	env := renderer.EventEnv()
	h := &host{env: env, dbOK: make(chan struct{})}
	// Read the spec in the address before NewRoot puts its own there.
	hash := ""
	if v, err := location().Get("hash"); err == nil {
		hash, _ = v.String()
	}
	root := ui.NewRoot(h)
	root.Env = env
	root.SetCores(hardwareConcurrency())
	h.root = root
	if err := h.startWorker(); err != nil {
		root.Message = "the training worker could not start: " + err.Error()
	}
	if search, err := location().Get("search"); err == nil {
		if s, err := search.String(); err == nil {
			if q, err := url.ParseQuery(strings.TrimPrefix(s, "?")); err == nil {
				root.PreferDataset = q.Get("dataset")
				root.UseWorkers(q.Get("workers"))
				h.token = q.Get("token")
			}
		}
	}
	h.listenForDrops()
	h.guardLeaving()
	go h.openStore()
	go h.loadDatasets()
	go h.loadServer()
	if hash != "" {
		root.ImportHash(hash)
	}
	for ok := true; ok; ok = renderer.EventWait() {
		h.training.Store(root.TrainsInPage())
		if err := renderer.Render(buildEnv.RunBuild(root)); err != nil {
			fmt.Println("render:", err)
		}
	}
}

// hardwareConcurrency is the browser's number of logical cores (0 when it
// does not say).
func hardwareConcurrency() int {
	nav, err := bridge.Global().Get("navigator")
	if err != nil {
		return 0
	}
	v, err := nav.Get("hardwareConcurrency")
	if err != nil || v.Type() != safejs.TypeNumber {
		return 0
	}
	n, _ := v.Int()
	return n
}

func location() safejs.Value {
	l, _ := bridge.Global().Get("location")
	return l
}

// host implements ui.Host in the browser.
type host struct {
	env    vugu.EventEnv
	root   *ui.Root
	worker safejs.Value
	db     safejs.Value
	dbErr  error
	dbOK   chan struct{}
	// token is the jobs API's bearer token, from the page's ?token=.
	token string
	// renderPending is set while a render of frequent messages is due
	// (apply); guarded by env's lock.
	renderPending bool
	// sends are the dataset files sent or being sent to the server, by
	// load and name, so that the runs of an experiment send the file once.
	sendMu sync.Mutex
	sends  map[string]*sending
	// stopped are the runs stopped before they waited for a sending.
	stopped map[string]bool
	// training says, as of the last render, that a run trains, is paused
	// or waits in the worker; writing counts the IndexedDB writes not yet
	// committed. Either makes leaving the page ask first (guardLeaving);
	// atomic because the browser's beforeunload handler reads them at any
	// time.
	training atomic.Bool
	writing  atomic.Int32
}

// renderEvery bounds the renders that progress messages and step events
// cause: a run sends up to fifteen a second, and rendering every one
// takes CPU time from the workers on a machine with few cores.
const renderEvery = 250 * time.Millisecond

// apply applies a worker message; one that only moves the progress bar
// and the step curves renders within renderEvery, with any others that
// came meanwhile, the rest at once.
func (h *host) apply(m protocol.Message) {
	h.env.Lock()
	h.root.Apply(m)
	frequent := m.Kind == protocol.KindProgress ||
		m.Kind == protocol.KindEvent && bytes.HasPrefix(m.Event, []byte(`{"event":"step"`))
	if !frequent {
		h.renderPending = false
		h.env.UnlockRender()
		return
	}
	if !h.renderPending {
		h.renderPending = true
		time.AfterFunc(renderEvery, func() {
			h.env.Lock()
			if !h.renderPending {
				// A render since then showed the message.
				h.env.UnlockOnly()
				return
			}
			h.renderPending = false
			h.env.UnlockRender()
		})
	}
	h.env.UnlockOnly()
}

// update changes the page's state from another goroutine and renders.
func (h *host) update(f func()) {
	h.env.Lock()
	defer h.env.UnlockRender()
	f()
}

func (h *host) startWorker() error {
	ctor, err := bridge.Global().Get("Worker")
	if err != nil {
		return err
	}
	w, err := ctor.New("assets/worker.js")
	if err != nil {
		return err
	}
	h.worker = w
	_, err = bridge.Listen(w, func(f bridge.Frame, err error) {
		var m protocol.Message
		if err == nil {
			m, err = protocol.UnframeMessage(f.Text, f.Bin)
		}
		if err != nil {
			go h.update(func() { h.root.Message = err.Error() })
			return
		}
		go h.apply(m)
	})
	return err
}

func (h *host) Send(c protocol.Command) {
	blob := safejs.Undefined()
	if v, ok := c.Blob.(safejs.Value); ok {
		blob, c.Blob = v, nil
	}
	text, bin, err := protocol.Frame(&c)
	if err == nil {
		err = bridge.PostBlob(h.worker, text, bin, blob)
	}
	if err != nil {
		h.root.Message = "sending to the worker: " + err.Error()
	}
}

func (h *host) loadDatasets() {
	resp, err := http.Get(protocol.DatasetsPath)
	var list []protocol.Listing
	if err == nil {
		defer resp.Body.Close()
		b, rerr := io.ReadAll(resp.Body)
		if rerr == nil {
			err = json.Unmarshal(b, &list)
		} else {
			err = rerr
		}
	}
	h.update(func() {
		if err != nil {
			h.root.Message = "the server's datasets could not be listed (" + err.Error() + "); drop a dataset file instead"
			return
		}
		h.root.SetDatasets(list)
	})
}

// readFile reads a File object's bytes.
func readFile(file safejs.Value, done func(name string, b []byte, err error)) {
	nameV, _ := file.Get("name")
	name, _ := nameV.String()
	p, err := file.Call("arrayBuffer")
	if err != nil {
		done(name, nil, err)
		return
	}
	v, err := await(p)
	if err != nil {
		done(name, nil, err)
		return
	}
	u8, _ := bridge.Global().Get("Uint8Array")
	arr, err := u8.New(v)
	if err != nil {
		done(name, nil, err)
		return
	}
	n, _ := arr.Length()
	b := make([]byte, n)
	safejs.CopyBytesToGo(b, arr)
	done(name, b, nil)
}

// await waits for a promise; call it off the event loop's goroutine.
func await(p safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail safejs.Func
	ok, _ = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	fail, _ = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		msg := "failed"
		if len(args) > 0 {
			if s, err := args[0].Call("toString"); err == nil {
				msg, _ = s.String()
			}
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	if _, err := p.Call("then", ok.Value(), fail.Value()); err != nil {
		return safejs.Undefined(), err
	}
	r := <-ch
	return r.v, r.err
}

// ChosenFile takes the file chosen in a file input's change event, as the
// File itself: the worker reads it where it lies.
func (h *host) ChosenFile(e vugu.DOMEvent) (name string, file any, ok bool) {
	target := safejs.Safe(sjs.Value(e.JSEventTarget()))
	files, err := target.Get("files")
	if err != nil {
		return "", nil, false
	}
	if n, _ := files.Length(); n == 0 {
		return "", nil, false
	}
	f, err := files.Index(0)
	if err != nil {
		return "", nil, false
	}
	// Let the same file be chosen again; the File stays readable.
	target.Set("value", "")
	return fileName(f), f, true
}

// ChosenFolder packs the folder chosen in a folder input's change event
// and has the worker read it.
func (h *host) ChosenFolder(e vugu.DOMEvent) {
	target := safejs.Safe(sjs.Value(e.JSEventTarget()))
	files, err := target.Get("files")
	if err != nil {
		return
	}
	if n, _ := files.Length(); n == 0 {
		return
	}
	name, list, err := inputFolderFiles(files)
	target.Set("value", "")
	go h.loadFolder(name, func() ([]bridge.FolderFile, error) { return list, err })
}

func fileName(file safejs.Value) string {
	v, _ := file.Get("name")
	name, _ := v.String()
	return name
}

func (h *host) ReadFile(e vugu.DOMEvent, done func(name string, b []byte, err error)) {
	target := safejs.Safe(sjs.Value(e.JSEventTarget()))
	files, err := target.Get("files")
	if err != nil {
		done("", nil, err)
		return
	}
	if n, _ := files.Length(); n == 0 {
		return
	}
	file, _ := files.Index(0)
	// Let the same file be chosen again.
	target.Set("value", "")
	go readFile(file, func(name string, b []byte, err error) {
		h.update(func() { done(name, b, err) })
	})
}

// listenForDrops lets a dataset file be dropped anywhere on the page; the
// worker reads the File where it lies.
func (h *host) listenForDrops() {
	doc, _ := bridge.Global().Get("document")
	over, _ := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		args[0].Call("preventDefault")
		return nil
	})
	drop, _ := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ev := args[0]
		ev.Call("preventDefault")
		dt, err := ev.Get("dataTransfer")
		if err != nil {
			return nil
		}
		// A folder: its entry is readable only during the event, its
		// files after it.
		if entry, ok := droppedFolder(dt); ok {
			v, _ := entry.Get("name")
			name, _ := v.String()
			go h.loadFolder(name, func() ([]bridge.FolderFile, error) { return walkEntry(entry) })
			return nil
		}
		files, err := dt.Get("files")
		if err != nil {
			return nil
		}
		if n, _ := files.Length(); n == 0 {
			return nil
		}
		file, _ := files.Index(0)
		go h.update(func() { h.root.LoadFile(fileName(file), file) })
		return nil
	})
	doc.Call("addEventListener", "dragover", over.Value())
	doc.Call("addEventListener", "drop", drop.Value())
}

// guardLeaving makes the browser ask before the page is closed or
// reloaded while that would lose something: a run that trains in the
// worker (its progress lives nowhere else) or a run record or weights
// still being written to IndexedDB (a reload the instant a run ends
// would otherwise drop its last epoch or result; the weights, which the
// worker sends a moment after the end, are guarded once they are being
// written). The browser words the question itself.
func (h *host) guardLeaving() {
	leave, _ := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if h.training.Load() || h.writing.Load() > 0 {
			args[0].Call("preventDefault")
			args[0].Set("returnValue", "")
		}
		return nil
	})
	bridge.Global().Call("addEventListener", "beforeunload", leave.Value())
}

func (h *host) SetHash(hash string) {
	hist, err := bridge.Global().Get("history")
	if err != nil {
		return
	}
	hist.Call("replaceState", safejs.Null(), "", "#"+hash)
}

func (h *host) Download(filename, mime string, b []byte) {
	g := bridge.Global()
	u8, _ := g.Get("Uint8Array")
	arr, _ := u8.New(len(b))
	safejs.CopyBytesToJS(arr, b)
	blobCtor, _ := g.Get("Blob")
	parts, _ := g.Get("Array")
	list, _ := parts.New()
	list.Call("push", arr)
	opts, _ := safejs.ValueOf(map[string]any{"type": mime})
	blob, err := blobCtor.New(list, opts)
	if err != nil {
		return
	}
	urlAPI, _ := g.Get("URL")
	url, _ := urlAPI.Call("createObjectURL", blob)
	doc, _ := g.Get("document")
	a, _ := doc.Call("createElement", "a")
	a.Set("href", url)
	a.Set("download", filename)
	a.Call("click")
	urlAPI.Call("revokeObjectURL", url)
}

func (h *host) PageMemory() int64 { return bridge.LinearMemory() }

func (h *host) LRCurve(t spec.Train, points int) []ui.Point {
	epochs := max(t.Epochs, 1)
	pts := make([]ui.Point, points+1)
	for i := range pts {
		e := float64(epochs) * float64(i) / float64(points)
		pts[i] = ui.Point{X: e, Y: train.LR(t.Schedule, t.LR, e, epochs)}
	}
	return pts
}
