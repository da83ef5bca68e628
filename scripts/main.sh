#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The main job on a fresh Debian bookworm machine: installs what is missing, builds wkrtc and
# serves the wkrtc page (`wkrtc serve`): open the printed URL in a browser to call wkrtc.
# `bash scripts/main.sh loopback` instead calls between two wkrtc peers and prints a report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec cargo run --release --quiet -p wkrtc-cli -- "${@:-serve}"
