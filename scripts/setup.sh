#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Installs what wkrtc needs on Debian bookworm. Idempotent: a second run installs nothing.
set -euo pipefail

PACKAGES=(
  pkg-config
  libglib2.0-dev
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-nice
  libnice-dev
  libssl-dev
  gstreamer1.0-tools
  iproute2
  chromium
  firefox-esr
  coturn
  xvfb
  g++
  meson
  ninja-build
  python3-venv
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "wkrtc setup: installing ${missing[*]}"
  $SUDO apt-get update -qq || echo "wkrtc setup: apt-get update reported errors; trying the install anyway" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# aiortc (PyPI), a strict third-party WebRTC peer for tests/tests/aiortc_interop.rs, in a
# virtual environment of wkrtc's own (Debian's Python refuses system-wide pip installs).
VENV=${WKRTC_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/wkrtc/venv}
if ! "$VENV/bin/python3" -c 'import aiortc' 2>/dev/null; then
  echo "wkrtc setup: installing aiortc into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check aiortc==1.16.0
fi
# wptserve (PyPI), the web-platform-tests server of the WPT runner (tests/wpt/, scripts/wpt.sh).
if ! "$VENV/bin/python3" -c 'import wptserve' 2>/dev/null; then
  echo "wkrtc setup: installing wptserve into $VENV"
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check wptserve==4.0.3
fi

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "wkrtc setup: cargo-nextest not found; tests fall back to cargo test" >&2
fi
