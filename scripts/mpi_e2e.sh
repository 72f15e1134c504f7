#!/usr/bin/env bash
# End-to-end test of data-parallel training with Open MPI on this machine:
# installs openmpi-bin and libopenmpi-dev from Debian when missing, builds
# bism with the mpi tag, and checks that
#   - runs under `mpirun -np 2` (one thread per rank) end where one process
#     with the same global batch ends, to float32 round-off (bism compare,
#     see below): GRBM BiSSM and DSM on the checkerboard, BiDSM on Frey
#     faces, and the deep BiMDSM (with unrolled steps) and MDSM at the
#     MNIST CPU-scale configs, a few iterations each (the data sets' runs
#     are skipped, with a message, when $BISM_DATA does not hold them);
#   - a run stopped and resumed under MPI ends bit for bit where the
#     uninterrupted one does;
#   - a rank that fails stops the whole job with a message naming it;
#   - `bism eval` under MPI gives the single process's figures (AIS on a
#     GRBM; a deep model's sample scores).
#   scripts/mpi_e2e.sh
# Where Debian's packages cannot be reached, or Open MPI cannot start two
# processes here (no shared memory in a container, say), it says so and
# exits 0; anything else that goes wrong fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mpirun >/dev/null || ! pkg-config --exists ompi-c 2>/dev/null; then
  echo "mpi_e2e: installing openmpi-bin libopenmpi-dev from Debian"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openmpi-bin libopenmpi-dev pkg-config; } >/tmp/mpi_e2e_apt.log 2>&1; then
    echo "mpi_e2e: SKIP: Open MPI could not be installed from Debian's packages (see /tmp/mpi_e2e_apt.log)"
    exit 0
  fi
fi

