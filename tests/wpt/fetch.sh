#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Fetches the web-platform-tests (WPT) that wkrtc's WPT runner serves: the W3C `webrtc/`
# tests and what they load. They come from Debian's `firefox-esr` source package, which ships
# a WPT snapshot under testing/web-platform/tests/; nothing of WPT is kept in the repository.
#
# Prints the WPT root directory (holding webrtc/, resources/, ...) as the last line of its
# standard output; everything else goes to standard error. The extraction is cached in
# $WKRTC_WPT_CACHE (default ~/.cache/wkrtc/wpt/<source version>/tests) and reused: a second
# run touches neither apt nor the network.
#
# Environment:
#   WKRTC_WPT_VERSION=140.12.0esr-1~deb12u1   that source version (default: the newest whose
#                                             source the archive still serves)
#   WKRTC_WPT_REFRESH=1                       ignore the cache and fetch the newest again
#
# How: a temporary deb-src entry (as scripts/webkit-common.sh does for WebKitGTK) when apt
# knows no source yet, `apt-get source --print-uris` for the orig tarball's address and
# SHA-256, apt's own downloader for that one file (not the hundred l10n tarballs that
# `apt-get source --download-only` would add), one `tar` pass naming only the directories
# the tests use, then the tarball is deleted and the entry removed.
set -euo pipefail

CACHE=${WKRTC_WPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wkrtc/wpt}
WANT=${WKRTC_WPT_VERSION:-}
SRCLIST=/etc/apt/sources.list.d/wkrtc-wpt-src.sources
SOURCES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/bookworm-src.sources
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
log() { echo "[wpt-fetch $(date -u +%H:%M:%S)] $*" >&2; }
# Seconds since $1 (a `date +%s.%N`), one decimal.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# What the webrtc/ tests load, relative to the WPT root: the tests themselves, testharness.js
# and testdriver.js with idlharness and its WebIDL parser (resources/), get-host-info, gc.js
# and the dispatcher (common/), the IDL files idlharness fetches (interfaces/), the permission
# helper (mediacapture-streams/), one video file (media/), and the remote-context helpers of
# the back-forward-cache tests (html/...).
MEMBERS=(
    webrtc
    resources
    common
    interfaces
    mediacapture-streams
    media/test-v-128k-320x240-24fps-8kfr.webm
    html/browsers/browsing-the-web/back-forward-cache/resources
    html/browsers/browsing-the-web/remote-context-helper/resources
)

mkdir -p "$CACHE"

# A complete extraction of version $1, if there is one.
cached() { [ -f "$CACHE/$1/.complete" ] && [ -f "$CACHE/$1/tests/resources/testharness.js" ]; }

if [ -n "$WANT" ] && cached "$WANT"; then
    log "cached: $CACHE/$WANT"
    echo "$CACHE/$WANT/tests"
    exit 0
