#!/usr/bin/env bash
# Coverage-guided fuzzing of ctspine's parsers with libFuzzer (Debian clang + libclang-rt, AddressSanitizer +
# UndefinedBehaviorSanitizer). Builds every tests/fuzz/fuzz_*.cpp into build-fuzz/, seeds a working corpus from the
# committed test fixtures and tests/fuzz/corpus/<target>/, and runs each target for SECONDS.
#
# Usage: tests/fuzz/run_fuzz.sh [SECONDS] [TARGET...]      (default 60 s each, every target)
#   CTSPINE_FUZZ_JOBS=N   parallel fuzzing processes per target (default 1)
#   CTSPINE_FUZZ_MERGE=1  afterwards, minimise the working corpus into tests/fuzz/corpus/<target>/ (to commit)
# A crash, leak, sanitizer report or timeout fails the script and leaves the input in build-fuzz/<target>/artifacts/;
# turn it into a regression test of the ordinary suite.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
cxx=${CXX_FUZZ:-clang++}
flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -I/usr/include/eigen3)
libs=(-lz -lpthread)
if [ -f /usr/include/libdeflate.h ]; then flags+=(-DCTSPINE_HAVE_LIBDEFLATE=1); libs+=(-ldeflate); fi
if [ -f /usr/include/nlohmann/json.hpp ]; then flags+=(-DCTSPINE_HAVE_NLOHMANN_JSON=1); fi
mkdir -p build-fuzz

# Seeds: the target's first input byte selects a mode, the rest is a file (see each target's header comment).
seed_nifti() {
  local out=$1 n=0
  for f in tests/data/nifti/gen/* tests/data/nifti/bad/*; do
    case $f in *.img|*.img.gz) continue ;; esac
    for mode in 00 02 14 20; do
      { printf "\x$mode"; cat "$f"; } > "$out/seed_$(basename "$f")_$mode"
      n=$((n + 1))
    done
  done
  echo "$n seeds"
}

seed_pickle() {
  local out=$1 n=0
  while IFS= read -r f; do cp "$f" "$out/seed_$n.pkl"; n=$((n + 1)); done < <(find tests/data -name '*.pkl')
  echo "$n seeds"
}

status=0
for t in "${targets[@]}"; do
  src=tests/fuzz/$t.cpp
  [ -f "$src" ] || { echo "no such target: $t" >&2; exit 2; }
  bin=build-fuzz/$t
  echo "== $t: building"
  "$cxx" "${flags[@]}" "$src" -o "$bin" "${libs[@]}"
  work=build-fuzz/$t.corpus
  mkdir -p "$work" "build-fuzz/$t.artifacts" "tests/fuzz/corpus/${t#fuzz_}"
  case $t in fuzz_nifti) seed_nifti "$work" ;; fuzz_pickle) seed_pickle "$work" ;; esac
  par=()  # -jobs makes libFuzzer write fuzz-N.log files; only when asked for parallel processes
  [ "${CTSPINE_FUZZ_JOBS:-1}" -gt 1 ] && par=(-jobs="$CTSPINE_FUZZ_JOBS" -workers="$CTSPINE_FUZZ_JOBS")
  dict=()
  [ -f "tests/fuzz/${t#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${t#fuzz_}.dict")
  echo "== $t: fuzzing for ${seconds} s"
  if ! "$bin" "$work" "tests/fuzz/corpus/${t#fuzz_}" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 "${par[@]}" -print_final_stats=1 \
       -artifact_prefix="build-fuzz/$t.artifacts/" 2>&1 | tee "build-fuzz/$t.log" | grep -E "INITED|DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written"; then
    :
  fi
  if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|SUMMARY: |runtime error:" "build-fuzz/$t.log"; then
    echo "== $t: FAILED (see build-fuzz/$t.log and build-fuzz/$t.artifacts/)" >&2
    status=1
  fi
  if [ "${CTSPINE_FUZZ_MERGE:-0}" = 1 ]; then
    "$bin" -merge=1 "tests/fuzz/corpus/${t#fuzz_}" "$work" > /dev/null 2>&1
    echo "== $t: corpus $(ls "tests/fuzz/corpus/${t#fuzz_}" | wc -l) files, $(du -sh "tests/fuzz/corpus/${t#fuzz_}" | cut -f1)"
  fi
done
exit $status
