#!/usr/bin/env bash
# Training speed of the GRBM experiments against the PyTorch baseline
# (scripts/torch_grbm_step.py, the authors' algorithm) on this machine, in
# the same minutes (docs/PERFORMANCE.md).
#
#   scripts/bench.sh [ROUNDS] [SCALE]
#
# Each round times every workload four ways, one after the other: bism on 1
# core (GOMAXPROCS=1), bism on 2, PyTorch with 1 thread, PyTorch with 2.
# The table gives the median and range over ROUNDS (default 3) of ms per
# training iteration, the baseline's faster thread setting, and the ratios
# baseline / bism and bism 1 core / 2 cores, and the most two cores could
# give the workload here: two independent one-core copies of it run at once
# against one alone (`bism bench -copies 2`; cores that share caches,
# memory or a host may give less than 2x), and each process's peak resident
# memory. SCALE (default 1) multiplies
# the iteration counts: `scripts/bench.sh 1 0.05` is a smoke test.
# The baseline needs python3 with torch (Debian: python3-torch and
# libopenblas-dev); without it those columns read "-". Debian's OpenBLAS
# 0.3.21 does not recognise recent CPUs and falls back to SSE3 kernels, so
# unless OPENBLAS_CORETYPE is set, the script sets it to SkylakeX on
# AVX-512 machines and Haswell on AVX2 ones: the baseline gets its fastest
# BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
scale=${2:-1}
py=${BISM_BENCH_PYTHON:-/usr/bin/python3}
mkdir -p runs
go build -o runs/bism ./cmd/bism

torch=no
if "$py" -c 'import torch' 2>/dev/null; then torch=yes; fi
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
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores," \
  "$(grep -m1 -o -w -E 'avx512f' /proc/cpuinfo || grep -m1 -o -w 'avx2' /proc/cpuinfo || echo 'no AVX2')"
echo "bism: $(git describe --always --dirty 2>/dev/null || echo unknown), $(go version | cut -d' ' -f3-)"
if [ $torch = yes ]; then
  # Debian's torch calls whichever libblas.so.3 the alternatives system selects.
  blas=$(readlink -f /usr/lib/*-linux-gnu/libblas.so.3 2>/dev/null | head -1)
  echo "torch: $("$py" -c 'import torch; print(torch.__version__)'), BLAS ${blas:-unknown}, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-}"
else
  echo "torch: not found ($py); baseline columns skipped"
fi
echo "rounds: $rounds, iteration scale: $scale"
echo

its() { awk -v n="$1" -v s="$scale" 'BEGIN{k=int(n*s); if(k<2)k=2; print k}'; }
# stats "v1 v2 ...": median [min-max]
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3g [%.3g-%.3g]", m, a[1], a[NR]}'; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

workloads=(
  "checkerboard-bissm checkerboard/bissm 400"
  "checkerboard-bidsm checkerboard/bidsm 400"
  "checkerboard-dsm checkerboard/dsm 2000"
  "checkerboard-ssm checkerboard/ssm 2000"
  "checkerboard-cd1 checkerboard/cd1 2000"
  "checkerboard-cd5 checkerboard/cd5 2000"
  "frey-bidsm frey/bidsm 20"
  "frey-bissm frey/bissm 20"
  "frey-dsm frey/dsm 100"
  "frey-ssm frey/ssm 100"
  "frey-cd1 frey/cd1 100"
  "ais-2000x200 - 200"
)
copies=no
if [ "$(nproc)" -ge 2 ]; then copies=yes; fi
declare -A b1 b2 t1 t2 cc rb rt
for r in $(seq "$rounds"); do
  for w in "${workloads[@]}"; do
    read -r name cfg n <<<"$w"
    n=$(its "$n")
    for p in 1 2; do
      if [ "$cfg" = - ]; then # AIS, 2000 chains x n temperatures, seconds
        out=$(GOMAXPROCS=$p go test ./eval -run XXX -bench "AISFrey/betas=200\$" -benchtime 1x | grep 's/run')
        ms=$(sed -E 's/.* ([0-9.]+) s\/run.*/\1/' <<<"$out")
        rss=$(sed -n -E 's/.* ([0-9.]+) MiB-peak-RSS.*/\1/p' <<<"$out")
      else
        out=$(GOMAXPROCS=$p runs/bism bench -config "$cfg" -iterations "$n" -warmup 3 -json)
        ms=$(sed -E 's/.*"ms_per_iter":([0-9.eE+-]+).*/\1/' <<<"$out")
        rss=$(sed -n -E 's/.*"peak_rss_mib":([0-9.eE+-]+).*/\1/p' <<<"$out")
      fi
      if [ $p = 1 ]; then b1[$name]+=" $ms"; else b2[$name]+=" $ms"; fi
      rb[$name]+=" ${rss:-}"
    done
    if [ $copies = yes ] && [ "$cfg" != - ]; then
      cc[$name]+=" $(GOMAXPROCS=2 runs/bism bench -config "$cfg" -iterations "$n" -warmup 3 -copies 2 -json |
        sed -E 's/.*"throughput_ratio":([0-9.eE+-]+).*/\1/')"
    fi
    if [ $torch = yes ]; then
      for th in 1 2; do
        if [ "$cfg" = - ]; then
          out=$("$py" scripts/torch_ais.py 2000 200 "$th")
          ms=$(sed -E 's/.*: ([0-9.]+) s .*/\1/' <<<"$out")
        else
          out=$("$py" scripts/torch_grbm_step.py "$name" "$n" "$th")
          ms=$(sed -E 's/.*: ([0-9.]+) ms .*/\1/' <<<"$out")
        fi
        if [ $th = 1 ]; then t1[$name]+=" $ms"; else t2[$name]+=" $ms"; fi
        rt[$name]+=" $(sed -n -E 's/.*peak resident set ([0-9.]+) MiB.*/\1/p' <<<"$out")"
      done
    fi
  done
  echo "round $r of $rounds done" >&2
