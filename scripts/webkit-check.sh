#!/bin/bash
# SPDX-License-Identifier: MPL-2.0
# Compile-checks wkrtc's WebCore adapter classes (webkit-glue/webcore/*.cpp) against real,
# configured WebKitGTK 2.50.6 (Debian bookworm's source package) with wkrtc's patch series:
# fetches the source and its build dependencies, applies patches/, installs wkrtc (meson) where
# the patched CMake finds it through pkg-config, configures with USE_RUST_WEBRTC=ON, runs only
# the generators WebCore's headers need, then compiles every adapter .cpp with the exact flags
# compile_commands.json gives it inside WebCore, plus -fsyntax-only. A glue file that WebCore
# does not compile, or that the patches do not add to WebCore, fails. docs/webkit.md has the
# facts and timings behind each step.
#
# Usage (Debian bookworm amd64; as root or with sudo for apt):
#   scripts/webkit-check.sh                    # set-up if needed, then check every adapter .cpp
#   scripts/webkit-check.sh FILE.cpp [...]     # set-up if needed, then check these files only
# Environment:
#   WK=/var/tmp/wkrtc-webkit   work dir (source in $WK/src, build in $WK/build, wkrtc in $WK/prefix)
#   WK_PKGVER=2.50.6-1~deb12u2   Debian source version to fetch
#   WK_KEEP_SRC_ENTRY=1     do not remove the temporary deb-src entry at the end of set-up
#   GEN_DRY=1               only write the generator command list ($WK/build/cmds-gen.txt), do not run it
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WK=${WK:-/var/tmp/wkrtc-webkit}
PKGVER=${WK_PKGVER:-2.50.6-1~deb12u2}
SRC=$WK/src
BUILD=$WK/build
PREFIX=$WK/prefix
SRCLIST=/etc/apt/sources.list.d/wkrtc-webkit-src.sources
NICE=(nice -n 19 ionice -c3)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
log() { echo "[webkit-check $(date -u +%H:%M:%S)] $*" >&2; }
mkdir -p "$WK"

add_src_entry() {
    [ -f "$SRCLIST" ] && return 0
    $SUDO tee "$SRCLIST" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $SUDO "${NICE[@]}" apt-get update -qq
}
remove_src_entry() {
    [ "${WK_KEEP_SRC_ENTRY:-0}" = 1 ] && return 0
    [ -f "$SRCLIST" ] || return 0
    $SUDO rm -f "$SRCLIST"
    $SUDO "${NICE[@]}" apt-get update -qq
}

# ---- step 1: source -------------------------------------------------------
step1_source() {
    [ -f "$SRC/CMakeLists.txt" ] && { log "step1: $SRC exists, skipping"; return; }
    add_src_entry
    cd "$WK"
    log "step1: apt-get source --download-only webkit2gtk=$PKGVER"
    time "${NICE[@]}" apt-get source --download-only "webkit2gtk=$PKGVER"
    # Debian patches only touch non-amd64 arches, MiniBrowser and NVIDIA dmabuf: not needed for headers.
    time "${NICE[@]}" dpkg-source -x --skip-patches "webkit2gtk_${PKGVER}.dsc" "$SRC"
}

# ---- step 2: wkrtc's patch series ------------------------------------------
# The marker holds the series' checksum: a changed series re-extracts the source, applies the
# new series and reconfigures (the generated headers do not depend on the series).
step2_patch() {
    local sum; sum=$(cat "$ROOT"/patches/[0-9]*.patch | sha256sum | cut -d' ' -f1)
    if [ -f "$SRC/.wkrtc-patched" ]; then
        [ "$(cat "$SRC/.wkrtc-patched")" = "$sum" ] && { log "step2: patches applied, skipping"; return; }
        log "step2: the series changed, re-extracting the source"
        rm -rf "$SRC"
        rm -f "$BUILD/build.ninja"
        step1_source
    fi
    cd "$SRC"
    for p in "$ROOT"/patches/[0-9]*.patch; do
        log "step2: $(basename "$p")"
        patch -p1 --dry-run --quiet --fuzz=0 < "$p" || { log "step2: $(basename "$p") does not apply"; exit 1; }
        patch -p1 --quiet --fuzz=0 < "$p"
    done
    echo "$sum" > "$SRC/.wkrtc-patched"
}

