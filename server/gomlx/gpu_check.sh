#!/usr/bin/env bash
# GPU check for the GoMLX trainer, run from the repository root on a machine
# with an NVIDIA GPU and JAX's CUDA PJRT plugin installed
# (pip install "jax[cuda13]"):
#
#   server/gomlx/gpu_check.sh [DATA_DIR]
#
# DATA_DIR holds fashion-mnist/ (the four IDX .gz files). It prints BENCH
# lines for BENCHMARKS.md ("GoMLX on a GPU") within PLATEAU_GPU_SECONDS
# (default 540; each stage's time limit shrinks to fit):
#   1. gradient parity of the graph against nn on XLA in every lowering
#      (asserted), and a run resumed from its checkpoint on XLA;
#   2. the PyTorch twin's two nets (small28, resnet32; batch 256, Adam 1e-3)
#      in PyTorch, when torch is there, twice: in float32 (TF32 off in cuDNN
#      and cuBLAS) and with TF32 on for convolutions and matrix products;
#   3. the same nets as GoMLX training steps: the default im2col lowering
#      with XLA autotuning off, and the same without split-K weight
#      gradients (PLATEAU_GOMLX_SPLITK=0); im2col autotuned at level 1 into a
#      persistent cache, then again with the cache warm; XLA's convolution
#      ops (cuDNN, with convXLA's gradient) at level 1
#      (PLATEAU_GPU_SKIP_XLA_CONV=1 skips it; PLATEAU_GPU_XLA_NOTUNE=1 adds
#      them with autotuning off); in float32, im2col with cuBLAS's matrix
#      products when PLATEAU_GPU_CUBLAS=1 and XLA's convolution ops at level
#      1 when PLATEAU_GPU_FP32=1; PLATEAU_GPU_TUNED=1 adds autotuning at the
#      default level (its compile took over 100 s here);
#   4. each GoMLX configuration's resnet32 and small28 step against the
#      twin's of the same precision;
#   5. the default Fashion-MNIST preset through the jobs API (15 epochs,
#      cosine schedule; PLATEAU_GPU_JOB overrides the request) under the
#      configuration fastest on resnet32 among those that compiled within
#      a minute, with its test accuracy and time.
# Precision: XLA computes a float32 dot or convolution at its default
# precision, which on a GPU of compute capability 8.0 or more (A100, H100)
# is TF32, and GoMLX v0.26 asks for no other. NVIDIA_TF32_OVERRIDE=0 turns
# TF32 off in cuBLAS and cuDNN, not in the matrix products XLA generates
# with Triton. So the configurations with Triton's GEMMs (XLA's default)
# are TF32 whatever the environment; those with cuBLAS and cuDNN alone are
# float32 under NVIDIA_TF32_OVERRIDE=0 and TF32 without it. Each is set
# beside the twin of its precision.
# Nothing is downloaded: GOMLX_NO_AUTO_INSTALL=1. Without a Go toolchain
# there, build the two binaries here and bring them (gzip'd or not) in
# PLATEAU_BIN (default bin):
#   go test -c -tags xla -o bin/gomlx.test ./server/gomlx
#   go build -tags xla -o bin/plateau-xla ./server
# The optimized HLO of the untuned im2col and the level-1 configurations,
# and the logs, go to $OUT (default /tmp/plateau-gpu).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
DATA_DIR=${1:-${PLATEAU_DATA:-}}
OUT=${OUT:-/tmp/plateau-gpu}
mkdir -p "$OUT"
export GOMLX_NO_AUTO_INSTALL=1 PYTHONUNBUFFERED=1
# TF32 off in cuBLAS and cuDNN, for the runs meant to be float32 (fp32=...
# before a command).
fp32=(NVIDIA_TF32_OVERRIDE=0)
unset NVIDIA_TF32_OVERRIDE
deadline=$((SECONDS + ${PLATEAU_GPU_SECONDS:-540}))
# limit N RESERVE: at most N seconds, leaving RESERVE for what follows.
limit() { local l=$((deadline - SECONDS - $2)); [ "$l" -gt "$1" ] && l=$1; [ "$l" -lt 5 ] && l=5; echo "$l"; }

bin=$(mktemp -d)
for f in gomlx.test plateau-xla; do
	src=${PLATEAU_BIN:-bin}/$f
	if [ -f "$src.gz" ]; then gunzip -c "$src.gz" >"$bin/$f"; elif [ -f "$src" ]; then cp "$src" "$bin/$f"; fi
	if [ ! -s "$bin/$f" ]; then
		if [ "$f" = gomlx.test ]; then go test -c -tags xla -o "$bin/$f" ./server/gomlx; else go build -tags xla -o "$bin/$f" ./server; fi || exit 1
	fi
	chmod +x "$bin/$f"
