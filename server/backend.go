package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
)

// chooseTrainer picks where jobs train from the -backend flag, and says
// why when auto settles for less than asked.
//
//	native           the project's kernels on all CPU cores
//	xla              GoMLX on XLA with the PJRT plugin found (see gomlx.FindPlugin)
//	xla:PLUGIN_PATH  GoMLX on XLA with that plugin (an absolute .so path or a plugin name)
//	auto             xla when a PJRT plugin is found and loads, native otherwise
func chooseTrainer(backend string, logf func(string, ...any)) (trainer, string, error) {
	kind, config, _ := strings.Cut(backend, ":")
	switch kind {
	case "native":
		return nativeTrainer{}, "", nil
	case "xla":
		t, err := newXLATrainer(config)
		if err != nil {
			return nil, "", fmt.Errorf("-backend %s: %w", backend, err)
		}
		return t, "", nil
	case "auto", "":
		t, err := newXLATrainer("")
		if err == nil {
			return t, "", nil
		}
		note := "native: " + err.Error()
		logf("jobs: backend auto: %s", note)
		return nativeTrainer{}, note, nil
	}
	return nil, "", usagef("-backend %q: want auto, native or xla[:PLUGIN_PATH]", backend)
}

// startJobs starts the jobs API's worker for plateau serve.
func startJobs(backend, dir, dataDir, token string, stderr io.Writer) (*jobServer, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	t, note, err := chooseTrainer(backend, logf)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = filepath.Join(dataDir, ".plateau-jobs")
	}
	return newJobServer(jobServerOptions{Dir: dir, DataDir: dataDir, Token: token, Trainer: t, Note: note, Logf: logf})
}

// withJobs sends /api/jobs and /api/server to the jobs API and the rest to
// the page server.
func withJobs(page http.Handler, jobs *jobServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/jobs" || strings.HasPrefix(r.URL.Path, "/api/jobs/") || r.URL.Path == "/api/server" || isDatasetWrite(r) {
			jobs.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}

// isLoopback reports whether a listen address only takes connections from
// this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
