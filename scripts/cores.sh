#!/usr/bin/env bash
# bism's speed on two cores against one, round by round, with the state of
# the machine each round ran in (docs/PERFORMANCE.md).
#
#   scripts/cores.sh [-r ROUNDS] [-i ITERATIONS] [CONFIG...]
#
# Each round times every CONFIG (default: frey/bidsm frey/bissm) with
# `bism bench` at GOMAXPROCS=1 and then 2 (the run keeps the faster of one
# core and two, as training does), and before and after the round measures
# the hand-over round trip between the two cores (BenchmarkHandOver/
# roundtrip in internal/parallel: a counter bounced between two goroutines).
# On a shared virtual machine that round trip tells the machine's state
# apart: a few hundred nanoseconds when the host leaves the two cores
# alone, about a microsecond when it is busy, and a step split over two
# cores gains less in the busy stretches. A round is "quiet" when both of
# its readings are under 500 ns. The summary gives, for every config, the
# median and range of the ratio (1 core / 2 cores) and the ratio of the
# fastest times (the host only ever adds time), over all rounds and over the
# quiet ones. ROUNDS defaults to 10, ITERATIONS (per timing) to 100.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=10
iters=100
while getopts r:i: opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    i) iters=$OPTARG ;;
    *) echo "usage: $0 [-r ROUNDS] [-i ITERATIONS] [CONFIG...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(frey/bidsm frey/bissm)
if [ "$(nproc)" -lt 2 ]; then
  echo "cores.sh: this machine has $(nproc) core; it compares one core with two" >&2
  exit 1
fi
mkdir -p runs
go build -o runs/bism ./cmd/bism
go test -c -o runs/parallel.test ./internal/parallel

roundtrip() {
  runs/parallel.test -test.run XXX -test.bench 'HandOver/roundtrip' -test.benchtime 200000x |
    awk '/roundtrip/ {print $3}'
}
ms() { # GOMAXPROCS config -> ms per iteration
  GOMAXPROCS=$1 runs/bism bench -config "$2" -iterations "$iters" -json |
    sed -n 's/.*"ms_per_iter": *\([0-9.eE+-]*\).*/\1/p'
}
# summary "r1 r2 ..." "one1 one2 ..." "two1 two2 ...": the ratios' count,
# median and range, and the ratio of the fastest one-core and two-core times
summary() {
  [ -n "$1" ] || { echo none; return; }
  local fast1 fast2
  fast1=$(tr ' ' '\n' <<<"$2" | grep . | sort -g | head -1)
  fast2=$(tr ' ' '\n' <<<"$3" | grep . | sort -g | head -1)
  tr ' ' '\n' <<<"$1" | grep . | sort -g |
    awk -v f1="$fast1" -v f2="$fast2" '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%d rounds, median %.2fx [%.2f-%.2f], fastest times %.2fx (%.2f / %.2f ms)\n", NR, m, a[1], a[NR], f1/f2, f1, f2}'
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "bism: $(git describe --always --dirty 2>/dev/null || echo unknown), $(go version | cut -d' ' -f3-)"
echo "rounds: $rounds, iterations per timing: $iters"
echo
declare -A all quiet ones twos quiet_ones quiet_twos
printf '%-9s %9s' time "rt (ns)"
for c in "${configs[@]}"; do printf '  %-26s' "$c 1c/2c (ms)"; done
echo
for r in $(seq "$rounds"); do
  t=$(date -u +%H:%M:%S)
  before=$(roundtrip)
  line=""
  declare -A ratio=() one=() two=()
  for c in "${configs[@]}"; do
    one[$c]=$(ms 1 "$c")
    two[$c]=$(ms 2 "$c")
    ratio[$c]=$(awk -v a="${one[$c]}" -v b="${two[$c]}" 'BEGIN{printf "%.3f", a/b}')
    line+=$(printf '  %6.2f / %6.2f = %5.2fx   ' "${one[$c]}" "${two[$c]}" "${ratio[$c]}")
  done
  after=$(roundtrip)
  q=$(awk -v a="$before" -v b="$after" 'BEGIN{print (a < 500 && b < 500) ? "quiet" : ""}')
  printf '%-9s %4.0f %4.0f%s %s\n' "$t" "$before" "$after" "$line" "$q"
  for c in "${configs[@]}"; do
    all[$c]+=" ${ratio[$c]}" ones[$c]+=" ${one[$c]}" twos[$c]+=" ${two[$c]}"
    if [ -n "$q" ]; then
      quiet[$c]+=" ${ratio[$c]}" quiet_ones[$c]+=" ${one[$c]}" quiet_twos[$c]+=" ${two[$c]}"
    fi
  done
done
echo
for c in "${configs[@]}"; do
  echo "$c, 1 core / 2 cores: all $(summary "${all[$c]}" "${ones[$c]}" "${twos[$c]}");" \
    "quiet $(summary "${quiet[$c]:-}" "${quiet_ones[$c]:-}" "${quiet_twos[$c]:-}")"
done