done

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
base="${XLA_FLAGS:-}${cuda:+ --xla_gpu_cuda_data_dir=$cuda}"
echo "BENCH machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1); $(nproc) CPUs; plugin $plugin"

# gt NAME SECONDS TESTS FLAGS [VAR=VALUE...]: the test binary under XLA_FLAGS.
gt() {
	local name=$1 secs=$2 tests=$3 flags=$4
	shift 4
	echo "== $name: XLA_FLAGS=$flags $*"
	(cd server/gomlx && env "$@" XLA_FLAGS="$base $flags" timeout "$secs" "$bin/gomlx.test" -test.count=1 -test.v -test.timeout 600s -test.run "$tests") \
		>"$OUT/$name.log" 2>&1
	local rc=$?
	grep -E 'BENCH|--- FAIL|panic|Unknown flag|rror|failed|gpu_test.go' "$OUT/$name.log" | grep -v '^=== ' | head -20 | sed "s/^BENCH /BENCH [$name] /"
	[ $rc -eq 124 ] && echo "BENCH [$name] stopped after $secs s"
	return $rc
}

echo "== 1. gradient parity, resuming"
# In float32: cuBLAS's and cuDNN's products under NVIDIA_TF32_OVERRIDE=0
# (Triton's would be TF32, 2.4e-4 from nn's in run 1).
gt parity "$(limit 75 470)" 'TestGradientParityXLA|TestResumeXLA' "--xla_gpu_autotune_level=0 --xla_gpu_enable_triton_gemm=false" "${fp32[@]}"

echo "== 2. PyTorch twin"
twin=${TORCH_TWIN:-}
for c in ../shared/gpu/torch_twin.py shared/gpu/torch_twin.py; do [ -z "$twin" ] && [ -f "$c" ] && twin=$c; done
if [ -n "$twin" ] && python3 -c 'import torch' 2>/dev/null; then
	timeout "$(limit 50 440)" env "${fp32[@]}" python3 "$twin" --models small28,resnet32 --batch 256 --steps 200 --warmup 10 --tf32 off 2>&1 | sed 's/^/BENCH torch fp32: /' | tee "$OUT/torch.log"
	timeout "$(limit 40 420)" python3 "$twin" --models small28,resnet32 --batch 256 --steps 200 --warmup 10 --tf32 on 2>&1 | sed 's/^/BENCH torch tf32: /' | tee -a "$OUT/torch.log"
	# The twin's inference pass alone (eval mode, logits summed and read),
	# beside TestThroughputXLA's: where the step's time goes.
	timeout "$(limit 30 400)" python3 - "$twin" <<'PY' 2>&1
import importlib.util, sys, time, torch
spec = importlib.util.spec_from_file_location("twin", sys.argv[1])
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)
torch.backends.cudnn.allow_tf32 = True
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.benchmark = True
dev = torch.device("cuda")
for name, c, hw, make in (("small28", 1, 28, lambda: twin.SmallCNN(1, 28)), ("resnet32", 3, 32, lambda: twin.ResNetish(64))):
    net = make().to(dev).eval()
    x = torch.rand(256, c, hw, hw, device=dev)
    with torch.no_grad():
        for _ in range(10):
            net(x).sum().item()
        t, n = time.time(), 200
        for _ in range(n):
            net(x).sum().item()
    print(f"BENCH torch tf32: {name} batch 256: inference pass {1000 * (time.time() - t) / n:.2f} ms", flush=True)
PY
else
	echo "BENCH torch: skipped (no torch_twin.py or no torch)"
fi

