// SPDX-License-Identifier: MPL-2.0
//! `wkrtc`, the command-line tool of the wkrtc WebRTC backend.
//!
//! ```text
//! wkrtc serve [--listen ADDR] [--fake-devices]
//! wkrtc loopback [--runs N] [--seconds S] [--camera | --fake-camera] [--stats]
//! wkrtc devices [--fake-devices]
//! ```
//!
//! `loopback` makes calls between two wkrtc peers in this process and reports set-up
//! times, data-channel throughput and round trips next to a raw webrtcbin pair.

mod anchor;
mod loopback;
mod measure;
mod phases;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: wkrtc <command> [options]

commands:
  serve [--listen ADDR] [--fake-devices]
      Serves a page on http://127.0.0.1:8080 (another free port if that one is taken) that
      any browser opens to call wkrtc: a data-channel echo with every byte checked and the
      connection's live figures. --listen 0.0.0.0:8080 exposes it beyond this machine.
      The page's wkrtc-camera button opens this machine's camera through wkrtc's getUserMedia,
      or wkrtc's fake camera and microphone with --fake-devices (or WKRTC_FAKE_DEVICES=1).
  loopback [--runs N] [--seconds S] [--camera | --fake-camera] [--stats]
      Two wkrtc peers in this process call each other over 127.0.0.1 (trickle ICE, one
      data channel), then a raw webrtcbin pair does the same. Prints set-up times (first
      call and warm median/p90 of N calls, default 20), data-channel throughput with
      64 KiB and 16 KiB messages for S seconds each, three times (default 2; every byte
      verified; the median counts) and round trips of 1000 32-byte pings. Exits non-zero
      on any error or mismatch. --camera adds a call carrying this machine's camera, opened
      by wkrtc's getUserMedia at 640x480 (--fake-camera: wkrtc's fake one), and reports the
      frames the other peer decoded; --stats prints both peers' getStats of that call as
      W3C JSON (with wkrtc's fake camera if no camera option is given).
  devices [--fake-devices]
      Lists this machine's cameras, microphones and speakers as wkrtc's getUserMedia sees
      them (GStreamer's device monitor), with what each capture device offers.
  help
      Prints this text.
";

fn parse_loopback(args: &[String]) -> Result<loopback::Options> {
    let mut opts = loopback::Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned()).with_context(|| format!("{name} needs a value"));
        match name {
            "--runs" => {
                let v = value()?;
                opts.runs = v.parse().with_context(|| format!("--runs: '{v}' is not a whole number"))?;
                if opts.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            "--seconds" => {
                let v = value()?;
                let s: f64 = v.parse().with_context(|| format!("--seconds: '{v}' is not a number"))?;
                if !(s > 0.0 && s <= 3600.0) {
                    bail!("--seconds must be above 0 and at most 3600");
                }
                opts.seconds = Duration::from_secs_f64(s);
            }
            "--camera" => opts.camera = Some(media_devices(false)),
            "--fake-camera" => opts.camera = Some(media_devices(true)),
            "--stats" => opts.stats = true,
            other => bail!("loopback: unknown argument '{other}'"),
        }
    }
    if opts.stats && opts.camera.is_none() {
        opts.camera = Some(media_devices(true));
    }
    Ok(opts)
}

/// The default address of `wkrtc serve`.
const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);

/// `--fake-devices` anywhere in `args`: taken out, and returned as true.
fn take_fake_devices(args: &[String]) -> (Vec<String>, bool) {
    let fake = args.iter().any(|a| a == "--fake-devices");
    (args.iter().filter(|a| *a != "--fake-devices").cloned().collect(), fake)
}

fn media_devices(fake: bool) -> wkrtc::capture::MediaDevices {
    if fake {
        wkrtc::capture::MediaDevices::fake("wkrtc")
    } else {
        wkrtc::capture::MediaDevices::new("wkrtc")
    }
}

fn parse_serve(args: &[String]) -> Result<Option<std::net::SocketAddr>> {
    match args {
        [] => Ok(None),
        [flag, addr] if flag == "--listen" => Ok(Some(addr.parse().with_context(|| format!("--listen: '{addr}' is not an address such as 127.0.0.1:8080"))?)),
        [flag] if flag.starts_with("--listen=") => {
            let addr = &flag["--listen=".len()..];
            Ok(Some(addr.parse().with_context(|| format!("--listen: '{addr}' is not an address such as 127.0.0.1:8080"))?))
        }
        _ => bail!("serve: unknown arguments {args:?}"),
    }
}

/// `wkrtc devices`: one line per device, then each capture device's capabilities.
fn devices(fake: bool) -> Result<()> {
    let devices = media_devices(fake);
    let list = devices.enumerate_devices().map_err(|e| anyhow::anyhow!("{e}"))?;
    if list.is_empty() {
        println!("no devices (GStreamer's device monitor found no camera, microphone or speaker)");
    }
    for d in &list {
        println!("{:<12} {}  id {}…  group {}…", d.kind.as_str(), d.label, &d.device_id[..16], &d.group_id[..16]);
        if d.kind != wkrtc::capture::DeviceKind::AudioOutput {
            let caps = devices.capabilities(&d.device_id).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("             {caps}");
        }
    }
    Ok(())
}

fn serve(listen: Option<std::net::SocketAddr>, fake: bool) -> Result<()> {
    use wkrtc_cli::serve::{Options, Server};
    let explicit = listen.is_some();
    let listen = listen.unwrap_or_else(|| std::net::SocketAddr::from(DEFAULT_LISTEN));
    if !listen.ip().is_loopback() {
        eprintln!("wkrtc: warning: listening on {listen}: the page and a wkrtc peer are reachable from other machines");
    }
    // wkrtc's peers gather the host's addresses (no STUN, no UPnP: nothing is sent to find
    // them): Firefox pairs with no loopback candidate, so 127.0.0.1 alone would not do even
    // for a browser on this machine.
    let options = Options { listen, devices: media_devices(fake), ..Options::default() };
    let server = match Server::start(options.clone()) {
        Ok(s) => s,
        // The default port is only a convenience: take any free one.
        Err(_) if !explicit => Server::start(Options { listen: std::net::SocketAddr::new(listen.ip(), 0), ..options })?,
        Err(e) => return Err(e),
    };
    println!("wkrtc serve: open http://{} in a browser (Ctrl-C stops)", server.addr());
    let reports = server.reports();
    loop {
        match reports.recv() {
            Ok(report) => println!("report: {report}"),
            Err(_) => return Ok(()),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "serve" => {
            let (rest, fake) = take_fake_devices(&args[1..]);
            match parse_serve(&rest) {
                Ok(listen) => serve(listen, fake),
                Err(e) => {
                    eprintln!("wkrtc: {e:#}\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            }
        }
        "devices" => match take_fake_devices(&args[1..]) {
            (rest, fake) if rest.is_empty() => devices(fake),
            (rest, _) => {
                eprintln!("wkrtc: devices: unknown arguments {rest:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        "loopback" => match parse_loopback(&args[1..]) {
            Ok(opts) => loopback::run(&opts),
            Err(e) => {
                eprintln!("wkrtc: {e:#}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        other => {
            eprintln!("wkrtc: unknown command '{other}'\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wkrtc: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
