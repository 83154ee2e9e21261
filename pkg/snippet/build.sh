#!/usr/bin/env bash
# Regenerates teller.min.js from teller.js with terser (from npm, installed
# into a temporary directory: no node_modules in the repository).
#
# The first line of teller.min.js records the SHA-256 of the teller.js it was
# built from; TestMinifiedIsBuiltFromSource fails when they differ.
#
# Needs node and npm with access to the npm registry.
set -euo pipefail

TERSER_VERSION=5.51.4

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error "terser@${TERSER_VERSION}" >/dev/null

hash=$(sha256sum teller.js | cut -d' ' -f1)
{
	echo "// src-sha256: ${hash}"
	"$tmp/node_modules/.bin/terser" teller.js \
		--ecma 5 \
		--compress passes=3,unsafe_arrows=false \
		--mangle \
		--comments false
	echo
} >"$tmp/teller.min.js"
mv "$tmp/teller.min.js" teller.min.js

echo "teller.min.js: $(tail -n +2 teller.min.js | wc -c) bytes, $(tail -n +2 teller.min.js | gzip -9 | wc -c) gzipped"
