#!/usr/bin/env bash
# Table 1 of the paper: Frey face GRBM (H = 400) trained by DSM and BiDSM with
# N = 0, 1, 5, 10 unrolled steps, each evaluated (log-likelihood by AIS and
# the Fisher metric on the test set) at the snapshot with the lowest
# validation loss among 10.
#   scripts/frey.sh [ITERATIONS] [AIS_CHAINS] [AIS_BETAS] [JOBS]
# The paper's setting is 20000 iterations, AIS 2000 x 2000.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-20000}
chains=${2:-2000}
betas=${3:-2000}
jobs=${4:-1}
mkdir -p runs
go build -o runs/bism ./cmd/bism
every=$((iters / 10))
run() {
  local name=$1 cfg=$2 extra=${3:-}
  local out=runs/frey/$name
  local sets=(-set train.iterations=$iters -set train.eval_every=$every -set train.checkpoint_every=$every)
  [ -n "$extra" ] && sets+=(-set "$extra")
  runs/bism train -config configs/frey/$cfg.yaml -out "$out" -force -quiet "${sets[@]}"
  runs/bism eval -run "$out" -select -json -set eval.ais_chains=$chains -set eval.ais_betas=$betas > "$out/eval.json"
  echo "done $out: $(cat "$out/eval.json")"
}
export -f run
export iters every chains betas
printf '%s\n' "dsm dsm" "bidsm-n0 bidsm method.n=0" "bidsm-n1 bidsm method.n=1" "bidsm-n5 bidsm" "bidsm-n10 bidsm method.n=10" "bidsm-implicit bidsm-implicit" |
  xargs -P "$jobs" -L 1 bash -c 'run "$0" "$1" "${2:-}"'
