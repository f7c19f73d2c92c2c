#!/usr/bin/env bash
# Self-test of a built bundle (`make package-selftest`), with no display, in throw-away user data:
#  1. `tilik self-test`: every bundled pack on its shipped samples (the bundle forces Qt offscreen);
#  2. the desktop app starts offscreen, shows its main window and gets its packs + model ready.
# Exits non-zero when either fails.
set -euo pipefail
exe="${1:-dist/tilik/tilik}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export TILIK_DATA_DIR="$tmp/data" TILIK_SETTINGS="$tmp/settings.ini" TILIK_PACKS_DIR="$tmp/data/packs"
unset DISPLAY WAYLAND_DISPLAY

"$exe" self-test
# The log's signing key (cryptography's compiled backend must be in the bundle, issue #22).
"$exe" log key >/dev/null || { echo "FAILED: the frozen app cannot make the station signing key"; exit 1; }

out="$(QT_QPA_PLATFORM=offscreen TILIK_EXIT_AFTER_READY=1 timeout 120 "$exe" 2>&1)" || {
    echo "$out"; echo "FAILED: the frozen app did not start offscreen"; exit 1; }
shown="$(sed -n 's/^TILIK_WINDOW_SHOWN //p' <<<"$out")"
ready="$(sed -n 's/^TILIK_WINDOW_READY //p' <<<"$out")"
if [[ -z "$shown" || -z "$ready" ]]; then
    echo "$out"; echo "FAILED: the frozen app's main window was not shown/ready"; exit 1
fi
echo "Desktop app (frozen, offscreen): main window shown ${shown} s, packs + model ready ${ready} s after start."
