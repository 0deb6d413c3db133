package main

import (
	"archive/zip"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"plateau/data"
	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
)

// serveCommand serves the page, its assets and the datasets of the data
// folder, until interrupted.
func serveCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dataDir := fs.String("data", "", "data folder holding <name>/<official files> and other datasets (default $PLATEAU_DATA)")
	root := fs.String("root", ".", "folder holding index.html and assets/")
	backend := fs.String("backend", "auto", "where jobs train: auto, native, or xla[:PLUGIN_PATH] (see README)")
	token := fs.String("token", "", "token the jobs API requires (Authorization: Bearer T or ?token=T); required when -addr is not a loopback address")
	jobsDir := fs.String("jobs", "", "folder keeping the jobs (default <data folder>/.plateau-jobs)")
	var limitFlags multiFlag
	fs.Var(&limitFlags, "limit", "change a per-job limit, e.g. -limit max_epochs=1000 -limit max_memory=8e9 (repeatable; GET /api/server lists them)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	limits, err := parseLimits(limitFlags)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*root, "index.html")); err != nil {
		return fmt.Errorf("no index.html in %s: run plateau serve from the repository root or give -root", *root)
	}
	if _, err := os.Stat(filepath.Join(*root, "assets", "app.wasm")); err != nil {
		fmt.Fprintf(stderr, "warning: %s is missing; build it with make wasm\n", filepath.Join(*root, "assets", "app.wasm"))
	}
	if *token == "" && !isLoopback(*addr) {
		return usagef("-addr %s is reachable from other machines: give -token to protect the jobs API", *addr)
	}
	// A data folder named on purpose must be there: a mistyped one would
	// serve no datasets and keep the jobs in a folder made up for them.
	if named := cmp.Or(*dataDir, os.Getenv("PLATEAU_DATA")); named != "" {
		if st, err := os.Stat(named); err != nil || !st.IsDir() {
			return usagef("-data %s (or $PLATEAU_DATA) is not a folder: give the folder that holds the datasets, or make it first (mkdir -p %s)", named, named)
		}
	}
	srv := newPageServer(*root, *dataDir)
	jobs, err := startJobs(*backend, *jobsDir, srv.dataDir, *token, limits, stderr)
	if err != nil {
		return err
	}
	defer jobs.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	where := jobs.trainer.Name()
	if _, ok := jobs.trainer.(nativeTrainer); ok {
		where += fmt.Sprintf(": %d cores, %s GEMM", runtime.NumCPU(), nn.GemmKernel())
	}
	fmt.Fprintf(stdout, "serving the page on http://%s (datasets from %s; jobs train on %s)\n", displayAddr(ln.Addr().String()), srv.dataDir, where)
	hs := &http.Server{Handler: withJobs(srv, jobs), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(shut)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err == nil && (host == "127.0.0.1" || host == "::1" || host == "") {
		return "localhost:" + port
	}
	return a
}

// pageServer serves index.html, assets/ (wasm_exec.js from the Go
// installation when assets/ lacks it), the dataset listing and the
// datasets, each as one archive the worker decodes.
type pageServer struct {
	root, dataDir string

	mu      sync.Mutex
	loading sync.Mutex              // one registry dataset read at a time, so visitors arriving together read it once
	gzipped map[string]gzipEntry    // compressed assets by path
	infos   map[string]registryInfo // registry datasets read so far
}

type gzipEntry struct {
	mod  time.Time
	size int64
	data []byte
}

func newPageServer(root, dataDir string) *pageServer {
	if dataDir == "" {
		dataDir = data.DefaultDataDir()
	}
	return &pageServer{root: root, dataDir: dataDir, gzipped: map[string]gzipEntry{}, infos: map[string]registryInfo{}}
}

