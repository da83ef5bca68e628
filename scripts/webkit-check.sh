#!/bin/bash
# SPDX-License-Identifier: MPL-2.0
# Compile-checks C++ glue against the configured WebCore headers of WebKitGTK 2.50.6 (Debian
# bookworm source package): fetches the source and build dependencies, configures with cmake,
# runs only the generators WebCore's headers need, then runs `-fsyntax-only` on a given .cpp
# with the exact flags of Modules/mediastream/PeerConnectionBackend.cpp. See docs/webkit.md
# for the facts and timings behind each step. Not yet part of .ci/run.
#
# Usage (as root, Debian bookworm amd64):
#   scripts/webkit-check.sh                          # setup only (steps 1,3,4,6); idempotent, skips finished steps
#   scripts/webkit-check.sh FILE.cpp [DIR|-IDIR ...] # setup if needed, then syntax-check FILE.cpp with extra include dirs
# Environment:
#   WK=/tmp/webkit          work dir (source in $WK/src, build in $WK/build)
#   WK_PKGVER=2.50.6-1~deb12u2   Debian source version to fetch
#   WK_KEEP_SRC_ENTRY=1     do not remove the temporary deb-src entry at the end of setup
#   GEN_DRY=1               only write the generator command list ($WK/build/cmds-gen.txt), do not run it
set -euo pipefail

WK=${WK:-/tmp/webkit}
PKGVER=${WK_PKGVER:-2.50.6-1~deb12u2}
SRC=$WK/src
BUILD=$WK/build
SRCLIST=/etc/apt/sources.list.d/wkrtc-webkit-src.sources
NICE=(nice -n 19 ionice -c3)
log() { echo "[webkit-check $(date -u +%H:%M:%S)] $*" >&2; }
mkdir -p "$WK"

add_src_entry() {
    [ -f "$SRCLIST" ] && return 0
    cat > "$SRCLIST" <<'EOF'
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
    "${NICE[@]}" apt-get update -qq
}
remove_src_entry() {
    [ "${WK_KEEP_SRC_ENTRY:-0}" = 1 ] && return 0
    [ -f "$SRCLIST" ] || return 0
    rm -f "$SRCLIST"
    "${NICE[@]}" apt-get update -qq
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

# ---- step 3: build deps ---------------------------------------------------
step3_deps() {
    if [ -f "$WK/.deps-done" ]; then log "step3: deps already installed, skipping"; return; fi
    add_src_entry
    log "step3: apt-get build-dep webkit2gtk=$PKGVER"
    time DEBIAN_FRONTEND=noninteractive "${NICE[@]}" apt-get build-dep -y "webkit2gtk=$PKGVER"
    time DEBIAN_FRONTEND=noninteractive "${NICE[@]}" apt-get install -y libgstreamer-plugins-bad1.0-dev libssl-dev
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
        -DENABLE_WEBXR=OFF
}

# Find the unified-source TU containing PeerConnectionBackend.cpp and its object file.
pcb_unified() {
    grep -l '#include "Modules/mediastream/PeerConnectionBackend.cpp"' "$BUILD"/WebCore/DerivedSources/unified-sources/UnifiedSource-*.cpp | head -1
}
pcb_flags() {   # compile flags of that TU without -o/-c and without the input file
    python3 - "$BUILD/compile_commands.json" "$(basename "$(pcb_unified)")" <<'EOF'
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    if e['file'].endswith('/' + sys.argv[2]):
        a = shlex.split(e['command']); out = []; skip = False
        for x in a:
            if skip: skip = False; continue
            if x in ('-o', '-c'): skip = True; continue
            out.append(x)
        print(shlex.join(out)); break
EOF
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
syntax_check() {
    local file=$1; shift
    local extra=()
    for d in "$@"; do case $d in -I*|-D*|-W*|-f*|-std=*|-include) extra+=("$d");; *) extra+=("-I$d");; esac; done
    local flags; flags=$(pcb_flags)
    log "syntax check: $file ${extra[*]}"
    # shellcheck disable=SC2086
    time "${NICE[@]}" bash -c "$flags \"\$@\"" _ "${extra[@]}" -fsyntax-only -fno-color-diagnostics "$(readlink -f "$file")"
}

if [ "$#" -eq 0 ] || [ ! -f "$BUILD/.gen-done" ]; then
    step1_source
    step3_deps
    remove_src_entry
    step4_configure
    step6_generate
fi
if [ "$#" -gt 0 ]; then
    syntax_check "$@"
fi
