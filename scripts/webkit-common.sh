# SPDX-License-Identifier: MPL-2.0
# What wkrtc's two WebKit scripts share (sourced, not run): webkit-check.sh compile-checks the
# adapters against configured WebCore, webkit-build.sh builds all of WebKitGTK with wkrtc.
# Both work on Debian's WebKitGTK source package; each keeps its own work directory $WK.
#
# Expects WK (the work directory) and LOG_TAG (the log prefix) to be set by the caller.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKGVER=${WK_PKGVER:-2.50.6-1~deb12u2}
SRC=$WK/src
BUILD=$WK/build
PREFIX=$WK/prefix
SRCLIST=/etc/apt/sources.list.d/wkrtc-webkit-src.sources
NICE=(nice -n 19 ionice -c3)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
log() { echo "[$LOG_TAG $(date -u +%H:%M:%S)] $*" >&2; }
mkdir -p "$WK"

add_src_entry() {
    [ -f "$SRCLIST" ] && return 0
    # Debian bookworm's source repositories (scripts/bookworm-src.sources).
    $SUDO cp "$ROOT/scripts/bookworm-src.sources" "$SRCLIST"
    $SUDO "${NICE[@]}" apt-get update -qq
}
remove_src_entry() {
    [ "${WK_KEEP_SRC_ENTRY:-0}" = 1 ] && return 0
    [ -f "$SRCLIST" ] || return 0
    $SUDO rm -f "$SRCLIST"
    $SUDO "${NICE[@]}" apt-get update -qq
}

# The series' checksum: what a source tree marked with it has applied.
series_sum() { cat "$ROOT"/patches/[0-9]*.patch | sha256sum | cut -d' ' -f1; }

# Debian's source package, unpacked into $SRC. Debian's own patches only concern other
# architectures, the MiniBrowser's packaging and NVIDIA dmabuf: the source is used without them.
fetch_source() {
    [ -f "$SRC/CMakeLists.txt" ] && { log "source: $SRC exists, skipping"; return; }
    add_src_entry
    cd "$WK"
    log "source: apt-get source --download-only webkit2gtk=$PKGVER"
    "${NICE[@]}" apt-get source --download-only "webkit2gtk=$PKGVER" >/dev/null
    "${NICE[@]}" dpkg-source -x --skip-patches "webkit2gtk_${PKGVER}.dsc" "$SRC" >/dev/null
}

# Applies every patch of the series to $SRC, refusing fuzz.
apply_series() {
    local p
    for p in "$ROOT"/patches/[0-9]*.patch; do
        log "series: $(basename "$p")"
        patch -d "$SRC" -p1 --dry-run --quiet --fuzz=0 < "$p" || { log "series: $(basename "$p") does not apply"; exit 1; }
        patch -d "$SRC" -p1 --quiet --fuzz=0 < "$p"
    done
}

# WebKitGTK's build dependencies, and the GStreamer parts the WebRTC build adds.
install_build_deps() {
    [ -f "$WK/.deps-done" ] && { log "deps: already installed, skipping"; return; }
    add_src_entry
    log "deps: apt-get build-dep webkit2gtk=$PKGVER $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive "${NICE[@]}" apt-get build-dep -y -qq "webkit2gtk=$PKGVER" >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive "${NICE[@]}" apt-get install -y -qq \
        libgstreamer-plugins-bad1.0-dev libssl-dev "$@" >/dev/null
    touch "$WK/.deps-done"
}

# Installs wkrtc (meson, BUILDTYPE) into $PREFIX, where the patched CMake finds it with
# pkg-config. Files whose content did not change keep their time stamps, so WebKit rebuilds
# only the adapters that changed (and relinks when the library did).
install_wkrtc() {
    local buildtype=$1 stage=$WK/meson-stage
    log "wkrtc: meson install ($buildtype) into $PREFIX"
    if [ -f "$WK/meson/build.ninja" ]; then
        meson setup --reconfigure --buildtype "$buildtype" --prefix "$PREFIX" "$WK/meson" "$ROOT" >/dev/null
    else
        meson setup --buildtype "$buildtype" --prefix "$PREFIX" "$WK/meson" "$ROOT" >/dev/null
    fi
    rm -rf "$stage"
    if ! "${NICE[@]}" env DESTDIR="$stage" meson install -C "$WK/meson" --quiet > "$WK/meson-install.log" 2>&1; then
        tail -n 30 "$WK/meson-install.log" >&2
        log "wkrtc: meson install failed (all of it in $WK/meson-install.log)"
        exit 1
    fi
    (cd "$stage$PREFIX" && find . -type f) | while read -r f; do
        cmp -s "$stage$PREFIX/$f" "$PREFIX/$f" && continue
        mkdir -p "$(dirname "$PREFIX/$f")"
        cp "$stage$PREFIX/$f" "$PREFIX/$f"
        log "wkrtc: updated ${f#./}"
    done
    rm -rf "$stage"
    PKG_CONFIG_PATH=$(dirname "$(find "$PREFIX" -name wkrtc-webkit.pc | head -1)")
    export PKG_CONFIG_PATH
    log "wkrtc: webcoredir $(pkg-config --variable=webcoredir wkrtc-webkit)"
}

# The configure flags both scripts share. clang-16: the compiler debian/rules uses on amd64.
# ENABLE_WEB_RTC is private and follows ENABLE_EXPERIMENTAL_FEATURES, so both are set;
# ENABLE_WEBXR=OFF because experimental features turn WebXR on, which needs OpenXR (not in
# bookworm); USE_GSTREAMER_WEBRTC defaults to on and excludes wkrtc.
CMAKE_COMMON=(
    -G Ninja -DPORT=GTK -DUSE_GTK4=OFF -DUSE_SOUP2=OFF
    -DENABLE_WEB_RTC=ON -DENABLE_EXPERIMENTAL_FEATURES=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
    -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16
    -DENABLE_DOCUMENTATION=OFF -DENABLE_INTROSPECTION=OFF -DUSE_LIBBACKTRACE=OFF
    -DENABLE_BUBBLEWRAP_SANDBOX=OFF -DUSE_JPEGXL=OFF -DUSE_SYSPROF_CAPTURE=OFF
    -DENABLE_WEBXR=OFF -DUSE_GSTREAMER_WEBRTC=OFF -DUSE_RUST_WEBRTC=ON
)
check_configured() {
    grep -q '^#define USE_RUST_WEBRTC 1' "$BUILD/cmakeconfig.h" || { log "configure: USE_RUST_WEBRTC is not on"; exit 1; }
}
