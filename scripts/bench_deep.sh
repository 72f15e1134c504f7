#!/usr/bin/env bash
# Speed of the MNIST deep models against PyTorch on the same machine
# (docs/PERFORMANCE.md, "Deep models on MNIST"): ms per training iteration
# of MDSM and BiMDSM at paper scale (ch 64) and CPU scale (the configs' ch 16,
# and ch 8, the earlier CPU configs' width), and ms per
# step of the Langevin sampler (100 chains), Inception-v3 features (25
# images) and the D = 2048 FID trace, bism first, then PyTorch, then
# bism's Langevin step again to bracket the machine's drift. Needs Debian's
# python3-torch for the PyTorch half (skipped without it). About 7 minutes
# before the ch 16 rows were added (not timed as a whole since).
#   scripts/bench_deep.sh [smoke]
# "smoke" runs each command once at the smallest size (ch 8, one iteration):
# a check that the script and its PyTorch half still run, not a timing.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${BISM_BENCH_PYTHON:-/usr/bin/python3}
# As in bench.sh: Debian's OpenBLAS 0.3.21 falls back to SSE3 kernels on CPUs it
# does not know; give PyTorch its fastest ones unless the caller chose.
best_core=
if grep -q -w avx512f /proc/cpuinfo; then best_core=SkylakeX
elif grep -q -w avx2 /proc/cpuinfo; then best_core=Haswell; fi
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  [ -n "$best_core" ] && export OPENBLAS_CORETYPE=$best_core
elif [ -n "$best_core" ] && [ "$OPENBLAS_CORETYPE" != "$best_core" ]; then
  # Some machines preset it (an AVX-512 machine here had Haswell, whose
  # kernels ran a 1024^3 product at 80 GFLOP/s against SkylakeX's 140).
  echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE was set before this script; this CPU's fastest is $best_core (unset it to give PyTorch its fastest BLAS)" >&2
fi
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-}"
mkdir -p runs
go build -o runs/bism ./cmd/bism
date -u
git rev-parse --short HEAD 2>/dev/null || true
if [ "${1:-}" = smoke ]; then
  go test ./sample -run xxx -bench 'LangevinMNIST/ch8$' -benchtime 1x | grep ms/step
  runs/bism bench -config configs/mnist/mdsm-cpu.yaml -iterations 1 -warmup 0 -set model.ch=8
  runs/bism bench -config configs/mnist/bimdsm-cpu.yaml -iterations 1 -warmup 0 -set model.ch=8
  if "$py" -c 'import torch' 2>/dev/null; then
    "$py" scripts/torch_mnist_step.py 8 1 1 50 8
  fi
  exit 0
fi
langevin() {
  go test ./sample -run xxx -bench "LangevinMNIST/ch$1\$" -benchtime "$2" | grep ms/step
}
echo "== bism"
langevin 64 6x
langevin 16 20x
langevin 8 30x
runs/bism bench -config configs/mnist/mdsm.yaml -iterations 2 -warmup 1
runs/bism bench -config configs/mnist/bimdsm.yaml -iterations 2 -warmup 1
runs/bism bench -config configs/mnist/mdsm-cpu.yaml -iterations 20 -warmup 2
runs/bism bench -config configs/mnist/bimdsm-cpu.yaml -iterations 10 -warmup 2
runs/bism bench -config configs/mnist/mdsm-cpu.yaml -iterations 30 -warmup 2 -set model.ch=8
runs/bism bench -config configs/mnist/bimdsm-cpu.yaml -iterations 10 -warmup 2 -set model.ch=8
go test ./eval -run xxx -bench 'InceptionV3Features|TraceSqrtProduct2048' -benchtime 3x | grep -E 'images/s|ns/op'
if "$py" -c 'import torch' 2>/dev/null; then
  echo "== PyTorch"
  "$py" scripts/torch_mnist_step.py 64 2 2 50 64
  "$py" scripts/torch_mnist_step.py 16 10 2 50 16
  "$py" scripts/torch_mnist_step.py 8 10 2 50 16
  "$py" scripts/torch_mnist_step.py 16 2 2 50 16 langevin
  "$py" scripts/inception/fixture.py bench 25
  echo "== bism again"
  langevin 64 6x
  langevin 16 20x
  langevin 8 30x
else
  echo "(no python3-torch: PyTorch timings skipped)"
fi
