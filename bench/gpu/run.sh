#!/usr/bin/env bash
# The whole GPU benchmark in one go, on the GPU machine (one NVIDIA H100 or H200 with PyTorch + CUDA, but no node,
# no Vulkan loader and no onnxruntime-node). Prepare the carry here first (bench/gpu/prepare.ts), then run
#   bash bench/gpu/run.sh            (with the device tool: carry [".gpu-carry"]; results go to $OUT)
# and turn the results into bench/results/gpu.json and BENCHMARKS.md with bench/gpu/report.ts.
#
# Budget: under 5 minutes in all (BUDGET_S); a step that would start past it is recorded as skipped.
set -uo pipefail
CARRY=${CARRY:-.gpu-carry}
OUT=${OUT:-/tmp/gpu-bench-out}
BUDGET_S=${BUDGET_S:-285}
SECONDS_PER=${SECONDS_PER:-5}
mkdir -p "$OUT"
RESULTS="$OUT/gpu.jsonl"
: > "$RESULTS"
T=$(mktemp -d)
START=$(date +%s)

xz -dc "$CARRY/node.xz" > "$T/node" && chmod +x "$T/node"
dpkg -x "$CARRY"/libvulkan1_*.deb "$T/vk"
export LD_LIBRARY_PATH="$T/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# NVIDIA's Vulkan ICD: where the container runtime puts it, else the usual places.
ICD=$(ls /usr/local/nvidia/share/vulkan/icd.d/*.json /usr/share/vulkan/icd.d/nvidia*.json \
  /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1)
if [ -n "$ICD" ]; then export VK_DRIVER_FILES="$ICD"; fi
PY=${PYTHON:-python3}
{
  echo "node: $("$T/node" --version)"
  echo "vulkan icd: ${ICD:-none found}"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
} > "$OUT/machine.txt" 2>&1

# step TIMEOUT_S CMD...: one measurement; its JSON line goes to gpu.jsonl, a failure or a skip is recorded too.
step() {
  local limit=$1; shift
  local left=$((BUDGET_S - ($(date +%s) - START)))
  if [ "$left" -lt 20 ]; then
    printf '{"skipped": "%s", "reason": "time budget spent"}\n' "$*" >> "$RESULTS"; return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $* (limit ${limit}s)" >> "$OUT/stderr.txt"
  local line
  line=$(timeout "$limit" "$@" 2>> "$OUT/stderr.txt" | grep '^{' )
  local rc=${PIPESTATUS[0]}
  if [ -n "$line" ]; then echo "$line" >> "$RESULTS"
  else printf '{"failed": "%s", "rc": %s}\n' "$*" "$rc" >> "$RESULTS"; fi
}

step 60 "$PY" bench/gpu/torch_matmul.py --seconds 2
step 60 "$T/node" "$CARRY/bench/bench.mjs" matmul --seconds "$SECONDS_PER"
for cfg in dense moe large-dense large-moe; do
  k=8; case $cfg in large-*) k=2;; esac
  step 45 "$PY" bench/torch_lm.py --device cuda --config "$cfg" --seconds "$SECONDS_PER" --json
  step 60 "$T/node" "$CARRY/bench/bench.mjs" switchyard --config "$cfg" --k "$k" --seconds "$SECONDS_PER"
  step 60 "$T/node" "$CARRY/bench/bench.mjs" jaxjs --config "$cfg" --seconds "$SECONDS_PER"
done
echo "total $(( $(date +%s) - START )) s" >> "$OUT/machine.txt"
cat "$OUT/machine.txt" "$RESULTS"
