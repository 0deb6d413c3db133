package main

import "testing"

// The flags the server adds for XLA keep what the user set and add the
// rest once.
func TestXLAFlags(t *testing.T) {
	for _, c := range []struct{ env, cuda, cache, want string }{
		{"", "/site/nvidia/cu13", "/home/u/.cache/plateau/xla-autotune",
			"--xla_gpu_cuda_data_dir=/site/nvidia/cu13 --xla_gpu_autotune_level=0 --xla_gpu_per_fusion_autotune_cache_dir=/home/u/.cache/plateau/xla-autotune"},
		{"--xla_gpu_autotune_level=1 --xla_gpu_cuda_data_dir=/cuda", "/site/nvidia/cu13", "",
			"--xla_gpu_autotune_level=1 --xla_gpu_cuda_data_dir=/cuda"},
		{" --xla_gpu_per_fusion_autotune_cache_dir=/mine ", "", "/c",
			"--xla_gpu_per_fusion_autotune_cache_dir=/mine --xla_gpu_autotune_level=0"},
	} {
		if got := xlaFlags(c.env, c.cuda, c.cache); got != c.want {
			t.Errorf("xlaFlags(%q, %q, %q)\n got %q\nwant %q", c.env, c.cuda, c.cache, got, c.want)
		}
	}
}