func (s *pageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" || p == "/index.html":
		s.file(w, r, filepath.Join(s.root, "index.html"))
	case p == protocol.DatasetsPath:
		s.listDatasets(w)
	case strings.HasPrefix(p, "/datasets/"):
		s.dataset(w, r, strings.TrimPrefix(p, "/datasets/"))
	case strings.HasPrefix(p, "/assets/"):
		name := path.Clean(strings.TrimPrefix(p, "/assets/"))
		if name == "." || strings.HasPrefix(name, "..") || strings.Contains(name, "/..") {
			http.NotFound(w, r)
			return
		}
		file := filepath.Join(s.root, "assets", filepath.FromSlash(name))
		if name == "wasm_exec.js" && !exists(file) {
			file = filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")
		}
		s.file(w, r, file)
	default:
		http.NotFound(w, r)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// compressible types are sent gzipped to clients that accept it.
var compressible = map[string]bool{".wasm": true, ".js": true, ".css": true, ".html": true, ".json": true, ".svg": true}

func contentType(name string) string {
	switch ext := filepath.Ext(name); ext {
	case ".wasm":
		return "application/wasm"
	case ".js":
		return "text/javascript; charset=utf-8"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}

// file serves one file with its MIME type, gzipped when the client takes
// it and the type compresses; the page is always revalidated so a rebuilt
// wasm binary is picked up on reload.
func (s *pageServer) file(w http.ResponseWriter, r *http.Request, name string) {
	st, err := os.Stat(name)
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", "Accept-Encoding")
	if !compressible[filepath.Ext(name)] || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		http.ServeFile(w, r, name)
		return
	}
	body, err := s.gzip(name, st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.Set("Content-Encoding", "gzip")
	http.ServeContent(w, r, "", st.ModTime(), bytes.NewReader(body))
}

// gzip compresses a file once per version of it.
func (s *pageServer) gzip(name string, st fs.FileInfo) ([]byte, error) {
	s.mu.Lock()
	e, ok := s.gzipped[name]
	s.mu.Unlock()
	if ok && e.mod.Equal(st.ModTime()) && e.size == st.Size() {
		return e.data, nil
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.gzipped[name] = gzipEntry{mod: st.ModTime(), size: st.Size(), data: buf.Bytes()}
	s.mu.Unlock()
	return buf.Bytes(), nil
}

// datasetPath finds a dataset by the name the listing gives it: a
// registry name (its folder as package data finds it) or an entry of the
// data folder.
func (s *pageServer) datasetPath(name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", false
	}
	for _, reg := range data.Names {
		if name == reg {
			info := s.info(reg)
			return info.dir, info.dir != ""
		}
	}
	p := filepath.Join(s.dataDir, name)
	return p, exists(p)
}

type registryInfo struct {
	dir     string
	listing protocol.Listing
}

// info reads a registry dataset once, to learn where it lives and what it
// holds; a dataset that is not there has an empty dir.
func (s *pageServer) info(name string) registryInfo {
	s.loading.Lock()
	defer s.loading.Unlock()
	s.mu.Lock()
	info, ok := s.infos[name]
	s.mu.Unlock()
	if ok {
		return info
	}
	if d, err := data.Load(name, data.LoadOptions{DataDir: s.dataDir}); err == nil {
		info = registryInfo{dir: d.Source, listing: protocol.Listing{Name: name, Shape: []int{d.H, d.W, d.C},
			Classes: len(d.Classes), TrainSize: d.Train.Len(), TestSize: d.Test.Len()}}
	}
	s.mu.Lock()
	s.infos[name] = info
	s.mu.Unlock()
	return info
}

var registryTitles = map[string]string{
	data.MNIST:        "MNIST (handwritten digits)",
	data.FashionMNIST: "Fashion-MNIST (clothing)",
	data.CIFAR10:      "CIFAR-10 (small colour photos)",
}

func (s *pageServer) listDatasets(w http.ResponseWriter) {
	var list []protocol.Listing
	for _, name := range data.Names {
		info := s.info(name)
		if info.dir == "" {
			continue
		}
		l := info.listing
		l.Title = fmt.Sprintf("%s · %s images", registryTitles[name], spec.Thousands(l.TrainSize+l.TestSize))
		l.URL = "/datasets/" + name
		list = append(list, l)
	}
	entries, _ := os.ReadDir(s.dataDir)
	var extra []protocol.Listing
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || isRegistryName(n) {
			continue
		}
		if !e.IsDir() && !isArchive(n) {
			continue
		}
		extra = append(extra, protocol.Listing{Name: n, Title: n + " (data folder)", URL: "/datasets/" + n})
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	list = append(list, extra...)
	if list == nil {
		list = []protocol.Listing{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(list)
}

func isRegistryName(n string) bool {
	for _, r := range data.Names {
		if n == r {
			return true
		}
	}
	return false
}

func isArchive(n string) bool {
	for _, ext := range []string{".zip", ".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// dataset sends a dataset as one archive: an archive file as it is, a
// folder as a zip of the files a dataset can use (data.DatasetFile), stored
// when they are compressed already.
func (s *pageServer) dataset(w http.ResponseWriter, r *http.Request, name string) {
	p, ok := s.datasetPath(name)
	if !ok {
		http.Error(w, fmt.Sprintf("no dataset %q in %s", name, s.dataDir), http.StatusNotFound)
		return
	}
	st, err := os.Stat(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	if !st.IsDir() {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, p)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	zw := zip.NewWriter(w)
	err = filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(p, file)
		if err != nil {
			return err
		}
		if !data.DatasetFile(filepath.ToSlash(rel)) {
			return nil // notes, videos, what a file manager left behind
		}
		method := zip.Deflate
		switch strings.ToLower(filepath.Ext(file)) {
		case ".gz", ".tgz", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".heic", ".heif", ".avif":
			method = zip.Store // compressed already
		}
		out, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: method})
		if err != nil {
			return err
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(out, f)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		// The status is sent already; a truncated zip fails to decode,
		// and the worker says so.
		fmt.Fprintf(os.Stderr, "plateau serve: sending %s: %v\n", name, err)
	}
}
