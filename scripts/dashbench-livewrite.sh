#!/bin/bash
# Writes into a dashbench data set as a live sessionizer would, while
# `dashbench bench` measures (docs/dashboard-speed.md section 17): one insert
# a second into session_versions (new versions of 60 sessions of the open
# day) and one into events (300 new events of that day's sessions), so that
# parts keep arriving and merging. Stop it with Ctrl-C.
#
#   scripts/dashbench-livewrite.sh PORT [DATABASE] [DAY]
#
# PORT is the native port `dashbench serve` prints; DATABASE defaults to
# teller10m, DAY (the range's last, read live) to 2026-11-30.
set -euo pipefail
port=${1:?usage: $0 PORT [DATABASE] [DAY]}
db=${2:-teller10m}
day=${3:-2026-11-30}
C=(clickhouse-client --port "$port" --database "$db")
# Every column named, as every INSERT of the project does.
SV=$("${C[@]}" -q "SELECT name FROM system.columns WHERE database = '$db' AND table = 'session_versions'" | paste -sd,)
EV=$("${C[@]}" -q "SELECT name FROM system.columns WHERE database = '$db' AND table = 'events'" | paste -sd,)
SVSEL=${SV/,version,/,version + 1,}
EVSEL=${EV/event_id,/generateUUIDv4(),}
[[ $SVSEL != "$SV" && $EVSEL != "$EV" ]] || { echo "dashbench-livewrite: unexpected columns" >&2; exit 1; }
while true; do
  "${C[@]}" -q "INSERT INTO session_versions ($SV) SELECT $SVSEL FROM session_versions
    WHERE site_id = 'site00' AND session_date = toDate('$day') ORDER BY rand() LIMIT 60"
  "${C[@]}" -q "INSERT INTO events ($EV) SELECT $EVSEL FROM events
    WHERE site_id = 'site00' AND toDate(ts) = toDate('$day') AND session_started_at >= toDateTime('$day 00:00:00')
    ORDER BY rand() LIMIT 300"
  sleep 1
done
