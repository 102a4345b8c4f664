#!/usr/bin/env bash
# bench/run.sh — tocsin's benchmark. Run as root from the repository root:
#
#   bash bench/run.sh                 # full: 10 runs, 1,000 and 10,000 hosts, 2×120 s daemon
#   BENCH_QUICK=1 bash bench/run.sh   # 1 run, 1,000 hosts, 2×30 s daemon with 1,000 targets
#   BENCH_DAEMON_SECONDS=300 ...      # a longer daemon run
#
# 1. ICMP sweep: fping -c1 against `tocsin check --json`, every host once,
#    wall and CPU (user+sys) of each, replies lost.
# 2. Daemon: `tocsin run` with half ping, half HTTP targets every 30 s against
#    bench/httpserver, as is and with 2% of the HTTP targets hanging; CPU,
#    peak RSS, and how many targets missed an interval.
#
# Every target is on loopback (127.1.x.y, 127.2.x.y, 127.0.0.1): nothing leaves
# the machine. Every command runs under `timeout`, every wait is bounded, and
# the script stops by itself. The report (markdown) goes to stdout and to
# bench/out/report.md; the raw figures stay in bench/out/raw/.
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
	echo "bench/run.sh: run as root (it installs packages and sets net.ipv4.ping_group_range)" >&2
	exit 2
fi

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
	RUNS=1
	SIZES=(1000)
	DAEMON_SECONDS=${BENCH_DAEMON_SECONDS:-30}
	DAEMON_PING=500
	DAEMON_HTTP=500
else
	RUNS=10
	SIZES=(1000 10000)
	DAEMON_SECONDS=${BENCH_DAEMON_SECONDS:-120}
	DAEMON_PING=5000
	DAEMON_HTTP=5000
fi
DAEMON_HANG=$((DAEMON_HTTP / 50)) # 2% of the HTTP targets
EVERY=30s
CMD_TIMEOUT=120

OUT=bench/out
RAW=$OUT/raw
mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
NOTES=()

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# --- tools ------------------------------------------------------------------
apt_updated=0
need() { # need COMMAND PACKAGE
	if command -v "$1" >/dev/null 2>&1; then return 0; fi
	log "installing $2"
	if [[ $apt_updated == 0 ]]; then
		timeout 300 apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq "$2" >/dev/null
}
need fping fping
if [[ ! -x /usr/bin/time ]]; then need /usr/bin/time time; fi
TIME=/usr/bin/time

GO=$(command -v go || echo /usr/local/go/bin/go)
log "building tocsin, analyze, httpserver"
"$GO" build -o "$OUT/tocsin" ./cmd/tocsin
"$GO" build -o "$OUT/analyze" ./bench/analyze
"$GO" build -o "$OUT/httpserver" ./bench/httpserver
TOCSIN=$OUT/tocsin
AN=$OUT/analyze
HZ=$(getconf CLK_TCK)

# --- the sysctl, and cleanup ----------------------------------------------
# alive PID: the process runs (kill -0 alone would also accept a zombie that
# exited but was not yet reaped by wait).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && ${st:0:1} != Z ]]
}

