#!/usr/bin/env bash
# Install dependencies (Debian), build and run the whole test suite: a Release build, the kernel tests of a portable
# build under QEMU, then an ASan+UBSan build and the concurrency test under ThreadSanitizer.
# Usage: bash tests/run_tests.sh   (from anywhere; as root or with sudo available)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash "$root/tests/install_deps.sh"
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
# The SLURM example for real (examples/slurm/): a one-node cluster on localhost, a 4-task array over a tiny dataset,
# the merged table equal to a single process's. About a minute; skips with a message where the daemons cannot start.
if [ "${CTSPINE_SKIP_SLURM:-0}" != 1 ]; then bash tests/slurm/run_slurm_test.sh build; fi
# Run-time kernel dispatch in the build a vendor ships: the kernel tests of a baseline x86-64 build (-O2, no -m flags)
# under QEMU CPU models without AVX (Nehalem: must select the generic kernels) and without AVX-512 (Haswell: AVX2);
# no illegal instruction, the expected ISA, results equal to the scalar twins. A few seconds each.
if [ "$(uname -m)" = x86_64 ] && [ "${CTSPINE_SKIP_QEMU:-0}" != 1 ]; then
  cmake -S . -B build-portable -DCMAKE_BUILD_TYPE=Release -DCTSPINE_NATIVE=OFF -DCTSPINE_BUILD_EXAMPLES=OFF
  cmake --build build-portable -j"$jobs" --target ctspine_test_isa ctspine_test_unet
  for model in Nehalem:generic Haswell:avx2; do
    for t in isa unet; do
      echo "== qemu-x86_64 -cpu ${model%%:*}: ctspine_test_$t (expects the ${model#*:} kernels)"
      CTSPINE_EXPECT_ISA="${model#*:}" qemu-x86_64 -cpu "${model%%:*}" "build-portable/tests/ctspine_test_$t" \
        2> >(grep -v "TCG doesn't support requested feature" >&2)
    done
  done
fi
# clang++ in C++20 (the Release build above is g++ in C++17), warnings as errors: every public header compiled on
# its own, the command-line tool, and the fast unit tests (the slow U-Net, pipeline and ISA tests, which g++ runs
# above, are left out to keep CI time bounded).
if [ "${CTSPINE_SKIP_CLANG:-0}" != 1 ]; then
  clang_t0=$(date +%s)
  cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=20 -DCTSPINE_WERROR=ON
  clang_tests=(core half nifti_bad_input version components)
  cmake --build build-clang -j"$jobs" --target ctspine_header_check ctspine_cli "${clang_tests[@]/#/ctspine_test_}"
  (cd build-clang && ctest --output-on-failure -j"$jobs" -R "^($(IFS='|'; echo "${clang_tests[*]}"))$|^cli_(status|version|resample|forward)")
  echo "== clang++ C++20 configuration: $(( $(date +%s) - clang_t0 )) s"
fi
if [ "${CTSPINE_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTSPINE_SANITIZE=ON -DCTSPINE_BUILD_EXAMPLES=OFF
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" -LE slow)
fi
if [ "${CTSPINE_SKIP_SANITIZERS:-0}" != 1 ]; then
  # Several host threads calling the API at once (own and shared segmenters, reads, writes, components), under
  # ThreadSanitizer: any data race fails the run. About 1.5 min to build and half a minute to run on 2 cores.
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTSPINE_BUILD_EXAMPLES=OFF -DCTSPINE_INSTALL=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
  cmake --build build-tsan -j"$jobs" --target ctspine_test_concurrency
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/ctspine_test_concurrency
fi
if [ "${CTSPINE_SKIP_FUZZ:-0}" != 1 ]; then
  # Every libFuzzer target (clang, ASan + UBSan) for a short bounded time over its committed corpus and the fixtures:
  # six targets x 15 s, about 3 min with their builds; long runs are a developer's job: tests/fuzz/run_fuzz.sh SECONDS.
  bash tests/fuzz/run_fuzz.sh 15
fi
