#!/bin/bash
# Run `ctspine benchmark` over a dataset as a SLURM job array of N shards plus a merge job that waits for them.
#   MODEL=... DATA=... OUT=... [SPLIT_FILE=data_split.txt SPLIT=test_public] [CTSPINE=/path/to/ctspine] \
#     examples/slurm/submit_benchmark.sh N [extra sbatch options, e.g. --partition=cpu --wait]
# Re-running after a failure or a time-out redoes only the cases without a prediction (each shard skips finished
# ones; outputs are written atomically, so a killed task never leaves a file that looks finished).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:?usage: submit_benchmark.sh N_SHARDS [sbatch options]}"
shift
: "${MODEL:?set MODEL}" "${DATA:?set DATA}" "${OUT:?set OUT}"
mkdir -p "$OUT"
export SHARDS="$n" MODEL DATA OUT CTSPINE="${CTSPINE:-ctspine}" SPLIT_FILE="${SPLIT_FILE:-}" SPLIT="${SPLIT:-}"
wait_opt=()
for a in "$@"; do [ "$a" = --wait ] && wait_opt=(--wait); done
opts=()
for a in "$@"; do [ "$a" = --wait ] || opts+=("$a"); done
array=$(sbatch --parsable --export=ALL --chdir="$OUT" --array="0-$((n - 1))" "${opts[@]}" "$here/benchmark_shard.sbatch")
array="${array%%;*}"
echo "shards: job array $array ($n tasks)"
merge=$(sbatch --parsable --export=ALL --chdir="$OUT" --dependency="afterany:$array" "${wait_opt[@]}" "${opts[@]}" \
  "$here/benchmark_merge.sbatch")
echo "merge: job ${merge%%;*} -> $OUT/merged"
