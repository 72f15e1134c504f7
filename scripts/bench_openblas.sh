#!/usr/bin/env bash
# bench_openblas.sh: sgemm GFLOP/s of every internal/blas back end side by
# side (docs/PERFORMANCE.md, "Matrix products"). Prints the raw `go test`
# output to $OUT (default /tmp/blas-bench) and a best-of-count summary.
#
#   scripts/bench_openblas.sh            # COUNT=5 by default
#   COUNT=10 scripts/bench_openblas.sh
#
# OpenBLAS needs `apt-get install -y libopenblas-dev`; without it that
# column is skipped. Debian's OpenBLAS 0.3.21 does not recognise recent Xeons
# (CPU model 207) and falls back to its SSE3 "Prescott" kernels, so it is
# run both as detected and with OPENBLAS_CORETYPE=SkylakeX (AVX-512).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
OUT=${OUT:-/tmp/blas-bench}
mkdir -p "$OUT"
pkg=./internal/blas

run() { # name, env..., -- go test args...
	local name=$1; shift
	local envs=()
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	echo "== $name" >&2
	env "${envs[@]}" go test "$pkg" -run xxx -count "$COUNT" "$@" | tee "$OUT/$name.txt" | grep -E '^Benchmark' >&2 || true
}

for threads in 2 1; do
	t="GOMAXPROCS=$threads"
	o="OPENBLAS_NUM_THREADS=$threads"
	[[ $threads == 2 ]] && t="GOMAXPROCS=$(nproc)" && o="OPENBLAS_NUM_THREADS=$(nproc)"
	run "default-p$threads" "$t" -- -bench 'Sgemm//(avx512-12x32|avx2|go-)'
	run "purego-p$threads" "$t" -- -tags purego -bench 'Sgemm'
	if GOEXPERIMENT=simd go vet "$pkg" 2>/dev/null; then
		run "simd-p$threads" GOEXPERIMENT=simd "$t" -- -bench 'Sgemm//archsimd'
	fi
	if [[ -e /usr/include/x86_64-linux-gnu/cblas.h || -e /usr/include/cblas.h ]] || ls /usr/include/*/cblas*.h >/dev/null 2>&1; then
		run "openblas-detected-p$threads" "$t" "$o" -- -tags openblas -bench 'Sgemm//openblas'
		run "openblas-skylakex-p$threads" "$t" "$o" OPENBLAS_CORETYPE=SkylakeX -- -tags openblas -bench 'Sgemm//openblas'
	else
		echo "== openblas: libopenblas-dev not installed, skipped" >&2
	fi
done

# Summary: best GFLOP/s over the -count runs for each benchmark and build.
echo
printf '%-28s %-44s %8s\n' build benchmark GFLOP/s
for f in "$OUT"/*.txt; do
	awk -v build="$(basename "$f" .txt)" '
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s" && $i + 0 > best[name]) best[name] = $i + 0
		}
		END { for (n in best) printf "%-28s %-44s %8.1f\n", build, n, best[n] }' "$f"
done | sort