# ---- step 2b: wkrtc installed where pkg-config finds it ----------------------
step2b_install_wkrtc() {
    log "step2b: meson install of wkrtc into $PREFIX"
    if [ -f "$WK/meson/build.ninja" ]; then
        meson setup --reconfigure --prefix "$PREFIX" "$WK/meson" "$ROOT" >/dev/null
    else
        meson setup --prefix "$PREFIX" "$WK/meson" "$ROOT" >/dev/null
    fi
    "${NICE[@]}" meson install -C "$WK/meson" --quiet >/dev/null
    PKG_CONFIG_PATH=$(dirname "$(find "$PREFIX" -name wkrtc-webkit.pc | head -1)")
    export PKG_CONFIG_PATH
    log "step2b: webcoredir $(pkg-config --variable=webcoredir wkrtc-webkit)"
}

# ---- step 3: build deps ---------------------------------------------------
step3_deps() {
    if [ -f "$WK/.deps-done" ]; then log "step3: deps already installed, skipping"; return; fi
    add_src_entry
    log "step3: apt-get build-dep webkit2gtk=$PKGVER"
    time $SUDO env DEBIAN_FRONTEND=noninteractive "${NICE[@]}" apt-get build-dep -y "webkit2gtk=$PKGVER"
    time $SUDO env DEBIAN_FRONTEND=noninteractive "${NICE[@]}" apt-get install -y libgstreamer-plugins-bad1.0-dev libssl-dev
    touch "$WK/.deps-done"
}

# ---- step 4: configure ----------------------------------------------------
step4_configure() {
    [ -f "$BUILD/build.ninja" ] && [ -f "$BUILD/compile_commands.json" ] && { log "step4: already configured, skipping"; return; }
    mkdir -p "$BUILD"
    log "step4: cmake configure"
    # clang-16: same compiler debian/rules uses on amd64. ENABLE_WEBXR=OFF because
    # ENABLE_EXPERIMENTAL_FEATURES=ON turns on WebXR, which needs OpenXR (not in bookworm build-deps).
    time "${NICE[@]}" cmake -G Ninja -S "$SRC" -B "$BUILD" \
        -DPORT=GTK -DCMAKE_BUILD_TYPE=Release -DUSE_GTK4=OFF -DUSE_SOUP2=OFF \
        -DENABLE_WEB_RTC=ON -DENABLE_EXPERIMENTAL_FEATURES=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
        -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 \
        -DENABLE_DOCUMENTATION=OFF -DENABLE_INTROSPECTION=OFF -DUSE_LIBBACKTRACE=OFF \
        -DENABLE_BUBBLEWRAP_SANDBOX=OFF -DUSE_JPEGXL=OFF -DUSE_SYSPROF_CAPTURE=OFF \
        -DENABLE_WEBXR=OFF -DUSE_GSTREAMER_WEBRTC=OFF -DUSE_RUST_WEBRTC=ON
    grep -q '^#define USE_RUST_WEBRTC 1' "$BUILD/cmakeconfig.h" || { log "step4: USE_RUST_WEBRTC is not on"; exit 1; }
}

# Find the unified-source TU containing PeerConnectionBackend.cpp and its object file.
pcb_unified() {
    grep -l '#include "Modules/mediastream/PeerConnectionBackend.cpp"' "$BUILD"/WebCore/DerivedSources/unified-sources/UnifiedSource-*.cpp | head -1
}
pcb_object() {
    python3 - "$BUILD/compile_commands.json" "$(basename "$(pcb_unified)")" <<'EOF'
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    if e['file'].endswith('/' + sys.argv[2]):
        a = shlex.split(e['command']); print(a[a.index('-o') + 1]); break
EOF
}

