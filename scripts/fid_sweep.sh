#!/usr/bin/env bash
# FID/KID of every saved checkpoint of a deep run: the MDSM protocol's early
# stopping by FID on a small sample set (the protocol the paper follows for
# CIFAR-10's FID-ES), and a curve of sample quality against training iterations.
#
#   scripts/fid_sweep.sh runs/mnist/mdsm                 # every DIR/checkpoints/iter_*.safetensors
#   N=200 STEPS=810 EVERY=1000 scripts/fid_sweep.sh DIR  # the defaults
#
# Each checkpoint's numbers go to DIR/eval_iter_NNNNNNNN.json (bism eval
# -checkpoint); `go run ./scripts/report` tabulates them. N samples per
# checkpoint, STEPS Langevin steps each; only checkpoints whose iteration is a
# multiple of EVERY; PROBE_N images for the deep EBLVM's linear probe (default
# 2000). Existing results are kept (delete to redo).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/fid_sweep.sh RUN_DIR}
n=${N:-200}
steps=${STEPS:-810}
every=${EVERY:-1000}
probe_n=${PROBE_N:-2000}
mkdir -p runs
bism=runs/bism-sweep   # a private binary: other scripts run runs/bism
go build -o "$bism" ./cmd/bism
shopt -s nullglob
cks=("$dir"/checkpoints/iter_*.safetensors)
if [ ${#cks[@]} -eq 0 ]; then
  echo "fid_sweep: no checkpoints in $dir/checkpoints (train with train.checkpoint_every > 0)" >&2
  exit 1
fi
for ck in "${cks[@]}"; do
  name=$(basename "$ck" .safetensors)
  it=$((10#${name#iter_}))
  if (( it % every != 0 )); then continue; fi
  if [ -f "$dir/eval_$name.json" ]; then echo "== $name: kept $dir/eval_$name.json"; continue; fi
  echo "== $name"
  "$bism" eval -run "$dir" -checkpoint "$ck" -n "$n" -steps "$steps" -probe-n "$probe_n" -seed 2 -quiet >/dev/null
done
