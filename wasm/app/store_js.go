//go:build js && wasm

package main

import (
	"errors"
	"strings"

	"github.com/hack-pad/safejs"

	"plateau/wasm/bridge"
)

// The page keeps its runs in IndexedDB: run records as JSON text in
// "runs", their weights as bytes in "weights", both keyed by run id.
const (
	dbName       = "plateau"
	dbVersion    = 1
	runsStore    = "runs"
	weightsStore = "weights"
)

// request waits for an IndexedDB request to succeed or fail.
func request(req safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	ok, _ := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		v, _ := req.Get("result")
		ch <- result{v: v}
		return nil
	})
	fail, _ := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		ch <- result{err: errorOf(req, "IndexedDB request failed")}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	req.Set("onsuccess", ok.Value())
	req.Set("onerror", fail.Value())
	r := <-ch
	return r.v, r.err
}

// errorOf is the error an IndexedDB request or transaction failed with,
// in the browser's words, or fallback when it gives none.
func errorOf(v safejs.Value, fallback string) error {
	if e, err := v.Get("error"); err == nil && !e.IsNull() && !e.IsUndefined() {
		if s, err := e.Call("toString"); err == nil {
			if msg, err := s.String(); err == nil {
				return errors.New(msg)
			}
		}
	}
	return errors.New(fallback)
}

// committed waits for a write request and then for its transaction to
// commit: only then does the record survive the page.
func committed(st, req safejs.Value) error {
	tx, err := st.Get("transaction")
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	complete, _ := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		done <- nil
		return nil
	})
	fail, _ := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		done <- errorOf(tx, "IndexedDB transaction aborted")
		return nil
	})
	defer complete.Release()
	defer fail.Release()
	tx.Set("oncomplete", complete.Value())
	tx.Set("onabort", fail.Value())
	if _, err := request(req); err != nil {
		<-done // the failed request aborts the transaction
		return err
	}
	return <-done
}

// openStore opens the database and restores the runs it holds. Until it
// has opened, the other methods wait.
func (h *host) openStore() {
	h.dbErr = h.open()
	close(h.dbOK)
	if h.dbErr != nil {
		h.update(func() { h.root.Message = "runs will not be saved: " + h.dbErr.Error() })
		return
	}
	records, err := h.all(runsStore)
	h.update(func() {
		if err != nil {
			h.root.Message = "the saved runs could not be read: " + err.Error()
			return
		}
		h.root.Restore(records)
	})
}

func (h *host) open() error {
	idb, err := bridge.Global().Get("indexedDB")
	if err != nil || idb.IsUndefined() {
		return errors.New("this browser has no IndexedDB; runs will not survive a reload")
	}
	req, err := idb.Call("open", dbName, dbVersion)
	if err != nil {
		return err
	}
	upgrade, _ := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		db, _ := req.Get("result")
		db.Call("createObjectStore", runsStore)
		db.Call("createObjectStore", weightsStore)
		return nil
	})
	defer upgrade.Release()
	req.Set("onupgradeneeded", upgrade.Value())
	db, err := request(req)
	if err != nil {
		return err
	}
	h.db = db
	return nil
}

func (h *host) objectStore(name, mode string) (safejs.Value, error) {
	<-h.dbOK
	if h.dbErr != nil {
		return safejs.Undefined(), h.dbErr
	}
	tx, err := h.db.Call("transaction", name, mode)
	if err != nil {
		return safejs.Undefined(), err
	}
	return tx.Call("objectStore", name)
}

func (h *host) all(name string) ([][]byte, error) {
	st, err := h.objectStore(name, "readonly")
	if err != nil {
		return nil, err
	}
	req, err := st.Call("getAll")
	if err != nil {
		return nil, err
	}
	v, err := request(req)
	if err != nil {
		return nil, err
	}
	n, _ := v.Length()
	out := make([][]byte, 0, n)
	for i := range n {
		x, _ := v.Index(i)
		if s, err := x.String(); err == nil {
			out = append(out, []byte(s))
		}
	}
	return out, nil
}

func (h *host) put(store, id string, value any) {
	h.writing.Add(1)
	go func() {
		defer h.writing.Add(-1)
		st, err := h.objectStore(store, "readwrite")
		if err != nil {
			return
		}
		req, err := st.Call("put", value, id)
		if err == nil {
			err = committed(st, req)
		}
		if err != nil {
			msg := "saving the run failed: " + err.Error()
			if strings.Contains(err.Error(), "Quota") {
				msg = "the browser's storage for this page is full, so this run was not saved: delete old runs in the Runs tab (their weights take the most space) and train again (" + err.Error() + ")"
			}
			h.update(func() { h.root.Message = msg })
		}
	}()
}

func (h *host) SaveRun(id string, record []byte) { h.put(runsStore, id, string(record)) }

func (h *host) SaveWeights(id string, weights []byte) {
	u8, _ := bridge.Global().Get("Uint8Array")
	arr, err := u8.New(len(weights))
	if err != nil {
		return
	}
	safejs.CopyBytesToJS(arr, weights)
	h.put(weightsStore, id, arr)
}

func (h *host) DeleteRun(id string) {
	h.writing.Add(1)
	go func() {
		defer h.writing.Add(-1)
		for _, name := range []string{runsStore, weightsStore} {
			if st, err := h.objectStore(name, "readwrite"); err == nil {
				if req, err := st.Call("delete", id); err == nil {
					request(req)
				}
			}
		}
	}()
}

func (h *host) LoadWeights(id string, done func([]byte)) {
	go func() {
		var b []byte
		if st, err := h.objectStore(weightsStore, "readonly"); err == nil {
			if req, err := st.Call("get", id); err == nil {
				if v, err := request(req); err == nil && !v.IsUndefined() && !v.IsNull() {
					n, _ := v.Length()
					b = make([]byte, n)
					safejs.CopyBytesToGo(b, v)
				}
			}
		}
		h.update(func() { done(b) })
	}()
}
