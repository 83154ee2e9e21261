#!/usr/bin/env bash
# Collector speed against a bare net/http handler, with an external load
# process (Debian's wrk: 1 thread, 64 connections), in one run: a snippet page
# view from a returning visitor (signed cookie, Origin, a Chrome user agent).
# Every server is its own process, kfake (the broker) too; each one's CPU
# (utime+stime from /proc) is read around each wrk run. Variants alternate
# within a round, so both sides of a ratio share the machine's load.
# Writes the figures with this command into docs/benchmarks.md's collector
# section unless BENCH_NO_WRITE=1.
#   scripts/bench-collector.sh [seconds per run, default 10] [rounds, default 3]
# BENCH_VARIANTS (default "collector-spool collector bare": the product's default,
# the wait for Kafka, the baseline), any of:
#   collector         -spool-dir none: every request waits for the kafka-go
#                     producer's round, kfake in its own process
#   collector-spool   the product's default: events acknowledged from the
#                     on-disk spool (default fsync policy), drained to Kafka
#   collector-spool-alt  collector-spool with the extra flags $BENCH_SPOOL_ALT
#                     (e.g. "-spool-linger 2ms"), to compare a setting paired
#   collector-inproc  kfake inside the collector's process (the old set-up)
#   collector-gogc100 the collector with Go's default GC target (GOGC=100)
#   before            the collector's product code (pkg/) of commit $BENCH_BEFORE
#                     with this tree's benchmark servers, GOGC=$BENCH_BEFORE_GOGC
#                     (default 100, Go's, which that code ran with): a paired
#                     before/after
#   before-spool      the same with -spool-dir: a paired before/after of the spool
#   bare              the bare handler, the ratio's denominator
# BENCH_SOAK=SECONDS instead runs the collector alone under the same load for
# that long, sampling its resident memory (VmRSS) every 10 s.
# BENCH_MIX=1 sends the whole pipeline's traffic instead of the one request
# (collectorbench mix: internal/collectorbench's Mix, 4,000 requests of
# loadgen's model in turn: many browsers and agents, first visits, referrers,
# campaigns, custom and engagement events); wrk's script costs wrk more per
# request, so compare it with the one request at the same rate, by CPU per
# request.
# BENCH_PPROF=FILE also takes a 5 s CPU profile of the collector mid-run
# (after round 1), and of collector-spool into FILE.spool when it runs.
set -euo pipefail
secs="${1:-10}"
rounds="${2:-3}"
variants="${BENCH_VARIANTS:-collector-spool collector bare}"
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v wrk >/dev/null || { echo "bench-collector: wrk missing (apt-get install wrk)" >&2; exit 1; }
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/collectorbench" ./cmd/collectorbench)
if [ -n "${BENCH_BEFORE:-}" ]; then
	mkdir "$tmp/before"
	(cd "$root" && git archive "$BENCH_BEFORE" | tar -x -C "$tmp/before")
	rm -rf "$tmp/before/cmd/collectorbench" "$tmp/before/internal/collectorbench"
	cp -r "$root/cmd/collectorbench" "$tmp/before/cmd/"
	cp -r "$root/internal/collectorbench" "$tmp/before/internal/"
	# collector.TuneGC, which the servers call; GOGC=100 below keeps it inert.
	[ -f "$tmp/before/pkg/collector/gc.go" ] || cp "$root/pkg/collector/gc.go" "$tmp/before/pkg/collector/"
	(cd "$tmp/before" && go build -o "$tmp/collectorbench-before" ./cmd/collectorbench)
