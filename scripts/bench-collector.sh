#!/usr/bin/env bash
# Collector speed against a bare net/http handler, with an external load
# process (Debian's wrk: 1 thread, 64 connections), in one run: a snippet page
# view from a returning visitor, kfake as the broker. Each server is its own
# process; its CPU (utime+stime from /proc) is read around each wrk run.
# Writes the figures with this command into docs/benchmarks.md's collector
# section unless BENCH_NO_WRITE=1.
#   scripts/bench-collector.sh [seconds per run, default 10] [rounds, default 3]
set -euo pipefail
secs="${1:-10}"
rounds="${2:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v wrk >/dev/null || { echo "bench-collector: wrk missing (apt-get install wrk)" >&2; exit 1; }
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/collectorbench" ./cmd/collectorbench)
cookie="$("$tmp/collectorbench" cookie)"
body="$("$tmp/collectorbench" body)"
cat >"$tmp/req.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Cookie"] = "$cookie"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
LUA
start() { # name -> sets addr_<name>, pid_<name>
	"$tmp/collectorbench" "$1" 127.0.0.1:0 >"$tmp/$1.out" 2>"$tmp/$1.err" &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do grep -q listening "$tmp/$1.out" 2>/dev/null && break; sleep 0.1; done
	eval "addr_$1=$(awk '/listening/ {print $2}' "$tmp/$1.out")"
	eval "pid_$1=$pid"
}
start collector
start bare
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
run() { # name -> "rate p99 cpu_us_per_request"
	local pid addr t0 t1 out rate p99 reqs
	pid="$(eval echo "\$pid_$1")"; addr="$(eval echo "\$addr_$1")"
	wrk -t1 -c64 -d2s -s "$tmp/req.lua" "http://$addr/api/event" >/dev/null # warm up
	t0="$(ticks "$pid")"
	out="$(wrk -t1 -c64 -d"${secs}s" --latency -s "$tmp/req.lua" "http://$addr/api/event")"
	t1="$(ticks "$pid")"
	if grep -q "Non-2xx" <<<"$out"; then echo "bench-collector: $1 answered errors:" >&2; echo "$out" >&2; exit 1; fi
	rate="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
	p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
	reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
	echo "$rate $p99 $(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')"
}
rows=""
for r in $(seq "$rounds"); do
	read -r crate cp99 ccpu <<<"$(run collector)"
	read -r brate bp99 bcpu <<<"$(run bare)"
	ratio="$(awk -v a="$crate" -v b="$brate" 'BEGIN { printf "%.2f", a / b }')"
	rows+="| $r | $crate | $cp99 | $ccpu | $brate | $bp99 | $bcpu | $ratio |"$'\n'
	echo "round $r: collector $crate req/s p99 $cp99 ${ccpu} us CPU/req; bare $brate req/s p99 $bp99 ${bcpu} us/req; ratio $ratio"
done
table="| round | collector req/s | collector p99 | collector CPU us/req | bare req/s | bare p99 | bare CPU us/req | ratio |
| --- | --- | --- | --- | --- | --- | --- | --- |
$rows"
echo "$table"
[ "${BENCH_NO_WRITE:-}" = 1 ] && exit 0
doc="$root/docs/benchmarks.md"
section="## Collector against a bare handler (external load)

\`scripts/bench-collector.sh $secs $rounds\` ($(date -u +%Y-%m-%d), $(nproc) cores, wrk $( (wrk -v 2>&1 || true) | awk 'NR==1 {print $2}'), 1 thread, 64 connections, ${secs} s per run after a 2 s warm-up; collector and bare handler alternate, each its own process):

$table"
python3 - "$doc" "$section" <<'PY'
import sys, re
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
