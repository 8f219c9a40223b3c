#!/usr/bin/env bash
# Coverage-guided fuzzing of ctspine's parsers with libFuzzer (Debian clang + libclang-rt, AddressSanitizer +
# UndefinedBehaviorSanitizer). Builds every tests/fuzz/fuzz_*.cpp into build-fuzz/, seeds a working corpus from the
# committed test fixtures and tests/fuzz/corpus/<target>/, and runs each target for SECONDS.
#
# Usage: tests/fuzz/run_fuzz.sh [SECONDS] [TARGET...]      (default 60 s each, every target)
#   CTSPINE_FUZZ_JOBS=N   parallel fuzzing processes per target (default 1)
#   CTSPINE_FUZZ_MERGE=1  afterwards, minimise the committed and working corpus into tests/fuzz/corpus/<target>/ (to
#                         commit: the merged set replaces the old one)
#   CTSPINE_FUZZ_SEEDS=D  also seed from the files under directory D (e.g. real NIfTI files, checkpoints), each given
#                         the target's input prefixes
#   CTSPINE_FUZZ_NICE=N   run the fuzzer under nice -n N (default 0)
# Targets: fuzz_nifti (NIfTI reader), fuzz_gzip (gzip layer, both back ends, differential), fuzz_pickle (pickle
# machine), fuzz_v1_pickle (nnU-Net v1 .pkl interpretation), fuzz_zip (zip container + torch checkpoints), fuzz_json
# (plans.json, dataset.json, split files, cases.csv / failures.csv, v1 postprocessing.json).
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

extra_seeds() {  # files under $CTSPINE_FUZZ_SEEDS, at most max_len bytes
  [ -n "${CTSPINE_FUZZ_SEEDS:-}" ] && [ -d "$CTSPINE_FUZZ_SEEDS" ] && find "$CTSPINE_FUZZ_SEEDS" -type f -size -64k
  return 0
}

# NIfTI-1 .nii.gz files as ctspine writes them (io/gzip.hpp write_gzip_members): the header alone in one gzip member,
# then the voxels in members of a few hundred bytes, each member carrying the 'ct' length subfield. No committed
# fixture is written that way, and the indexed-member paths need them as seeds. nifti1.h offsets; RFC 1952 members.
make_indexed_gz() {
  command -v python3 > /dev/null || return 0
  python3 - "$1" <<'PY'
import struct, sys, zlib
def member(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    total = 20 + len(body) + 8
    head = b"\x1f\x8b\x08\x04" + b"\0\0\0\0" + b"\x00\xff" + struct.pack("<H", 8) + b"ct" + struct.pack("<HI", 4, total)
    return head + body + struct.pack("<II", zlib.crc32(data) & 0xffffffff, len(data))
def nifti(dims, datatype, bitpix, frames=1):
    h = bytearray(352)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 4 if frames > 1 else 3, dims[0], dims[1], dims[2], frames, 1, 1, 1)
    struct.pack_into("<hh", h, 70, datatype, bitpix)
    struct.pack_into("<8f", h, 76, 1, 1.5, 1.5, 2, 1, 1, 1, 1)
    struct.pack_into("<f", h, 108, 352.0)
    struct.pack_into("<hh", h, 252, 1, 1)
    struct.pack_into("<4f", h, 280, 1.5, 0, 0, -10)
    struct.pack_into("<4f", h, 296, 0, 1.5, 0, -20)
    struct.pack_into("<4f", h, 312, 0, 0, 2, 5)
    h[344:348] = b"n+1\0"
    return bytes(h)
cases = [((8, 8, 4), 4, 16, 1, 200), ((6, 5, 4), 16, 32, 1, 96), ((4, 4, 3), 2, 8, 2, 40), ((10, 10, 10), 512, 16, 1, 700)]
for k, (dims, dt, bp, frames, chunk) in enumerate(cases):
    nbytes = dims[0] * dims[1] * dims[2] * frames * bp // 8
    data = bytes((i * 7 + (i >> 5)) & 0xff for i in range(nbytes))
    out = member(nifti(dims, dt, bp, frames)) + b"".join(member(data[i:i + chunk]) for i in range(0, nbytes, chunk))
    open("%s/indexed_%d.nii.gz" % (sys.argv[1], k), "wb").write(out)
PY
}

