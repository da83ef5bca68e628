#!/bin/bash
# SPDX-License-Identifier: MPL-2.0
# Builds all of WebKitGTK 2.50.6 (Debian bookworm's source package) with wkrtc as its WebRTC
# backend: the patch series, USE_RUST_WEBRTC=ON, MiniBrowser and WebKitWebDriver, installed
# into $WK/install. This is the recipe of patches/README.md, made resumable:
#
# - the build runs at the lowest priority (nice 19, idle I/O) and resumes where it stopped
#   (ninja); stopping it loses nothing;
# - a changed series is applied in place (the old one reversed, the new one applied) and the
#   files whose content came out unchanged get their old time stamps back;
# - wkrtc is installed so that unchanged files keep their time stamps: a changed adapter
#   rebuilds that adapter, a changed library relinks;
# - ccache and lld make what must be redone cheap.
#
# The full build costs about 20 CPU-hours on x86_64 at -O3 (docs/webkit.md), most of it in
# the compiler's front end. This script compiles WebKit at -O1, which keeps pages and video
# usable and saves most of what -O0 would, and wkrtc in release. lld links (WebKit turns it
# on by itself only for developer and LTO builds).
#
# Usage (Debian bookworm amd64; as root or with sudo for apt):
#   scripts/webkit-build.sh           set up what is missing, build, install (foreground)
#   scripts/webkit-build.sh start     the same in the background; the log is $WK/build.log
#   scripts/webkit-build.sh status    how far it is: commands done of total, time left
#   scripts/webkit-build.sh stop      stops a background build (it resumes next time)
#   scripts/webkit-build.sh env       prints the environment that runs the built WebKit
# Environment:
#   WK=/var/tmp/wkrtc-webkit-full     work dir: src, build, prefix (wkrtc), install, ccache
#   WK_JOBS=2                         parallel compile jobs
set -euo pipefail

WK=${WK:-/var/tmp/wkrtc-webkit-full}
LOG_TAG=webkit-build
source "$(dirname "$0")/webkit-common.sh"
INSTALL=$WK/install
APPLIED=$WK/applied-series
JOBS=${WK_JOBS:-2}
export CCACHE_DIR=$WK/ccache CCACHE_BASEDIR=$WK CCACHE_MAXSIZE=40G
export CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
# wkrtc's release library lives beside the build, not in the checkout's target/.
export CARGO_TARGET_DIR=$WK/cargo-target

