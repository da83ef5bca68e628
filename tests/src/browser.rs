// SPDX-License-Identifier: MPL-2.0
//! Headless Chromium and Firefox ESR, each on a fresh temporary profile, killed with its whole
//! process group when dropped.
//!
//! Binaries: Debian's (`/usr/lib/chromium/chromium`, the real binary behind the
//! `/usr/bin/chromium` wrapper script, whose `/etc/chromium.d` adds extensions and API keys we
//! do not want; `/usr/lib/firefox-esr/firefox-esr`), or `$WKRTC_CHROMIUM` / `$WKRTC_FIREFOX`.
//! Nothing here ever downloads a browser.
//!
//! Each browser gets a fresh directory from `mkdtemp(3)` under `$TMPDIR`: it is the profile
//! (`--user-data-dir` / `--profile`), it holds `home/` (the browser's `$HOME` and XDG
//! directories, so the machine's own dot-files are neither read nor written) and `stderr.log`
//! (the browser's stdout and stderr, for diagnostics). It is removed on drop unless
//! [`Options::keep_profile`] is set or the thread is panicking.
//!
//! Every wait is bounded: [`Browser::kill`] sends `SIGTERM` to the process group, waits at
//! most [`TERM_GRACE`], then `SIGKILL`s the group and waits at most [`KILL_GRACE`].

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long [`Browser::kill`] waits after `SIGTERM` before `SIGKILL`.
pub const TERM_GRACE: Duration = Duration::from_secs(3);
/// How long [`Browser::kill`] waits after `SIGKILL`.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// Which browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Debian's `chromium`.
    Chromium,
    /// Debian's `firefox-esr`.
    Firefox,
}