fi
if [ -z "$WANT" ] && [ "${WKRTC_WPT_REFRESH:-0}" != 1 ]; then
    newest=$(for d in "$CACHE"/*/; do v=$(basename "$d"); cached "$v" && echo "$v" || true; done | sort -V | tail -n 1)
    if [ -n "$newest" ]; then
        log "cached: $CACHE/$newest (WKRTC_WPT_REFRESH=1 fetches again)"
        echo "$CACHE/$newest/tests"
        exit 0
    fi
fi

started=$(date +%s.%N)
ADDED=0
WORK=""
cleanup() {
    [ -n "$WORK" ] && rm -rf "$WORK"
    if [ "$ADDED" = 1 ]; then
        $SUDO rm -f "$SRCLIST"
        $SUDO apt-get update -qq || log "apt-get update after removing $SRCLIST reported errors"
    fi
}
trap cleanup EXIT

if ! apt-cache showsrc firefox-esr 2>/dev/null | grep -q '^Package: firefox-esr'; then
    log "adding a temporary deb-src entry ($SRCLIST)"
    $SUDO cp "$SOURCES" "$SRCLIST"
    ADDED=1
    $SUDO apt-get update -qq
fi

if [ -n "$WANT" ]; then
    versions=("$WANT")
else
    mapfile -t versions < <(apt-cache showsrc firefox-esr | awk '/^Version:/ {print $2}' | sort -u -V -r)
fi
[ ${#versions[@]} -gt 0 ] || { log "apt knows no firefox-esr source package"; exit 1; }

WORK=$(mktemp -d "$CACHE/.fetch-XXXXXX")
chosen=""
for v in "${versions[@]}"; do
    # 'URI' NAME SIZE SHA256:HEX, for the orig tarball (not the l10n ones).
    line=$(apt-get source --print-uris "firefox-esr=$v" 2>/dev/null | grep -E "^'[^']+' firefox-esr_[^ ]*\.orig\.tar\.[a-z0-9]+ " || true)
    [ -n "$line" ] || { log "firefox-esr $v: no orig tarball listed, trying the next version"; continue; }
    uri=$(echo "$line" | cut -d"'" -f2)
    name=$(echo "$line" | awk '{print $2}')
    size=$(echo "$line" | awk '{print $3}')
    hash=$(echo "$line" | awk '{print $4}')
    log "firefox-esr $v: downloading $name ($((size / 1000000)) MB)"
    t0=$(date +%s.%N)
    # apt's downloader (its proxy settings, mirrors, hash check); run as root so that it can
    # write into our directory without the _apt sandbox.
    if ! $SUDO /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$uri" "$WORK/$name" "$hash" >&2; then
        log "firefox-esr $v: the archive does not serve its source (any more), trying the next version"
        rm -f "$WORK/$name"
        continue
    fi
    download_s=$(since "$t0")
    chosen=$v
    break
done
[ -n "$chosen" ] || { log "no firefox-esr source version could be downloaded"; exit 1; }

# The tarball's top directory (firefox-140.12.0/), from its first entries.
top=$( (tar -tf "$WORK/$name" 2>/dev/null || true) | grep -m1 -E '^[^./][^/]*/' | cut -d/ -f1)
[ -n "$top" ] || { log "cannot read the top directory of $name"; exit 1; }
paths=()
for m in "${MEMBERS[@]}"; do paths+=("$top/testing/web-platform/tests/$m"); done
log "extracting ${MEMBERS[*]} (one pass over the tarball)"
t0=$(date +%s.%N)
mkdir -p "$WORK/x"
# Exact member names: tar compares names instead of matching patterns. A member missing in
# some later snapshot is reported, not fatal; what the runner cannot do without is checked below.
tar -xf "$WORK/$name" -C "$WORK/x" --no-wildcards --strip-components=3 "${paths[@]}" 2> "$WORK/tar.err" || {
    sed 's/^/  tar: /' "$WORK/tar.err" >&2
}
extract_s=$(since "$t0")
rm -f "$WORK/$name"
for f in webrtc/RTCPeerConnection-helper.js resources/testharness.js resources/testdriver.js; do
    [ -f "$WORK/x/tests/$f" ] || { log "$name has no testing/web-platform/tests/$f"; exit 1; }
done

dest=$CACHE/$chosen
rm -rf "$dest"
mkdir -p "$dest"
mv "$WORK/x/tests" "$dest/tests"
total_s=$(since "$started")
cat > "$dest/SOURCE" <<EOF
package: firefox-esr
version: $chosen
tarball: $name
sha256: ${hash#SHA256:}
size: $size
fetched: $(date -u +%Y-%m-%dT%H:%M:%SZ)
download_seconds: $download_s
extract_seconds: $extract_s
total_seconds: $total_s
EOF
touch "$dest/.complete"
log "firefox-esr $chosen: WPT in $dest/tests ($(du -sh "$dest/tests" | cut -f1)); download $download_s s, extract $extract_s s, total $total_s s"
echo "$dest/tests"