tmp=$(mktemp -d /tmp/bism-mpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mpi=(mpirun --allow-run-as-root --oversubscribe)
if ! out=$(timeout 60 "${mpi[@]}" -np 2 true 2>&1); then
  echo "mpi_e2e: SKIP: Open MPI cannot start two processes on this machine:"
  echo "$out" | head -20
  exit 0
fi

go build -tags mpi -o "$tmp/bism" ./cmd/bism
bism="$tmp/bism"
fail() { echo "mpi_e2e: FAIL: $*"; exit 1; }
# The ranks must be able to talk: a one-iteration bench makes sums across them.
if ! out=$(timeout 120 "${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" bench -config checkerboard/dsm -iterations 1 -warmup 0 2>&1); then
  if echo "$out" | grep -q -i -E 'shared memory|vader|shm|/dev/shm|sm segment'; then
    echo "mpi_e2e: SKIP: Open MPI's shared memory is not available here:"
    echo "$out" | head -20
    exit 0
  fi
  echo "$out" | head -40
  fail "two ranks could not make a sum"
fi
have() { [ -n "${BISM_DATA:-}" ] && [ -d "$BISM_DATA/$1" ]; }

# pair TOL NAME CONFIG SETS...: one process with 2 threads, then 2 ranks
# with 1, whose checkpoints must agree to TOL in relative norm per tensor
# (bism compare). The ranks sum in another order than one process: float32
# round-off, 5e-7 on the GRBMs. Adam can magnify it in single entries: its
# first step moves every entry by the learning rate times the sign of its
# gradient, so an entry whose gradient is a sum that cancels to rounding
# level can step either way. In the MNIST BiMDSM below one entry of 36,864
# in a convolution does, 3e-4 of the tensor's norm, while the losses agree to
# 2e-7; hence 1e-3 for the deep models.
pair() {
  local tol=$1 name=$2 cfg=$3; shift 3
  local sets=()
  for s in "$@"; do sets+=(-set "$s"); done
  GOMAXPROCS=2 "$bism" train -config "$cfg" "${sets[@]}" -out "$tmp/$name-1" -quiet
  timeout 600 "${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" train -config "$cfg" "${sets[@]}" -out "$tmp/$name-2" -quiet
  grep -q '"ranks": 2' "$tmp/$name-2/run.json" || fail "$name: run.json does not record 2 ranks"
  "$bism" compare -a "$tmp/$name-1" -b "$tmp/$name-2" -tol "$tol" || fail "$name: 2 ranks differ from one process"
  echo "mpi_e2e: ok: $name, 2 ranks = 1 process"
}

pair 1e-5 checkerboard-bissm checkerboard/bissm train.iterations=300 train.eval_every=100
pair 1e-5 checkerboard-dsm checkerboard/dsm train.iterations=300 train.eval_every=100
if have frey; then
  pair 1e-5 frey-bidsm frey/bidsm train.iterations=20 train.eval_every=10 eval.ll=none
else
  echo "mpi_e2e: skip Frey faces (set BISM_DATA to a folder holding frey/; bism data fetch frey)"
fi
if have mnist; then
  pair 1e-3 mnist-bimdsm mnist/bimdsm-cpu method.n=1 train.iterations=3 train.eval_every=3 train.checkpoint_every=3 train.warmup=0
  pair 1e-3 mnist-mdsm mnist/mdsm-cpu train.iterations=3 train.eval_every=3 train.checkpoint_every=3 train.warmup=0
  # Sample scores with the Langevin chains split across the ranks.
  ev=(eval -run "$tmp/mnist-bimdsm-1" -json -quiet -n 100 -steps 10 -probe-n 100)
  "$bism" "${ev[@]}" >"$tmp/deep1.json"
  "${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" "${ev[@]}" >"$tmp/deep2.json"
  # A chain's steps run in a batch of the rank's rows, not the chunk's, and
  # the convolutions' bits may depend on the batch: round-off, so 1e-6.
  python3 - "$tmp/deep1.json" "$tmp/deep2.json" <<'EOF' || fail "deep sample scores under MPI differ from one process"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
bad = [k for k in a if k != "eval_s" and abs(a[k] - b[k]) > 1e-6 * max(abs(a[k]), 1e-3)]
if bad or a.keys() != b.keys():
    sys.exit("differ: " + ", ".join(f"{k}: {a[k]} against {b.get(k)}" for k in bad))
EOF
  echo "mpi_e2e: ok: deep sample scores under MPI = one process"
else
  echo "mpi_e2e: skip MNIST (set BISM_DATA to a folder holding mnist/; bism data fetch mnist)"
fi

# Resume under MPI: 150 then 300 iterations against 300 at once.
cfg=(-config checkerboard/bidsm -set train.eval_every=50 -quiet)
"${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" train "${cfg[@]}" -set train.iterations=300 -out "$tmp/whole"
"${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" train "${cfg[@]}" -set train.iterations=150 -out "$tmp/halves"
"${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" train -resume -set train.iterations=300 -out "$tmp/halves" -quiet
"$bism" compare -a "$tmp/whole" -b "$tmp/halves" -tol 0 || fail "a run resumed under MPI differs from the uninterrupted one"
echo "mpi_e2e: ok: resumed under MPI, bit for bit"

# Evaluation under MPI (the log-likelihood by AIS, chains split across ranks).
"$bism" eval -run "$tmp/whole" -json -set eval.ll=ais -set eval.ais_chains=64 -set eval.ais_betas=200 >"$tmp/eval1.json"
"${mpi[@]}" -np 2 -x GOMAXPROCS=1 "$bism" eval -run "$tmp/whole" -json -set eval.ll=ais -set eval.ais_chains=64 -set eval.ais_betas=200 >"$tmp/eval2.json"
cmp -s <(sed -E 's/"eval_s":[^,}]*,?//' "$tmp/eval1.json") <(sed -E 's/"eval_s":[^,}]*,?//' "$tmp/eval2.json") || { cat "$tmp/eval1.json" "$tmp/eval2.json"; fail "bism eval under MPI differs from one process"; }
echo "mpi_e2e: ok: bism eval under MPI = one process"

# A rank that fails stops every rank, with its reason.
set +e
out=$(timeout 120 "${mpi[@]}" -np 1 "$bism" train "${cfg[@]}" -set train.iterations=100000 -out "$tmp/fails" : \
  -np 1 "$bism" train "${cfg[@]}" -set train.iterations=100000 -set train.batch_size=abc -out "$tmp/fails" 2>&1)
rc=$?
set -e
[ $rc = 124 ] && fail "a failing rank left the job hanging"
[ $rc = 0 ] && fail "a failing rank did not fail the job"
echo "$out" | grep -q "rank 1 of 2 failed" || { echo "$out"; fail "the failing rank did not say why"; }
echo "mpi_e2e: ok: a failing rank stops the job (exit status $rc)"
echo "mpi_e2e: ok"