echo "== 3. GoMLX training steps (TF32 unless named fp32)"
lower=(PLATEAU_GOMLX_CONV=gemm PLATEAU_GOMLX_POOL=reduce)
# XLA's convolution op with the default (reduction) poolings: the
# difference to im2col is the convolutions alone.
xconv=(PLATEAU_GOMLX_CONV=xla PLATEAU_GOMLX_POOL=reduce)
gt notune-gemm "$(limit 75 330)" TestThroughputXLA "--xla_gpu_autotune_level=0 --xla_dump_to=/tmp/hlo-notune-gemm --xla_dump_hlo_as_text" "${lower[@]}"
# The weight gradients as one product over all rows (no split-K), as in
# runs 1-5: what the split changes.
gt notune-gemm-wholek "$(limit 45 290)" TestThroughputXLA "--xla_gpu_autotune_level=0" "${lower[@]}" PLATEAU_GOMLX_SPLITK=0 PLATEAU_BENCH_NETS=resnet32,small28
# Autotuning at level 1 (configurations tried, without the buffer checks of
# higher levels) into a persistent cache, as the server keeps one in its
# jobs folder: im2col with Triton's GEMM configurations searched, then the
# same again with the cache warm (the compile a second job of the same
# shapes pays). resnet32 first (the net below target), then small28, so
# that a default chosen from these figures is known to keep small28 fast.
cache=$(mktemp -d)
gt tune1-gemm "$(limit 100 200)" TestThroughputXLA "--xla_gpu_autotune_level=1 --xla_gpu_per_fusion_autotune_cache_dir=$cache --xla_dump_to=/tmp/hlo-tune1-gemm --xla_dump_hlo_as_text" "${lower[@]}" PLATEAU_BENCH_NETS=resnet32,small28
gt tune1-gemm-cached "$(limit 40 160)" TestThroughputXLA "--xla_gpu_autotune_level=1 --xla_gpu_per_fusion_autotune_cache_dir=$cache" "${lower[@]}" PLATEAU_BENCH_NETS=resnet32
if [ -z "${PLATEAU_GPU_SKIP_XLA_CONV:-}" ]; then
	# cuDNN's algorithms tried, without Triton's GEMM configurations: TF32,
	# as the twin's TF32 line.
	gt tune1-xla "$(limit 100 90)" TestThroughputXLA "--xla_gpu_autotune_level=1 --xla_gpu_enable_triton_gemm=false --xla_dump_to=/tmp/hlo-tune1-xla --xla_dump_hlo_as_text" "${xconv[@]}" PLATEAU_BENCH_NETS=resnet32,small28
fi
if [ -n "${PLATEAU_GPU_XLA_NOTUNE:-}" ]; then
	# cuDNN without autotuning: 1240 ms/step on resnet32 in the last runs.
	gt notune-xla "$(limit 60 90)" TestThroughputXLA "--xla_gpu_autotune_level=0" "${xconv[@]}"
fi
if [ -n "${PLATEAU_GPU_CUBLAS:-}" ]; then
	# float32 throughout, as the twin's fp32 line.
	gt notune-gemm-cublas-fp32 "$(limit 75 90)" TestThroughputXLA "--xla_gpu_autotune_level=0 --xla_gpu_enable_triton_gemm=false" "${lower[@]}" "${fp32[@]}"
fi
if [ -n "${PLATEAU_GPU_FP32:-}" ]; then
	# XLA's convolution ops in float32 (cuDNN under NVIDIA_TF32_OVERRIDE=0),
	# as the twin's fp32 line.
	gt tune1-xla-fp32 "$(limit 100 90)" TestThroughputXLA "--xla_gpu_autotune_level=1 --xla_gpu_enable_triton_gemm=false" "${xconv[@]}" "${fp32[@]}" PLATEAU_BENCH_NETS=resnet32,small28
fi
if [ -n "${PLATEAU_GPU_TUNED:-}" ]; then
	gt tuned-gemm "$(limit 100 90)" TestThroughputXLA "--xla_gpu_enable_triton_gemm=false --xla_gpu_per_fusion_autotune_cache_dir=$cache" "${lower[@]}"
fi
(cd /tmp && tar czf "$OUT/hlo.tgz" $(find hlo-* -name '*after_optimizations.txt' 2>/dev/null | head -40) 2>/dev/null)

# The configuration fastest on resnet32 (loss read every step) trains the job.
best=$(python3 - "$OUT" <<'PY'
import re, sys, os
best = None
# A configuration whose compile took over a minute is no default; the
# float32 ones are not candidates (the server runs at XLA's default
# precision).
for name in ["notune-gemm", "notune-gemm-wholek", "notune-xla", "tune1-gemm", "tune1-gemm-cached", "tune1-xla", "tuned-gemm"]:
    try:
        text = open(os.path.join(sys.argv[1], name + ".log")).read()
    except OSError:
        continue
    m = re.search(r"gomlx-xla resnet32 batch \d+: compile\+first step ([\d.]+) s, ([\d.]+) ms/step", text)
    if m and float(m.group(1)) <= 60 and (best is None or float(m.group(2)) < best[1]):
        best = (name, float(m.group(2)))
print(best[0] if best else "notune-gemm")
PY
)
echo "BENCH fastest on resnet32: $best"

echo "== 4. GoMLX against the twin of the same precision (images/s ratio)"
python3 - "$OUT" <<'PY'
import glob, os, re, sys
out = sys.argv[1]
try:
    torch = open(os.path.join(out, "torch.log")).read()
except OSError:
    torch = ""