seed_gzip() {  # first three bytes: size claim and sub-range (fuzz_gzip_input.hpp); then a gzip file
  local out=$1 n=0
  mkdir -p build-fuzz/indexed && make_indexed_gz build-fuzz/indexed
  while IFS= read -r f; do
    for mode in '\x00\x00\x00' '\x7c\x01\x60' '\x03\x01\x60'; do
      { printf "$mode"; cat "$f"; } > "$out/seed_$n"; n=$((n + 1))
    done
  done < <({ find build-fuzz/indexed -name '*.gz'; find tests/data -name '*.gz' -size -64k; extra_seeds; } | while IFS= read -r g; do
             [ "$(head -c 2 "$g" | od -An -tx1 | tr -d ' ')" = 1f8b ] && echo "$g"; done | sort | head -n 60)
  echo "$n seeds"
}

seed_v1_pickle() {  # first byte: bit 0 = .model.pkl
  local out=$1 n=0
  while IFS= read -r f; do
    case $f in *.model.pkl) mode='\x01' ;; *) mode='\x00' ;; esac
    { printf "$mode"; cat "$f"; } > "$out/seed_$n"; n=$((n + 1))
  done < <(find tests/data -name '*.pkl')
  echo "$n seeds"
}

seed_zip() {  # raw archives (mode 0) and, structure-aware (mode 1), every data.pkl and .pkl fixture
  local out=$1 n=0
  while IFS= read -r f; do
    [ "$(head -c 2 "$f" | tr -d '\0')" = PK ] || continue
    { printf '\x00'; cat "$f"; } > "$out/seed_$n"; n=$((n + 1))
    if command -v python3 > /dev/null; then
      python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sys.stdout.buffer.write(b"\x01\xff" + z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0]))' "$f" \
        > "$out/seed_$n" 2> /dev/null && n=$((n + 1))
    fi
  done < <({ find tests/data \( -name '*.pth' -o -name '*.model' \) -size -64k; extra_seeds; } | sort)
  while IFS= read -r f; do { printf '\x01\xff'; cat "$f"; } > "$out/seed_$n"; n=$((n + 1)); done < <(find tests/data -name '*.pkl')
  echo "$n seeds"
}

