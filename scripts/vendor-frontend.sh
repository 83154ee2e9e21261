#!/usr/bin/env bash
# Vendors the dashboard's one third-party front-end package, pinned: npm packs
# uplot (the chart), the tarball's sha256 is checked against the one recorded
# here, and the minified script, its stylesheet and licence are copied under
# pkg/dashboard/static/vendor/ with a VENDOR file naming package, version,
# licence and checksum. The files are committed and embedded (go:embed), so
# building Teller needs neither npm nor the network; run this only to update.
# Usage: scripts/vendor-frontend.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/pkg/dashboard/static/vendor

package=uplot
version=1.6.32
licence=MIT
# sha256 of the npm tarball uplot-1.6.32.tgz (npm pack uplot@1.6.32).
tarball_sha256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tgz=$work/$package-$version.tgz
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$tarball_sha256" ]; then
  echo "vendor-frontend: $package@$version tarball has sha256 $got, want $tarball_sha256: refusing to vendor it" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work"
mkdir -p "$dest"
cp "$work/package/dist/uPlot.iife.min.js" "$dest/uplot.min.js"
cp "$work/package/dist/uPlot.min.css" "$dest/uplot.min.css"
cp "$work/package/LICENSE" "$dest/uplot.LICENSE"
{
  echo "# Vendored front-end files, written by scripts/vendor-frontend.sh; do not edit."
  echo "package: $package"
  echo "version: $version"
  echo "licence: $licence (uplot.LICENSE)"
  echo "source: npm pack $package@$version"
  echo "tarball-sha256: $tarball_sha256"
  for f in uplot.min.js uplot.min.css uplot.LICENSE; do
    echo "sha256 $f: $(sha256sum "$dest/$f" | cut -d' ' -f1)"
  done
} >"$dest/VENDOR"
echo "vendor-frontend: $package@$version vendored into ${dest#"$root"/}" >&2
