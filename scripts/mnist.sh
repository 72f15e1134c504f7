#!/usr/bin/env bash
# MNIST deep models at CPU scale (Sec. 5.2 of the paper, shrunk to a 2-core machine):
# trains the deep EBLVM with BiMDSM and the fully visible ResNet EBM with MDSM
# (configs/mnist/{bimdsm,mdsm}-cpu.yaml; BIMDSM_CONFIG below), draws annealed-Langevin samples
# (marginal, and via q for BiMDSM; BiMDSM's marginal also with the
# bi-level-score sampler), computes FID/KID with the shipped MNIST
# classifier's features and the linear probe of q's posterior means, and writes
# everything under runs/mnist/ (runs/mnist/results.md sums it up).
#
#   scripts/mnist.sh                    # full CPU-scale run: about 3 h on 2 cores (estimated from its parts)
#   SMOKE=1 scripts/mnist.sh            # a handful of iterations, short anneal, few samples
#
# Environment: ITERS (override train.iterations; a shorter run than the
# configs' 500-iteration learning-rate warm-up warms up over all of it), FID_N (samples for FID/KID,
# default 500), STEPS (Langevin steps per chain for the FID samples, default 810, about 5 minutes
# per sampler here; 0 is the full 2,700-step anneal), GRID_STEPS (the same for the 64-sample grids,
# default 0), PROBE_N (probe images, default 10000), OUT (default runs/mnist), BISM_DATA,
# BIMDSM_CONFIG (the BiMDSM config under configs/mnist/, default bimdsm-cpu, the paper's K = 5;
# bimdsm-cpu-k1 is the K = 1 config whose digits come close to MDSM's, docs/RESULTS.md; its run
# goes to OUT/bimdsm-k1).
# Re-running resumes unfinished training (bism train -resume=auto).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/mnist}
fid_n=${FID_N:-500}
steps=${STEPS:-810}
grid_steps=${GRID_STEPS:-0}
probe_n=${PROBE_N:-10000}
bimdsm_cfg=${BIMDSM_CONFIG:-bimdsm-cpu}
if [[ $bimdsm_cfg != bimdsm-cpu* || ! -f configs/mnist/$bimdsm_cfg.yaml ]]; then
  echo "mnist.sh: BIMDSM_CONFIG=$bimdsm_cfg: want a CPU BiMDSM config, configs/mnist/bimdsm-cpu*.yaml" >&2
  exit 2
fi
# Each config's run gets its own folder (bimdsm-cpu -> bimdsm, bimdsm-cpu-k1 ->
# bimdsm-k1), so that -resume never continues one config's run with another.
models=("$bimdsm_cfg" mdsm-cpu)
sets=()
if [ -n "${SMOKE:-}" ]; then
  out=${OUT:-runs/mnist-smoke}
  fid_n=${FID_N:-20}
  steps=${STEPS:-27}
  grid_steps=${GRID_STEPS:-27}
  probe_n=${PROBE_N:-200}
  sets=(-set train.iterations="${ITERS:-3}" -set train.eval_every=1 -set train.checkpoint_every=2)
elif [ -n "${ITERS:-}" ]; then
  sets=(-set train.iterations="$ITERS")
fi
mkdir -p "$out" runs
bism=runs/bism-mnist   # a private binary: other scripts run runs/bism
go build -o "$bism" ./cmd/bism

for cfg in "${models[@]}"; do
  m=${cfg/-cpu/}
  dir=$out/$m
  echo "== training $m -> $dir"
  "$bism" train -config "configs/mnist/$cfg.yaml" -out "$dir" -resume=auto "${sets[@]}"
  echo "== sampling $m"
  # The paper's sampler, named: a config may set eval.sampler: bilevel as its default.
  "$bism" sample -run "$dir" -n 64 -steps "$grid_steps" -seed 1 -quiet -sampler joint
  echo "== FID/KID ($fid_n samples) and probe for $m"
  "$bism" eval -run "$dir" -n "$fid_n" -steps "$steps" -probe-n "$probe_n" -seed 2 -quiet -sampler joint >/dev/null
  if [ "$m" != mdsm ]; then
    # The bi-level-score sampler (docs/DEEP.md): Langevin on v alone.
    echo "== $m with the bilevel sampler: grid, FID/KID ($fid_n samples)"
    "$bism" sample -run "$dir" -n 64 -steps "$grid_steps" -seed 1 -quiet -sampler bilevel
    "$bism" eval -run "$dir" -n "$fid_n" -steps "$steps" -probe-n "$probe_n" -seed 2 -quiet -sampler bilevel >/dev/null
  fi
done

{
  echo "# MNIST, CPU scale (configs/mnist/*-cpu.yaml)"
  echo
  echo "FID/KID: $fid_n samples against the 10k MNIST test digits, features of the shipped MNIST"
  echo "classifier (eval/testdata/mnist_classifier.safetensors; not Inception, so not comparable"
  echo "with published FIDs). $steps Langevin steps per chain. Probe: $probe_n images."
  echo
  for cfg in "${models[@]}"; do
    m=${cfg/-cpu/}
    echo "## $m ($cfg.yaml)"
    echo
    echo '```'
    cat "$out/$m/eval.json"
    echo '```'
    echo
    if [ -f "$out/$m/eval_bilevel.json" ]; then
      echo "With \`-sampler bilevel\` (marginal samples by Langevin on v with the bi-level score):"
      echo
      echo '```'
      cat "$out/$m/eval_bilevel.json"
      echo '```'
      echo
    fi
    echo "Last metrics record: \`$(tail -n 1 "$out/$m/metrics.jsonl")\`"
    echo
  done
} > "$out/results.md"
echo "wrote $out/results.md"
