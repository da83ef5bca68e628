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

WK=${WK:-/var/tmp/wkrtc-webkit}
LOG_TAG=webkit-check
source "$(dirname "$0")/webkit-common.sh"

# The marker holds the series' checksum: a changed series re-extracts the source, applies the
# new series and reconfigures (the generated headers do not depend on the series). The full
# build (webkit-build.sh) patches in place instead; this stage is cheap enough to start over.
patch_source() {
    local sum; sum=$(series_sum)
    if [ -f "$SRC/.wkrtc-patched" ]; then
        [ "$(cat "$SRC/.wkrtc-patched")" = "$sum" ] && { log "series: applied, skipping"; return; }
        log "series: changed, re-extracting the source"
        rm -rf "$SRC"
        rm -f "$BUILD/build.ninja"
        fetch_source
    fi
    apply_series
    echo "$sum" > "$SRC/.wkrtc-patched"
}

# ---- configure -----------------------------------------------------------
configure() {
    [ -f "$BUILD/build.ninja" ] && [ -f "$BUILD/compile_commands.json" ] && { log "configure: done, skipping"; return; }
    mkdir -p "$BUILD"
    log "configure: cmake"
    "${NICE[@]}" cmake -S "$SRC" -B "$BUILD" "${CMAKE_COMMON[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
    check_configured
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

# ---- generated headers ---------------------------------------------------
# The WebCore object depends (order-only) on libjavascriptcoregtk being linked, so
# `ninja <obj>` would compile all of WTF/bmalloc/JSC (~1700 TUs). Instead run only the
# non-compile, non-link commands of its closure in ninja's order (header copies,
# perl/python/ruby generators, IDL bindings), skipping the two LLInt steps that need
# compiled extractor binaries (their outputs are only used inside JSC itself).
generate_headers() {
    [ -f "$BUILD/.gen-done" ] && { log "generators: generated headers present, skipping"; return; }
    cd "$BUILD"
    local obj; obj=$(pcb_object)
    log "generators: object $obj"
    ninja -t commands "$obj" > cmds-all.txt
    grep -v -E ' -c ' cmds-all.txt | grep -v -E '^: && ' \
        | grep -v -E 'generate_offset_extractor.rb|offlineasm/asm.rb' > cmds-gen.txt
    log "generators: $(wc -l < cmds-gen.txt) generator commands (of $(wc -l < cmds-all.txt) total)"
    # ~1880 of these are single-file 'cd X && cmake -E copy A B' header copies; a cmake process
    # start per file dominates the run time, so replace them with a shell function (cp).
    sed -E 's#^cd [^ ]+ && /usr/bin/cmake -E copy ([^ ]+) ([^ ]+)$#cpf \1 \2#' cmds-gen.txt > cmds-gen-fast.sh
    log "generators: $(grep -c '^cpf ' cmds-gen-fast.sh) copies turned into cp"
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

fetch_source
patch_source
# The stats constructors are generated from the patched RTCStatsReport.h: they must be current.
if ! python3 "$ROOT/scripts/gen-webcore-stats.py" "$SRC" | cmp -s - "$ROOT/webkit-glue/webcore/RustStatsConstructors.cpp"; then
    log "webkit-glue/webcore/RustStatsConstructors.cpp is not what scripts/gen-webcore-stats.py makes from $SRC"
    exit 1
fi
install_wkrtc debug
install_build_deps
remove_src_entry
configure
generate_headers

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
