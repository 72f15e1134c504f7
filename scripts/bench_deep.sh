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
#   scripts/bench_deep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs
go build -o runs/bism ./cmd/bism
date -u
git rev-parse --short HEAD
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
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch"
  /usr/bin/python3 scripts/torch_mnist_step.py 64 2 2 50 64
  /usr/bin/python3 scripts/torch_mnist_step.py 16 10 2 50 16
  /usr/bin/python3 scripts/torch_mnist_step.py 8 10 2 50 16
  /usr/bin/python3 scripts/torch_mnist_step.py 16 2 2 50 16 langevin
  /usr/bin/python3 scripts/inception/fixture.py bench 25
  echo "== bism again"
  langevin 64 6x
  langevin 16 20x
  langevin 8 30x
else
  echo "(no python3-torch: PyTorch timings skipped)"
fi
