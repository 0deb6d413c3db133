package ui

import (
	"strings"
	"testing"

	"plateau/protocol"
)

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

// A server run on XLA says that it compiles until its first step.
func TestProgressTextCompiling(t *testing.T) {
	run := &Run{State: protocol.StateRunning, Backend: "xla:cuda", Start: &protocol.Event{},
		Progress: protocol.Progress{Epoch: 1, Epochs: 2, StepsPerEpoch: 10}}
	pb := &ProgressBar{&Root{Current: run}}
	if got := pb.ProgressText(); !strings.Contains(got, "compiling") {
		t.Errorf("before the first step on XLA: %q, want it to say the step compiles", got)
	}
	run.Progress.Step = 1
	if got := pb.ProgressText(); strings.Contains(got, "compiling") {
		t.Errorf("after the first step: %q", got)
	}
	run.Progress.Step, run.Backend = 0, "native"
	if got := pb.ProgressText(); strings.Contains(got, "compiling") {
		t.Errorf("on the native backend: %q", got)
	}
}
