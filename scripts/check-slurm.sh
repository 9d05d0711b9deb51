#!/usr/bin/env bash
# Runs deploy/slurm-index.sbatch end to end on a one-node Slurm made from Debian packages
# (slurmctld, slurmd, munge; installed when missing, needs root): a 3-task job array indexes a
# folder in parts, `clipdex merge` joins them, and the merged library must answer searches as the
# library one process indexes does. Not part of CI; docs/SCALE.md records a run.
# Usage: scripts/check-slurm.sh [FOLDER]   (after scripts/setup.sh; default: the fixture photos)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin_dir=$repo/build/src/cli
model=${CLIPDEX_MODEL:-$repo/../shared/fixtures/models/vit-tiny/hf}
photos=$(realpath "${1:-$repo/../shared/fixtures/images}")
[ -x "$bin_dir/clipdex" ] || { echo "build clipdex first (scripts/setup.sh)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: it starts munged, slurmctld and slurmd"; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
fi

work=$(mktemp -d /tmp/clipdex-slurm.XXXXXX)
host=$(hostname -s)
mkdir -p "$work/state" "$work/spool" "$work/libs"
cat > "$work/slurm.conf" <<CONF
ClusterName=clipdex-check
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=check Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf

started_munge=0
if ! pgrep -x munged >/dev/null; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  started_munge=1
fi
cleanup() {
  for pid in "$work/slurmd.pid" "$work/slurmctld.pid"; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  [ "$started_munge" = 1 ] && pkill -x munged || true
}
trap cleanup EXIT
slurmctld
slurmd
for _ in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo

start=$(date +%s.%N)
# The script's own #SBATCH lines ask for 8 tasks of 8 CPUs; this node has $(nproc) CPUs.
sbatch --wait --array=0-2 --cpus-per-task=1 --chdir="$work" \
  --export=ALL,PATH="$bin_dir:$PATH",CLIPDEX_MODEL="$model",CLIPDEX_PRECISION=fp32 \
  deploy/slurm-index.sbatch "$photos" "$work/libs"
array_s=$(echo "$(date +%s.%N) - $start" | bc)
cat "$work"/clipdex-index-*.log
ls -l "$work/libs"

export CLIPDEX_PRECISION=fp32
clipdex=$bin_dir/clipdex
"$clipdex" merge "$work"/libs/part-*.db --db "$work/merged.db"
"$clipdex" index "$photos" --quiet --db "$work/single.db" --model "$model"
for query in "a photo of a rocket" "a cat" "a cup of coffee"; do
  a=$("$clipdex" search "$query" --json -k 8 --db "$work/single.db")
  b=$("$clipdex" search "$query" --json -k 8 --db "$work/merged.db")
  python3 - "$a" "$b" <<'PY'
import json, sys
a, b = (json.loads(x)["results"] for x in sys.argv[1:3])
assert [r["paths"] for r in a] == [r["paths"] for r in b], "merged library ranks differently"
assert all(abs(x["score"] - y["score"]) < 1e-5 for x, y in zip(a, b)), "scores differ"
PY
done
echo "slurm check ok: 3-task array in ${array_s}s on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); merged library equals one process's"
