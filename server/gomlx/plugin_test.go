package gomlx

import (
	"os"
	"path/filepath"
	"testing"
)

// FindPlugin finds JAX's CUDA plugin in a virtual environment before any
// other, then the plugins go-xla installs or $PJRT_PLUGIN_LIBRARY_PATH
// names, a CUDA one before a CPU one, and nothing where there is nothing.
func TestFindPlugin(t *testing.T) {
	touch := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := t.TempDir()
	t.Setenv("PATH", empty) // no python3 whose site-packages could hold one
	t.Setenv("VIRTUAL_ENV", "")
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", "")
	home := t.TempDir()
	t.Setenv("HOME", home)
	if _, err := os.Stat("/usr/local/lib/go-xla"); err == nil {
		t.Skip("this machine has plugins in /usr/local/lib/go-xla")
	}
	if got := FindPlugin(); got != "" {
		t.Fatalf("FindPlugin() = %q with no plugin anywhere here", got)
	}

	cpu := touch(filepath.Join(home, ".local", "lib", "go-xla", "pjrt_c_api_cpu_plugin.so"))
	if got := FindPlugin(); got != cpu {
		t.Errorf("go-xla's CPU plugin: FindPlugin() = %q, want %q", got, cpu)
	}

	venv := t.TempDir()
	cuda := touch(filepath.Join(venv, "lib", "python3.12", "site-packages", "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"))
	t.Setenv("VIRTUAL_ENV", venv)
	if got := FindPlugin(); got != cuda {
		t.Errorf("JAX's CUDA plugin: FindPlugin() = %q, want %q", got, cuda)
	}

	t.Setenv("VIRTUAL_ENV", "")
	dir := t.TempDir()
	touch(filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"))
	cudaLib := touch(filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"))
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", dir)
	if got := FindPlugin(); got != cudaLib {
		t.Errorf("$PJRT_PLUGIN_LIBRARY_PATH: FindPlugin() = %q, want the CUDA one %q", got, cudaLib)
	}
}
