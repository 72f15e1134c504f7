#!/usr/bin/env bash
# Checks that two bism binaries train to the same metrics: every checkerboard
# config (200 iterations), Frey DSM and BiDSM (300) and the MNIST CPU-scale
# configs (20), each straight through and resumed from its halfway snapshot.
# metrics.jsonl must agree in every value except elapsed_s, and the runs must
# write the same files (run.json and the lock file, which only newer
# binaries write, aside).
#   scripts/samemetrics.sh BISM_BEFORE BISM_AFTER [OUT]
# Each binary's runs go to OUT/before and OUT/after (default runs/samemetrics).
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2")
cd "$(dirname "$0")/.."
out=${3:-runs/samemetrics}
# config : iterations : eval_every
cases=()
for c in configs/quickstart.yaml configs/checkerboard/*.yaml; do cases+=("$c:200:50"); done
cases+=("configs/frey/dsm.yaml:300:50" "configs/frey/bidsm.yaml:300:50")
cases+=("configs/mnist/mdsm-cpu.yaml:20:5" "configs/mnist/bimdsm-cpu.yaml:20:5")

train() { # BIN CONFIG DIR ITERS EVAL
  local half=$(($4 / 2))
  "$1" train -config "$2" -out "$3" -quiet -set train.iterations="$4" \
    -set train.eval_every="$5" -set train.checkpoint_every="$half"
}
resume_halfway() { # BIN DIR ITERS: restart DIR from its halfway snapshot
  local snap; snap=$(printf '%s/checkpoints/iter_%08d.safetensors' "$2" $(($3 / 2)))
  cp "$snap" "$2/checkpoint.safetensors"
  "$1" train -resume -out "$2" -quiet
}
strip() { sed -E 's/"elapsed_s":[0-9.eE+-]+,?//' "$1"; }
files() { (cd "$1" && find . -type f ! -name run.json ! -name .lock | sort); }

fail=0
for c in "${cases[@]}"; do
  IFS=: read -r cfg iters every <<<"$c"
  name=$(echo "${cfg#configs/}" | tr / - | sed 's/\.yaml$//')
  for side in before after; do
    bin=$before; [ $side = after ] && bin=$after
    rm -rf "$out/$side/$name" "$out/$side/$name-resumed"
    train "$bin" "$cfg" "$out/$side/$name" "$iters" "$every"
    train "$bin" "$cfg" "$out/$side/$name-resumed" "$iters" "$every"
    resume_halfway "$bin" "$out/$side/$name-resumed" "$iters"
  done
  for run in "$name" "$name-resumed"; do
    if diff <(strip "$out/before/$run/metrics.jsonl") <(strip "$out/after/$run/metrics.jsonl") >/dev/null &&
      diff <(strip "$out/before/$name/metrics.jsonl") <(strip "$out/after/$run/metrics.jsonl") >/dev/null &&
      diff <(files "$out/before/$run") <(files "$out/after/$run") >/dev/null; then
      echo "same  $run ($(wc -l <"$out/after/$run/metrics.jsonl") records)"
    else
      echo "DIFF  $run"; fail=1
    fi
  done
done
exit $fail
