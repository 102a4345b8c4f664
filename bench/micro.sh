#!/usr/bin/env bash
# bench/micro.sh — tocsin's micro-benchmarks of the hot paths: the state
# machine step (state, state/sqlite), result recording (resultslog,
# state/sqlite) and message rendering (notify, its console, Slack and
# Discord). Run from anywhere in the repository:
#
#   bash bench/micro.sh                  # 5 runs of each benchmark
#   MICRO_COUNT=10 bash bench/micro.sh   # more runs, steadier medians
#   MICRO_BENCH=Observe bash bench/micro.sh   # only the benchmarks matching
#
# Everything runs on loopback and temp files: no network, no root. The raw
# `go test` output goes to bench/out/micro.txt; a markdown table (median
# ns/op over the runs, B/op and allocs/op of the last run) goes to stdout.
# It exits nonzero when a benchmark fails or the run takes more than
# `go test -timeout` (10 minutes a package).
set -euo pipefail

cd "$(dirname "$0")/.."

COUNT=${MICRO_COUNT:-5}
BENCH=${MICRO_BENCH:-.}
PKGS=(./state/... ./resultslog/ ./notify/...)
OUT=bench/out
RAW=$OUT/micro.txt

if ! [[ $COUNT =~ ^[1-9][0-9]*$ ]]; then
	echo "bench/micro.sh: MICRO_COUNT must be a positive integer, not '$COUNT'" >&2
	exit 2
fi
mkdir -p "$OUT"

echo "bench/micro.sh: go test -run '^\$' -bench '$BENCH' -benchmem -count $COUNT ${PKGS[*]}" >&2
status=0
go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -timeout 10m "${PKGS[@]}" >"$RAW" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
	echo "bench/micro.sh: go test failed (exit $status); its output:" >&2
	# All but the lines of the benchmarks that ran well.
	grep -v -E '^(Benchmark.* ns/op|goos:|goarch:|pkg:|cpu:|PASS$|ok )' "$RAW" | tail -n 60 >&2 || true
	echo "bench/micro.sh: raw output in $RAW" >&2
	exit 1
fi

# The table: one row per package and benchmark, in the order they ran.
# A line of the raw output is
#   BenchmarkName-2   123   456.7 ns/op   [x unit]...   89 B/op   3 allocs/op
# with the package named by the "pkg:" line before it.
awk -v count="$COUNT" '
function median(key,    n, i, j, t, a) {
	n = split(samples[key], a, " ")
	for (i = 2; i <= n; i++) {
		t = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmtns(v) {
	if (v >= 100) return sprintf("%.0f", v)
	if (v >= 10) return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}
/^pkg: / { pkg = $2; sub(/^github\.com\/tocsin\/tocsin\//, "", pkg) }
/^Benchmark/ && / ns\/op/ {
	name = $1
	sub(/^Benchmark/, "", name)
	sub(/-[0-9]+$/, "", name)
	key = pkg SUBSEP name
	if (!(key in samples)) { order[++rows] = key; pkgof[key] = pkg; nameof[key] = name }
	for (i = 3; i < NF; i++) {
		if ($(i + 1) == "ns/op") samples[key] = samples[key] " " $i
		else if ($(i + 1) == "B/op") bytes[key] = $i
		else if ($(i + 1) == "allocs/op") allocs[key] = $i
	}
	runs[key]++
}
END {
	if (rows == 0) { print "bench/micro.sh: no benchmark results" > "/dev/stderr"; exit 1 }
	printf "| package | benchmark | ns/op (median of %d) | B/op | allocs/op |\n", count
	print "|---|---|---:|---:|---:|"
	for (r = 1; r <= rows; r++) {
		k = order[r]
		b = (k in bytes) ? bytes[k] : "-"
		a = (k in allocs) ? allocs[k] : "-"
		printf "| %s | %s | %s | %s | %s |\n", pkgof[k], nameof[k], fmtns(median(k)), b, a
	}
}' "$RAW"
echo >&2
echo "bench/micro.sh: raw output in $RAW" >&2
