#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# The main job on a fresh Debian bookworm machine: installs what is missing, builds wkrtc and
# runs a real call between two wkrtc peers on loopback, printing the call report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec cargo run --release --quiet -p wkrtc-cli -- "${@:-loopback}"
