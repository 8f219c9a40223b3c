#!/usr/bin/env bash
# Install the Debian packages ctspine's build, tests and reference scripts need (skips what is present).
set -euo pipefail
# Usage: install_deps.sh [--build-only]   (--build-only: what building the library and tool needs, no test oracles)
pkgs=(cmake g++ make pkg-config libeigen3-dev libxsimd-dev zlib1g-dev libdeflate-dev nlohmann-json3-dev)
if [ "${1:-}" != "--build-only" ]; then
  pkgs+=(doctest-dev python3 python3-numpy python3-nibabel python3-scipy qemu-user)
  pkgs+=(clang libclang-rt-14-dev)  # run_tests.sh's clang++ C++20 configuration; libFuzzer runtimes of tests/fuzz/run_fuzz.sh
  pkgs+=(slurm-wlm munge)  # tests/slurm/run_slurm_test.sh: a one-node SLURM cluster for the examples/slurm job array
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
