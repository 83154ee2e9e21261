#!/usr/bin/env bash
# Installs the Debian packages Teller needs on this machine, only those that
# are missing: ClickHouse (server and client) for running, plus Chromium and
# docker-compose for the tests. Usage: scripts/install-deps.sh [run|test]
set -euo pipefail

want=(clickhouse-server:clickhouse-server clickhouse-client:clickhouse-client)
if [ "${1:-run}" = "test" ]; then
  want+=(chromium:chromium docker-compose:docker-compose)
fi

missing=()
for pair in "${want[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: need root to install: ${missing[*]} (run as root or install sudo)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: no apt-get here; install these yourself: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
