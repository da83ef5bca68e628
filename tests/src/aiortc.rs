// SPDX-License-Identifier: MPL-2.0
//! The aiortc peer (`tests/peers/aiortc_peer.py`, aiortc from PyPI), a [`LinePeer`].

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::line_peer::LinePeer;

/// The peer script, next to the test pages.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/aiortc_peer.py");

/// The Python that has aiortc: `scripts/setup.sh`'s virtual environment (`WKRTC_VENV`,
/// default `~/.cache/wkrtc/venv`), else `python3`.
pub fn python() -> std::path::PathBuf {
    let venv = std::env::var_os("WKRTC_VENV").map(std::path::PathBuf::from).or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| Some(std::path::PathBuf::from(std::env::var_os("HOME")?).join(".cache")))?;
        Some(cache.join("wkrtc/venv"))
    });
    match venv.map(|v| v.join("bin/python3")) {
        Some(p) if p.exists() => p,
        _ => "python3".into(),
    }
}

/// aiortc's version, when [`python`] can import it.
pub fn available() -> Result<String> {
    let out = Command::new(python()).args(["-c", "import aiortc; print(aiortc.__version__)"]).output().context("python3")?;
    if !out.status.success() {
        bail!("aiortc is not installed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Starts `aiortc_peer.py` with `args` (the scenario and its parameters).
pub fn start(args: &[&str]) -> Result<LinePeer> {
    let mut cmd = Command::new(python());
    cmd.arg(SCRIPT).args(args);
    LinePeer::start(cmd)
}
