#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""wkrtc's web-platform-tests runner: the W3C webrtc/ tests, offline, in headless browsers.

`scripts/wpt.sh` is the entry point: it fetches the tests (tests/wpt/fetch.sh, from Debian's
firefox-esr source package, cached outside the checkout) and runs this file with the Python of
wkrtc's virtual environment, which has wptserve.

What it does:

1. Moves itself into a private network namespace (loopback, plus a sink interface with an
   address and the default route, as tests/src/netns.rs does), so that no packet leaves the
   machine and the browsers still gather an ICE candidate.
2. Serves the WPT root with wptserve on 127.0.0.1; pages are opened as http://localhost:PORT
   (a secure context; 127.0.0.1 is then the cross-origin "remote" host of get-host-info).
   Besides static files and WPT's own .py handlers it serves: a generated page for each
   `.window.js`/`.any.js` test, `/resources/WebIDLParser.js` (idlharness's name for WebIDL2),
   and wkrtc's own `testharnessreport.js` and `testdriver-vendor.js` (tests/wpt/harness/).
3. Opens the first test page in a browser with a fresh profile. When a page completes,
   testharnessreport.js POSTs its results; the answer names the next test page, which the
   page opens in the same top-level window. A page without a result within its timeout
   (testharness.js's 10 s, or 60 s for `<meta name=timeout content=long>`, times the
   multiplier, plus a margin) is recorded as TIMEOUT and the browser restarted on the next
   test; a browser that exits is recorded as CRASH and restarted likewise.
4. Writes `<results>/<browser>.jsonl` (one line per test file: file, status, every subtest
   with name, status, message) and a summary (printed, and as `summary.md` and
   `summary.json`): per browser, subtests passed, failed, timed out, not run, and the score
   wpt.fyi uses (each file counts 1, split evenly over its subtests).

The browsers' flags and Firefox's prefs are those of wkrtc's interop tests, read from
tests/src/browser.rs (one place says why each is there), plus what WPT needs.
"""

import argparse
import ctypes
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "harness"
BROWSER_RS = REPO / "tests" / "src" / "browser.rs"

# Network namespace: the names and addresses of tests/src/netns.rs.
SINK_IF, SINK_PEER_IF, SINK_ADDR = "wkrtc0", "wkrtc1", "10.77.0.1"
UNREACHABLE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]

# testharness.js's harness timeouts (seconds), and what the watchdog adds: page loading and
# reporting, and the browser's start before the first page of a launch.
HARNESS_TIMEOUT = {"normal": 10.0, "long": 60.0}
WATCHDOG_MARGIN = 15.0
STARTUP_MARGIN = 30.0

# Directories that hold helpers, not tests (WPT's conventions).
NOT_TEST_DIRS = {"resources", "support", "tools", "third_party", "common", "coverage"}

REPORT_PATH = "/wkrtc-wpt/report"
DONE_PATH = "/wkrtc-wpt/done"

# Chromium: what WPT needs beyond the interop tests' flags (fake devices without a prompt,
# autoplay, loopback candidates).
CHROMIUM_WPT_FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    # /common/gc.js calls window.gc() when it exists (as WPT's own Chromium runs do).
    "--js-flags=--expose-gc",
]

# Firefox: what WPT needs beyond the interop tests' prefs (which already fake the devices,
# skip the permission prompt and stop Firefox's own network traffic).
FIREFOX_WPT_PREFS = [
    ("media.autoplay.default", "0"),
    ("media.autoplay.blocking_policy", "0"),
    ("media.autoplay.block-webaudio", "false"),
    ("dom.disable_beforeunload", "true"),
    ("dom.max_script_run_time", "0"),
    ("dom.max_chrome_script_run_time", "0"),
    ("hangmonitor.timeout", "0"),
    ("browser.tabs.warnOnClose", "false"),
    ("browser.warnOnQuit", "false"),
    ("toolkit.cosmeticAnimations.enabled", "false"),
]


def log(msg):
    print(f"[wpt {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- browser flags and prefs, from tests/src/browser.rs ----------------------------------

RUST_STR = r'"((?:[^"\\]|\\.)*)"'


def rust_unescape(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)


def rust_const_block(source, name):
    m = re.search(r"pub const " + re.escape(name) + r"\b[^=]*=\s*&\[(.*?)\n\];", source, re.S)
    if not m:
        raise SystemExit(f"cannot find {name} in {BROWSER_RS}")
    # Whole-line comments only: string literals may hold '//' (none do today).
    return "\n".join(line for line in m.group(1).splitlines() if not line.strip().startswith("//"))


def interop_browser_settings():
    """CHROMIUM_FLAGS and FIREFOX_PREFS of tests/src/browser.rs."""
    source = BROWSER_RS.read_text()
    flags = [rust_unescape(s) for s in re.findall(RUST_STR, rust_const_block(source, "CHROMIUM_FLAGS"))]
    prefs = [
        (rust_unescape(k), rust_unescape(v))
        for k, v in re.findall(r"\(\s*" + RUST_STR + r"\s*,\s*" + RUST_STR + r"\s*\)", rust_const_block(source, "FIREFOX_PREFS"))
    ]
    if len(flags) < 5 or len(prefs) < 20:
        raise SystemExit(f"read {len(flags)} Chromium flags and {len(prefs)} Firefox prefs from {BROWSER_RS}: its layout changed")
    return flags, prefs


# --- test discovery ----------------------------------------------------------------------


class Test:
    """One test page: a file of the WPT tree, and the URL that runs it."""

    def __init__(self, file, url, long):
        self.file = file  # relative to the WPT root, with '/'
        self.url = url  # path and query, from the root
        self.long = long

    def harness_timeout(self):
        return HARNESS_TIMEOUT["long" if self.long else "normal"]


META_TIMEOUT_LONG = re.compile(r"""<meta\s+name\s*=\s*["']?timeout["']?\s+content\s*=\s*["']?long""", re.I)
META_VARIANT = re.compile(r"""<meta\s+name\s*=\s*["']?variant["']?\s+content\s*=\s*["']([^"']*)["']""", re.I)
TESTHARNESS_SCRIPT = re.compile(r"""<script[^>]+src\s*=\s*["']?/resources/testharness\.js""", re.I)


def js_meta(text):
    """The `// META: key=value` lines at the top of a .js test, in order."""
    meta = []
    for line in text.splitlines():
        m = re.match(r"\s*//\s*META:\s*(\w+)\s*=\s*(.*?)\s*$", line)
        if m:
            meta.append((m.group(1), m.group(2)))
        elif line.strip() and not line.strip().startswith("//"):
            break
    return meta


def discover(root, base):
    """The tests under `base` (a directory of the WPT root), sorted by URL."""
    tests = []
    for dirpath, dirnames, filenames in os.walk(root / base):
        dirnames[:] = sorted(d for d in dirnames if d not in NOT_TEST_DIRS and not d.startswith((".", "_")))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if name.startswith((".", "_")) or "-manual." in name or re.search(r"-(not)?ref\.", name):
                continue
            if name.endswith((".html", ".htm", ".xhtml")):
                text = path.read_text(errors="replace")
                if not TESTHARNESS_SCRIPT.search(text):
                    continue
                variants = META_VARIANT.findall(text) or [""]
                long = bool(META_TIMEOUT_LONG.search(text))
                tests += [Test(rel, "/" + rel + v, long) for v in variants]
            elif name.endswith((".window.js", ".any.js")):
                meta = js_meta(path.read_text(errors="replace"))
                if name.endswith(".any.js"):
                    globals_ = [g.strip() for k, v in meta if k == "global" for g in v.split(",")]
                    if globals_ and not any(g in ("window", "default") for g in globals_):
                        continue  # workers only; this runner runs window scopes
                variants = [v for k, v in meta if k == "variant"] or [""]
                long = ("timeout", "long") in meta
                page = "/" + rel[: -len(".js")] + ".html"
                tests += [Test(rel, page + v, long) for v in variants]
    return sorted(tests, key=lambda t: t.url)


def wrapper_page(root, url_path):
    """The HTML page that runs a .window.js or .any.js test (WPT's convention: foo.window.js
    runs as foo.window.html), or None if there is no such test file."""
    js = root / url_path.lstrip("/")[: -len(".html")]
    js = js.with_name(js.name + ".js")
    if not js.is_file() or not js.resolve().is_relative_to(root.resolve()):
        return None
    meta = js_meta(js.read_text(errors="replace"))
    out = ["<!doctype html>", '<meta charset="utf-8">']
    if ("timeout", "long") in meta:
        out.append('<meta name="timeout" content="long">')
    for key, value in meta:
        if key == "title":
            out.append(f"<title>{html.escape(value)}</title>")
    if js.name.endswith(".any.js"):
        out.append("<script>self.GLOBAL = {isWindow: () => true, isWorker: () => false, isShadowRealm: () => false};</script>")
    out.append('<script src="/resources/testharness.js"></script>')
    out.append('<script src="/resources/testharnessreport.js"></script>')
    for key, value in meta:
        if key == "script":
            out.append(f'<script src="{html.escape(value, quote=True)}"></script>')
    out.append('<div id="log"></div>')
    out.append(f'<script src="/{html.escape(js.relative_to(root).as_posix(), quote=True)}"></script>')
    return "\n".join(out) + "\n"


# --- network namespace --------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000


def ip(*args):
    out = subprocess.run(["ip", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {out.stderr.strip()}")
    return out.stdout


def isolate():
    """Moves this process into a new network namespace: lo, and a sink interface holding
    SINK_ADDR/24 and the default route (a dummy, or a veth pair whose other end goes
    nowhere), private ranges unreachable. Then checks that no route leads off the machine.
    Must run before any thread exists (unshare(2) moves the calling thread only)."""
    if threading.active_count() != 1:
        raise RuntimeError("isolate() must run before any thread is started")
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.geteuid(), os.getegid()
    if not (uid == 0 and libc.unshare(CLONE_NEWNET) == 0):
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            err = os.strerror(ctypes.get_errno())
            raise RuntimeError(f"cannot make a private network namespace ({err}): run as root, or allow unprivileged user namespaces")
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    ip("link", "set", "lo", "up")
    ours = ["lo", SINK_IF]
    try:
        ip("link", "add", SINK_IF, "type", "dummy")
    except RuntimeError:
        ip("link", "add", SINK_IF, "type", "veth", "peer", "name", SINK_PEER_IF)
        ip("link", "set", SINK_PEER_IF, "up")
        ours.append(SINK_PEER_IF)
    if Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "0":
        Path("/proc/sys/net/ipv4/ip_forward").write_text("0")
    ip("addr", "add", f"{SINK_ADDR}/24", "dev", SINK_IF)
    ip("link", "set", SINK_IF, "up")
    ip("route", "add", "default", "dev", SINK_IF)
    for r in UNREACHABLE:
        ip("route", "add", "unreachable", r)
    # Checks: only our interfaces, none linked to another namespace, every route through them.
    names = []
    for line in ip("-d", "-o", "link", "show").splitlines():
        if "link-netns" in line:
            raise RuntimeError(f"an interface of the namespace is linked elsewhere: {line}")
        names.append(line.split(":")[1].strip().split("@")[0])
    if sorted(names) != sorted(ours):
        raise RuntimeError(f"the namespace should hold only {ours}, it holds {names}")
    for family in ("-4", "-6"):
        for route in ip(family, "route", "show", "table", "all").splitlines():
            words = route.split()
            dev = words[words.index("dev") + 1] if "dev" in words else None
            if dev not in ours and words[0] not in ("unreachable", "blackhole", "prohibit"):
                raise RuntimeError(f"unexpected route in the namespace: {route}")
    to_public = ip("-4", "route", "get", "192.0.2.1").split()
    if to_public[to_public.index("dev") + 1] != SINK_IF:
        raise RuntimeError(f"a public address should route into {SINK_IF}: {' '.join(to_public)}")
    return "veth" if SINK_PEER_IF in ours else "dummy"


# --- browsers -------------------------------------------------------------------------------


def browser_version(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                             env={**os.environ, "HOME": tempfile.gettempdir()})
        return out.stdout.strip() or out.stderr.strip() or "?"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"? ({e})"


class Browser:
    """A headless browser on a fresh profile, in its own process group; kill() ends the
    group (SIGTERM, then SIGKILL), and it dies with the runner (PR_SET_PDEATHSIG)."""

    def __init__(self, kind, binary, args, env, profile):
        self.kind = kind
        self.profile = profile
        self.log = open(profile / "stderr.log", "wb")
        # setpriv's --pdeathsig: the browser is killed if the runner dies without cleaning up.
        cmd = ["setpriv", "--pdeathsig", "KILL", "--", str(binary), *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     env=env, process_group=0)

    def exited(self):
        return self.proc.poll() is not None

    def kill(self):
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
            if sig == signal.SIGTERM:
                # Helpers may outlive the main process: end the whole group.
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            break
        self.log.close()

    def close(self, keep):
        """Kills the browser, then removes its profile unless `keep`."""
        self.kill()
        if keep:
            log(f"{self.kind} profile kept: {self.profile}")
        else:
            shutil.rmtree(self.profile, ignore_errors=True)

    def stderr_tail(self, n=3000):
        try:
            data = (self.profile / "stderr.log").read_bytes()
            return data[-n:].decode(errors="replace")
        except OSError:
            return ""


class BrowserKind:
    def __init__(self, name, options):
        self.name = name
        self.options = options
        self.binary = self.find_binary()

    def find_binary(self):
        if self.name == "chromium":
            return Path(os.environ.get("WKRTC_CHROMIUM") or "/usr/lib/chromium/chromium")
        if self.name == "firefox":
            return Path(os.environ.get("WKRTC_FIREFOX") or "/usr/lib/firefox-esr/firefox-esr")
        mini = os.environ.get("WKRTC_MINIBROWSER")
        if not mini:
            raise SystemExit("webkit: not built yet: see docs/webkit.md (set WKRTC_MINIBROWSER to a MiniBrowser built with wkrtc)")
        return Path(mini)

    def version(self):
        if self.name == "webkit":
            return f"MiniBrowser {self.binary}"
        return browser_version(self.binary)

    def launch(self, url):
        profile = Path(tempfile.mkdtemp(prefix=f"wkrtc-wpt-{self.name}-"))
        home = profile / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "MOZ_NO_REMOTE")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_DATA_HOME=str(home / ".local/share"))
        chromium_flags, firefox_prefs = self.options["interop"]
        if self.name == "chromium":
            args = [*chromium_flags, *CHROMIUM_WPT_FLAGS, f"--user-data-dir={profile}", url]
        elif self.name == "firefox":
            lines = ["// Written by wkrtc's WPT runner: tests/src/browser.rs's prefs, then WPT's."]
            lines += [f"user_pref({json.dumps(k)}, {v});" for k, v in [*firefox_prefs, *FIREFOX_WPT_PREFS]]
            (profile / "user.js").write_text("\n".join(lines) + "\n")
            args = ["--headless", "--no-remote", "--new-instance", "--profile", str(profile), url]
            env.update(MOZ_HEADLESS="1", MOZ_CRASHREPORTER_DISABLE="1", MOZ_DISABLE_AUTO_SAFE_MODE="1", MOZ_APP_LAUNCHER="")
        else:
            # A WebKitGTK MiniBrowser built with wkrtc: WebRTC and capture on, the mock
            # camera and microphone. It needs a display: Xvfb (xvfb-run) when there is none.
            args = ["--enable-webrtc=true", "--enable-media-stream=true", "--enable-mock-capture-devices=true", url]
            if not os.environ.get("DISPLAY"):
                args = ["-a", "-s", "-screen 0 1280x1024x24", str(self.binary), *args]
                return Browser(self.name, shutil.which("xvfb-run") or "xvfb-run", args, env, profile)
        return Browser(self.name, self.binary, args, env, profile)


# --- the run ---------------------------------------------------------------------------------


class Run:
    """The tests of one browser, in order; `index` is the test whose report is awaited.
    The server's threads call on_report; the main thread waits, and moves on by itself when
    the watchdog fires or the browser exits."""

    def __init__(self, tests, base_url):
        self.tests = tests
        self.base_url = base_url
        self.cond = threading.Condition()
        self.index = 0
        self.results = [None] * len(tests)
        self.started_at = time.monotonic()

    def next_url(self, i):
        return self.base_url + (self.tests[i].url if i < len(self.tests) else DONE_PATH)

    def on_report(self, data):
        with self.cond:
            i = self.index
            if i >= len(self.tests) or urllib.parse.unquote(str(data.get("url"))) != urllib.parse.unquote(self.tests[i].url):
                return None  # late (the watchdog moved on) or not a test page of this run
            now = time.monotonic()
            subtests = [{"name": s.get("name"), "status": s.get("status"), "message": s.get("message")} for s in data.get("subtests", [])]
            self.results[i] = {
                "file": self.tests[i].file, "url": self.tests[i].url, "status": data.get("status"),
                "message": data.get("message"), "duration_s": round(now - self.started_at, 2), "subtests": subtests,
            }
            self.index = i + 1
            self.started_at = now
            self.cond.notify_all()
            return self.next_url(self.index)

    def give_up(self, i, status, message):
        """Records test i without results (TIMEOUT, CRASH) unless it reported meanwhile."""
        with self.cond:
            if self.index != i:
                return False
            self.results[i] = {
                "file": self.tests[i].file, "url": self.tests[i].url, "status": status, "message": message,
                "duration_s": round(time.monotonic() - self.started_at, 2), "subtests": [], "watchdog": True,
            }
            self.index = i + 1
            self.started_at = time.monotonic()
            return True


def run_browser(kind, tests, base_url, multiplier, out, server_state, keep_profiles):
    run = Run(tests, base_url)
    server_state["run"] = run
    started = time.monotonic()
    restarts = 0
    browser = None
    def emit(i, extra=""):
        r = run.results[i]
        shown = extra or f"{summary_of(r)} {r['file']}{variant_of(tests[i])}"
        print(f"  {kind.name} [{i + 1}/{len(tests)}] {r['status']:<19} {shown}", flush=True)
        out.write(json.dumps(r) + "\n")
        out.flush()

    try:
        while run.index < len(tests):
            i = run.index
            margin = WATCHDOG_MARGIN
            if browser is None:
                browser = kind.launch(run.next_url(i))
                run.started_at = time.monotonic()
                margin += STARTUP_MARGIN
            # The page was opened when the previous one's report was answered (started_at).
            limit = tests[i].harness_timeout() * multiplier + margin
            deadline = run.started_at + limit
            with run.cond:
                while run.index == i and time.monotonic() < deadline and not browser.exited():
                    run.cond.wait(timeout=0.5)
            if run.index != i:
                emit(i)
                continue
            if browser.exited():
                status, why = "CRASH", f"{kind.name} exited ({browser.proc.returncode}) during the test"
            else:
                status, why = "TIMEOUT", f"no result within {limit:.0f} s (watchdog)"
            if not run.give_up(i, status, why):
                emit(i)  # it reported just now
                continue
            tail = browser.stderr_tail(1500)
            browser.close(keep_profiles)
            browser = None
            restarts += 1
            emit(i, f"{why}: {tests[i].file}{variant_of(tests[i])}")
            if status == "CRASH":
                print("    browser output (end):\n      " + tail.replace("\n", "\n      "), flush=True)
    finally:
        if browser is not None:
            browser.close(keep_profiles)
    return run.results, time.monotonic() - started, restarts


def variant_of(test):
    return test.url[test.url.index("?"):] if "?" in test.url else ""


def summary_of(r):
    subs = r["subtests"]
    passed = sum(1 for s in subs if s["status"] == "PASS")
    return f"{passed:>3}/{len(subs):<3}"


# --- the server ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root, multiplier, state, verbose):
    from wptserve import server as wserver
    from wptserve.config import ConfigBuilder
    from wptserve.handlers import handler
    from wptserve.routes import routes as default_routes
    import logging

    # wptserve logs through the root logger: warnings and errors, or every request (--verbose).
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr, format="[wptserve] %(message)s")
    wlog = logging.getLogger("wptserve")

    report_js = HARNESS.joinpath("testharnessreport.js").read_bytes()
    prefix = f"self.wkrtcWpt = {json.dumps({'reportPath': REPORT_PATH, 'timeoutMultiplier': multiplier})};\n".encode()
    vendor_js = HARNESS.joinpath("testdriver-vendor.js").read_bytes()
    js_headers = [("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-store")]

    @handler
    def report(request, response):
        run = state.get("run")
        try:
            data = json.loads(request.body)
        except ValueError:
            return 400, [], "bad JSON"
        nxt = run.on_report(data) if run else None
        return 200, [("Content-Type", "application/json")], json.dumps({"next": nxt})

    @handler
    def harness_report(request, response):
        return 200, js_headers, prefix + report_js

    @handler
    def vendor(request, response):
        return 200, js_headers, vendor_js

    @handler
    def webidl_parser(request, response):
        return 200, js_headers, (root / "resources" / "webidl2" / "lib" / "webidl2.js").read_bytes()

    @handler
    def wrapper(request, response):
        page = wrapper_page(root, request.url_parts.path)
        if page is None:
            return 404, [], "no such test"
        return 200, [("Content-Type", "text/html; charset=utf-8")], page

    @handler
    def done(request, response):
        return 200, [("Content-Type", "text/html; charset=utf-8")], "<!doctype html><title>wkrtc WPT run done</title>"

    routes = [
        ("POST", REPORT_PATH, report),
        ("GET", DONE_PATH, done),
        ("GET", "/resources/testharnessreport.js", harness_report),
        ("GET", "/resources/testdriver-vendor.js", vendor),
        ("GET", "/resources/WebIDLParser.js", webidl_parser),
        ("GET", "*.window.html", wrapper),
        ("GET", "*.any.html", wrapper),
    ] + list(default_routes)

    class Config(ConfigBuilder):
        # get-host-info.sub.js substitutes HTTPS ports too; there is no TLS server here, so
        # they name the HTTP servers and an https:// URL fails to load, as it should.
        def _get_ports(self, data):
            ports = super()._get_ports(data)
            ports["https"] = list(ports["http"])
            return ports

    ports = [free_port(), free_port()]
    builder = Config(wlog, browser_host="localhost", alternate_hosts={"alt": "127.0.0.1"}, ports={"http": ports}, doc_root=str(root),
                            subdomains={"www", "www1", "www2", "天気の良い日", "élève"},
                            not_subdomains={"nonexistent"})
    config = builder.__enter__()
    servers = []
    for port in ports:
        httpd = wserver.WebTestHttpd(host="127.0.0.1", port=port, doc_root=str(root), routes=routes, config=config)
        httpd.start()
        servers.append(httpd)
    return servers, f"http://localhost:{ports[0]}"


# --- summary -------------------------------------------------------------------------------------

SUB_STATUSES = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"]
FILE_STATUSES = ["OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED", "CRASH"]


def file_score(r):
    """wpt.fyi's per-file score: the share of passing subtests; a file without subtests
    counts 1 if its harness status is OK."""
    subs = r["subtests"]
    if subs:
        return sum(1 for s in subs if s["status"] == "PASS") / len(subs)
    return 1.0 if r["status"] == "OK" else 0.0


def tally(results):
    t = {"files": len(results), "file_status": {s: 0 for s in FILE_STATUSES}, "watchdog": 0,
         "subtests": 0, "sub_status": {s: 0 for s in SUB_STATUSES}, "score": 0.0}
    for r in results:
        t["file_status"][r["status"]] = t["file_status"].get(r["status"], 0) + 1
        t["watchdog"] += 1 if r.get("watchdog") else 0
        t["subtests"] += len(r["subtests"])
        for s in r["subtests"]:
            t["sub_status"][s["status"]] = t["sub_status"].get(s["status"], 0) + 1
        t["score"] += file_score(r)
    return t


def group_of(file, base):
    parts = file.split("/")
    depth = len(base.strip("/").split("/"))
    return "/".join(parts[: depth + 1]) + "/" if len(parts) > depth + 1 else base.strip("/") + "/"


def markdown(summary):
    L = []
    L.append(f"WPT: `{summary['wpt']}`, directory `{summary['base']}/`, {summary['date']}, timeout multiplier {summary['multiplier']}.")
    L.append("")
    L.append("| browser | files | subtests | passed | failed | timed out | not run | precondition failed | score (wpt.fyi) | files OK / ERROR / TIMEOUT / CRASH | wall time |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for b in summary["browsers"]:
        t = b["totals"]
        fs = t["file_status"]
        L.append(
            f"| {b['name']} ({b['version']}) | {t['files']} | {t['subtests']} | {t['sub_status']['PASS']} | {t['sub_status']['FAIL']} | "
            f"{t['sub_status']['TIMEOUT']} | {t['sub_status']['NOTRUN']} | {t['sub_status']['PRECONDITION_FAILED']} | "
            f"{t['score']:.2f} / {t['files']} ({100 * t['score'] / max(t['files'], 1):.1f}%) | "
            f"{fs['OK']} / {fs['ERROR']} / {fs['TIMEOUT']} ({t['watchdog']} without any result) / {fs['CRASH']} | "
            f"{b['wall_s'] / 60:.1f} min |")
    groups = sorted({g for b in summary["browsers"] for g in b["groups"]})
    if len(groups) > 1:
        L.append("")
        L.append("Score by directory (files; passed/subtests):")
        L.append("")
        L.append("| directory | " + " | ".join(b["name"] for b in summary["browsers"]) + " |")
        L.append("|---|" + "---|" * len(summary["browsers"]))
        for g in groups:
            cells = []
            for b in summary["browsers"]:
                t = b["groups"].get(g)
                cells.append("-" if not t else f"{t['score']:.2f} / {t['files']} ({t['sub_status']['PASS']}/{t['subtests']})")
            L.append(f"| `{g}` | " + " | ".join(cells) + " |")
    for b in summary["browsers"]:
        bad = [f for f in b["not_ok"]]
        if bad:
            L.append("")
            L.append(f"{b['name']}: files without an OK harness status: " + ", ".join(f"`{f}` ({s})" for f, s in bad) + ".")
    return "\n".join(L) + "\n"


# --- main --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description="Runs the W3C webrtc/ web-platform-tests in headless browsers, offline.")
    ap.add_argument("--wpt-root", required=True, type=Path, help="the WPT root (tests/wpt/fetch.sh prints it)")
    ap.add_argument("--browser", default="all", help="chromium, firefox, all (both), webkit (needs WKRTC_MINIBROWSER), or a comma list")
    ap.add_argument("--filter", action="append", default=[], help="run only tests whose path contains one of these substrings (comma-separated; repeatable)")
    ap.add_argument("--dir", default="webrtc", help="the WPT directory to run (default: webrtc)")
    ap.add_argument("--results", type=Path, default=REPO / "target" / "wpt", help="where results go (default: target/wpt)")
    ap.add_argument("--timeout-multiplier", type=float, default=1.0, help="multiplies testharness.js's timeouts and the watchdog's")
    ap.add_argument("--list", action="store_true", help="print the selected tests and exit")
    ap.add_argument("--no-netns", action="store_true", help="stay in the current network namespace (for diagnosis only)")
    ap.add_argument("--verbose", action="store_true", help="log every request the server answers")
    ap.add_argument("--keep-profiles", action="store_true", help="keep each browser profile (stderr.log inside)")
    args = ap.parse_args()
    # SIGTERM (a test's time limit, CI) ends the run through the `finally` blocks below, which
    # kill the browser and stop the servers and the stash process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    root = args.wpt_root.resolve()
    if not (root / "resources" / "testharness.js").is_file():
        raise SystemExit(f"{root} is not a WPT root (no resources/testharness.js)")
    source = root.parent / "SOURCE"
    wpt_version = "unknown"
    if source.is_file():
        fields = dict(line.split(": ", 1) for line in source.read_text().splitlines() if ": " in line)
        wpt_version = f"{fields.get('package', '?')} {fields.get('version', '?')} (Debian source, testing/web-platform/tests)"

    tests = discover(root, args.dir)
    filters = [f for arg in args.filter for f in arg.split(",") if f]
    if filters:
        tests = [t for t in tests if any(f in t.url or f in t.file for f in filters)]
    if args.list:
        for t in tests:
            print(t.url + ("  (long)" if t.long else ""))
        print(f"{len(tests)} tests", file=sys.stderr)
        return 0
    if not tests:
        raise SystemExit("no test selected")

    names = []
    for b in args.browser.split(","):
        names += ["chromium", "firefox"] if b == "all" else [b.strip()]
    for n in names:
        if n not in ("chromium", "firefox", "webkit"):
            raise SystemExit(f"unknown browser {n!r}: chromium, firefox, webkit or all")
    interop = interop_browser_settings()
    kinds = [BrowserKind(n, {"interop": interop}) for n in names]

    if not args.no_netns:
        link = isolate()
        log(f"network namespace: lo + {SINK_IF} ({link}, {SINK_ADDR}/24, default route into it), nothing leaves the machine")

    # WPT's Python handlers (the dispatcher of the back-forward-cache tests) keep state in a
    # stash served by a manager process.
    from wptserve import stash
    stash_server = stash.StashServer()
    stash_server.__enter__()
    state = {}
    servers, base_url = start_server(root, args.timeout_multiplier, state, args.verbose)
    log(f"serving {root} at {base_url} (wptserve); {len(tests)} tests; WPT {wpt_version}")

    args.results.mkdir(parents=True, exist_ok=True)
    summary = {"wpt": wpt_version, "base": args.dir.strip("/"), "date": time.strftime("%Y-%m-%d"),
               "multiplier": args.timeout_multiplier, "filters": filters, "browsers": []}
    try:
        for kind in kinds:
            version = kind.version()
            log(f"{kind.name}: {version}, {len(tests)} tests")
            with open(args.results / f"{kind.name}.jsonl", "w") as out:
                results, wall, restarts = run_browser(kind, tests, base_url, args.timeout_multiplier, out, state, args.keep_profiles)
            groups = {}
            for r in results:
                groups.setdefault(group_of(r["file"], args.dir), []).append(r)
            entry = {
                "name": kind.name, "version": version, "wall_s": round(wall, 1), "restarts": restarts,
                "totals": tally(results), "groups": {g: tally(rs) for g, rs in groups.items()},
                "not_ok": [(r["file"] + variant_of(Test(r["file"], r["url"], False)), r["status"]) for r in results if r["status"] != "OK"],
            }
            summary["browsers"].append(entry)
            t = entry["totals"]
            log(f"{kind.name}: {t['sub_status']['PASS']}/{t['subtests']} subtests passed, score {t['score']:.2f}/{t['files']}, {wall / 60:.1f} min, {restarts} restarts")
    finally:
        for s in servers:
            s.stop()
        stash_server.__exit__(None, None, None)
    md = markdown(summary)
    (args.results / "summary.md").write_text(md)
    (args.results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print()
    print(md)
    log(f"results: {args.results}/<browser>.jsonl, summary.md, summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
