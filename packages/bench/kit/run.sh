#!/usr/bin/env bash
# The DAMPL GPU kit: measures the webgpu route on this machine's GPU beside PyTorch on CUDA.
#
#   bash run.sh [--out DIR] [--quick] [--tasks "cl-pa ph-sk" | --tasks all]
#
#   (a) dampl doctor                        DIR/doctor.txt, DIR/doctor.json
#   (b-d) a random ViT-B/16 in Hugging Face layout made here; its image tower at batch 64 and 256;
#         the DAMPL step at Office-Home's shape, on webgpu     DIR/webgpu.json
#   (e) the synthetic benchmark on webgpu   DIR/results/synth/
#   (f) the same shapes in PyTorch (CUDA: fp32, bf16, fp16), where python3 has torch
#                                           DIR/torch.json
#   then DIR/gpu.json and DIR/gpu.md join them.
#
# --quick shrinks every shape (a software Vulkan device such as lavapipe runs about 2 GFLOP/s):
# it tests the kit and measures nothing. Needs bash, tar, xz, dpkg (for the Vulkan loader when the
# system has none) and the GPU vendor's Vulkan driver; nothing is downloaded.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/out
quick=
tasks="cl-pa ph-sk"
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --quick) quick=--quick; shift ;;
    --tasks) tasks=$2; shift 2 ;;
    *) echo "usage: bash run.sh [--out DIR] [--quick] [--tasks \"cl-pa ph-sk\" | --tasks all]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=${DAMPL_KIT_WORK:-${TMPDIR:-/tmp}/dampl-kit}
mkdir -p "$work"
say() { printf '\n== %s\n' "$*"; }

# Node.js, the bundle and the packages it loads at run time
[ -x "$work/node/bin/node" ] || tar xJf "$here/node.tar.xz" -C "$work"
rm -rf "$work/app" && cp -r "$here/app" "$work/app" && tar xJf "$here/modules.tar.xz" -C "$work/app"
export PATH="$work/node/bin:$PATH" DAMPL_ROOT="$work/app"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# the Vulkan loader, where the system has none (grep reads all of ldconfig's output: `grep -q`
# under pipefail fails when ldconfig dies of SIGPIPE on an output larger than the pipe buffer)
if ! ldconfig -p 2>/dev/null | grep -F 'libvulkan.so.1 ' >/dev/null; then
  rm -rf "$work/vulkan" && dpkg -x "$here"/libvulkan1_*.deb "$work/vulkan"
  export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's driver manifest where containers mount it outside the loader's search path
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/lib/x86_64-linux-gnu/nvidia/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; break; fi
  done
fi

dampl() { node "$work/app/dampl.mjs" "$@"; }

say "(a) dampl doctor"
dampl doctor | tee "$out/doctor.txt"
dampl doctor --json > "$out/doctor.json"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/nvidia-smi.txt" 2>/dev/null || true

say "(b-d) random ViT-B/16 in Hugging Face layout; image tower and DAMPL step on webgpu"
dampl bench gpu measure --out "$out" $quick || echo "measure failed: see above" >&2

say "(e) the synthetic benchmark on webgpu (tasks: $tasks)"
task_args=()
[ "$tasks" = all ] || task_args=(--tasks $tasks)
dampl bench run --suite synth --backend webgpu --results "$out/results" --cache "$work/cache" "${task_args[@]}" || echo "the synthetic benchmark failed: see above" >&2

say "(f) PyTorch"
py=
for c in "${DAMPL_PYTHON:-}" python3 /usr/bin/python3; do
  if [ -n "$c" ] && "$c" -c 'import torch' 2>/dev/null; then py=$c; break; fi
done
if [ -z "$py" ]; then
  echo '{"error": "no python3 with torch"}' > "$out/torch.json"
  echo "no python3 with torch: PyTorch not timed"
elif [ -f "$out/torch-spec.json" ]; then
  "$py" "$here/torch_step.py" "$out/torch-spec.json" > "$out/torch.json" || echo '{"error": "torch_step.py failed"}' > "$out/torch.json"
fi

say "report"
dampl bench gpu report --out "$out"
cat "$out/gpu.md"
