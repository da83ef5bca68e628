#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Runs the W3C webrtc/ web-platform-tests offline in headless Chromium and Firefox ESR (see
# docs/wpt.md). Fetches the tests first (tests/wpt/fetch.sh: Debian's firefox-esr source,
# cached in ~/.cache/wkrtc/wpt), then runs tests/wpt/run.py with wkrtc's virtual environment
# (wptserve from PyPI, installed by scripts/setup.sh). Root: the run happens in a private
# network namespace.
#
#   bash scripts/wpt.sh                                   # all of webrtc/, both browsers
#   bash scripts/wpt.sh --browser chromium --filter RTCDataChannel
#   bash scripts/wpt.sh --list --filter protocol/
#   WKRTC_MINIBROWSER=/path/to/MiniBrowser bash scripts/wpt.sh --browser webkit
#
# Results: target/wpt/<browser>.jsonl and target/wpt/summary.md (--results DIR elsewhere).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${WKRTC_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/wkrtc/venv}
if ! "$VENV/bin/python3" -c 'import wptserve' 2>/dev/null; then
    bash "$ROOT/scripts/setup.sh"
fi
WPT_ROOT=$(bash "$ROOT/tests/wpt/fetch.sh" | tail -n 1)
exec "$VENV/bin/python3" "$ROOT/tests/wpt/run.py" --wpt-root "$WPT_ROOT" "$@"
