//! The side-by-side table: one section per scenario, one column per server, then the ratio of
//! the second server to the first.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

#[derive(clap::Args, Clone)]
pub struct TableArgs {
    /// Folder with the JSON results (`run --out`); files are read in name order.
    pub dir: PathBuf,
    /// Column order: the ratio column is the second label over the first.
    #[arg(long, default_value = "icecast,floe")]
    pub labels: String,
}

pub fn main(a: &TableArgs) -> ExitCode {
    match load(a) {
        Ok(results) => {
            let labels: Vec<String> = a.labels.split(',').map(str::to_string).collect();
            print!("{}", render(&results, &labels));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floe-load table: {e}");
            ExitCode::from(2)
        }
    }
}

fn load(a: &TableArgs) -> Result<Vec<Value>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .map_err(|e| format!("{}: {e}", a.dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if v.get("scenario").is_some() => out.push(v),
            _ => eprintln!("skipping {} (not a floe-load result)", f.display()),
        }
    }
    Ok(out)
}

/// How a row's figure is taken from a result, and whether a ratio makes sense for it.
struct Row {
    name: &'static str,
    get: fn(&Value) -> Option<f64>,
    ratio: bool,
    decimals: usize,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn ramp_rows() -> Vec<Row> {
    vec![
        Row {
            name: "connections established",
            get: |r| num(&r["established"]),
            ratio: false,
            decimals: 0,
        },
        Row {
            name: "failed connections",
            get: |r| num(&r["failed_connect"]),
            ratio: false,
            decimals: 0,
        },
        Row {
            name: "got audio",
            get: |r| num(&r["got_audio"]),
            ratio: false,
            decimals: 0,
        },
        Row {
            name: "connected, no response by the end",
            get: |r| num(&r["no_response_at_end"]),
            ratio: false,
            decimals: 0,
        },
        Row {
            name: "listeners kept up",
            get: |r| num(&r["kept_up"]),
            ratio: true,
            decimals: 0,
        },
        Row {
            name: "disconnects during the run",
            get: |r| Some(sum_map(&r["disconnects_after_connect"])),
            ratio: false,
            decimals: 0,
        },
        Row {
            name: "server CPU, % of one core",
            get: |r| num(&r["server"]["cpu_pct"]),
            ratio: true,
            decimals: 1,
        },
        Row {
            name: "server CPU per 1,000 streaming",
            get: |r| {
                let cpu = num(&r["server"]["cpu_pct"])?;
                let n = num(&r["streaming_at_end"])?;
                (n > 0.0).then(|| cpu / n * 1000.0)
            },
            ratio: true,
            decimals: 2,
        },
        Row {
            name: "server threads over 5% CPU",
            get: |r| num(&r["server"]["threads_over_5pct"]),
            ratio: false,
            decimals: 0,
        },
        Row {
            name: "server RSS per listener, KiB",
            get: |r| num(&r["server"]["rss_per_listener_kib"]),
            ratio: true,
            decimals: 2,
        },
    ]
    .into_iter()
    .chain(latency_rows())
    .chain([Row {
        name: "received rate p1, kbps",
        get: |r| num(&r["rate_kbps"]["p1"]),
        ratio: false,
        decimals: 1,
    }])
    .collect()
}

fn storm_rows() -> Vec<Row> {
    vec![
        Row {
            name: "got audio within the deadline",
            get: |r| num(&r["storm"]["got_audio_within"]),
            ratio: true,
            decimals: 0,
        },
        Row {
            name: "got audio by the end",
            get: |r| num(&r["storm"]["got_audio_by_end"]),
            ratio: true,
            decimals: 0,
        },
        Row {
            name: "connections established",
            get: |r| num(&r["established"]),
            ratio: false,
            decimals: 0,
        },
    ]
    .into_iter()
    .chain(latency_rows())
    .collect()
}

/// Connect and first-byte latency, shown for ramps and storms alike.
fn latency_rows() -> [Row; 4] {
    [
        Row {
            name: "connect p99, ms",
            get: |r| num(&r["connect_ms"]["p99"]),
            ratio: true,
            decimals: 1,
        },
        Row {
            name: "first byte p50, ms",
            get: |r| num(&r["first_byte_ms"]["p50"]),
            ratio: true,
            decimals: 1,
        },
        Row {
            name: "first byte p99, ms",
            get: |r| num(&r["first_byte_ms"]["p99"]),
            ratio: true,
            decimals: 1,
        },
        Row {
            name: "first byte max, ms",
            get: |r| num(&r["first_byte_ms"]["max"]),
            ratio: true,
            decimals: 1,
        },
    ]
}

fn noise_rows() -> Vec<Row> {
    vec![
        Row {
            name: "load tool CPU, % of one core",
            get: |r| num(&r["load_tool"]["cpu_pct"]),
            ratio: false,
            decimals: 1,
        },
        Row {
            name: "machine busy % during window",
            get: |r| num(&r["machine"]["busy_pct"]),
            ratio: false,
            decimals: 1,
        },
        Row {
            name: "irq+softirq, % of one core",
            get: |r| num(&r["irq_cpu_pct"]),
            ratio: false,
            decimals: 1,
        },
        Row {
            name: "kernel threads, % of one core",
            get: |r| num(&r["kernel_threads_cpu_pct"]),
            ratio: false,
            decimals: 1,
        },
        Row {
            name: "other processes, % of one core",
            get: |r| num(&r["others_cpu_pct"]),
            ratio: false,
            decimals: 1,
        },
        Row {
            name: "machine busy % before the run",
            get: |r| num(&r["quiet_before"]["busy_pct"]),
            ratio: false,
            decimals: 1,
        },
    ]
}

fn sum_map(v: &Value) -> f64 {
    v.as_object().map_or(0.0, |m| {
        m.values().filter_map(Value::as_f64).sum::<f64>() + 0.0
    })
}

fn fmt(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(x) => format!("{x:.decimals$}"),
        None => "-".into(),
    }
}

