// SPDX-License-Identifier: MPL-2.0
//! `wkrtc`, the command-line tool of the wkrtc WebRTC backend.
//!
//! ```text
//! wkrtc loopback [--runs N] [--seconds S]
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
  loopback [--runs N] [--seconds S]
      Two wkrtc peers in this process call each other over 127.0.0.1 (trickle ICE, one
      data channel), then a raw webrtcbin pair does the same. Prints set-up times (first
      call and warm median/p90 of N calls, default 20), data-channel throughput with
      64 KiB and 16 KiB messages for S seconds each (default 2, every byte verified) and
      round trips of 1000 32-byte pings. Exits non-zero on any error or mismatch.
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
            other => bail!("loopback: unknown argument '{other}'"),
        }
    }
    Ok(opts)
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
