#!/usr/bin/env bash
# `ctspine benchmark` on a tiny CTSpine1K-shaped tree (Hugging Face layout: rawdata/volumes/<source>/<case>.nii.gz,
# rawdata/labels/<source>/<case>_seg.nii.gz; case names following CTSpine1K's patterns) built from the bundled CTs and
# label maps, with the demo model. Checked:
#   - hand-derived rows: a COVID-19 case whose prediction is its own label map (Dice 1.0000 ± 0.0000, HD95 0.00 ± 0.00,
#     4 vertebrae) and a COLONOG case whose prediction lacks L4 (tests/reference/make_benchmark_fixtures.py:
#     Dice 0.6667 ± 0.4714, HD95 0.00 ± 0.00, 1 missed, identification 0.667) — both predictions placed in
#     predictions/ beforehand, so the benchmark keeps them (a case with a prediction is not segmented again);
#   - a corrupt CT (truncated) and a case the split file lists but the tree lacks are reported in failures.csv and
#     the rest goes on (exit status 3); a trainset case is not in the test_public table;
#   - every number of benchmark.md and the Dice / HD95 / status / identification of cases.csv against an independent
#     numpy/scipy computation from the same prediction files (tests/reference/check_benchmark.py);
#   - 3 shards + --merge write exactly the files of the single run (byte for byte), and a rerun with every
#     prediction present writes the same files again.
# Usage: cli_benchmark_check.sh CTSPINE_CLI MODEL_DIR REPO_ROOT WORK_DIR
set -u
CLI=$1 MODEL=$2 REPO=$3 W=$4
fail() { echo "FAIL: $*"; exit 1; }
EX=$REPO/examples/data
rm -rf "$W"
D=$W/data/rawdata
mkdir -p "$D/volumes" "$D/labels"
put() {  # source case ct label
  mkdir -p "$D/volumes/$1" "$D/labels/$1"
  cp "$3" "$D/volumes/$1/$2.nii.gz"
  cp "$4" "$D/labels/$1/$2_seg.nii.gz"
}
SM_CT=$EX/example_ct_sm.nii.gz SM_SEG=$REPO/tests/data/evaluate/cli/example_seg_verse.nii.gz   # VerSe numbering of example_seg
SUB_CT=$EX/sub-ct_label-22_ct.nii.gz SUB_SEG=$EX/sub-ct_seg-vert_label-22_msk.nii.gz
put HNSCC-3DCT-RT HN_P001 "$SM_CT" "$SM_SEG"
put MSD_liver liver_1 "$SUB_CT" "$SUB_SEG"
put MSD_liver liver_2 "$SUB_CT" "$SUB_SEG"
put COVID-19 volume-covid19-A-0001_ct "$SM_CT" "$SM_SEG"
put COLONOG 1.3.6.1.4.1.9328.50.4.0001 "$SUB_CT" "$SUB_SEG"
put COLONOG CTC-0000000001 "$SUB_CT" "$SUB_SEG"
head -c 30000 "$SUB_CT" > "$D/volumes/COLONOG/CTC-0000000001.nii.gz"   # corrupt: a truncated download
cat > "$W/data_split.txt" <<EOF
trainset:
liver_2.nii.gz

test_public:
HN_P001.nii.gz
liver_1.nii.gz
volume-covid19-A-0001_ct.nii.gz
1.3.6.1.4.1.9328.50.4.0001.nii.gz
CTC-0000000001.nii.gz
HN_P002.nii.gz

test_private:
EOF
seed() {  # predictions known in advance
  mkdir -p "$1/predictions"
  cp "$SM_SEG" "$1/predictions/volume-covid19-A-0001_ct.nii.gz"
  cp "$REPO/tests/data/benchmark/colonog_pred_missing_L4.nii.gz" "$1/predictions/1.3.6.1.4.1.9328.50.4.0001.nii.gz"
}
BENCH=("$CLI" benchmark --model "$MODEL" --data "$W/data" --split-file "$W/data_split.txt" --split test_public --threads 2)
FILES="benchmark.md cases.csv failures.csv summary.csv summary.json"

# 1. one process
seed "$W/single"
"${BENCH[@]}" --out "$W/single" > "$W/single.log" 2>&1
rc=$?
[ $rc -eq 3 ] || { cat "$W/single.log"; fail "single run: exit status $rc, expected 3 (two failed cases)"; }
cat "$W/single/benchmark.md"
grep -q "^CTC-0000000001,.\+" "$W/single/failures.csv" || fail "the corrupt case is not in failures.csv with a reason"
grep -q "^HN_P002,.*not found" "$W/single/failures.csv" || fail "the missing case is not in failures.csv"
grep -q "liver_2" "$W/single/cases.csv" && fail "a trainset case was evaluated"
[ -e "$W/single/predictions/liver_2.nii.gz" ] && fail "a trainset case was segmented"
grep -qF "| COVID-19 | 1 | 4 | 1.0000 ± 0.0000 | 0.00 ± 0.00 | 0 | 0 | 1.000 |" "$W/single/benchmark.md" || fail "COVID-19 row (prediction = reference)"
grep -qF "| COLONOG | 1 | 3 | 0.6667 ± 0.4714 | 0.00 ± 0.00 | 1 | 0 | 0.667 |" "$W/single/benchmark.md" || fail "COLONOG row (L4 missed)"
grep -qF "failed: 2 (not in the tables; reasons in failures.csv): CTC-0000000001 HN_P002" "$W/single/benchmark.md" || fail "failed cases line"

# 2. the independent computation of every number
if /usr/bin/python3 -c "import nibabel, numpy, scipy" 2>/dev/null; then
  /usr/bin/python3 "$REPO/tests/reference/check_benchmark.py" "$W/single" "$W/data" "$W/data_split.txt" test_public || fail "independent check"
else
  echo "independent check skipped: /usr/bin/python3 with nibabel, numpy and scipy not available"
fi

# 3. three shards sharing one output folder, merged: the single run's files, byte for byte
seed "$W/sharded"
for i in 0 1 2; do
  "${BENCH[@]}" --out "$W/sharded" --shard $i/3 > "$W/shard$i.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat "$W/shard$i.log"; fail "shard $i: exit status $rc"; }
done
"$CLI" benchmark --merge "$W/sharded/shard-0-of-3" "$W/sharded/shard-1-of-3" "$W/sharded/shard-2-of-3" --out "$W/sharded" > "$W/merge.log" 2>&1
rc=$?
[ $rc -eq 3 ] || { cat "$W/merge.log"; fail "merge: exit status $rc, expected 3"; }
for f in $FILES; do cmp "$W/single/$f" "$W/sharded/$f" || fail "merged $f differs from the single run's"; done

# 4. a rerun with every prediction present segments nothing and writes the same files
mkdir -p "$W/first"
for f in $FILES; do cp "$W/single/$f" "$W/first/$f"; done
"${BENCH[@]}" --out "$W/single" > "$W/rerun.log" 2>&1
grep -q "^segmented " "$W/rerun.log" && fail "the rerun segmented a case again"
for f in $FILES; do cmp "$W/first/$f" "$W/single/$f" || fail "rerun: $f differs"; done
echo "benchmark: table checked, 3 shards + merge = single run, rerun identical"
rm -rf "$W"
