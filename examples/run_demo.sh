#!/usr/bin/env bash
# The demo: install dependencies (Debian), build the ctspine tool and run it on the bundled sample CT.
# Usage: bash examples/run_demo.sh     (as root, or with sudo available)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash tests/install_deps.sh --build-only
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DCTSPINE_BUILD_TESTS=OFF > build-demo.log
cmake --build build-demo -j"$(nproc)" --target ctspine_cli >> build-demo.log
ct=examples/data/example_ct_sm.nii.gz
out=demo-output
mkdir -p "$out"
tool=build-demo/bin/ctspine
set -x
"$tool" info "$ct"
"$tool" convert "$ct" "$out/ct_LPS.nii.gz" --reorient LPS
"$tool" info "$out/ct_LPS.nii.gz" --json
