package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"plateau/server/gomlx"
)

// newXLATrainer opens GoMLX's XLA backend with a PJRT plugin: the given
// path or name, or the one gomlx.FindPlugin finds. It never downloads one.
func newXLATrainer(plugin string) (trainer, error) {
	if !gomlx.XLACompiled {
		return nil, errors.New("this binary was built without XLA; build it with go build -tags xla -o bin/plateau ./server")
	}
	if plugin == "" {
		if plugin = gomlx.FindPlugin(); plugin == "" {
			return nil, errors.New("no PJRT plugin found (pip install jax[cuda13] for the CUDA one, or set PJRT_PLUGIN_LIBRARY_PATH)")
		}
	}
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		if d := filepath.Join(dir, "plateau", "xla-autotune"); os.MkdirAll(d, 0o755) == nil {
			cache = d
		}
	}
	os.Setenv("XLA_FLAGS", xlaFlags(os.Getenv("XLA_FLAGS"), gomlx.CUDADataDir(plugin), cache))
	t, err := gomlx.New("xla:" + plugin)
	if err != nil {
		return nil, fmt.Errorf("opening XLA with %s: %w", plugin, err)
	}
	return t, nil
}

// xlaFlags adds to the XLA_FLAGS value env what it does not set already:
// where CUDA's tools are (cudaDir, next to the plugin), autotuning off
// (autotuning every convolution made compiling a small ResNet's step take
// minutes; level 0 keeps XLA's heuristics), and a persistent cache of
// autotuning results (cacheDir), so that with autotuning asked for
// (--xla_gpu_autotune_level=1) a spec's shapes are tuned once per machine,
// not once per job. Empty directories add nothing.
func xlaFlags(env, cudaDir, cacheDir string) string {
	env = strings.TrimSpace(env)
	add := func(name, value string) {
		if value != "" && !strings.Contains(env, name) {
			env = strings.TrimSpace(env + " --" + name + "=" + value)
		}
	}
	add("xla_gpu_cuda_data_dir", cudaDir)
	add("xla_gpu_autotune_level", "0")
	add("xla_gpu_per_fusion_autotune_cache_dir", cacheDir)
	return env
}
