#!/usr/bin/env bash
# GPU check for the GoMLX trainer, run from the repository root on a machine
# with an NVIDIA GPU and JAX's CUDA PJRT plugin installed
# (pip install "jax[cuda13]"):
#
#   server/gomlx/gpu_check.sh [DATA_DIR]
#
# It prints BENCH lines to paste into BENCHMARKS.md:
#   1. gradient parity of the graph against nn on the XLA backend;
#   2. training-step throughput and compile time of the PyTorch twin's two
#      nets (small28, resnet32; batch 256, Adam 1e-3, float32, TF32 off);
#   3. the same nets in PyTorch (../shared/gpu/torch_twin.py, when torch is
#      there);
#   4. the default preset on Fashion-MNIST through the jobs API, with its
#      test accuracy and time.
# Nothing is downloaded: GOMLX_NO_AUTO_INSTALL=1. On a machine without the Go
# module cache, build the two binaries beforehand and bring them along:
#   go test -c -tags xla -o bin/gomlx.test ./server/gomlx
#   go build -tags xla -o bin/plateau-xla ./server
set -uo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-${PLATEAU_DATA:-}}
export GOMLX_NO_AUTO_INSTALL=1
# TF32 off for cuDNN and cuBLAS on both sides: compare float32 with float32.
export NVIDIA_TF32_OVERRIDE=0

plugin=${PLATEAU_XLA_PLUGIN:-}
if [ -z "$plugin" ]; then
	plugin=$(python3 - <<'PY' 2>/dev/null
import glob, site, sys
dirs = site.getsitepackages() + [site.getusersitepackages()]
for d in dirs:
    m = sorted(glob.glob(d + "/jax_plugins/xla_cuda*/xla_cuda_plugin.so"), reverse=True)
    if m:
        print(m[0]); sys.exit()
PY
)
fi
if [ -z "$plugin" ] || [ ! -f "$plugin" ]; then
	echo "no CUDA PJRT plugin: pip install 'jax[cuda13]' or set PLATEAU_XLA_PLUGIN" >&2
	exit 1
fi
site=$(dirname "$(dirname "$(dirname "$plugin")")")
cuda=$(ls -d "$site"/nvidia/cu* 2>/dev/null | sort -r | head -1)
export PLATEAU_XLA_PLUGIN=$plugin
export XLA_FLAGS="${XLA_FLAGS:-} --xla_gpu_autotune_level=0${cuda:+ --xla_gpu_cuda_data_dir=$cuda}"
echo "BENCH machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1); plugin $plugin; XLA_FLAGS=$XLA_FLAGS"

echo "== 1-2. gradient parity and GoMLX throughput"
tests='TestGradientParityXLA|TestThroughputXLA'
if [ -x bin/gomlx.test ]; then
	(cd server/gomlx && ../../bin/gomlx.test -test.count=1 -test.v -test.timeout 300s -test.run "$tests")
else
	go test -tags xla -count=1 -v -timeout 300s -run "$tests" ./server/gomlx
fi 2>&1 | grep -E 'BENCH|FAIL|ok|panic|Error|error' 

echo "== 3. PyTorch twin"
twin=${TORCH_TWIN:-}
for c in ../shared/gpu/torch_twin.py shared/gpu/torch_twin.py; do [ -z "$twin" ] && [ -f "$c" ] && twin=$c; done
if [ -n "$twin" ] && python3 -c 'import torch' 2>/dev/null; then
	python3 "$twin" --models small28,resnet32 --batch 256 --steps 200 --warmup 10 --tf32 off 2>&1 | sed 's/^/BENCH torch /'
else
	echo "BENCH torch: skipped (no torch_twin.py or no torch)"
fi

echo "== 4. Fashion-MNIST, default preset, through the jobs API"
[ -x bin/plateau-xla ] || go build -tags xla -o bin/plateau-xla ./server || exit 1
jobs=$(mktemp -d)
port=8097
bin/plateau-xla serve -addr 127.0.0.1:$port -backend "xla:$plugin" -jobs "$jobs" ${DATA_DIR:+-data "$DATA_DIR"} >"$jobs/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/jobs" >/dev/null && break; sleep 0.2; done
start=$(date +%s.%N)
id=$(curl -sf -X POST "http://127.0.0.1:$port/api/jobs" -d '{"dataset":"fashion-mnist"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
if [ -z "$id" ]; then
	echo "BENCH jobs: submit failed"; curl -s -X POST "http://127.0.0.1:$port/api/jobs" -d '{"dataset":"fashion-mnist"}'; cat "$jobs/serve.log"; exit 1
fi
curl -sN "http://127.0.0.1:$port/api/jobs/$id/events" | grep --line-buffered -E '"event":"(epoch|result)"|^event: end' |
	python3 -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("data: "): continue
    e = json.loads(line[6:])
    if e.get("event") == "epoch":
        print("epoch %d val %.4f train %.4f %.1f s %.0f img/s" % (e["epoch"], e.get("val_accuracy", 0), e.get("train_accuracy", 0), e.get("seconds", 0), e.get("images_per_second", 0)), flush=True)
    elif e.get("event") == "result":
        print("BENCH jobs fashion-mnist default preset: test accuracy %.4f after %d epochs, %.1f s training" % (e.get("test_accuracy", 0), e.get("epochs", 0), e.get("seconds", 0)), flush=True)
'
end=$(date +%s.%N)
echo "BENCH jobs fashion-mnist: $(python3 -c "print('%.1f' % ($end - $start))") s from submit to result; job: $(curl -s http://127.0.0.1:$port/api/jobs/$id | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["state"], j["backend"], j.get("error",""))')"
