// SPDX-License-Identifier: MPL-2.0
//! `wkrtc-fuzz`: generated hostile input through wkrtc (see the crate documentation).
//!
//! ```sh
//! cargo run --release -p wkrtc-fuzz                      # 10 million inputs over the four targets
//! cargo run --release -p wkrtc-fuzz -- --target sdp --inputs 1000000 --seed 7
//! ```
//!
//! Exits 1 when anything was found, printing each finding with its seed and input.

use std::process::ExitCode;

use wkrtc_fuzz::{run_api, run_pure, run_signaling, Report, Target};

/// The default run: 10 million inputs, nearly all through the pure targets (microseconds
/// each), the live ones as many as fit in minutes.
fn default_inputs(target: Target) -> u64 {
    match target {
        Target::Sdp => 6_000_000,
        Target::Candidate => 3_980_000,
        Target::Signaling => 15_000,
        Target::Api => 5_000,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let targets: Vec<Target> = match value("--target") {
        Some(name) => match Target::ALL.iter().find(|t| t.name() == name) {
            Some(t) => vec![*t],
            None => {
                eprintln!("wkrtc-fuzz: unknown target '{name}' (sdp, candidate, signaling, api)");
                return ExitCode::from(2);
            }
        },
        None => Target::ALL.to_vec(),
    };
    let inputs: Option<u64> = value("--inputs").and_then(|v| v.parse().ok());
    let seed: u64 = value("--seed").and_then(|v| v.parse().ok()).unwrap_or(0x5eed_1234_abcd_ef01);
    if let Err(e) = wkrtc::init() {
        eprintln!("wkrtc-fuzz: {e}");
        return ExitCode::FAILURE;
    }
    let mut total = Report::default();
    for target in targets {
        let n = inputs.unwrap_or_else(|| default_inputs(target));
        let report = match target {
            Target::Sdp | Target::Candidate => run_pure(target, n, seed),
            // Each API input is one call; a sequence holds 15 on average.
            Target::Api => run_api(n.div_ceil(15), seed),
            Target::Signaling => run_signaling(n, seed),
        };
        println!(
            "{:<10} {:>10} inputs {:>10} accepted {:>10} refused {:>3} findings  {:>8.1} s  {:>9.0} inputs/s  slowest {:.1} ms",
            target.name(),
            report.inputs,
            report.accepted,
            report.refused,
            report.findings.len(),
            report.elapsed.as_secs_f64(),
            report.inputs as f64 / report.elapsed.as_secs_f64().max(1e-9),
            report.slowest.as_secs_f64() * 1000.0
        );
        for f in &report.findings {
            println!("FINDING {}: {f}", target.name());
        }
        total.inputs += report.inputs;
        total.findings.extend(report.findings);
    }
    println!("{} inputs, {} findings", total.inputs, total.findings.len());
    if total.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
