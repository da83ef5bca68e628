#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Runs every wkrtc test on a fresh Debian bookworm machine: installs what is missing, then
# the unit, integration and doc tests of the workspace, then the C++ side (meson: the Rust
# static library, the C++ API over the cxx bridge, and its two-peer test), then the WebKit
# side: the patch series applied to WebKitGTK 2.50.6 and every WebCore adapter class compiled
# against the configured WebCore (about 6 minutes the first time, seconds after).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TERM_COLOR=never
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doc tests: the crate's tutorial example first, then everything else.
  cargo test -p wkrtc --doc
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
# The meson build shares cargo's target directory, so the library is not built twice.
if [ -f target/meson/build.ninja ]; then
  meson setup --reconfigure target/meson >/dev/null
else
  meson setup target/meson >/dev/null
fi
meson test -C target/meson --print-errorlogs
bash scripts/webkit-check.sh