seed_json() {  # first byte % 6 selects the parser (fuzz_json_input.hpp)
  local out=$1 n=0
  while IFS= read -r f; do
    case $f in
      */dataset.json) mode='\x01' ;;
      */pp_*.json) mode='\x05' ;;
      */plans.json|*/real_plans/*.json) mode='\x00' ;;
      */split.txt) mode='\x02' ;;
      *) continue ;;
    esac
    { printf "$mode"; cat "$f"; } > "$out/seed_$n"; n=$((n + 1))
  done < <(find tests/data -name '*.json' -o -name 'split.txt')
  # cases.csv and failures.csv as ctspine writes them (summary.hpp to_csv / failures_csv), one tolerance of 1 mm
  local cols="n_ref,n_pred,tp,fp,fn,tn,vol_ref_mm3,vol_pred_mm3,dice,iou,precision,recall,rvd,hd,hd95,hd95_dirmax"
  cols+=",asd_pred_ref,asd_ref_pred,assd,masd,nsd@1,nsd_voxel@1,cx_ref,cy_ref,cz_ref,cx_pred,cy_pred,cz_pred"
  cols+=",centroid_dist_mm,identified"
  printf '\x03case,source,split,label,name,status,%s,ref_file,pred_file\nliver_1,MSD_liver,test_public,20,L1,both' "$cols" > "$out/seed_$n"
  for v in 10 12 9 3 1 100 10.0 12.0 0.8 0.6 0.75 0.9 0.2 2.0 1.5 1.5 0.5 0.4 0.45 0.45 0.9 0.9 1 2 3 1 2 3.5 0.5 1; do
    printf ',%s' "$v" >> "$out/seed_$n"
  done
  printf ',ref/liver_1.nii.gz,pred/liver_1.nii.gz\nHN_P001,HNSCC-3DCT-RT,trainset,21,L2,missed' >> "$out/seed_$n"
  for v in 5 0 0 0 5 100 5.0 0.0 0.0 0.0 nan 0.0 -1.0 nan nan nan nan nan nan nan 0.0 0.0 1 2 3 nan nan nan nan 0; do
    printf ',%s' "$v" >> "$out/seed_$n"
  done
  printf ',ref/HN_P001.nii.gz,pred/HN_P001.nii.gz\n' >> "$out/seed_$n"
  n=$((n + 1))
  printf '\x04case,reason\nliver_2,"nifti: file has 12 bytes, a header needs 348"\n' > "$out/seed_$n"; n=$((n + 1))
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
  case $t in
    fuzz_nifti) seed_nifti "$work" ;; fuzz_pickle) seed_pickle "$work" ;; fuzz_gzip) seed_gzip "$work" ;;
    fuzz_v1_pickle) seed_v1_pickle "$work" ;; fuzz_zip) seed_zip "$work" ;; fuzz_json) seed_json "$work" ;;
  esac
  if [ "$t" = fuzz_nifti ]; then  # indexed .nii.gz (and extra NIfTI files), single-file modes
    n=0
    mkdir -p build-fuzz/indexed && make_indexed_gz build-fuzz/indexed
    while IFS= read -r f; do
      for mode in 00 02 20; do { printf "\x$mode"; cat "$f"; } > "$work/extra_${n}_$mode"; done; n=$((n + 1))
    done < <(find build-fuzz/indexed -name '*.gz'; extra_seeds)
  fi
  par=()  # -jobs makes libFuzzer write fuzz-N.log files; only when asked for parallel processes
  [ "${CTSPINE_FUZZ_JOBS:-1}" -gt 1 ] && par=(-jobs="$CTSPINE_FUZZ_JOBS" -workers="$CTSPINE_FUZZ_JOBS")
  dict=()
  [ -f "tests/fuzz/${t#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${t#fuzz_}.dict")
  echo "== $t: fuzzing for ${seconds} s"
  if ! nice -n "${CTSPINE_FUZZ_NICE:-0}" "$bin" "$work" "tests/fuzz/corpus/${t#fuzz_}" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 "${par[@]}" -print_final_stats=1 \
       -artifact_prefix="build-fuzz/$t.artifacts/" 2>&1 | tee "build-fuzz/$t.log" | grep -E "INITED|DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written"; then
    :
  fi
  if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|SUMMARY: |runtime error:" "build-fuzz/$t.log"; then
    echo "== $t: FAILED (see build-fuzz/$t.log and build-fuzz/$t.artifacts/)" >&2
    status=1
  fi
  if [ "${CTSPINE_FUZZ_MERGE:-0}" = 1 ]; then
    # Minimise the union of the committed and the working corpus into a fresh directory, which then replaces the
    # committed one (merging into the committed directory would only ever add to it).
    merged=build-fuzz/$t.merged
    rm -rf "$merged" && mkdir -p "$merged"
    "$bin" -merge=1 -max_len=65536 "$merged" "tests/fuzz/corpus/${t#fuzz_}" "$work" > "build-fuzz/$t.merge.log" 2>&1
    rm -rf "tests/fuzz/corpus/${t#fuzz_}" && mv "$merged" "tests/fuzz/corpus/${t#fuzz_}"
    echo "== $t: corpus $(ls "tests/fuzz/corpus/${t#fuzz_}" | wc -l) files, $(du -sh "tests/fuzz/corpus/${t#fuzz_}" | cut -f1)"
  fi
done
exit $status
