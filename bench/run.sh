#!/usr/bin/env bash
# bench/run.sh — tocsin's benchmark: one command for every figure of
# docs/performance.md, each beside its reference measured in the same run.
# Run as root from the repository root:
#
#   bash bench/run.sh                  # full: about 30–45 minutes on 2 cores
#   BENCH_QUICK=1 bash bench/run.sh    # a short trial with smaller sizes (≤ 8 min)
#   BENCH_ONLY=sweep,daemon ...        # only these parts: sweep, daemon, latency, micro
#   BENCH_DAEMON_RUNS="50000:30s:plain" BENCH_ONLY=daemon bash bench/run.sh
#                                      # the daemon at a size of your choice
#   BENCH_DAEMON_SECONDS=300 ...       # a longer daemon run (each run at least 3 intervals)
#
# Parts:
# 1. sweep: fping -c1 against `tocsin check --json`, every host once, wall and
#    CPU (user+sys) of each, replies lost. IPv4 on 127.1.x.y; IPv6 on ::1 and
#    fd00:0:0:1::/64, which a network namespace of the script's own
#    (tocsin-bench6, reached over a veth pair) answers in full (AnyIP).
# 2. daemon: `tocsin run` with half ping, half HTTP targets against
#    bench/httpserver on 100 loopback hosts (127.3.0.1–127.3.0.100), at
#    several sizes and intervals, plain and with 2% of the HTTP targets
#    hanging: CPU, peak RSS, missed intervals, HTTP requests per connection.
#    Also bench/out/growth.svg: CPU per check and peak RSS against targets.
# 3. latency: bench/latency's alert latency and restart figures.
# 4. micro: bench/micro.sh's micro-benchmarks.
#
# Every target is on loopback or in that namespace: nothing leaves the
# machine (the script checks the route before each IPv6 sweep). Every
# command runs under `timeout`, every wait is bounded, and the script stops
# by itself. It puts back what it changed (net.ipv4.ping_group_range, the
# namespace, the veth pair, its routes) on exit. The report (markdown) goes
# to stdout and to bench/out/report.md; the raw figures stay in
# bench/out/raw/.
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
	echo "bench/run.sh: run as root (it installs packages, sets net.ipv4.ping_group_range and creates a network namespace)" >&2
	exit 2
fi

# --- what to run ----------------------------------------------------------------
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-sweep,daemon,latency,micro}
for part in ${ONLY//,/ }; do
	case $part in
	sweep | daemon | latency | micro) ;;
	*)
		echo "bench/run.sh: BENCH_ONLY: unknown part \"$part\" (want sweep, daemon, latency, micro, comma-separated)" >&2
		exit 2
		;;
	esac
done
want() { [[ ,$ONLY, == *",$1,"* ]]; }

# Daemon runs are TARGETS:EVERY:plain|hang; the growth curve is drawn from the
# plain runs at GROWTH_EVERY.
if [[ $QUICK == 1 ]]; then
	RUNS=1
	SWEEP_SIZES=(1000)
	SWEEP6_N=1000
	DAEMON_RUNS_DEFAULT="1000:10s:plain 1000:10s:hang 2000:10s:plain"
	DAEMON_SECONDS=${BENCH_DAEMON_SECONDS:-35}
	GROWTH_EVERY=10s
	RESTART_TARGETS=1000
	LATENCY_N=20
	MICRO_COUNT=1
else
	RUNS=10
	SWEEP_SIZES=(1000 10000)
	SWEEP6_N=10000
	DAEMON_RUNS_DEFAULT="1000:30s:plain 10000:30s:plain 10000:30s:hang 10000:10s:plain 10000:10s:hang 50000:30s:plain"
	DAEMON_SECONDS=${BENCH_DAEMON_SECONDS:-120}
	GROWTH_EVERY=30s
	RESTART_TARGETS=10000
	LATENCY_N=200
	MICRO_COUNT=5
fi
DAEMON_RUNS=${BENCH_DAEMON_RUNS:-$DAEMON_RUNS_DEFAULT}
# The growth-only sizes (not 10,000) run 90 s unless told otherwise: three
# 30 s intervals.
GROWTH_SECONDS=${BENCH_DAEMON_SECONDS:-90}
HTTP_HOSTS=${BENCH_HTTP_HOSTS:-100}
CMD_TIMEOUT=120

