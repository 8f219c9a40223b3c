#!/usr/bin/env bash
# Killed batch, restarted (issue 16, "Faults: no data lost"): `ctspine segment --input-dir` over five cases (four copies
# of a CT and one corrupt file) is killed with SIGKILL as soon as its first output appears, then started
# again (the cases are copies of the bundled lumbar cut-out, one tile of the demo model each). Checked:
#   - the restart finishes every remaining case and exits 1 only because of the corrupt case, which is listed with its
#     reason on stderr and in batch_failures.csv;
#   - every output is a readable NIfTI on the CT's grid, byte-identical to the output of an uninterrupted run done in
#     this test (that run is our own code too: the property tested is that a resumed batch equals an uninterrupted
#     one, the labels themselves are checked against the Python nnU-Net reference in test_batch / test_pipeline);
#   - the output finished before the kill was not redone (same inode and modification time);
#   - a leftover temporary file of an interrupted write (planted, since the kill may land between writes) is neither
#     taken as an output nor left behind.
# Usage: cli_batch_resume.sh CTSPINE_CLI MODEL_DIR SAMPLE_CT WORK_DIR
set -u
CLI=$1 MODEL=$2 CT=$3 W=$4
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$W"
mkdir -p "$W/in" "$W/clean" "$W/out"
for c in a b d e; do cp "$CT" "$W/in/case_$c.nii.gz"; done
head -c 20000 "$CT" > "$W/in/case_c.nii.gz"   # truncated download: a corrupt case among good ones
SEG=("$CLI" segment --model "$MODEL" --threads 2 --input-dir "$W/in")

# 1. the uninterrupted run (exit 1: the corrupt case fails; the others are written)
"${SEG[@]}" --output-dir "$W/clean" > "$W/clean.log" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$W/clean.log"; fail "uninterrupted run: exit status $rc, expected 1 (one corrupt case)"; }
grep -q "case_c.nii.gz" "$W/clean/batch_failures.csv" || fail "batch_failures.csv does not list the corrupt case"
for c in a b d e; do [ -f "$W/clean/case_${c}_seg.nii.gz" ] || fail "uninterrupted run: case_$c not written"; done

# 2. the same batch, killed with SIGKILL right after its first output appears
"${SEG[@]}" --output-dir "$W/out" > "$W/killed.log" 2>&1 &
pid=$!
first=""
for _ in $(seq 1 1200); do
  first=$(ls "$W/out"/*_seg.nii.gz 2>/dev/null | head -n 1)
  [ -n "$first" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -n "$first" ] || { cat "$W/killed.log"; fail "no output appeared before the run ended"; }
n_before=$(ls "$W/out"/*_seg.nii.gz | wc -l)
[ "$n_before" -lt 4 ] || fail "the batch finished before the kill; nothing to resume (inconclusive)"
stat_before=$(stat -c '%i %y' "$first")
echo "killed after $n_before output(s); first: $(basename "$first")"
# a write interrupted by a kill leaves <output>.tmp-XXXXXX (io/atomic_file.hpp); plant one for a case not yet done
for c in e d b; do
  if [ ! -f "$W/out/case_${c}_seg.nii.gz" ]; then head -c 5000 "$CT" > "$W/out/case_${c}_seg.nii.gz.tmp-k1LLed"; break; fi
done

# 3. restart: finishes the rest, skips what was finished, fails only the corrupt case
"${SEG[@]}" --output-dir "$W/out" > "$W/restart.log" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$W/restart.log"; fail "restart: exit status $rc, expected 1 (the corrupt case)"; }
grep -q "skipped (output exists): .*$(basename "$first")" "$W/restart.log" || { cat "$W/restart.log"; fail "restart did not skip $(basename "$first")"; }
grep -q "failed: .*case_c.nii.gz" "$W/restart.log" || fail "restart did not report the corrupt case"
grep -q "case_c.nii.gz,.*,.\+" "$W/out/batch_failures.csv" || fail "batch_failures.csv lacks the corrupt case with a reason"
[ "$(stat -c '%i %y' "$first")" = "$stat_before" ] || fail "$(basename "$first") was rewritten"
ls "$W/out" | grep -q '\.tmp-' && fail "temporary files left: $(ls "$W/out" | grep '\.tmp-')"
for c in a b d e; do
  f="$W/out/case_${c}_seg.nii.gz"
  [ -f "$f" ] || fail "case_$c not written after the restart"
  cmp -s "$f" "$W/clean/case_${c}_seg.nii.gz" || fail "case_$c differs from the uninterrupted run"
  "$CLI" info "$f" --json | grep -q '"dims": \[73, 47, 73\]' || fail "case_$c is not a readable NIfTI on the CT's grid"
done
[ ! -e "$W/out/case_c_seg.nii.gz" ] || fail "an output was written for the corrupt case"
echo "resumed batch equals the uninterrupted one: 4 outputs, first output untouched, corrupt case reported"
rm -rf "$W"
