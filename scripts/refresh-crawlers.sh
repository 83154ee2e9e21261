#!/usr/bin/env bash
# Vendors the bot patterns pkg/enrich matches user agents against: the npm
# package crawler-user-agents (MIT) at the version given, whose tarball is
# checked against the registry's sha512 (dist.integrity) and, when one is
# recorded or given, against a pinned sha256. crawler-user-agents.json and the
# licence are copied verbatim into pkg/enrich/crawlerdata/ with a VENDOR file
# naming package, version, licence and checksums; pkg/enrich embeds the JSON
# (go:embed) and its tests check the file against VENDOR, so building Teller
# needs neither npm nor the network: run this only to update.
# Usage: scripts/refresh-crawlers.sh VERSION [TARBALL_SHA256]
#   then: go test -count=1 ./pkg/enrich/ (recall on the package's instances,
#   no false positive on current browsers) and review the diff.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/pkg/enrich/crawlerdata
package=crawler-user-agents
version=${1:?usage: scripts/refresh-crawlers.sh VERSION [TARBALL_SHA256]}
want_sha256=${2:-}
case $version in
  *[!0-9.]* | "") echo "refresh-crawlers: version $version is not of the form 1.60.0" >&2; exit 1 ;;
esac
# Re-vendoring the recorded version must give the recorded tarball.
if [ -z "$want_sha256" ] && [ -f "$dest/VENDOR" ] && grep -qx "version: $version" "$dest/VENDOR"; then
  want_sha256=$(sed -n 's/^tarball-sha256: //p' "$dest/VENDOR")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
integrity=$(npm view "$package@$version" dist.integrity)
[ -n "$integrity" ] || { echo "refresh-crawlers: npm knows no $package@$version" >&2; exit 1; }
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tgz=$work/$package-$version.tgz
got_integrity="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got_integrity" != "$integrity" ]; then
  echo "refresh-crawlers: $package@$version tarball is $got_integrity, the registry says $integrity: refusing it" >&2
  exit 1
fi
got_sha256=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ -n "$want_sha256" ] && [ "$got_sha256" != "$want_sha256" ]; then
  echo "refresh-crawlers: $package@$version tarball has sha256 $got_sha256, want $want_sha256: refusing it" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work"
licence=$(node -e 'process.stdout.write(require(process.argv[1]).license)' "$work/package/package.json" 2>/dev/null ||
  sed -n 's/.*"license": *"\([^"]*\)".*/\1/p' "$work/package/package.json")
if [ "$licence" != MIT ]; then
  echo "refresh-crawlers: $package@$version is licensed $licence, not MIT: check before vendoring it" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$work/package/crawler-user-agents.json" "$dest/crawler-user-agents.json"
cp "$work/package/LICENSE" "$dest/LICENSE"
{
  echo "# Vendored bot patterns, written by scripts/refresh-crawlers.sh; do not edit."
  echo "package: $package"
  echo "version: $version"
  echo "licence: $licence (LICENSE)"
  echo "source: npm pack $package@$version"
  echo "tarball-integrity: $integrity"
  echo "tarball-sha256: $got_sha256"
  echo "sha256 crawler-user-agents.json: $(sha256sum "$dest/crawler-user-agents.json" | cut -d' ' -f1)"
  echo "sha256 LICENSE: $(sha256sum "$dest/LICENSE" | cut -d' ' -f1)"
} >"$dest/VENDOR"
echo "refresh-crawlers: $package@$version vendored into ${dest#"$root"/}; now run go test -count=1 ./pkg/enrich/" >&2
