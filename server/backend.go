package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
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
func startJobs(backend, dir, dataDir, token string, limits jobLimits, stderr io.Writer) (*jobServer, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	t, note, err := chooseTrainer(backend, logf)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = filepath.Join(dataDir, ".plateau-jobs")
	}
	return newJobServer(jobServerOptions{Dir: dir, DataDir: dataDir, Token: token, Limits: limits, Trainer: t, Note: note, Logf: logf})
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

// parseLimits applies -limit name=value flags, named as GET /api/server
// names the limits, to the default limits.
func parseLimits(flags []string) (jobLimits, error) {
	limits := defaultJobLimits
	if len(flags) == 0 {
		return limits, nil
	}
	var byName map[string]any
	b, _ := json.Marshal(limits)
	json.Unmarshal(b, &byName)
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, kv := range flags {
		name, value, ok := strings.Cut(kv, "=")
		if _, known := byName[name]; !ok || !known {
			return limits, usagef("-limit %q: want name=value, a name among %s", kv, strings.Join(names, ", "))
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v < 1 || v != math.Trunc(v) || v > math.MaxInt64/2 {
			return limits, usagef("-limit %s: %q is not a whole number of at least 1", name, value)
		}
		byName[name] = int64(v)
	}
	b, _ = json.Marshal(byName)
	if err := json.Unmarshal(b, &limits); err != nil {
		return limits, err
	}
	return limits, nil
}