fi
cookie="$("$tmp/collectorbench" cookie)"
body="$("$tmp/collectorbench" body)"
origin="$("$tmp/collectorbench" origin)"
cat >"$tmp/req.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Cookie"] = "$cookie"
wrk.headers["Origin"] = "$origin"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
LUA
[ "${BENCH_MIX:-}" = 1 ] && "$tmp/collectorbench" mix >"$tmp/req.lua"
start() { # var binary mode args... -> sets addr_<var>, pid_<var>
	local var="$1" bin="$2"; shift 2
	"$bin" "$@" >"$tmp/$var.out" 2>"$tmp/$var.err" &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do grep -q listening "$tmp/$var.out" 2>/dev/null && break; sleep 0.1; done
	grep -q listening "$tmp/$var.out" || { echo "bench-collector: $var did not start:" >&2; cat "$tmp/$var.err" >&2; exit 1; }
	eval "addr_$var=$(awk '/listening/ {print $2}' "$tmp/$var.out")"
	eval "pid_$var=$pid"
}
cb="$tmp/collectorbench"
start kafka "$cb" kafka 127.0.0.1:0
for v in $variants; do
	case "$v" in
	collector) start collector "$cb" collector 127.0.0.1:0 -brokers "$addr_kafka" ${BENCH_PPROF:+-pprof 127.0.0.1:0} ;;
	collector-spool) mkdir -p "$tmp/spool"; start collector_spool "$cb" collector 127.0.0.1:0 -brokers "$addr_kafka" -spool-dir "$tmp/spool" ${BENCH_PPROF:+-pprof 127.0.0.1:0} ;;
	collector-spool-alt) mkdir -p "$tmp/spool-alt"; start collector_spool_alt "$cb" collector 127.0.0.1:0 -brokers "$addr_kafka" -spool-dir "$tmp/spool-alt" ${BENCH_SPOOL_ALT:-} ;;
	collector-inproc) start collector_inproc "$cb" collector 127.0.0.1:0 ;;
	collector-gogc100) GOGC=100 start collector_gogc100 "$cb" collector 127.0.0.1:0 -brokers "$addr_kafka" ;;
	before) GOGC="${BENCH_BEFORE_GOGC:-100}" start before "$tmp/collectorbench-before" collector 127.0.0.1:0 -brokers "$addr_kafka" ;;
	before-spool) mkdir -p "$tmp/spool-before"; GOGC="${BENCH_BEFORE_GOGC:-100}" start before_spool "$tmp/collectorbench-before" collector 127.0.0.1:0 -brokers "$addr_kafka" -spool-dir "$tmp/spool-before" ;;
	bare) start bare "$cb" bare 127.0.0.1:0 ;;
	*) echo "bench-collector: unknown variant $v" >&2; exit 1 ;;
	esac
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
var() { tr - _ <<<"$1"; }
run() { # variant seconds -> "rate p99 cpu_us_per_request broker_cpu_us_per_request"
	local v pid addr t0 t1 k0 k1 out rate p99 reqs
	v="$(var "$1")"
	pid="$(eval echo "\$pid_$v")"; addr="$(eval echo "\$addr_$v")"
	wrk -t1 -c64 -d2s -s "$tmp/req.lua" "http://$addr/api/event" >/dev/null # warm up
	t0="$(ticks "$pid")"; k0="$(ticks "$pid_kafka")"
	out="$(wrk -t1 -c64 -d"${2}s" --latency -s "$tmp/req.lua" "http://$addr/api/event")"
	t1="$(ticks "$pid")"; k1="$(ticks "$pid_kafka")"
	if grep -q "Non-2xx" <<<"$out"; then echo "bench-collector: $1 answered errors:" >&2; echo "$out" >&2; exit 1; fi
	rate="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
	p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
	reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
	awk -v a="$t0" -v b="$t1" -v ka="$k0" -v kb="$k1" -v hz="$hz" -v n="$reqs" -v rate="$rate" -v p99="$p99" \
		'BEGIN { printf "%s %s %.1f %.1f\n", rate, p99, (b - a) / hz * 1e6 / n, (kb - ka) / hz * 1e6 / n }'
}
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
if [ -n "${BENCH_SOAK:-}" ]; then
	v="$(var "${variants%% *}")"
	pid="$(eval echo "\$pid_$v")"; addr="$(eval echo "\$addr_$v")"
	echo "soak: ${variants%% *} for ${BENCH_SOAK}s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	wrk -t1 -c64 -d"${BENCH_SOAK}s" --latency -s "$tmp/req.lua" "http://$addr/api/event" >"$tmp/soak.out" &
	wrkpid=$!
	samples=""
	while kill -0 "$wrkpid" 2>/dev/null; do samples+="$(rss "$pid") "; sleep 10; done
	wait "$wrkpid"
	cat "$tmp/soak.out"
	echo "RSS MiB every 10 s: $samples"
	exit 0
