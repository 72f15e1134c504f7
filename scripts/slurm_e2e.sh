#!/usr/bin/env bash
# End-to-end test of `bism sweep -slurm` on a real one-node Slurm cluster on
# this machine: installs Slurm and MUNGE from Debian when missing, starts
# munged, slurmctld and slurmd from a temporary folder, runs a small sweep
# (2 methods x 2 seeds) through -slurm, waits for it, checks that every cell
# finished and that checkpoints and metrics equal those of the same sweep run
# locally with -j 2 (bism compare -tol 0: all but elapsed_s); then, where
# Open MPI is installed, trains one cell as 2 ranks started by srun (-ranks
# 2), evaluates it in the array task, and checks it against one process;
# and stops the daemons it started.
#   scripts/slurm_e2e.sh
# Where Debian's packages cannot be reached it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

need=(slurmctld slurmd sbatch squeue munged)
missing=0
for c in "${need[@]}"; do command -v "$c" >/dev/null || missing=1; done
if [ $missing = 1 ]; then
  echo "slurm_e2e: installing slurmctld slurmd slurm-client munge from Debian"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge; } >/tmp/slurm_e2e_apt.log 2>&1; then
    echo "slurm_e2e: SKIP: Slurm could not be installed from Debian's packages (see /tmp/slurm_e2e_apt.log)"
    exit 0
  fi
fi

tmp=$(mktemp -d /tmp/bism-slurm.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bism" ./cmd/bism

# MUNGE, with its own key and socket.
mkdir -p "$tmp/munge"
dd if=/dev/urandom bs=1 count=1024 of="$tmp/munge/munge.key" 2>/dev/null
chmod 400 "$tmp/munge/munge.key"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/socket" \
  --pid-file="$tmp/munge/pid" --log-file="$tmp/munge/log" --seed-file="$tmp/munge/seed" >"$tmp/munge/out" 2>&1 &
pids+=($!)

# One node, this machine, on ports of its own.
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
mkdir -p "$tmp/state" "$tmp/spool"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=bism-e2e
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=e2e Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
for i in $(seq 50); do [ -S "$tmp/munge/socket" ] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)
up=0
for i in $(seq 100); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then up=1; break; fi
  sleep 0.3
done
if [ $up = 0 ]; then
  echo "slurm_e2e: FAIL: the node did not come up"; tail -20 "$tmp/slurmctld.log" "$tmp/slurmd.log" 2>/dev/null || true; exit 1
fi

cat >"$tmp/sweep.yaml" <<EOF
variants:
  bidsm: {config: checkerboard/bidsm}
  dsm: {config: checkerboard/dsm}
seeds: [1, 2]
set:
  train.iterations: 300
  train.eval_every: 100
EOF

"$tmp/bism" sweep -file "$tmp/sweep.yaml" -out "$tmp/slurm" -slurm -slurm-args "--cpus-per-task=1"
deadline=$((SECONDS + 600))
while [ ! -f "$tmp/slurm/summary.md" ] || [ -n "$(squeue -h 2>/dev/null)" ]; do
  if [ $SECONDS -gt $deadline ]; then
    echo "slurm_e2e: FAIL: the sweep did not finish in 10 minutes"; squeue || true; "$tmp/bism" sweep -status "$tmp/slurm" || true; exit 1
  fi
  sleep 1
done
status=$("$tmp/bism" sweep -status "$tmp/slurm")
echo "$status"
echo "$status" | grep -q "4 cells: 4 finished, 0 partial, 0 pending" || { echo "slurm_e2e: FAIL: not every cell finished"; cat "$tmp"/slurm/slurm/*.out; exit 1; }

"$tmp/bism" sweep -file "$tmp/sweep.yaml" -out "$tmp/local" -j 2 2>/dev/null
for cell in "bidsm,seed1" "bidsm,seed2" "dsm,seed1" "dsm,seed2"; do
  if ! "$tmp/bism" compare -a "$tmp/slurm/$cell" -b "$tmp/local/$cell" -tol 0 >/dev/null; then
    echo "slurm_e2e: FAIL: $cell: checkpoints or metrics differ between Slurm and the local -j 2 sweep"; exit 1
  fi
done
echo "slurm_e2e: ok: 4 cells through Slurm, checkpoints and metrics identical to the local sweep"

# Slurm and MPI together: one cell trained by 2 ranks that srun starts
# (-ranks 2), against the same cell as one process (bism built with the mpi
# tag; skipped where Open MPI is not installed: scripts/mpi_e2e.sh installs it).
if command -v mpirun >/dev/null && pkg-config --exists ompi-c 2>/dev/null; then
  go build -tags mpi -o "$tmp/bism-mpi" ./cmd/bism
  cat >"$tmp/ranks.yaml" <<EOF
variants:
  bidsm: {config: checkerboard/bidsm}
seeds: [1]
set:
  train.iterations: 300
  train.eval_every: 100
eval: []
EOF
  # The evaluation step runs in the array task's batch step as one process.
  "$tmp/bism-mpi" sweep -file "$tmp/ranks.yaml" -out "$tmp/ranks" -slurm -ranks 2 -slurm-args "--cpus-per-task=1"
  deadline=$((SECONDS + 300))
  while [ ! -f "$tmp/ranks/summary.md" ] || [ -n "$(squeue -h 2>/dev/null)" ]; do
    if [ $SECONDS -gt $deadline ]; then
      echo "slurm_e2e: FAIL: the 2-rank cell did not finish in 5 minutes"; squeue || true; cat "$tmp"/ranks/slurm/*.out; exit 1
    fi
    sleep 1
  done
  "$tmp/bism-mpi" sweep -status "$tmp/ranks" | grep -q "1 cells: 1 finished" ||
    { cat "$tmp"/ranks/slurm/*.out; echo "slurm_e2e: FAIL: the 2-rank cell did not finish"; exit 1; }
  grep -q '"ranks": 2' "$tmp/ranks/bidsm,seed1/run.json" ||
    { cat "$tmp/ranks/bidsm,seed1/run.json"; echo "slurm_e2e: FAIL: the cell was not trained by 2 ranks"; exit 1; }
  "$tmp/bism" compare -a "$tmp/local/bidsm,seed1" -b "$tmp/ranks/bidsm,seed1" -tol 1e-5 ||
    { echo "slurm_e2e: FAIL: the 2-rank cell differs from one process"; exit 1; }
  echo "slurm_e2e: ok: a cell of 2 ranks started by srun agrees with one process"
else
  echo "slurm_e2e: skip the 2-rank cell: Open MPI is not installed (scripts/mpi_e2e.sh installs it)"
fi
cd "$repo"
