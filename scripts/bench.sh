#!/usr/bin/env bash
# Training speed of the GRBM experiments (ms per iteration, training only),
# next to the authors' PyTorch code's figures on a 2-core machine (docs/PERFORMANCE.md).
#   scripts/bench.sh [REPEATS]   (the best of REPEATS runs is reported)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
mkdir -p runs
go build -o runs/bism ./cmd/bism
echo "| run | bism ms/iter | reference ms/iter | speed-up |"
echo "|---|---|---|---|"
while read -r label cfg iters ref sets; do
  best=""
  for _ in $(seq "$reps"); do
    args=(-config "$cfg" -iterations "$iters" -json)
    for s in $sets; do args+=(-set "$s"); done
    ms=$(runs/bism bench "${args[@]}" | sed -E 's/.*"ms_per_iter":([0-9.eE+-]+).*/\1/')
    if [ -z "$best" ] || awk -v a="$ms" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$ms; fi
  done
  printf "| %s | %.3f | %s | %.1fx |\n" "$label" "$best" "$ref" "$(awk -v r="$ref" -v b="$best" 'BEGIN{print r/b}')"
done <<'EOF2'
checkerboard-BiSSM(K=5,N=5) configs/checkerboard/bissm.yaml 2000 16.8
checkerboard-BiDSM(K=5,N=5) configs/checkerboard/bidsm.yaml 2000 16.0
checkerboard-DSM configs/checkerboard/dsm.yaml 5000 0.71
checkerboard-SSM configs/checkerboard/ssm.yaml 5000 0.94
checkerboard-CD-1 configs/checkerboard/cd1.yaml 5000 0.77
checkerboard-CD-5 configs/checkerboard/cd5.yaml 5000 1.14
Frey-BiDSM(K=5,N=5) configs/frey/bidsm.yaml 30 289
Frey-BiSSM(K=5,N=5) configs/frey/bissm.yaml 30 302
Frey-DSM configs/frey/dsm.yaml 200 8.3
Frey-SSM configs/frey/ssm.yaml 200 13.9
Frey-CD-1 configs/frey/cd1.yaml 200 10.2
EOF2