done

# peak "v1 v2 ...": the largest, or - when none was measured
peak() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -1 | awk '{printf "%.0f", $1} END{if(NR==0) printf "-"}'; }
echo "| workload | bism 1 core | bism 2 cores | 2 cores / 1 | at most | PyTorch 1 thread | PyTorch 2 threads | PyTorch best / bism best | peak MiB, bism / PyTorch |"
echo "|---|---|---|---|---|---|---|---|---|"
for w in "${workloads[@]}"; do
  read -r name _ _ <<<"$w"
  m1=$(median "${b1[$name]}"); m2=$(median "${b2[$name]}")
  best=$(awk -v a="$m1" -v b="$m2" 'BEGIN{print (a<b)?a:b}')
  scal=$(awk -v a="$m1" -v b="$m2" 'BEGIN{printf "%.2fx", a/b}')
  ceil=-
  if [ -n "${cc[$name]:-}" ]; then ceil=$(awk -v c="$(median "${cc[$name]}")" 'BEGIN{printf "%.2fx", c}'); fi
  if [ $torch = yes ]; then
    r1=$(median "${t1[$name]}"); r2=$(median "${t2[$name]}")
    ref=$(awk -v a="$r1" -v b="$r2" 'BEGIN{print (a<b)?a:b}')
    printf "| %s | %s | %s | %s | %s | %s | %s | %.1fx | %s / %s |\n" "$name" "$(stats "${b1[$name]}")" "$(stats "${b2[$name]}")" \
      "$scal" "$ceil" "$(stats "${t1[$name]}")" "$(stats "${t2[$name]}")" "$(awk -v r="$ref" -v b="$best" 'BEGIN{print r/b}')" \
      "$(peak "${rb[$name]}")" "$(peak "${rt[$name]}")"
  else
    printf "| %s | %s | %s | %s | %s | - | - | - | %s / - |\n" "$name" "$(stats "${b1[$name]}")" "$(stats "${b2[$name]}")" "$scal" "$ceil" "$(peak "${rb[$name]}")"
  fi
done
echo
echo "ms per training iteration (AIS: seconds per run, 2000 chains x 200 temperatures, Frey-size GRBM), median [range] over $rounds rounds;"
echo "at most: two one-core copies at once against one alone, the median over the rounds (the ceiling for two cores here)."
echo "peak MiB: the most memory each process held resident (bism bench: data, model, warm-up and timed iterations; AIS: the benchmark's test binary),"
echo "the largest over the rounds and over 1 and 2 cores (bism) or threads (PyTorch)."