twin = {(p, n): float(ms) for p, n, ms in re.findall(r"BENCH torch (fp32|tf32): RESULT torch (\w+): ([\d.]+) ms/step", torch)}
for log in sorted(glob.glob(os.path.join(out, "*.log"))):
    name = os.path.basename(log)[:-4]
    if name in ("parity", "serve", "torch"):
        continue
    prec = "fp32" if name.endswith("-fp32") else "tf32"
    for net, ms in re.findall(r"gomlx-xla (\w+) batch \d+: compile\+first step [\d.]+ s, ([\d.]+) ms/step", open(log).read()):
        ref = twin.get((prec, net))
        ratio = "%.2f×" % (ref / float(ms)) if ref else "no twin figure"
        print("BENCH ratio %s %s (%s): GoMLX %s ms/step, PyTorch %s ms/step: %s" % (name, net, prec, ms, ref if ref else "-", ratio))
PY
case $best in
tune1-gemm*) flags="--xla_gpu_autotune_level=1 --xla_gpu_per_fusion_autotune_cache_dir=$cache" ;;
tune1-xla) flags="--xla_gpu_autotune_level=1 --xla_gpu_enable_triton_gemm=false" ;;
tuned-*) flags="--xla_gpu_enable_triton_gemm=false --xla_gpu_per_fusion_autotune_cache_dir=$cache" ;;
*) flags="--xla_gpu_autotune_level=0" ;;
esac
case $best in
*-xla) envs=("${xconv[@]}") ;;
*-wholek) envs=("${lower[@]}" PLATEAU_GOMLX_SPLITK=0) ;;
*) envs=("${lower[@]}") ;;
esac

if ! command -v curl >/dev/null; then
	# A stand-in for the few curl calls below: -s, -f, -N, -X METHOD, -d BODY.
	curl() {
		python3 - "$@" <<'PY'
import sys, urllib.request
args, method, body, url = sys.argv[1:], None, None, None
i = 0
while i < len(args):
    a = args[i]
    if a == "-X": method = args[i + 1]; i += 1
    elif a == "-d": body = args[i + 1].encode(); i += 1
    elif not a.startswith("-"): url = a
    i += 1
req = urllib.request.Request(url, data=body, method=method or ("POST" if body else "GET"))
try:
    with urllib.request.urlopen(req) as r:
        for line in r:
            sys.stdout.write(line.decode()); sys.stdout.flush()
except Exception as e:
    sys.stderr.write(str(e) + "\n"); sys.exit(22)
PY
	}
fi

echo "== 5. Fashion-MNIST, default preset, through the jobs API ($best)"
jobs=$(mktemp -d)
port=8097
env "${envs[@]}" XLA_FLAGS="$base $flags" "$bin/plateau-xla" serve -addr 127.0.0.1:$port -backend "${PLATEAU_BACKEND:-xla:$plugin}" -jobs "$jobs" ${DATA_DIR:+-data "$DATA_DIR"} >"$OUT/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/jobs" >/dev/null && break; sleep 0.2; done
job=${PLATEAU_GPU_JOB:-'{"dataset":"fashion-mnist","epochs":15,"set":{"train.schedule.type":"cosine"}}'}
echo "job: $job"
start=$SECONDS
id=$(curl -sf -X POST "http://127.0.0.1:$port/api/jobs" -d "$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
if [ -z "$id" ]; then
	echo "BENCH jobs: submit failed"
	curl -s -X POST "http://127.0.0.1:$port/api/jobs" -d "$job"
	cat "$OUT/serve.log"
	exit 1
fi
timeout "$(limit 600 0)" curl -sN "http://127.0.0.1:$port/api/jobs/$id/events" | tee "$OUT/job-events.txt" |
	python3 -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("data: "): continue
    e = json.loads(line[6:])
    if e.get("event") == "start":
        print("start: %d train, %d val, %d test images, batch %d, %d steps per epoch" % (e.get("train_size", 0), e.get("val_size", 0), e.get("test_size", 0), e.get("batch_size", 0), e.get("steps_per_epoch", 0)), flush=True)
    elif e.get("event") == "epoch":
        print("epoch %d val %.4f train %.4f %.1f s %.0f img/s" % (e["epoch"], e.get("val_accuracy", 0), e.get("train_accuracy", 0), e.get("seconds", 0), e.get("images_per_second", 0)), flush=True)
    elif e.get("event") == "result":
        print("BENCH jobs fashion-mnist default preset: test accuracy %.4f after %d epochs, %.1f s training, stopped %s" % (e.get("test_accuracy", 0), e.get("epochs", 0), e.get("seconds", 0), e.get("stopped", "")), flush=True)
'
echo "BENCH jobs fashion-mnist: $((SECONDS - start)) s from submit to result; job: $(curl -s "http://127.0.0.1:$port/api/jobs/$id" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("state"), j.get("backend"), j.get("error",""))')"
grep -i -E 'backend|xla|plugin' "$OUT/serve.log" | head -5