# IPv6: the namespace, its veth pair, the prefix it answers, the link.
NS6=tocsin-bench6
VETH_H=tb6h
VETH_N=tb6n
PREFIX6=fd00:0:0:1::
LINK6_H=fd00:0:0:ff::1
LINK6_N=fd00:0:0:ff::2

OUT=bench/out
RAW=$OUT/raw
mkdir -p "$OUT" "$RAW"
NOTES=()
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
note() {
	NOTES+=("$*")
	log "NOTE: $*"
}

# Raw figures without a part's stamp are from an older bench/run.sh, whose
# files the report cannot read: start afresh.
if ! compgen -G "$RAW/*.stamp" >/dev/null; then
	rm -rf "${RAW:?}"/*
fi
# A part run again replaces its own raw figures only, so a report after
# BENCH_ONLY=… still shows the other parts (with the date they were measured).
for part in ${ONLY//,/ }; do
	case $part in
	sweep) rm -f "$RAW"/sweep-* ;;
	daemon) rm -f "$RAW"/daemon-* ;;
	latency) rm -rf "$RAW"/latency* "$RAW"/restart* ;;
	micro) rm -f "$RAW"/micro.md ;;
	esac
	echo "$STARTED $([[ $QUICK == 1 ]] && echo quick || echo full)" >"$RAW/$part.stamp"
done

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
need ip iproute2
if [[ ! -x /usr/bin/time ]]; then need /usr/bin/time time; fi
TIME=/usr/bin/time

GO=$(command -v go || echo /usr/local/go/bin/go)
# Built afresh every run: the tree changes under the benchmark.
log "building tocsin, analyze, httpserver"
"$GO" build -o "$OUT/tocsin" ./cmd/tocsin
"$GO" build -o "$OUT/analyze" ./bench/analyze
"$GO" build -o "$OUT/httpserver" ./bench/httpserver
TOCSIN=$OUT/tocsin
AN=$OUT/analyze
HZ=$(getconf CLK_TCK)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then COMMIT="$COMMIT (with uncommitted changes)"; fi

# --- processes, the sysctl, the namespace, and cleanup -----------------------
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

# net6_down: removes the namespace, the veth pair (its routes go with it)
# and the safety route; quiet about what is not there.
net6_down() {
	ip -6 route del unreachable "${PREFIX6}/64" metric 4000 2>/dev/null || true
	ip link del "$VETH_H" 2>/dev/null || true
	ip netns del "$NS6" 2>/dev/null || true
}

OLD_PGR=$(sysctl -n net.ipv4.ping_group_range | tr -s '\t ' ' ')
BG_PIDS=()
NET6=0
cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		stop_pid "$pid" 10 || true
	done
	BG_PIDS=()
	if [[ $NET6 == 1 ]]; then net6_down; fi
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

# route6_ok: the prefix is routed into the namespace's veth and nowhere
# else; checked before every IPv6 measurement, since a missing route would
# send the echoes out of the machine by the default route.
route6_ok() {
	ip -6 route get "${PREFIX6}1" 2>/dev/null | grep -q " dev $VETH_H "
}

# ip6_step CMD...: one step of net6_up; a NOTE when it fails.
ip6_step() {
	local err
	if ! err=$("$@" 2>&1); then
		note "IPv6 setup: \`$*\` failed: $err"
		return 1
	fi
}

# net6_up: the namespace answers every address of PREFIX6/64 (a local route
# on its loopback: AnyIP) and the host routes the prefix to it over the veth
# pair. nodad makes the link addresses usable at once; one echo proves it.
# It runs as an `if` condition, where set -e does not apply: each step says
# itself whether it failed.
net6_up() {
	net6_down # what an interrupted run may have left
	NET6=1
	# Should the veth route go, the prefix is refused here rather than sent
	# by the default route; this goes first, so nothing is ever sent before.
	ip6_step ip -6 route add unreachable "${PREFIX6}/64" metric 4000 || return 1
	ip6_step ip netns add "$NS6" || return 1
	ip6_step ip link add "$VETH_H" type veth peer name "$VETH_N" netns "$NS6" || return 1
	ip6_step ip -n "$NS6" link set lo up || return 1
	ip6_step ip -n "$NS6" link set "$VETH_N" up || return 1
	ip6_step ip link set "$VETH_H" up || return 1
	ip6_step ip addr add "$LINK6_H/64" dev "$VETH_H" nodad || return 1
	ip6_step ip -n "$NS6" addr add "$LINK6_N/64" dev "$VETH_N" nodad || return 1
	ip6_step ip -n "$NS6" -6 route add local "${PREFIX6}/64" dev lo || return 1
	ip6_step ip -6 route add "${PREFIX6}/64" via "$LINK6_N" dev "$VETH_H" || return 1
	route6_ok || {
		note "IPv6: ${PREFIX6}/64 is not routed to $VETH_H: $(ip -6 route get "${PREFIX6}1" 2>&1)"
		return 1
	}
	local i
	for ((i = 0; i < 20; i++)); do
		if timeout 5 fping -6 -q -c1 -t500 "${PREFIX6}1" "::1" 2>/dev/null; then return 0; fi
		sleep 0.25
	done
	note "IPv6: ${PREFIX6}1 or ::1 did not answer an echo within 5 s"
	return 1
}

# sweep LABEL HOSTFILE N [FPING_FLAG]: RUNS rounds of fping then tocsin check
# over the hosts, into raw/sweep-LABEL-{fping,tocsin}.tsv. (Called as
# `sweep … || true` for IPv6, where set -e does not apply: the set-up steps
# return by themselves.)
sweep() {
	local label=$1 hosts=$2 n=$3 fflag=${4:-} run wall user sys rc lost tool cfg
	# Three forms of tocsin check against the same fping runs (see
	# sweepVariants in bench/analyze): a hosts_file over the shared sockets,
	# one config entry per host, and the hosts_file with one socket per check.
	"$AN" sweep-config -hosts "$hosts" -state "$OUT/sweep.db" -timeout 1s \
		-list "$(pwd)/$OUT/sweep-$label.list" >"$OUT/sweep-$label-tocsin.yaml" || return 1
	"$AN" sweep-config -hosts "$hosts" -state "$OUT/sweep.db" -timeout 1s >"$OUT/sweep-$label-tocsin_targets.yaml" || return 1
	"$AN" sweep-config -hosts "$hosts" -state "$OUT/sweep.db" -timeout 1s -icmp-socket per_check \
		-list "$(pwd)/$OUT/sweep-$label.list" >"$OUT/sweep-$label-tocsin_perchk.yaml" || return 1
	for tool in tocsin tocsin_targets tocsin_perchk; do
		timeout 60 "$TOCSIN" validate --config "$OUT/sweep-$label-$tool.yaml" >/dev/null || return 1
		: >"$RAW/sweep-$label-$tool.tsv"
	done
	: >"$RAW/sweep-$label-fping.tsv"
	for ((run = 1; run <= RUNS; run++)); do
		if [[ $label == v6-* ]] && ! route6_ok; then
			note "sweep $label: the IPv6 route into $NS6 is gone; stopped before run $run"
			return 1
		fi
		log "sweep $label, run $run/$RUNS: fping"
		# shellcheck disable=SC2086 # fflag is empty or one flag
		measure "$OUT/m" fping $fflag -q -c1 -t500 -r0 -i 0 -f "$hosts" 2>"$OUT/fping.err" >/dev/null
		read -r wall user sys rc <"$OUT/m"
		lost=$("$AN" fping-lost -n "$n" -count 1 <"$OUT/fping.err")
		echo "$wall $user $sys $lost $rc" >>"$RAW/sweep-$label-fping.tsv"

		for tool in tocsin tocsin_targets tocsin_perchk; do
			cfg=$OUT/sweep-$label-$tool.yaml
			log "sweep $label, run $run/$RUNS: tocsin check ($tool)"
			measure "$OUT/m" "$TOCSIN" check --config "$cfg" --json >"$OUT/check.json" 2>"$OUT/check.err"
			read -r wall user sys rc <"$OUT/m"
			lost=$("$AN" count-down -n "$n" <"$OUT/check.json")
			echo "$wall $user $sys $lost $rc" >>"$RAW/sweep-$label-$tool.tsv"
			if [[ $rc -ne 0 && $rc -ne 1 ]]; then
				note "tocsin check ($label, $tool, run $run) exited $rc: $(tail -n1 "$OUT/check.err" 2>/dev/null)"
			fi
		done
	done
}

# http_start NAME: bench/httpserver on HTTP_HOSTS loopback addresses
# 127.3.0.1… (port 0 each), counting into $OUT/NAME.stats; sets HTTP_PID and
# leaves the addresses in $OUT/NAME.addrs.
http_start() {
	local name=$1 i list
	rm -f "$OUT/$name.addrs" "$OUT/$name.stats"
	list=$("$AN" hosts -prefix 127.3 -n "$HTTP_HOSTS" | sed 's/$/:0/' | paste -sd, -)
	"$OUT/httpserver" -addr "$list" -addrfile "$OUT/$name.addrs" -stats "$OUT/$name.stats" 2>"$OUT/$name.err" &
	HTTP_PID=$!
	BG_PIDS+=("$HTTP_PID")
	for ((i = 0; i < 100; i++)); do
		[[ -s $OUT/$name.addrs ]] && return 0
		alive "$HTTP_PID" || break
		sleep 0.1
	done
	echo "bench/run.sh: httpserver did not start: $(cat "$OUT/$name.err")" >&2
	exit 1
}

# daemon_config TARGETS EVERY HANG BASE URLS: writes BASE.yaml and
# BASE.names; the state file and results log are BASE.db and BASE.jsonl.
daemon_config() {
	local targets=$1 every=$2 hang=$3 base=$4 urls=$5 port
	local ping=$((targets / 2)) http=$((targets - targets / 2))
	rm -f "$base.jsonl" "$base.db" "$base.db-wal" "$base.db-shm"
	port=$("$AN" freeport)
	"$AN" daemon-config -ping "$ping" -http "$http" -hang "$hang" -urls "$urls" \
		-every "$every" -timeout 5s -listen "127.0.0.1:$port" -state "$base.db" -results-log "$base.jsonl" \
		-names "$base.names" >"$base.yaml"
	timeout 120 "$TOCSIN" validate --config "$base.yaml" >/dev/null
}

# daemon_run TARGETS EVERY plain|hang SECONDS: one `tocsin run` against a
# fresh httpserver, into raw/daemon-tTARGETS-eEVERY-LABEL.tsv.
daemon_run() {
	local targets=$1 every=$2 label=$3 secs=$4
	local name=t$1-e$2-$3 hang=0 base start end pid sample deadline left rc cpu hwm wall found stats
	local checks missed missed_hang late_only
	base=$OUT/daemon-$name
	if [[ $label == hang ]]; then hang=$(((targets - targets / 2) / 50)); fi # 2% of the HTTP targets
	http_start "http-$name"
	daemon_config "$targets" "$every" "$hang" "$base" "$OUT/http-$name.addrs"

	log "daemon $name: $targets targets every $every, $hang on /hang, ${secs}s"
	start=$(date +%s.%N)
	"$TOCSIN" run --config "$base.yaml" >"$base.out" 2>"$base.err" &
	pid=$!
	BG_PIDS+=("$pid")
	# Sleep in 1 s steps so a daemon that dies early is noticed at once; the
	# deadline is on the clock, so a loaded machine does not stretch the run.
	deadline=$(awk -v a="$start" -v s="$secs" 'BEGIN { printf "%.0f", (a + s) * 1000 }') # not %d: mawk caps it at 2^31-1
	while alive "$pid"; do
		left=$((deadline - $(date +%s%3N)))
		((left > 0)) || break
		if ((left >= 1000)); then sleep 1; else sleep "0.$(printf '%03d' "$left")"; fi
	done
	end=$(date +%s.%N)
	sample=""
	if ! alive "$pid" || ! sample=$("$AN" procstat -pid "$pid" -hz "$HZ" 2>&1); then
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		note "daemon $name: tocsin run was gone before the sample (exit $rc${sample:+, $sample}); stderr: $(tail -n1 "$base.err")"
		forget_pid "$pid"
		stop_pid "$HTTP_PID" 10
		return 0
	fi
	stop_pid "$pid" 30
	stop_pid "$HTTP_PID" 10
	read -r cpu hwm <<<"$sample"
	stats="-1 -1 -1 -1"
	if [[ -s $OUT/http-$name.stats ]]; then
		stats=$(head -n1 "$OUT/http-$name.stats")
	else
		note "daemon $name: httpserver wrote no connection counts: $(tail -n1 "$OUT/http-$name.err" 2>/dev/null)"
	fi
	wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	if ! found=$("$AN" missed -log "$base.jsonl" -names "$base.names" \
		-start "$start" -runtime "$wall" -every "$every" -group hang- \
		-detail "$base.missed" 2>&1); then
		note "daemon $name: results log unreadable, every target counted as missed: $found"
		found="0 $targets $hang 0"
	fi
	read -r checks missed missed_hang late_only <<<"$found"
	if [[ -s $base.missed ]]; then
		note "daemon $name: $missed missed, listed with the reason in $base.missed; the first: $(head -n3 "$base.missed" | paste -sd ';' | sed 's/;/; /g')"
	fi
	# What tocsin says of its ICMP sockets at start-up: its key=value fields
	# whose key begins with icmp, whatever the line's wording.
	if [[ -z ${ICMP_LINE:-} ]]; then
		ICMP_LINE=$(cat "$base.err" "$base.out" 2>/dev/null | grep -m1 -i 'icmp' | grep -o -E '(^| )icmp[a-z_]*=[^ ]+' | sed 's/^ //' | paste -sd ' ' - || true)
	fi
	echo "$targets $every $hang $wall $cpu $hwm $checks $missed $missed_hang $late_only $stats" >"$RAW/daemon-$name.tsv"
	echo "start=$start end=$end pid=$pid" >"$RAW/daemon-$name.times"
}

# seconds EVERY: whole seconds of a Go duration of the form Ns or Nm.
seconds() {
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo 30 ;;
	esac
}

# --- 1. ICMP sweep -----------------------------------------------------------
if want sweep; then
	for n in "${SWEEP_SIZES[@]}"; do
		"$AN" hosts -prefix 127.1 -n "$n" >"$OUT/hosts-v4-$n.txt"
		sweep "v4-$n" "$OUT/hosts-v4-$n.txt" "$n"
	done
	log "IPv6: namespace $NS6, ${PREFIX6}/64 over $VETH_H"
	if net6_up; then
		"$AN" hosts6 -prefix "$PREFIX6" -n "$SWEEP6_N" >"$OUT/hosts-v6-$SWEEP6_N.txt"
		sweep "v6-$SWEEP6_N" "$OUT/hosts-v6-$SWEEP6_N.txt" "$SWEEP6_N" -6 || true
	fi
	net6_down
	NET6=0
fi

# --- 2. daemon ---------------------------------------------------------------
if want daemon; then
	for spec in $DAEMON_RUNS; do
		IFS=: read -r targets every label secs <<<"$spec"
		if [[ ! $targets =~ ^[0-9]+$ || ! $every =~ ^[0-9]+[sm]$ || ! $label =~ ^(plain|hang)$ ]]; then
			note "daemon: run \"$spec\" is not TARGETS:EVERY:plain|hang[:SECONDS]; skipped"
			continue
		fi
		if [[ -z $secs ]]; then
			secs=$DAEMON_SECONDS
			if [[ $QUICK != 1 && $targets != 10000 ]]; then secs=$GROWTH_SECONDS; fi
		fi
		# At least three intervals, and a little over, so every target's
		# third result falls inside the run.
		e=$(seconds "$every")
		if ((secs < 3 * e + 2)); then secs=$((3 * e + 2)); fi
		daemon_run "$targets" "$every" "$label" "$secs"
	done
	if "$AN" plot -dir "$RAW" -every "$GROWTH_EVERY" -out "$OUT/growth.svg" 2>"$OUT/plot.err"; then
		if [[ $QUICK != 1 && -z ${BENCH_DAEMON_RUNS:-} ]]; then
			cp "$OUT/growth.svg" docs/performance-growth.svg
		fi
	else
		note "growth plot: $(cat "$OUT/plot.err")"
	fi
fi

# --- 3. alert latency and restart --------------------------------------------
if want latency; then
	if [[ -d bench/latency ]]; then
		if "$GO" build -o "$OUT/latency" ./bench/latency 2>"$OUT/latency-build.err"; then
			mkdir -p "$RAW/latency" "$RAW/restart"
			log "latency: alerts, $LATENCY_N transitions"
			if ! timeout 1800 "$OUT/latency" alerts -tocsin "$TOCSIN" -n "$LATENCY_N" -out "$RAW/latency" \
				>"$RAW/latency-alerts.md" 2>"$OUT/latency-alerts.err"; then
				note "latency alerts failed: $(tail -n2 "$OUT/latency-alerts.err" | paste -sd ' ' -)"
			fi

			log "latency: restart, $RESTART_TARGETS targets every 30s"
			http_start http-restart
			base=$OUT/restart
			daemon_config "$RESTART_TARGETS" 30s 0 "$base" "$OUT/http-restart.addrs"
			cfg=$base.yaml
			rlog=$base.jsonl
			targets=$RESTART_TARGETS
			if ! timeout 1800 "$OUT/latency" restart -tocsin "$TOCSIN" -config "$cfg" -results-log "$rlog" -every 30s -targets "$targets" -runs 3 -out "$RAW/restart" \
				>"$RAW/latency-restart.md" 2>"$OUT/latency-restart.err"; then
				note "latency restart failed: $(tail -n2 "$OUT/latency-restart.err" | paste -sd ' ' -)"
			fi
			stop_pid "$HTTP_PID" 10
		else
			note "bench/latency does not build: $(head -n3 "$OUT/latency-build.err" | paste -sd ' ' -)"
		fi
	else
		note "bench/latency is not in this tree: no alert latency or restart figures"
	fi
fi

# --- 4. micro-benchmarks ------------------------------------------------------
if want micro; then
	if [[ -f bench/micro.sh ]]; then
		log "micro-benchmarks, MICRO_COUNT=$MICRO_COUNT"
		if ! MICRO_COUNT=$MICRO_COUNT timeout 2400 bash bench/micro.sh >"$RAW/micro.md" 2>"$OUT/micro.err"; then
			note "bench/micro.sh failed: $(tail -n2 "$OUT/micro.err" | paste -sd ' ' -)"
		fi
	else
		note "bench/micro.sh is not in this tree: no micro-benchmarks"
	fi
fi

# --- report ------------------------------------------------------------------
# fragment FILE: a part's markdown as it printed it, if it printed any.
fragment() {
	if [[ -s $1 ]]; then
		echo
		cat "$1"
	fi
}
stamp() { cat "$RAW/$1.stamp" 2>/dev/null || echo "not measured"; }
{
	echo "## tocsin benchmark, $STARTED"
	echo
	echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)"
	echo "- $("$GO" version), $(fping -v 2>&1 | head -n1), tocsin at $COMMIT"
	echo "- command: \`$([[ $QUICK == 1 ]] && echo "BENCH_QUICK=1 ")${BENCH_ONLY:+BENCH_ONLY=$BENCH_ONLY }${BENCH_DAEMON_RUNS:+BENCH_DAEMON_RUNS=\"$BENCH_DAEMON_RUNS\" }${BENCH_DAEMON_SECONDS:+BENCH_DAEMON_SECONDS=$BENCH_DAEMON_SECONDS }bash bench/run.sh\`"
	echo "- parts measured (UTC start, mode): sweep $(stamp sweep); daemon $(stamp daemon); latency $(stamp latency); micro $(stamp micro)"
	echo "- sweep: $RUNS run(s) per row; fping: \`fping -q -c1 -t500 -r0 -i 0 -f LIST\` (\`-6\` for IPv6); tocsin: \`tocsin check --config CFG --json\` (count 1, timeout 1s; CFG in the three forms the table names: a \`hosts_file\`, one entry per host, the \`hosts_file\` with \`icmp_socket: per_check\`). IPv6 hosts: ::1 and ${PREFIX6}1… in network namespace $NS6 (AnyIP on its loopback, reached over veth $VETH_H)"
	echo "- daemon: \`tocsin run\`, half ping targets (127.2.x.y), half HTTP targets spread over $HTTP_HOSTS bench/httpserver hosts (127.3.0.1–…), timeout 5s; $([[ $QUICK == 1 ]] && echo "${DAEMON_SECONDS}s per run" || echo "${DAEMON_SECONDS}s at 10,000 targets, ${GROWTH_SECONDS}s at the other sizes"), at least 3 intervals; runs: $DAEMON_RUNS"
	if [[ -n ${ICMP_LINE:-} ]]; then echo "- tocsin's ICMP sockets (its start-up log): \`$ICMP_LINE\`"; fi
	echo
	"$AN" report -dir "$RAW"
	if [[ -s $OUT/growth.svg && -f $RAW/daemon.stamp ]]; then
		echo
		echo "Growth (plain runs at every $GROWTH_EVERY): ![CPU ms per 1,000 checks and peak RSS against targets](growth.svg) — bench/out/growth.svg$([[ $QUICK != 1 && -z ${BENCH_DAEMON_RUNS:-} ]] && echo ", copied to docs/performance-growth.svg")"
	fi
	fragment "$RAW/latency-alerts.md"
	fragment "$RAW/latency-restart.md"
	if [[ -s $RAW/micro.md ]]; then
		echo
		echo "### Micro-benchmarks (bench/micro.sh, MICRO_COUNT=$MICRO_COUNT)"
		fragment "$RAW/micro.md"
	fi
	if ((${#NOTES[@]} > 0)); then
		echo
		echo "Notes:"
		for note in "${NOTES[@]}"; do echo "- $note"; done
	fi
} | tee "$OUT/report.md"
