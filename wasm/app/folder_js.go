//go:build js && wasm

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/hack-pad/safejs"

	"plateau/data"
	"plateau/wasm/bridge"
)

// loadFolder packs a folder's dataset files into a zip Blob (its files
// stay where they are; see bridge.ZipBlob) and has the worker read it, as
// a zip the user made: list gives the folder's files, from a directory
// drop or a folder input, off the event loop's goroutine.
func (h *host) loadFolder(name string, list func() ([]bridge.FolderFile, error)) {
	h.update(func() { h.root.PackingFolder(name, 0, 0) })
	files, err := list()
	if err == nil {
		var kept []bridge.FolderFile
		for _, f := range files {
			if data.DatasetFile(f.Path) {
				kept = append(kept, f)
			}
		}
		if files = kept; len(files) == 0 {
			err = fmt.Errorf("the folder %s holds no %s images, IDX files or CIFAR-10 batches; put each class's images in a folder named after the class", name, data.ImageFormats)
		}
	}
	var blob safejs.Value
	if err == nil {
		var said time.Time
		blob, err = bridge.ZipBlob(files, func(done, total int) {
			if now := time.Now(); now.Sub(said) >= 200*time.Millisecond {
				said = now
				h.update(func() { h.root.PackingFolder(name, done, total) })
			}
		})
	}
	h.update(func() {
		if err != nil {
			h.root.FolderFailed(name, err)
			return
		}
		h.root.LoadFile(name+".zip", blob)
	})
}

// inputFolderFiles lists the files of a folder input (webkitdirectory):
// each File's webkitRelativePath is "folder/cats/1.jpg". name is the
// folder's.
func inputFolderFiles(files safejs.Value) (name string, out []bridge.FolderFile, err error) {
	n, err := files.Length()
	if err != nil {
		return "", nil, err
	}
	for i := range n {
		f, err := files.Index(i)
		if err != nil {
			return "", nil, err
		}
		v, _ := f.Get("webkitRelativePath")
		rel, _ := v.String()
		if rel == "" {
			rel = fileName(f)
		}
		top, below, ok := strings.Cut(rel, "/")
		if !ok {
			top, below = "", rel
		}
		if name == "" {
			name = top
		}
		out = append(out, bridge.FolderFile{Path: below, File: f})
	}
	return name, out, nil
}

// droppedFolder returns the entry of a folder dropped on the page, if the
// first thing dropped is one.
func droppedFolder(dt safejs.Value) (safejs.Value, bool) {
	items, err := dt.Get("items")
	if err != nil {
		return safejs.Undefined(), false
	}
	if n, _ := items.Length(); n == 0 {
		return safejs.Undefined(), false
	}
	item, err := items.Index(0)
	if err != nil {
		return safejs.Undefined(), false
	}
	entry, err := item.Call("webkitGetAsEntry")
	if err != nil || entry.IsNull() || entry.IsUndefined() {
		return safejs.Undefined(), false
	}
	v, err := entry.Get("isDirectory")
	if err != nil {
		return safejs.Undefined(), false
	}
	isDir, _ := v.Bool()
	return entry, isDir
}

// walkEntry lists the files below a dropped directory (a
// FileSystemDirectoryEntry), their paths relative to it. It waits on the
// entries' callbacks: call it off the event loop's goroutine.
func walkEntry(dir safejs.Value) ([]bridge.FolderFile, error) {
	top, _ := dir.Get("fullPath")
	prefix, _ := top.String()
	prefix = strings.TrimSuffix(prefix, "/") + "/"
	var out []bridge.FolderFile
	var walk func(d safejs.Value) error
	walk = func(d safejs.Value) error {
		reader, err := d.Call("createReader")
		if err != nil {
			return err
		}
		for {
			// readEntries gives a batch at a time (100 in Chromium), then
			// an empty one.
			batch, err := bridge.Callback(reader, "readEntries")
			if err != nil {
				return err
			}
			n, _ := batch.Length()
			if n == 0 {
				return nil
			}
			for i := range n {
				e, _ := batch.Index(i)
				isDir, _ := e.Get("isDirectory")
				if b, _ := isDir.Bool(); b {
					if err := walk(e); err != nil {
						return err
					}
					continue
				}
				file, err := bridge.Callback(e, "file")
				if err != nil {
					return err
				}
				v, _ := e.Get("fullPath")
				p, _ := v.String()
				out = append(out, bridge.FolderFile{Path: strings.TrimPrefix(p, prefix), File: file})
			}
		}
	}
	if err := walk(dir); err != nil {
		return nil, fmt.Errorf("reading the folder: %v", err)
	}
	return out, nil
}
