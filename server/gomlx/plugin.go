package gomlx

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// FindPlugin looks for a PJRT plugin without downloading anything: a CUDA
// plugin first (JAX's jax_plugins/xla_cuda*/xla_cuda_plugin.so in the
// Python site-packages of $VIRTUAL_ENV, of the environment of the python3
// on $PATH, of ~/.local and of /usr), then any pjrt_c_api_*_plugin.so in
// $PJRT_PLUGIN_LIBRARY_PATH or, without it, in ~/.local/lib/go-xla and
// /usr/local/lib/go-xla, where go-xla's installer puts them (a CUDA one
// before a CPU one). It returns the absolute path, or "" when there is
// none.
func FindPlugin() string {
	var roots []string
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		roots = append(roots, filepath.Join(v, "lib", "python3*", "site-packages"))
	}
	if py, err := exec.LookPath("python3"); err == nil {
		// …/venv/bin/python3 → …/venv/lib/python3*/site-packages; the link
		// is not followed, since a virtual environment's python3 is one.
		roots = append(roots, filepath.Join(filepath.Dir(filepath.Dir(py)), "lib", "python3*", "site-packages"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".local", "lib", "python3*", "site-packages"))
	}
	roots = append(roots, "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages")
	for _, r := range roots {
		matches, _ := filepath.Glob(filepath.Join(r, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches))) // the newest CUDA first
		if len(matches) > 0 {
			return matches[0]
		}
	}
	// Then where go-xla looks: $PJRT_PLUGIN_LIBRARY_PATH, or the folders
	// its installer fills (the XLA CPU plugin, say).
	dirs := filepath.SplitList(os.Getenv("PJRT_PLUGIN_LIBRARY_PATH"))
	if len(dirs) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			dirs = append(dirs, filepath.Join(home, ".local", "lib", "go-xla"))
		}
		dirs = append(dirs, "/usr/local/lib/go-xla")
	}
	for _, dir := range dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "pjrt_c_api_*_plugin.so"))
		sort.Slice(matches, func(i, j int) bool { // cuda before cpu
			return strings.Contains(matches[i], "cuda") && !strings.Contains(matches[j], "cuda")
		})
		if len(matches) > 0 {
			return matches[0]
		}
	}
	return ""
}

// CUDADataDir is the nvidia/cu* folder next to a JAX CUDA plugin, which
// XLA needs as --xla_gpu_cuda_data_dir to find ptxas and libdevice; "" when
// there is none.
func CUDADataDir(plugin string) string {
	site := filepath.Dir(filepath.Dir(filepath.Dir(plugin))) // …/site-packages
	matches, _ := filepath.Glob(filepath.Join(site, "nvidia", "cu*"))
	sort.Sort(sort.Reverse(sort.StringSlice(matches)))
	if len(matches) > 0 {
		return matches[0]
	}
	return ""
}
