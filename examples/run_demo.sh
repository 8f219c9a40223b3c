#!/usr/bin/env bash
# The demo: install dependencies (Debian), build the ctspine tool and run the whole chain on the bundled sample CT:
# header summary, reorientation, nnU-Net-mode resampling, vertebra segmentation with the bundled demo model (not a
# clinical model — see README), a per-vertebra report and a preview picture (demo-output/preview.png).
# Usage: bash examples/run_demo.sh     (as root, or with sudo available)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash tests/install_deps.sh --build-only
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DCTSPINE_BUILD_TESTS=OFF > build-demo.log
cmake --build build-demo -j"$(nproc)" --target ctspine_cli >> build-demo.log
ct=examples/data/example_ct_sm.nii.gz
model=examples/models/demo_vertebrae/nnUNetTrainer__nnUNetPlans__3d_fullres
out=demo-output
mkdir -p "$out"
tool=build-demo/bin/ctspine
set -x
"$tool" info "$ct"
"$tool" convert "$ct" "$out/ct_LPS.nii.gz" --reorient LPS
"$tool" resample "$ct" "$out/ct_1.5mm.nii.gz" --spacing 1.5 1.5 1.5 --nnunet
"$tool" model-info "$model"
"$tool" segment --model "$model" "$ct" "$out/seg.nii.gz" --force --report "$out/report.json" --csv "$out/report.csv" \
    --preview "$out/preview.png"
"$tool" info "$out/seg.nii.gz"