# stop_pid PID SECONDS: SIGTERM, wait up to SECONDS for it to go, then SIGKILL;
# reaps it.
stop_pid() {
	local pid=$1 limit=$2 i
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < limit * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
	fi
	if alive "$pid"; then
		log "pid $pid did not stop within ${limit}s; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

# forget_pid PID: drop a reaped PID from BG_PIDS, so cleanup never signals a
# number the kernel may since have given to another process.
forget_pid() {
	local keep=() p
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

OLD_PGR=$(sysctl -n net.ipv4.ping_group_range | tr -s '\t ' ' ')
BG_PIDS=()
cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		stop_pid "$pid" 10 || true
	done
	BG_PIDS=()
	sysctl -qw net.ipv4.ping_group_range="$OLD_PGR" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# measure FILE CMD...: runs CMD under timeout and /usr/bin/time; leaves
# "wall user sys rc" in FILE. GNU time writes "Command exited with non-zero
# status N" before the figures when CMD fails, so the figures are the last line.
measure() {
	local file=$1 rc=0
	shift
	"$TIME" -f "%e %U %S" -o "$file.time" timeout "$CMD_TIMEOUT" "$@" || rc=$?
	echo "$(tail -n1 "$file.time") $rc" >"$file"
}

# --- 1. ICMP sweep -----------------------------------------------------------
for n in "${SIZES[@]}"; do
	hosts=$OUT/hosts-$n.txt
	cfg=$OUT/sweep-$n.yaml
	"$AN" hosts -prefix 127.1 -n "$n" >"$hosts"
	"$AN" sweep-config -hosts "$hosts" -state "$OUT/sweep.db" -timeout 1s >"$cfg"
	timeout 60 "$TOCSIN" validate --config "$cfg" >/dev/null
	: >"$RAW/sweep-$n-fping.tsv"
	: >"$RAW/sweep-$n-tocsin.tsv"
	for ((run = 1; run <= RUNS; run++)); do
		log "sweep $n hosts, run $run/$RUNS: fping"
		measure "$OUT/m" fping -q -c1 -t500 -r0 -i 0 -f "$hosts" 2>"$OUT/fping.err" >/dev/null
		read -r wall user sys rc <"$OUT/m"
		lost=$("$AN" fping-lost -n "$n" -count 1 <"$OUT/fping.err")
		echo "$wall $user $sys $lost $rc" >>"$RAW/sweep-$n-fping.tsv"

		log "sweep $n hosts, run $run/$RUNS: tocsin check"
		measure "$OUT/m" "$TOCSIN" check --config "$cfg" --json >"$OUT/check.json" 2>"$OUT/check.err"
		read -r wall user sys rc <"$OUT/m"
		lost=$("$AN" count-down -n "$n" <"$OUT/check.json")
		echo "$wall $user $sys $lost $rc" >>"$RAW/sweep-$n-tocsin.tsv"
		if [[ $rc -ne 0 && $rc -ne 1 ]]; then
			NOTES+=("tocsin check ($n hosts, run $run) exited $rc: $(tail -n1 "$OUT/check.err" 2>/dev/null)")
		fi
	done
done

# --- 2. daemon ---------------------------------------------------------------
rm -f "$OUT/http.addr"
"$OUT/httpserver" -addr 127.0.0.1:0 -addrfile "$OUT/http.addr" 2>"$OUT/httpserver.err" &
HTTP_PID=$!
BG_PIDS+=("$HTTP_PID")
for ((i = 0; i < 100; i++)); do
	[[ -s $OUT/http.addr ]] && break
	sleep 0.1
done
if [[ ! -s $OUT/http.addr ]]; then
	echo "bench/run.sh: httpserver did not start: $(cat "$OUT/httpserver.err")" >&2
	exit 1
fi
HTTP_URL="http://$(cat "$OUT/http.addr")"

for label in plain hang; do
	hang=0
	if [[ $label == hang ]]; then hang=$DAEMON_HANG; fi
	targets=$((DAEMON_PING + DAEMON_HTTP))
	cfg=$OUT/daemon-$label.yaml
	rlog=$OUT/daemon-$label.jsonl
	db=$OUT/daemon-$label.db
	rm -f "$rlog" "$db" "$db-wal" "$db-shm"
	port=$("$AN" freeport)
	"$AN" daemon-config -ping "$DAEMON_PING" -http "$DAEMON_HTTP" -hang "$hang" -url "$HTTP_URL" \
		-every "$EVERY" -timeout 5s -listen "127.0.0.1:$port" -state "$db" -results-log "$rlog" \
		-names "$OUT/daemon-$label.names" >"$cfg"
	timeout 60 "$TOCSIN" validate --config "$cfg" >/dev/null

	log "daemon ($label): $targets targets, $hang on /hang, ${DAEMON_SECONDS}s"
	start=$(date +%s.%N)
	"$TOCSIN" run --config "$cfg" >"$OUT/daemon-$label.out" 2>"$OUT/daemon-$label.err" &
	pid=$!
	BG_PIDS+=("$pid")
	# Sleep in 1 s steps so a daemon that dies early is noticed at once.
	for ((s = 0; s < DAEMON_SECONDS; s++)); do
		alive "$pid" || break
		sleep 1
	done
	end=$(date +%s.%N)
	sample=""
	if ! alive "$pid" || ! sample=$("$AN" procstat -pid "$pid" -hz "$HZ" 2>&1); then
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		NOTES+=("daemon ($label): tocsin run was gone before the sample (exit $rc${sample:+, $sample}); stderr: $(tail -n1 "$OUT/daemon-$label.err")")
		forget_pid "$pid"
		continue
	fi
	stop_pid "$pid" 30
	read -r cpu hwm <<<"$sample"
	wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	if ! found=$("$AN" missed -log "$rlog" -names "$OUT/daemon-$label.names" \
		-start "$start" -runtime "$wall" -every "$EVERY" -group hang- \
		-detail "$OUT/daemon-$label.missed" 2>&1); then
		NOTES+=("daemon ($label): results log unreadable, every target counted as missed: $found")
		found="0 $targets $hang 0"
	fi
	read -r checks missed missed_hang late_only <<<"$found"
	if [[ -s $OUT/daemon-$label.missed ]]; then
		NOTES+=("daemon ($label): $missed missed, listed with the reason in $OUT/daemon-$label.missed; the first: $(head -n3 "$OUT/daemon-$label.missed" | paste -sd ';' | sed 's/;/; /g')")
	fi
	echo "$targets $hang $wall $cpu $hwm $checks $missed $missed_hang $late_only" >"$RAW/daemon-$label.tsv"
	echo "start=$start end=$end pid=$pid" >"$RAW/daemon-$label.times"
done
stop_pid "$HTTP_PID" 10

# --- report ------------------------------------------------------------------
{
	echo "## tocsin benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)"
	echo "- $("$GO" version), $(fping -v 2>&1 | head -n1)"
	echo "- mode: $([[ $QUICK == 1 ]] && echo quick || echo full), $RUNS run(s) per sweep, daemon ${DAEMON_SECONDS}s per run"
	echo "- fping: \`fping -q -c1 -t500 -r0 -i 0 -f LIST\`; tocsin: \`tocsin check --config CFG --json\` (one ping target per host, count 1, timeout 1s, max_concurrent default)"
	echo
	"$AN" report -dir "$RAW"
	if ((${#NOTES[@]} > 0)); then
		echo
		echo "Notes:"
		for note in "${NOTES[@]}"; do echo "- $note"; done
	fi
} | tee "$OUT/report.md"