# ---- step 6: generated headers --------------------------------------------
# The WebCore object depends (order-only) on libjavascriptcoregtk being linked, so
# `ninja <obj>` would compile all of WTF/bmalloc/JSC (~1700 TUs). Instead run only the
# non-compile, non-link commands of its closure in ninja's order (header copies,
# perl/python/ruby generators, IDL bindings), skipping the two LLInt steps that need
# compiled extractor binaries (their outputs are only used inside JSC itself).
step6_generate() {
    [ -f "$BUILD/.gen-done" ] && { log "step6: generated headers present, skipping"; return; }
    cd "$BUILD"
    local obj; obj=$(pcb_object)
    log "step6: object $obj"
    ninja -t commands "$obj" > cmds-all.txt
    grep -v -E ' -c ' cmds-all.txt | grep -v -E '^: && ' \
        | grep -v -E 'generate_offset_extractor.rb|offlineasm/asm.rb' > cmds-gen.txt
    log "step6: $(wc -l < cmds-gen.txt) generator commands (of $(wc -l < cmds-all.txt) total)"
    # ~1880 of these are single-file 'cd X && cmake -E copy A B' header copies; a cmake process
    # start per file dominates the run time, so replace them with a shell function (cp).
    sed -E 's#^cd [^ ]+ && /usr/bin/cmake -E copy ([^ ]+) ([^ ]+)$#cpf \1 \2#' cmds-gen.txt > cmds-gen-fast.sh
    log "step6: $(grep -c '^cpf ' cmds-gen-fast.sh) copies turned into cp"
    [ "${GEN_DRY:-0}" = 1 ] && return 0
    # Note: the leftover 'cmake_symlink_library' line of the JSC link edge fails harmlessly ('&& :').
    time "${NICE[@]}" bash -e -c 'cpf() { [ -d "${2%/*}" ] || mkdir -p "${2%/*}"; cp -f "$1" "$2"; }; source cmds-gen-fast.sh' > gen.log 2>&1
    touch "$BUILD/.gen-done"
}

# ---- syntax check ----------------------------------------------------------
# Runs FILE's own compile command from compile_commands.json (found by file name among the
# adapter sources the patches add to WebCore) on FILE, with -fsyntax-only.
syntax_check() {
    local file; file=$(readlink -f "$1")
    local command
    command=$(python3 - "$BUILD/compile_commands.json" "$(basename "$file")" "$file" <<'PY'
import json, shlex, sys
db, name, path = sys.argv[1:]
for e in json.load(open(db)):
    if e['file'].endswith('/' + name):
        a = shlex.split(e['command']); out = []; skip = False
        for x in a:
            if skip: skip = False; continue
            if x in ('-o', '-c'): skip = True; continue
            if x == e['file'] or x.endswith('/' + name): continue
            out.append(x)
        print(shlex.join(out + ['-fsyntax-only', '-fno-color-diagnostics', path])); break
PY
)
    if [ -z "$command" ]; then
        log "syntax check: $(basename "$file") is not a WebCore source (missing from the patch series?)"
        return 1
    fi
    log "syntax check: $(basename "$file")"
    (cd "$BUILD" && time "${NICE[@]}" bash -c "$command")
}

step1_source
step2_patch
# The stats constructors are generated from the patched RTCStatsReport.h: they must be current.
if ! python3 "$ROOT/scripts/gen-webcore-stats.py" "$SRC" | cmp -s - "$ROOT/webkit-glue/webcore/RustStatsConstructors.cpp"; then
    log "webkit-glue/webcore/RustStatsConstructors.cpp is not what scripts/gen-webcore-stats.py makes from $SRC"
    exit 1
fi
step2b_install_wkrtc
step3_deps
remove_src_entry
step4_configure
step6_generate

failed=0
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    # By default the installed copies are checked, as WebKit compiles them; every adapter
    # file must have been installed.
    webcoredir=$(pkg-config --variable=webcoredir wkrtc-webkit)
    for f in "$ROOT"/webkit-glue/webcore/*; do
        if ! cmp -s "$f" "$webcoredir/$(basename "$f")"; then
            log "$(basename "$f") is not installed in $webcoredir (missing from webkit-glue/meson.build?)"
            failed=$((failed + 1))
        fi
    done
    for f in "$ROOT"/webkit-glue/webcore/*.cpp; do
        files+=("$webcoredir/$(basename "$f")")
    done
fi
for f in "${files[@]}"; do
    syntax_check "$f" || failed=$((failed + 1))
done
log "${#files[@]} adapter file(s) checked against WebCore, $failed failed"
[ "$failed" -eq 0 ]
