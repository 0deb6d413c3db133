package ui

import "testing"

func TestBackendLabel(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"native", "native"},
		{"xla:cuda", "xla:cuda"},
		{"xla:/venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so", "xla, xla_cuda13"},
		{"xla:/pjrt_c_api_cpu_plugin.so", "xla, pjrt_c_api_cpu_plugin.so"},
	} {
		if got := backendLabel(tt.in); got != tt.want {
			t.Errorf("backendLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