fn title(r: &Value) -> String {
    let n = &r["listeners"];
    if r["mode"] == "storm" {
        format!(
            "storm: {n} connections at once, audio within {} s",
            r["storm"]["within_s"]
        )
    } else {
        format!(
            "{n} listeners, ramp {}/s, {} s window{}",
            r["rate_per_s"],
            r["hold_s"],
            if r["icy_requested"] == true {
                ", ICY metadata on"
            } else {
                ""
            }
        )
    }
}

/// The whole table as text.
pub fn render(results: &[Value], labels: &[String]) -> String {
    // Scenarios in order of first appearance; extra labels after the requested ones.
    let mut scenarios: Vec<String> = Vec::new();
    let mut cols: Vec<String> = labels.to_vec();
    for r in results {
        let s = r["scenario"].as_str().unwrap_or("").to_string();
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
        let l = r["label"].as_str().unwrap_or("").to_string();
        if !cols.contains(&l) {
            cols.push(l);
        }
    }
    let find = |s: &str, l: &str| {
        results
            .iter()
            .rev()
            .find(|r| r["scenario"] == s && r["label"] == l)
    };
    cols.retain(|l| results.iter().any(|r| r["label"] == l.as_str()));
    let ratio_of = if cols.len() >= 2 {
        Some((cols[0].clone(), cols[1].clone()))
    } else {
        None
    };
    let w0 = 34;
    let wc = 14;
    let mut o = String::new();
    for s in &scenarios {
        let Some(first) = cols.iter().find_map(|l| find(s, l)) else {
            continue;
        };
        let _ = writeln!(o, "\n## {s}: {}", title(first));
        let _ = write!(o, "{:<w0$}", "figure");
        for c in &cols {
            let _ = write!(o, "{c:>wc$}");
        }
        if let Some((a, b)) = &ratio_of {
            let _ = write!(o, "{:>wc$}", format!("{b}/{a}"));
        }
        let _ = writeln!(o);
        let mut rows = if first["mode"] == "storm" {
            storm_rows()
        } else {
            ramp_rows()
        };
        rows.extend(noise_rows());
        for row in &rows {
            let vals: Vec<Option<f64>> = cols
                .iter()
                .map(|l| find(s, l).and_then(|r| (row.get)(r)))
                .collect();
            if vals.iter().all(Option::is_none) {
                continue;
            }
            let _ = write!(o, "{:<w0$}", row.name);
            for v in &vals {
                let _ = write!(o, "{:>wc$}", fmt(*v, row.decimals));
            }
            if ratio_of.is_some() && row.ratio {
                let cell = match (vals[0], vals[1]) {
                    (Some(a), Some(b)) if a != 0.0 => format!("{:.2}×", b / a),
                    _ => "-".into(),
                };
                let _ = write!(o, "{cell:>wc$}");
            }
            let _ = writeln!(o);
        }
        // ICY: CPU against the same load without metadata, per server.
        if first["icy_requested"] == true {
            let _ = write!(o, "{:<w0$}", "CPU vs same load without ICY");
            for l in &cols {
                let cell = find(s, l)
                    .and_then(|icy| {
                        let plain = results.iter().rev().find(|p| {
                            p["label"] == l.as_str()
                                && p["icy_requested"] == false
                                && p["mode"] == "ramp"
                                && p["listeners"] == icy["listeners"]
                        })?;
                        let a = plain["server"]["cpu_pct"].as_f64()?;
                        let b = icy["server"]["cpu_pct"].as_f64()?;
                        (a > 0.0).then(|| format!("{:+.1}%", (b / a - 1.0) * 100.0))
                    })
                    .unwrap_or_else(|| "-".into());
                let _ = write!(o, "{cell:>wc$}");
            }
            let _ = writeln!(o);
            let _ = write!(o, "{:<w0$}", "titles seen per listener, p50");
            for l in &cols {
                let cell = find(s, l)
                    .and_then(|r| r["icy"]["titles_seen_per_listener"]["p50"].as_f64())
                    .map_or("-".into(), |x| format!("{x:.0}"));
                let _ = write!(o, "{cell:>wc$}");
            }
            let _ = writeln!(o);
        }
        // A noisy machine makes the ratios unreliable: say so next to them.
        for l in &cols {
            if let Some(r) = find(s, l) {
                if r["quiet_before"]["quiet"] == false {
                    let _ = writeln!(o, "  note: the machine was not quiet before the {l} run");
                }
                if r["others_cpu_pct"].as_f64().unwrap_or(0.0) > 20.0 {
                    let _ = writeln!(
                        o,
                        "  note: other processes used {}% of a core during the {l} window",
                        r["others_cpu_pct"]
                    );
                }
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_has_both_columns_and_ratios() {
        let mk = |label: &str, icy: bool, cpu: f64| {
            json!({"label": label, "scenario": if icy {"icy"} else {"fanout"}, "mode": "ramp",
                   "listeners": 100, "rate_per_s": 500.0, "hold_s": 30.0, "icy_requested": icy,
                   "established": 100, "failed_connect": 0, "kept_up": 100,
                   "server": {"cpu_pct": cpu, "rss_per_listener_kib": 2.0},
                   "first_byte_ms": {"p50": 100.0, "p99": 200.0, "max": 300.0},
                   "quiet_before": {"quiet": true, "busy_pct": 1.0}})
        };
        let results = vec![
            mk("icecast", false, 50.0),
            mk("floe", false, 10.0),
            mk("icecast", true, 55.0),
            mk("floe", true, 10.5),
        ];
        let t = render(&results, &["icecast".into(), "floe".into()]);
        assert!(t.contains("## fanout: 100 listeners"), "{t}");
        assert!(t.contains("floe/icecast"), "{t}");
        let cpu = t
            .lines()
            .find(|l| l.starts_with("server CPU"))
            .expect("cpu row");
        assert!(cpu.trim_end().ends_with("0.20×"), "{cpu}");
        let icy = t
            .lines()
            .find(|l| l.starts_with("CPU vs same load"))
            .expect("icy row");
        assert!(icy.contains("+10.0%") && icy.contains("+5.0%"), "{icy}");
    }
}
