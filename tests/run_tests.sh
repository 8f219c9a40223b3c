#!/usr/bin/env bash
# Install dependencies (Debian), build and run the whole test suite: a Release build, then an ASan+UBSan build.
# Usage: bash tests/run_tests.sh   (from anywhere; as root or with sudo available)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash "$root/tests/install_deps.sh"
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
if [ "${CTSPINE_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTSPINE_SANITIZE=ON -DCTSPINE_BUILD_EXAMPLES=OFF
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" -LE slow)
fi
