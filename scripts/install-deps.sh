#!/usr/bin/env bash
# Installs what Teller needs on this machine, only what is missing: the
# Debian packages ClickHouse (server and client) for running, plus Chromium,
# docker-compose, npm and ZooKeeper (internal/chcluster's test cluster) for
# the tests; and for the tests a current
# ClickHouse release as a library (npm chdb, see install_chdb).
# Usage: scripts/install-deps.sh [run|test]
set -euo pipefail

mode=${1:-run}
root=$(cd "$(dirname "$0")/.." && pwd)

install_packages() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "install-deps: need root to install: $* (run as root or install sudo)" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get here; install these yourself: $*" >&2
    exit 1
  fi
  echo "install-deps: installing $*" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The tests run the schema and every report query on ClickHouse 26.7 as well
# as 18.16: npm's chdb package ships 26.7 as libchdb.so (about 550 MB,
# git-ignored). internal/chtest looks for it here, or at $CHDB_LIB_PATH; its
# TestInstallScriptMatches ties the names below to the Go side.
install_chdb() {
  local prefix="$root/.cache/chdb"
  local lib="$prefix/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so"
  if [ -n "${CHDB_LIB_PATH:-}" ] && [ -f "$CHDB_LIB_PATH" ]; then return 0; fi
  if [ -f "$lib" ]; then return 0; fi
  echo "install-deps: installing chdb@3.4.0 (ClickHouse 26.7 as a library) into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error chdb@3.4.0 >/dev/null
  if [ ! -f "$lib" ]; then
    echo "install-deps: npm installed chdb@3.4.0 but $lib is missing" >&2
    exit 1
  fi
}

want=(clickhouse-server:clickhouse-server clickhouse-client:clickhouse-client)
if [ "$mode" = "test" ]; then
  want+=(chromium:chromium docker-compose:docker-compose npm:npm)
  # Debian's zookeeper has no command on PATH; its server is this jar.
  if [ ! -f /usr/share/java/zookeeper.jar ]; then missing_zk=1; fi
fi

missing=()
for pair in "${want[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${missing_zk:-0}" = 1 ]; then missing+=(zookeeper); fi
if [ ${#missing[@]} -gt 0 ]; then
  install_packages "${missing[@]}"
fi
if [ "$mode" = "test" ]; then
  install_chdb
fi
