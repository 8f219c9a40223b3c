#!/usr/bin/env bash
# The SLURM example for real: start a one-node SLURM cluster on localhost (Debian's slurm-wlm + munge, daemons run in a
# scratch folder with their own ports, nothing touches the system's configuration), build a tiny CTSpine1K-shaped
# dataset from the committed spine CT and its VerSe-numbered vertebra labels (flat layout, five cases named with the
# real CTSpine1K patterns of the four sources),
# submit examples/slurm/submit_benchmark.sh as a 4-task array plus its merge job, wait, and require the merged
# tables to equal, byte for byte, those of one `ctspine benchmark` process over the same data.
# Skips (exit 0, saying why) only when the daemons are not installed or cannot start; any other failure fails.
# Usage: tests/slurm/run_slurm_test.sh BUILD_DIR     (about a minute; run as root, or by a user allowed to run
#        munged/slurmctld/slurmd)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${1:?usage: run_slurm_test.sh BUILD_DIR}" && pwd)"
ctspine="$build/bin/ctspine"
model="$root/examples/models/demo_vertebrae/nnUNetTrainer__nnUNetPlans__3d_fullres"
skip() { echo "SLURM test SKIPPED: $*"; exit 0; }
for b in munged slurmctld slurmd; do command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || skip "$b is not installed"; done
export PATH="$PATH:/usr/sbin"
w="$(mktemp -d /tmp/ctspine-slurm.XXXXXX)"
started_munge=0
cleanup() {
  if [ -f "$w/slurm.conf" ]; then SLURM_CONF="$w/slurm.conf" scontrol shutdown >/dev/null 2>&1 || true; fi
  sleep 1
  for p in slurmctld slurmd; do [ -f "$w/$p.pid" ] && kill "$(cat "$w/$p.pid")" 2>/dev/null || true; done
  [ "$started_munge" = 1 ] && pkill -x munged 2>/dev/null || true
  rm -rf "$w"
}
trap cleanup EXIT

# --- one-node cluster ---
mkdir -p "$w/ctld" "$w/spool" "$w/log"
host="$(hostname -s)"
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
cat > "$w/slurm.conf" <<CONF
ClusterName=ctspine-test
SlurmctldHost=$host
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
StateSaveLocation=$w/ctld
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/log/slurmctld.log
SlurmdLogFile=$w/log/slurmd.log
SlurmctldPort=16917
SlurmdPort=16918
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=30 State=UP
CONF
export SLURM_CONF="$w/slurm.conf"
if ! pgrep -x munged >/dev/null; then
  [ -r /etc/munge/munge.key ] || skip "no /etc/munge/munge.key (munge is not set up)"
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if [ "$(id -u)" = 0 ]; then runuser -u munge -- munged || skip "munged does not start"; else munged || skip "munged does not start"; fi
  started_munge=1
fi
slurmctld -f "$SLURM_CONF" || skip "slurmctld does not start ($(tail -3 "$w/log/slurmctld.log" 2>/dev/null))"
slurmd -f "$SLURM_CONF" || skip "slurmd does not start ($(tail -3 "$w/log/slurmd.log" 2>/dev/null))"
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T | grep -q idle || skip "the node did not come up ($(tail -3 "$w/log/slurmd.log"))"
echo "one-node SLURM cluster up on $host ($(nproc) CPUs)"

# --- tiny CTSpine1K-shaped dataset (flat layout: case.nii.gz + case_seg.nii.gz) ---
d="$w/data"
mkdir -p "$d"
pair() { cp "$root/examples/data/$1" "$d/$3.nii.gz"; cp "$root/examples/data/$2" "$d/$3_seg.nii.gz"; }
pair sub-ct_label-22_ct.nii.gz sub-ct_seg-vert_label-22_msk.nii.gz 1.3.6.1.4.1.9328.50.4.0001
pair sub-ct_label-22_ct.nii.gz sub-ct_seg-vert_label-22_msk.nii.gz CTC-1234567890
pair sub-ct_label-22_ct.nii.gz sub-ct_seg-vert_label-22_msk.nii.gz HN_P001
pair sub-ct_label-22_ct.nii.gz sub-ct_seg-vert_label-22_msk.nii.gz liver_7
pair sub-ct_label-22_ct.nii.gz sub-ct_seg-vert_label-22_msk.nii.gz volume-covid19-A-0001_ct

# --- one process, then the array of 4 shards + merge ---
"$ctspine" benchmark --model "$model" --data "$d" --out "$w/single" --threads 2
t0=$(date +%s)
MODEL="$model" DATA="$d" OUT="$w/array" CTSPINE="$ctspine" \
  bash "$root/examples/slurm/submit_benchmark.sh" 4 --cpus-per-task=1 --mem=1G --wait
echo "array of 4 shards + merge: $(( $(date +%s) - t0 )) s"
n=0
for f in "$w/single"/*; do
  [ -f "$f" ] || continue
  name="$(basename "$f")"
  cmp "$f" "$w/array/merged/$name" || { echo "FAILED: merged $name differs from the single-process run"; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "FAILED: the single-process run wrote no tables"; exit 1; }
echo "SLURM test passed: $n merged tables equal the single-process run's"