# ---- the series, in place ----------------------------------------------------
# $APPLIED holds the patches that $SRC has applied. When the series differs, the applied one
# is reversed and the new one applied; every file the old or new series touches whose content
# ends up as it was gets its time stamp back, so ninja rebuilds only what really changed.
update_series() {
    if [ -d "$APPLIED" ] && [ "$(cd "$APPLIED" && cat [0-9]*.patch | sha256sum | cut -d' ' -f1)" = "$(series_sum)" ]; then
        log "series: applied, skipping"
        return
    fi
    local touched stamp=$WK/series-stamps
    touched=$(cat "$ROOT"/patches/[0-9]*.patch $([ -d "$APPLIED" ] && echo "$APPLIED"/[0-9]*.patch) \
        | sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' | sort -u)
    : > "$stamp"
    for f in $touched; do
        if [ -f "$SRC/$f" ]; then
            echo "$f $(stat -c %Y "$SRC/$f") $(sha256sum < "$SRC/$f" | cut -d' ' -f1)" >> "$stamp"
        fi
    done
    if [ -d "$APPLIED" ]; then
        local p
        for p in $(ls "$APPLIED"/[0-9]*.patch | sort -r); do
            log "series: reversing $(basename "$p")"
            patch -d "$SRC" -p1 -R --quiet --fuzz=0 < "$p"
        done
    fi
    apply_series
    rm -rf "$APPLIED" && mkdir -p "$APPLIED" && cp "$ROOT"/patches/[0-9]*.patch "$APPLIED/"
    local name mtime sum
    while read -r name mtime sum; do
        if [ -f "$SRC/$name" ] && [ "$(sha256sum < "$SRC/$name" | cut -d' ' -f1)" = "$sum" ]; then
            touch -d "@$mtime" "$SRC/$name"
        fi
    done < "$stamp"
}

# ---- configure -----------------------------------------------------------------
configure() {
    [ -f "$BUILD/build.ninja" ] && { log "configure: done (ninja re-runs cmake when its inputs change)"; return; }
    mkdir -p "$BUILD"
    log "configure: cmake"
    "${NICE[@]}" cmake -S "$SRC" -B "$BUILD" "${CMAKE_COMMON[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
        -DCMAKE_INSTALL_PREFIX="$INSTALL" \
        -DENABLE_MINIBROWSER=ON -DENABLE_WEBDRIVER=ON -DENABLE_API_TESTS=OFF \
        -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
        -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld \
        -DCMAKE_MODULE_LINKER_FLAGS=-fuse-ld=lld >/dev/null
    check_configured
}

# ---- progress --------------------------------------------------------------------
# Commands done of total, and the time left: the remaining commands are costed with the mean
# duration of the same kind of command already built (.ninja_log), unified sources apart.
status() {
    [ -f "$BUILD/build.ninja" ] || { echo "webkit-build: not configured yet ($BUILD)"; return 0; }
    local total left
    total=$(ninja -C "$BUILD" -t commands 2>/dev/null | wc -l)
    ninja -C "$BUILD" -n 2>/dev/null | grep -E '^\[[0-9]+/[0-9]+\]' > "$WK/remaining.txt" || true
    left=$(wc -l < "$WK/remaining.txt")
    python3 - "$BUILD/.ninja_log" "$WK/remaining.txt" "$total" "$left" "$JOBS" <<'PY'
import sys
log, remaining, total, left, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def kind(s):
    return 'unified' if 'UnifiedSource' in s or 'unified-sources' in s else 'other'
spent = {'unified': [], 'other': []}
try:
    for line in open(log):
        if line.startswith('#'):
            continue
        start, end, _, out, _ = line.rstrip('\n').split('\t')
        if out.endswith('.o'):
            spent[kind(out)].append((int(end) - int(start)) / 1000)
except FileNotFoundError:
    pass
mean = {k: (sum(v) / len(v) if v else (70.0 if k == 'unified' else 4.0)) for k, v in spent.items()}
todo = {'unified': 0, 'other': 0}
for line in open(remaining):
    todo[kind(line)] += 1
cpu = sum(todo[k] * mean[k] for k in todo)
done = total - left
print(f"webkit-build: {done} of {total} commands done ({100 * done / max(total, 1):.1f}%), {left} left "
      f"({todo['unified']} unified sources at {mean['unified']:.0f} s, {todo['other']} others at {mean['other']:.1f} s)")
print(f"webkit-build: about {cpu / 3600:.1f} CPU-hours left, {cpu / 3600 / jobs:.1f} h at -j{jobs} on an idle machine")
PY
    if [ -f "$WK/build.pid" ] && kill -0 "$(cat "$WK/build.pid")" 2>/dev/null; then
        echo "webkit-build: running (pid $(cat "$WK/build.pid")), log $WK/build.log"
    elif [ -f "$INSTALL/bin/MiniBrowser" ] || [ -n "$(find "$INSTALL" -name MiniBrowser -type f 2>/dev/null | head -1)" ]; then
        echo "webkit-build: installed in $INSTALL"
    else
        echo "webkit-build: not running"
    fi
}

# What runs the installed WebKit: its libraries first, wkrtc's logs through GStreamer.
run_env() {
    local libdir; libdir=$(dirname "$(find "$INSTALL" -name 'libwebkit2gtk-4.1.so' | head -1)")
    echo "export LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
    echo "export PATH=$INSTALL/bin:$(dirname "$(find "$INSTALL" -name MiniBrowser -type f | head -1)"):\$PATH"
}

build() {
    install_build_deps ccache lld-16
    fetch_source
    update_series
    remove_src_entry
    install_wkrtc release
    configure
    log "build: ninja -j$JOBS (nice 19, idle I/O)"
    local t0; t0=$(date +%s)
    NINJA_STATUS="[%f/%t %es] " "${NICE[@]}" ninja -C "$BUILD" -j"$JOBS"
    log "build: done in $(( $(date +%s) - t0 )) s; installing into $INSTALL"
    "${NICE[@]}" ninja -C "$BUILD" install >/dev/null
    log "build: installed; $(du -sh "$(find "$INSTALL" -name 'libwebkit2gtk-4.1.so.*.*' -type f | head -1)" | cut -f1) libwebkit2gtk"
}

case "${1:-build}" in
    build) build ;;
    start)
        if [ -f "$WK/build.pid" ] && kill -0 "$(cat "$WK/build.pid")" 2>/dev/null; then
            echo "webkit-build: already running (pid $(cat "$WK/build.pid"))"; exit 0
        fi
        setsid nohup bash "$0" build >> "$WK/build.log" 2>&1 < /dev/null &
        echo $! > "$WK/build.pid"
        echo "webkit-build: started (pid $!), log $WK/build.log; '$0 status' tells how far it is" ;;
    stop)
        [ -f "$WK/build.pid" ] && kill -- -"$(cat "$WK/build.pid")" 2>/dev/null || true
        rm -f "$WK/build.pid" ;;
    status) status ;;
    env) run_env ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
esac
