#!/usr/bin/env bash
# ctspine_bench_unet's network (nnU-Net 3d_fullres-like PlainConvUNet, 26 classes, random seeded weights) exported
# to ONNX fp32 and timed under ONNX Runtime (npm onnxruntime-node) and OpenVINO (npm openvino-node) on the CPU,
# next to PyTorch's time for the same module. Everything (npm packages, .onnx files, inputs) goes into SCRATCH;
# nothing is written in the repository.
#
# Usage: tests/bench/onnx/run_onnx_bench.sh [SCRATCH] [--patches "96 128"] [--threads "1 2"] [--reps N] [--no-torch]
#   SCRATCH defaults to /tmp/ctspine-onnx-bench; rerunning reuses its npm installs and .onnx files
#   (delete it for a fresh start).
#   --no-torch: skip the PyTorch timing (one untimed PyTorch pass per patch still makes the reference output).
# Environment: ORT_VERSION (default 1.30.0), OV_VERSION (default 2026.4.0);
#   OPENVINO_NODE_DIR=/path/to/openvino-node: use an openvino-node that already has its runtime in bin/.
# Needs: node + npm (Debian nodejs/npm), /usr/bin/python3 with Debian python3-torch.
# On a shared machine prefix with `nice -n 10`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRATCH=/tmp/ctspine-onnx-bench
if [[ $# -gt 0 && $1 != --* ]]; then SCRATCH=$1; shift; fi
PATCHES="96 128"
THREADS="1 2"
REPS=0
TORCH=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --patches) PATCHES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --no-torch) TORCH=0; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
ORT_VERSION=${ORT_VERSION:-1.30.0}
OV_VERSION=${OV_VERSION:-2026.4.0}

mkdir -p "$SCRATCH"
SCRATCH="$(cd "$SCRATCH" && pwd)"
REPO="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || true)"
if [[ -n $REPO && $SCRATCH/ == "$REPO"/* ]]; then
  echo "SCRATCH ($SCRATCH) is inside the repository; use a directory outside it" >&2
  exit 2
fi

npm_install() {  # npm_install DIR PACKAGE@VERSION [npm options...]
  local dir=$1 pkg=$2
  shift 2
  mkdir -p "$dir"
  [[ -f $dir/package.json ]] || echo '{ "private": true }' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "$@" "$pkg")
}

# --- ONNX Runtime: the CPU binaries (libonnxruntime.so.1, onnxruntime_binding.node) ship inside the npm package;
# its postinstall (script/install.js) would fetch the CUDA/TensorRT providers for linux/x64 from the NuGet feed
# (package Microsoft.ML.OnnxRuntime.Gpu.Linux), which this machine cannot reach. ONNXRUNTIME_NODE_INSTALL=skip is
# the switch install.js documents for skipping that step.
ORT_DIR=$SCRATCH/ort/node_modules/onnxruntime-node
if [[ ! -f $ORT_DIR/package.json ]] || [[ $(node -p "require('$ORT_DIR/package.json').version") != "$ORT_VERSION" ]]; then
  echo "== npm install onnxruntime-node@$ORT_VERSION (CUDA download skipped)"
  if ONNXRUNTIME_NODE_INSTALL=skip npm_install "$SCRATCH/ort" "onnxruntime-node@$ORT_VERSION" 2>"$SCRATCH/onnxruntime.status"; then
    rm -f "$SCRATCH/onnxruntime.status"
  else
    echo "onnxruntime-node@$ORT_VERSION install failed: $(tail -n 3 "$SCRATCH/onnxruntime.status")" | tee "$SCRATCH/onnxruntime.status.tmp"
    mv "$SCRATCH/onnxruntime.status.tmp" "$SCRATCH/onnxruntime.status"
  fi
fi

# --- OpenVINO: the npm package holds only the JS API; its postinstall (scripts/download-runtime.js) downloads the
# native runtime + addon (bin/ov_node_addon.node, libopenvino*.so) as a tar.gz from the host in its package.json
# "binary" field (storage.openvinotoolkit.org). Install without scripts, then run that download step ourselves so
# that its failure is reported instead of aborting the whole run.
OV_DIR=${OPENVINO_NODE_DIR:-$SCRATCH/ov/node_modules/openvino-node}
if [[ -z ${OPENVINO_NODE_DIR:-} && ! -f $OV_DIR/bin/ov_node_addon.node ]]; then
  echo "== npm install openvino-node@$OV_VERSION (scripts off), then its runtime download"
  rm -f "$SCRATCH/openvino.status"
  if ! npm_install "$SCRATCH/ov" "openvino-node@$OV_VERSION" --ignore-scripts 2>"$SCRATCH/openvino.log"; then
    echo "openvino-node@$OV_VERSION: npm install failed: $(tail -n 3 "$SCRATCH/openvino.log")" >"$SCRATCH/openvino.status"
  else
    URL=$(cd "$OV_DIR" && node -e '
      const p = require("./package.json"), b = p.binary, os = require("os");
      const rel = (b.remote_path + b.package_name).replace(/{version}/g, b.version || p.version)
        .replace(/{platform}/g, os.platform()).replace(/{arch}/g, os.arch()).replace(/{extension}/g, "tar.gz");
      console.log(new URL(rel, b.host).toString());')
    if (cd "$OV_DIR" && timeout 300 node scripts/download-runtime.js --ignore-if-exists) >>"$SCRATCH/openvino.log" 2>&1 \
        && [[ -f $OV_DIR/bin/ov_node_addon.node ]]; then
      :
    else
      echo "openvino-node@$OV_VERSION ships no native runtime; its postinstall downloads $URL and failed:" \
        "$(grep -m1 -E 'Failed|Error' "$SCRATCH/openvino.log" || tail -n 1 "$SCRATCH/openvino.log")" >"$SCRATCH/openvino.status"
    fi
  fi
  [[ -f $SCRATCH/openvino.status ]] && cat "$SCRATCH/openvino.status"
fi

# --- export + PyTorch reference (and timing)
echo "== export to ONNX + PyTorch reference"
EXPORT_ARGS=(--patches $PATCHES --threads $THREADS)
[[ $TORCH == 1 ]] || EXPORT_ARGS+=(--no-torch-timing)
/usr/bin/python3 "$HERE/export_unet_onnx.py" "$SCRATCH" "${EXPORT_ARGS[@]}"

# --- ONNX Runtime / OpenVINO timing
echo "== ONNX Runtime / OpenVINO on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
node "$HERE/bench_onnx.js" --dir "$SCRATCH" --patches "$(echo $PATCHES | tr ' ' ,)" --threads "$(echo $THREADS | tr ' ' ,)" \
  --reps "$REPS" --ort "$ORT_DIR" --ov "$OV_DIR"
