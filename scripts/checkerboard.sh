#!/usr/bin/env bash
# Trains every checkerboard method of the paper's Fig. 2/3 for several seeds.
#   scripts/checkerboard.sh [ITERATIONS] [SEEDS] [JOBS]
# Runs land in runs/checkerboard/<method>/seed<k>; `go run ./scripts/report`
# turns them into docs/RESULTS.md tables and figures.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-20000}
seeds=${2:-3}
jobs=${3:-2}
mkdir -p runs
go build -o runs/bism ./cmd/bism
# name:config:extra -set overrides
methods=(
  "bissm:bissm:"
  "bidsm-n0:bidsm:method.n=0"
  "bidsm-n5:bidsm:"
  "bidsm-n10:bidsm:method.n=10"
  "bidsm-implicit:bidsm-implicit:"
  "ssm:ssm:"
  "dsm:dsm:"
  "cd1:cd1:"
  "cd5:cd5:"
  "pcd:pcd:"
  "nce:nce:"
  "vnce:vnce:"
)
run() {
  local name=$1 cfg=$2 extra=$3 seed=$4
  local out=runs/checkerboard/$name/seed$seed
  local sets=(-set seed=$seed -set train.iterations=$iters -set train.eval_every=$((iters / 10)))
  [ -n "$extra" ] && sets+=(-set "$extra")
  runs/bism train -config configs/checkerboard/$cfg.yaml -out "$out" -force -quiet "${sets[@]}"
  echo "done $out"
}
export -f run
export iters
for seed in $(seq 1 "$seeds"); do
  for m in "${methods[@]}"; do
    IFS=: read -r name cfg extra <<<"$m"
    echo "$name $cfg $seed${extra:+ $extra}"
  done
done | xargs -P "$jobs" -L 1 bash -c 'run "$0" "$1" "${3:-}" "$2"'
