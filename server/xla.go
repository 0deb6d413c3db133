package main

import (
	"errors"
	"fmt"
	"os"
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
	if dir := gomlx.CUDADataDir(plugin); dir != "" && !strings.Contains(os.Getenv("XLA_FLAGS"), "xla_gpu_cuda_data_dir") {
		os.Setenv("XLA_FLAGS", strings.TrimSpace(os.Getenv("XLA_FLAGS")+" --xla_gpu_cuda_data_dir="+dir))
	}
	if !strings.Contains(os.Getenv("XLA_FLAGS"), "xla_gpu_autotune_level") {
		// Autotuning every convolution made compiling a small ResNet's step
		// take minutes; level 0 keeps XLA's heuristics.
		os.Setenv("XLA_FLAGS", strings.TrimSpace(os.Getenv("XLA_FLAGS")+" --xla_gpu_autotune_level=0"))
	}
	t, err := gomlx.New("xla:" + plugin)
	if err != nil {
		return nil, fmt.Errorf("opening XLA with %s: %w", plugin, err)
	}
	return t, nil
}
