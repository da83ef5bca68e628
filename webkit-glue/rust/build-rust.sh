#!/bin/sh
# SPDX-License-Identifier: MPL-2.0
# Builds wkrtc's Rust static library (with the C++ half of the cxx bridge compiled in) in
# the workspace's own target directory, then copies the library and the generated headers
# to meson's output directory. Usage: build-rust.sh CARGO SOURCE_ROOT OUT_DIR PROFILE
set -eu
cargo=$1 root=$2 out=$3 profile=$4
target=${CARGO_TARGET_DIR:-$root/target}
if [ "$profile" = release ]; then flag=--release; dir=release; else flag=; dir=debug; fi
(cd "$root" && "$cargo" build --quiet -p wkrtc-webkit $flag --target-dir "$target")
cp "$target/$dir/libwkrtc_webkit.a" "$out/libwkrtc_webkit.a"
cp "$target/cxxbridge/wkrtc-webkit/src/lib.rs.h" "$out/lib.rs.h"
cp "$target/cxxbridge/rust/cxx.h" "$out/cxx.h"