fi
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
rows=""
declare -A rates
for r in $(seq "$rounds"); do
	for v in $variants; do
		read -r rate p99 cpu kcpu <<<"$(run "$v" "$secs")"
		rates[$v]="$rate"
		[ "$v" = bare ] && kcpu="-"
		line="$v $rate $p99 $cpu $kcpu"
		eval "line_$(var "$v")=\"\$line\""
		echo "round $r: $v $rate req/s, p99 $p99, $cpu us CPU/req, broker $kcpu us/req"
	done
	if [ -n "${BENCH_PPROF:-}" ] && [ "$r" = 1 ]; then
		for pv in collector collector_spool; do
			[ -n "$(eval echo "\${pid_$pv:-}")" ] || continue
			pfile="$BENCH_PPROF"; [ "$pv" = collector ] || pfile="$BENCH_PPROF.spool"
			paddr="$(awk '/^pprof/ {print $2}' "$tmp/$pv.out")"
			wrk -t1 -c64 -d8s -s "$tmp/req.lua" "http://$(eval echo "\$addr_$pv")/api/event" >/dev/null &
			wrkpid=$!
			sleep 2
			curl -s -o "$pfile" "http://$paddr/debug/pprof/profile?seconds=5"
			wait "$wrkpid"
			echo "profile written to $pfile"
		done
	fi
	for v in $variants; do
		read -r _ rate p99 cpu kcpu <<<"$(eval echo "\$line_$(var "$v")")"
		ratio="-"
		[ -n "${rates[bare]:-}" ] && ratio="$(awk -v a="$rate" -v b="${rates[bare]}" 'BEGIN { printf "%.2f", a / b }')"
		rows+="| $r | $v | $rate | $p99 | $cpu | $kcpu | $ratio |"$'\n'
	done
done
load1="$(cut -d' ' -f1-3 /proc/loadavg)"
table="| round | server | req/s | p99 | CPU us/req | broker CPU us/req | ratio to bare |
| --- | --- | --- | --- | --- | --- | --- |
$rows"
echo "$table"
echo "load average before $load0, after $load1"
[ "${BENCH_NO_WRITE:-}" = 1 ] && exit 0
doc="$root/docs/benchmarks.md"
section="## Collector against a bare handler (external load)

\`${BENCH_MIX:+BENCH_MIX=$BENCH_MIX }${BENCH_BEFORE:+BENCH_BEFORE=$BENCH_BEFORE }${BENCH_BEFORE_GOGC:+BENCH_BEFORE_GOGC=$BENCH_BEFORE_GOGC }${BENCH_PPROF:+BENCH_PPROF=$BENCH_PPROF }BENCH_VARIANTS=\"$variants\" scripts/bench-collector.sh $secs $rounds\` ($(date -u +%Y-%m-%d), $(nproc) cores, load average $load0 before and $load1 after, wrk $( (wrk -v 2>&1 || true) | awk 'NR==1 {print $2}'), 1 thread, 64 connections, ${secs} s per run after a 2 s warm-up; the variants alternate within a round, each server its own process, kfake too):

$table"
python3 - "$doc" "$section" <<'PY'
import sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
marker = "## Collector against a bare handler (external load)"
if marker in text:
    start = text.index(marker)
    nxt = text.find("\n## ", start + len(marker))
    text = text[:start] + section.rstrip() + "\n" + (text[nxt:] if nxt >= 0 else "")
else:
    text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
open(path, "w").write(text)
PY
echo "written to $doc"
