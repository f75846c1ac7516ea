//! Waiting for a quiet machine before a measurement.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::procfs;
use crate::stats::round2;

#[derive(clap::Args, Clone)]
pub struct QuietArgs {
    /// Machine busy % (all cores) that counts as quiet.
    #[arg(long, default_value_t = 10.0)]
    pub below: f64,
    /// Seconds in a row it must stay below.
    #[arg(long = "for", default_value_t = 3)]
    pub secs: u32,
    /// Give up waiting after this many seconds (and go on, marked noisy).
    #[arg(long, default_value_t = 120)]
    pub max_wait: u64,
}

/// Samples /proc/stat once a second until `secs` samples in a row are below `below`, or until
/// `max_wait`. Returns a JSON summary: quiet (bool), waited_s, busy_pct (last samples' mean).
pub fn wait(a: &QuietArgs) -> Value {
    let t0 = Instant::now();
    let mut prev = procfs::machine().map(|m| m.0);
    let mut run: Vec<f64> = Vec::new();
    let mut last = Vec::new();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let cur = procfs::machine().map(|m| m.0);
        let (Some(p), Some(c)) = (prev, cur) else {
            return json!({"quiet": false, "waited_s": 0, "busy_pct": null});
        };
        let busy = c.busy_pct_since(p);
        prev = cur;
        last.push(busy);
        if last.len() > a.secs as usize {
            last.remove(0);
        }
        if busy < a.below {
            run.push(busy);
        } else {
            run.clear();
        }
        let waited = t0.elapsed().as_secs_f64();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        if run.len() >= a.secs as usize {
            return json!({"quiet": true, "waited_s": round2(waited), "busy_pct": round2(mean(&run))});
        }
        if waited >= a.max_wait as f64 {
            return json!({"quiet": false, "waited_s": round2(waited), "busy_pct": round2(mean(&last))});
        }
    }
}

pub fn main(a: &QuietArgs) -> ExitCode {
    let r = wait(a);
    if r["quiet"] == true {
        println!(
            "machine quiet: busy {}% for {} s (waited {} s)",
            r["busy_pct"], a.secs, r["waited_s"]
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "machine NOT quiet after {} s: busy {}% (threshold {}%), going on",
            r["waited_s"], r["busy_pct"], a.below
        );
        ExitCode::from(1)
    }
}