impl Kind {
    /// `"chromium"` or `"firefox"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Chromium => "chromium",
            Kind::Firefox => "firefox",
        }
    }

    /// The binary to run: `$WKRTC_CHROMIUM` / `$WKRTC_FIREFOX` if set, else Debian's.
    pub fn binary(self) -> PathBuf {
        let (var, debian, fallback) = match self {
            Kind::Chromium => ("WKRTC_CHROMIUM", "/usr/lib/chromium/chromium", "chromium"),
            Kind::Firefox => ("WKRTC_FIREFOX", "/usr/lib/firefox-esr/firefox-esr", "firefox-esr"),
        };
        match std::env::var_os(var) {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ if Path::new(debian).exists() => PathBuf::from(debian),
            _ => PathBuf::from(fallback),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to start a browser. `Default` is what the smoke test uses.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Fake camera and microphone, no permission prompt (Chromium:
    /// `--use-fake-device-for-media-stream --use-fake-ui-for-media-stream`; Firefox always
    /// has `media.navigator.streams.fake` and `media.navigator.permission.disabled`).
    pub fake_media: bool,
    /// Chromium only: `--allow-loopback-in-peer-connection`, so that Chromium gathers
    /// 127.0.0.1. Off by default: we want Chromium's default (no loopback, mDNS host names).
    pub allow_loopback: bool,
    /// More command-line arguments, before the URL.
    pub extra_args: Vec<String>,
    /// Firefox only: more `user_pref(name, value)` lines; `value` is JavaScript (`true`,
    /// `3`, `"text"`), and a later line wins over [`FIREFOX_PREFS`].
    pub extra_prefs: Vec<(String, String)>,
    /// Keep the profile directory (with `stderr.log`) after drop.
    pub keep_profile: bool,
}

/// Chromium's flags, besides `--user-data-dir` and those from [`Options`].
///
/// WebRTC needs no flag in the test namespace, given its default route (see
/// [`crate::netns`]): Chromium 156 gathers one UDP host candidate on 10.77.0.1, named by a
/// random `.local` mDNS name (the same name for every peer connection of the page), and
/// resolves the other peer's name by multicast DNS through the sink interface. Even with
/// `--disable-background-networking` and `--disable-component-update`, it still tries
/// `clients2.google.com` (network time), `accounts.google.com` (ListAccounts) and
/// `update.googleapis.com` (the on-device model component) at startup; in the namespace
/// their DNS queries fail at once. `--host-resolver-rules` would stop them earlier but
/// breaks the page (the renderer reloads it repeatedly), so it is not used.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--disable-dev-shm-usage",
    "--disable-popup-blocking",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    // Background tabs (window.open) must not have their timers throttled.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
];

/// Firefox's `user.js`: what it takes to start with no network traffic of its own, to allow
/// popups, fake media, and WebRTC inside the test namespace.
///
/// WebRTC in the namespace needs no pref, given its default route (see [`crate::netns`]):
/// Firefox ESR 153 then gathers 10.77.0.1 (UDP, and TCP active) behind a `.local` mDNS name.
/// What was found out:
///
/// - Without camera/microphone *permission*, Firefox gathers only the default-route
///   address, whatever `media.peerconnection.ice.default_address_only` says; without a
///   default route that is nothing, and the connection fails at once.
/// - `media.navigator.permission.disabled=true` skips the prompt but grants no permission:
///   even with a live fake `getUserMedia` track, Firefox stays in that mode (mDNS names,
///   default route only), so `media.peerconnection.ice.loopback=true` has no visible effect
///   in the smoke test.
/// - With a standing grant (`permissions.default.microphone=1`, with
///   `media.navigator.permission.disabled=false`; no `getUserMedia` call needed), Firefox
///   gathers every interface with raw addresses, loopback included (127.0.0.1 and ::1,
///   thanks to the loopback pref), and connects even without a default route. Once in that
///   set-up a later `new RTCPeerConnection()` threw "Can't create RTCPeerConnections when the
///   network is down" (its link service saw no default route), hence
///   `network.manage-offline-status=false`.
pub const FIREFOX_PREFS: &[(&str, &str)] = &[
    // Updates: the application, add-ons, system add-ons, search engines, GMP (OpenH264).
    ("app.update.disabledForTesting", "true"),
    ("app.update.auto", "false"),
    ("app.update.checkInstallTime", "false"),
    ("app.update.staging.enabled", "false"),
    ("app.update.service.enabled", "false"),
    ("extensions.update.enabled", "false"),
    ("extensions.update.autoUpdateDefault", "false"),
    ("extensions.getAddons.cache.enabled", "false"),
    ("extensions.systemAddon.update.enabled", "false"),
    ("extensions.systemAddon.update.url", "\"\""),
    ("extensions.blocklist.enabled", "false"),
    ("extensions.pocket.enabled", "false"),
    ("extensions.webservice.discoverURL", "\"\""),
    ("browser.search.update", "false"),
    ("browser.region.update.enabled", "false"),
    ("browser.region.network.url", "\"\""),
    ("media.gmp-manager.updateEnabled", "false"),
    ("media.gmp-manager.url", "\"\""),
    ("media.gmp-gmpopenh264.autoupdate", "false"),
    ("media.gmp-widevinecdm.enabled", "false"),
    ("media.eme.enabled", "false"),
    // Telemetry, data reporting, crash reports.
    ("toolkit.telemetry.enabled", "false"),
    ("toolkit.telemetry.unified", "false"),
    ("toolkit.telemetry.server", "\"\""),
    ("toolkit.telemetry.archive.enabled", "false"),
    ("toolkit.telemetry.newProfilePing.enabled", "false"),
    ("toolkit.telemetry.shutdownPingSender.enabled", "false"),
    ("toolkit.telemetry.firstShutdownPing.enabled", "false"),
    ("toolkit.telemetry.updatePing.enabled", "false"),
    ("toolkit.telemetry.bhrPing.enabled", "false"),
    ("toolkit.telemetry.reportingpolicy.firstRun", "false"),
    ("datareporting.healthreport.uploadEnabled", "false"),
    ("datareporting.policy.dataSubmissionEnabled", "false"),
    ("datareporting.policy.dataSubmissionPolicyBypassNotification", "true"),
    ("datareporting.usage.uploadEnabled", "false"),
    ("browser.ping-centre.telemetry", "false"),
    ("browser.tabs.crashReporting.sendReport", "false"),
    ("browser.crashReports.unsubmittedCheck.enabled", "false"),
    ("browser.crashReports.unsubmittedCheck.autoSubmit2", "false"),
    // Studies and experiments (Normandy, Nimbus).
    ("app.shield.optoutstudies.enabled", "false"),
    ("app.normandy.enabled", "false"),
    ("app.normandy.api_url", "\"\""),
    ("messaging-system.rsexperimentloader.enabled", "false"),
    ("nimbus.rollouts.enabled", "false"),
    // Captive portal and connectivity checks.
    ("network.captive-portal-service.enabled", "false"),
    ("captivedetect.canonicalURL", "\"\""),
    ("network.connectivity-service.enabled", "false"),
    ("network.connectivity-service.IPv4.url", "\"\""),
    ("network.connectivity-service.IPv6.url", "\"\""),
    // Remote settings (as Mozilla's own test profiles do), and what feeds on them.
    ("services.settings.server", "\"data:,#remote-settings-dummy/v1\""),
    ("security.remote_settings.crlite_filters.enabled", "false"),
    ("security.remote_settings.intermediates.enabled", "false"),
    ("security.OCSP.enabled", "0"),
    // Safe browsing, downloads included.
    ("browser.safebrowsing.downloads.enabled", "false"),
    ("browser.safebrowsing.downloads.remote.enabled", "false"),
    ("browser.safebrowsing.malware.enabled", "false"),
    ("browser.safebrowsing.phishing.enabled", "false"),
    ("browser.safebrowsing.blockedURIs.enabled", "false"),
    ("browser.safebrowsing.update.enabled", "false"),
    ("browser.safebrowsing.provider.google4.updateURL", "\"\""),
    ("browser.safebrowsing.provider.google.updateURL", "\"\""),
    ("browser.safebrowsing.provider.mozilla.updateURL", "\"\""),
    // Other traffic at startup: start page, new-tab page, prefetch and speculative
    // connections, DoH, proxy autodetection, push, geolocation, accounts, ML/translations.
    ("browser.startup.page", "0"),
    ("browser.startup.homepage", "\"about:blank\""),
    ("browser.startup.homepage_override.mstone", "\"ignore\""),
    ("startup.homepage_welcome_url", "\"\""),
    ("startup.homepage_welcome_url.additional", "\"\""),
    ("startup.homepage_override_url", "\"\""),
    ("browser.aboutwelcome.enabled", "false"),
    ("browser.shell.checkDefaultBrowser", "false"),
    ("browser.newtabpage.enabled", "false"),
    ("browser.newtabpage.activity-stream.feeds.telemetry", "false"),
    ("browser.newtabpage.activity-stream.telemetry", "false"),
    ("browser.newtabpage.activity-stream.feeds.topsites", "false"),
    ("browser.newtabpage.activity-stream.feeds.section.topstories", "false"),
    ("browser.newtabpage.activity-stream.feeds.discoverystreamfeed", "false"),
    ("browser.newtabpage.activity-stream.feeds.snippets", "false"),
    ("browser.topsites.contile.enabled", "false"),
    ("browser.discovery.enabled", "false"),
    ("browser.uitour.enabled", "false"),
    ("browser.vpn_promo.enabled", "false"),
    ("browser.translations.enable", "false"),
    ("browser.ml.enable", "false"),
    ("browser.ml.chat.enabled", "false"),
    ("signon.management.page.breach-alerts.enabled", "false"),
    ("identity.fxaccounts.enabled", "false"),
    ("network.dns.disablePrefetch", "true"),
    ("network.prefetch-next", "false"),
    ("network.predictor.enabled", "false"),
    ("network.http.speculative-parallel-limit", "0"),
    ("browser.urlbar.speculativeConnect.enabled", "false"),
    ("browser.places.speculativeConnect.enabled", "false"),
    ("network.trr.mode", "5"),
    ("network.proxy.type", "0"),
    ("dom.push.enabled", "false"),
    ("dom.push.connection.enabled", "false"),
    ("dom.push.serverURL", "\"\""),
    ("geo.enabled", "false"),
    ("geo.provider.network.url", "\"\""),
    ("browser.sessionstore.resume_from_crash", "false"),
    ("toolkit.startup.max_resumed_crashes", "-1"),
    // Never "offline": Firefox's link service may call the network down when there is no
    // default route, and then `new RTCPeerConnection()` throws "Can't create RTCPeerConnections
    // when the network is down" (seen once in a namespace without the default route).
    ("network.manage-offline-status", "false"),
    // What the tests need: popups, fake devices without prompts, WebRTC in the namespace.
    ("dom.disable_open_during_load", "false"),
    ("media.navigator.streams.fake", "true"),
    ("media.navigator.permission.disabled", "true"),
    ("media.peerconnection.ice.loopback", "true"),
    // performance.now() at full resolution (else 1 ms steps outside cross-origin isolation),
    // so that round trips below a millisecond can be measured.
    ("privacy.reduceTimerPrecision", "false"),
];

/// A running headless browser.
pub struct Browser {
    kind: Kind,
    child: Child,
    dir: PathBuf,
    started: Instant,
    keep: bool,
    status: Option<ExitStatus>,
}

impl Browser {
    /// Starts `kind` headless on `url` with a fresh profile.
    pub fn launch(kind: Kind, url: &str, options: &Options) -> Result<Self> {
        let dir = make_temp_dir(&format!("wkrtc-{}-", kind.name()))?;
        let home = dir.join("home");
        std::fs::create_dir_all(&home)?;
        let mut cmd = Command::new(kind.binary());
        match kind {
            Kind::Chromium => {
                cmd.args(CHROMIUM_FLAGS);
                cmd.arg(format!("--user-data-dir={}", dir.display()));
                if options.fake_media {
                    cmd.args(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
                }
                if options.allow_loopback {
                    cmd.arg("--allow-loopback-in-peer-connection");
                }
            }
            Kind::Firefox => {
                let mut js = String::from("// Written by wkrtc-interop.\n");
                let extra = options.extra_prefs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                for (name, value) in FIREFOX_PREFS.iter().copied().chain(extra) {
                    js.push_str(&format!("user_pref({name:?}, {value});\n"));
                }
                std::fs::write(dir.join("user.js"), js)?;
                cmd.args(["--headless", "--no-remote", "--new-instance", "--profile"]).arg(&dir);
                cmd.env("MOZ_HEADLESS", "1")
                    .env("MOZ_CRASHREPORTER_DISABLE", "1")
                    .env("MOZ_DISABLE_AUTO_SAFE_MODE", "1")
                    .env("MOZ_APP_LAUNCHER", "")
                    .env_remove("MOZ_NO_REMOTE");
            }
        }
        cmd.args(&options.extra_args).arg(url);
        let log = File::create(dir.join("stderr.log"))?;
        cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        // Its own process group, so that kill() reaches every helper process it forks.
        cmd.process_group(0);
        // And killed with the test process if that dies without running Drop (a crash):
        // left behind, a browser keeps a core busy and skews every later measurement.
        // SAFETY: prctl(2) is async-signal-safe and touches only the child being spawned.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                let hint = match (e.kind(), kind) {
                    (std::io::ErrorKind::NotFound, Kind::Chromium) => ": apt-get install chromium",
                    (std::io::ErrorKind::NotFound, Kind::Firefox) => ": apt-get install firefox-esr",
                    _ => "",
                };
                return Err(e).with_context(|| format!("starting {} ({}){hint}", kind, kind.binary().display()));
            }
        };
        Ok(Self { kind, child, dir, started, keep: options.keep_profile, status: None })
    }

    /// Which browser this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// When it was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// CPU time (user + system) used so far by the live processes of the browser's process
    /// group (the browser and its renderer, GPU and utility processes).
    pub fn cpu_time(&self) -> Duration {
        group_cpu_time(self.child.id() as i64)
    }

    /// The browser's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The fresh profile directory.
    pub fn profile_dir(&self) -> &Path {
        &self.dir
    }

    /// The file that receives the browser's stdout and stderr.
    pub fn stderr_path(&self) -> PathBuf {
        self.dir.join("stderr.log")
    }

    /// The last `max_bytes` of the browser's stdout and stderr.
    pub fn stderr_tail(&self, max_bytes: u64) -> String {
        let read = || -> std::io::Result<String> {
            let mut f = File::open(self.stderr_path())?;
            let len = f.metadata()?.len();
            f.seek(SeekFrom::Start(len.saturating_sub(max_bytes)))?;
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        read().unwrap_or_else(|e| format!("(cannot read {}: {e})", self.stderr_path().display()))
    }

    /// The main process's exit status if it has exited, without waiting.
    pub fn try_exited(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Ends the browser and every process of its group: `SIGTERM`, at most [`TERM_GRACE`],
    /// then `SIGKILL`, at most [`KILL_GRACE`]. Fails if the main process outlived that.
    pub fn kill(&mut self) -> Result<()> {
        let pgid = self.child.id() as libc::pid_t;
        if self.try_exited()?.is_none() {
            signal_group(pgid, libc::SIGTERM);
            self.wait_exit(TERM_GRACE)?;
        }
        // Helpers (zygotes, content processes) may outlive the main process: always end the group.
        signal_group(pgid, libc::SIGKILL);
        if self.try_exited()?.is_none() && !self.wait_exit(KILL_GRACE)? {
            bail!("{} (pid {pgid}) is still alive {KILL_GRACE:?} after SIGKILL", self.kind);
        }
        Ok(())
    }

    /// Waits at most `limit` for the main process to exit (on a pidfd, which becomes
    /// readable at the exit); true if it exited.
    fn wait_exit(&mut self, limit: Duration) -> Result<bool> {
        if self.try_exited()?.is_some() {
            return Ok(true);
        }
        // SAFETY: pidfd_open(2) on the pid of our own, not yet reaped child; the descriptor
        // is polled once and closed here.
        unsafe {
            let fd = libc::syscall(libc::SYS_pidfd_open, self.child.id() as libc::pid_t, 0) as libc::c_int;
            if fd >= 0 {
                let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                libc::poll(&mut pfd, 1, limit.as_millis().min(i32::MAX as u128) as i32);
                libc::close(fd);
            }
        }
        Ok(self.try_exited()?.is_some())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            eprintln!("{e:#}");
        }
        if self.keep || std::thread::panicking() {
            eprintln!("{} profile kept: {}", self.kind, self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: kill(2) on our child's own process group (process_group(0) at spawn).
        unsafe { libc::kill(-pgid, signal) };
    }
}

/// `mkdtemp(3)` under `$TMPDIR` (or `/tmp`).
fn make_temp_dir(prefix: &str) -> Result<PathBuf> {
    let template = std::env::temp_dir().join(format!("{prefix}XXXXXX"));
    let template = CString::new(template.as_os_str().as_bytes())?;
    let mut bytes = template.into_bytes_with_nul();
    // SAFETY: `bytes` is a writable NUL-terminated template ending in XXXXXX.
    let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if p.is_null() {
        return Err(std::io::Error::last_os_error()).context("mkdtemp");
    }
    bytes.pop();
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
}

/// Sums utime + stime of the processes whose process group is `pgid` (from `/proc/*/stat`).
fn group_cpu_time(pgid: i64) -> Duration {
    // SAFETY: sysconf(3) has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let mut total = 0u64;
    let Ok(dir) = std::fs::read_dir("/proc") else { return Duration::ZERO };
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
        if f.len() > 12 && f[2].parse::<i64>().ok() == Some(pgid) {
            total += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        }
    }
    Duration::from_millis(total * 1000 / ticks)
}
