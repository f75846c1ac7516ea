//! The `run` command: ramp, settle, hold window, report.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::conn::{self, Ctx, Reason, Slot, NONE};
use crate::procfs::{self, CpuTimes, Stat};
use crate::quiet::{self, QuietArgs};
use crate::stats::{round2, Dist};
use crate::{http, sys};

#[derive(clap::Args, Clone)]
pub struct RunArgs {
    /// Stream URL (http://host:port/mount).
    pub url: String,
    /// Listeners to open.
    #[arg(short = 'n', long, default_value_t = 1000)]
    pub listeners: usize,
    /// New connections per second during the ramp.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Seconds between the end of the ramp and the hold window (bursts and late connects).
    #[arg(long, default_value_t = 3.0)]
    pub settle: f64,
    /// Seconds of the hold window over which keep-up and CPU are measured
    /// (default 30; with --storm, the storm deadline + 3).
    #[arg(long)]
    pub hold: Option<f64>,
    /// Storm mode: open this many connections all at once (no ramp, no settle).
    #[arg(long)]
    pub storm: Option<usize>,
    /// Storm deadline: count listeners whose first audio byte came within this many seconds.
    #[arg(long, default_value_t = 2.0)]
    pub storm_within: f64,
    /// Ask for ICY metadata (Icy-MetaData: 1) and count the metadata blocks and title changes.
    #[arg(long)]
    pub icy: bool,
    /// Stream bitrate for the keep-up figure (default: the icy-br the server sends).
    #[arg(long)]
    pub bitrate_kbps: Option<f64>,
    /// A listener kept up if it received at least this % of bitrate × window.
    #[arg(long, default_value_t = 95.0)]
    pub keep_up_pct: f64,
    /// Seconds a TCP connect may take (SYN retransmits included) before it counts as failed.
    #[arg(long, default_value_t = 15.0)]
    pub connect_timeout: f64,
    /// PID of the server: CPU (utime+stime), per-thread CPU, RSS and descriptors from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Runtime worker threads of this tool (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// SO_RCVLOWAT once audio flows (bytes; 0 or 1: off). Fewer wake-ups, lighter client.
    /// Bytes still below it at the window's edges shift the count by less than this, in either
    /// direction (it cancels out on average); with --bitrate-kbps it is capped at 2% of
    /// bitrate × window.
    #[arg(long, default_value_t = 8192)]
    pub rcvlowat: i32,
    /// Before the load, wait for machine busy % below this (see wait-quiet); off when absent.
    #[arg(long)]
    pub wait_quiet: Option<f64>,
    /// Seconds in a row the machine must be quiet.
    #[arg(long, default_value_t = 3)]
    pub quiet_secs: u32,
    /// Longest wait for a quiet machine, seconds.
    #[arg(long, default_value_t = 120)]
    pub quiet_max_wait: u64,
    /// Name of the server under test (in the JSON and the table), e.g. icecast or floe.
    #[arg(long, default_value = "server")]
    pub label: String,
    /// Name of the scenario (in the JSON and the table).
    #[arg(long, default_value = "load")]
    pub scenario: String,
    /// Print the result as JSON on stdout (the human report then goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON result to this file.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Seconds between progress lines on stderr (0: none).
    #[arg(long, default_value_t = 2.0)]
    pub progress: f64,
}

struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported: {url}"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {hostport}"))?;
    Ok(Target {
        addr,
        host: hostport.to_string(),
        path: path.to_string(),
    })
}

/// CPU and memory figures at one instant.
struct Snap {
    t: Instant,
    machine: Option<(CpuTimes, Vec<CpuTimes>)>,
    server: Option<Stat>,
    server_threads: Vec<(u32, Stat)>,
    me: Option<Stat>,
    /// Every process: (ticks, kernel thread).
    procs: BTreeMap<u32, (u64, bool)>,
}

fn snap(pid: Option<u32>) -> Snap {
    Snap {
        t: Instant::now(),
        machine: procfs::machine(),
        server: pid.and_then(procfs::stat),
        server_threads: pid.map(procfs::threads).unwrap_or_default(),
        me: procfs::self_stat(),
        procs: procfs::all_processes()
            .into_iter()
            .map(|(pid, st)| (pid, (st.ticks, st.kernel)))
            .collect(),
    }
}

/// CPU (% of one core) over the window of every process but the server and this tool:
/// (user processes, kernel threads). A process that appeared meanwhile counts whole.
fn others_cpu(s0: &Snap, s1: &Snap, server: Option<u32>, secs: f64, tck: u64) -> (f64, f64) {
    let me = std::process::id();
    let (mut user, mut kernel) = (0u64, 0u64);
    for (pid, (ticks, kthread)) in &s1.procs {
        if Some(*pid) == server || *pid == me {
            continue;
        }
        let before = s0.procs.get(pid).map_or(0, |p| p.0);
        let d = ticks.saturating_sub(before);
        if *kthread {
            kernel += d;
        } else {
            user += d;
        }
    }
    let pct = |t: u64| round2(100.0 * t as f64 / tck as f64 / secs.max(1e-9));
    (pct(user), pct(kernel))
}

fn cpu_pct(a: Option<&Stat>, b: Option<&Stat>, secs: f64, tck: u64) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some(100.0 * b.ticks.saturating_sub(a.ticks) as f64 / tck as f64 / secs.max(1e-9))
}

pub fn main(a: RunArgs) -> ExitCode {
    match run(a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("floe-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(mut a: RunArgs) -> Result<ExitCode, String> {
    let target = parse_url(&a.url)?;
    let storm = a.storm.is_some();
    if let Some(n) = a.storm {
        a.listeners = n;
    }
    if a.listeners == 0 {
        return Err("--listeners must be at least 1".into());
    }
    if a.rate.is_nan() || (a.rate <= 0.0 && !storm) {
        return Err("--rate must be positive".into());
    }
    let hold = a
        .hold
        .unwrap_or(if storm { a.storm_within + 3.0 } else { 30.0 });
    let settle = if storm { 0.0 } else { a.settle };
    // Audio below the low-water mark at the window's edges is counted a little late; keep
    // that under 2% of what a listener should get in the window.
    if let Some(br) = a.bitrate_kbps {
        let cap = (br * 1000.0 / 8.0 * hold * 0.02).max(1024.0);
        if f64::from(a.rcvlowat) > cap {
            a.rcvlowat = cap as i32;
        }
    }
    let ramp_secs = if storm {
        0.0
    } else {
        a.listeners as f64 / a.rate
    };

    // Limits that would make the figures wrong rather than the server slow.
    let mut warnings = Vec::new();
    match sys::raise_nofile_limit() {
        Ok((soft, hard)) => {
            let need = a.listeners as u64 + 64;
            if soft < need {
                warnings.push(format!(
                    "this process may open {soft} files (hard limit {hard}) but needs about {need}: \
                     connections beyond it fail with fd_limit"
                ));
            }
        }
        Err(e) => warnings.push(format!("cannot read the open-files limit: {e}")),
    }
    if let Some((lo, hi)) = procfs::port_range() {
        let ports = (hi.saturating_sub(lo) + 1) as usize;
        if a.listeners + 1000 > ports {
            warnings.push(format!(
                "local port range {lo}-{hi} has {ports} ports for {} connections",
                a.listeners
            ));
        }
    }
    if let Some(pid) = a.server_pid {
        if procfs::stat(pid).is_none() {
            return Err(format!("no process {pid} (--server-pid)"));
        }
        if let Some((Some(soft), _)) = procfs::max_open_files(pid) {
            if soft < a.listeners as u64 + 64 {
                warnings.push(format!(
                    "server process {pid} may open only {soft} files for {} listeners",
                    a.listeners
                ));
            }
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }

    let quiet = a.wait_quiet.map(|below| {
        let q = quiet::wait(&QuietArgs {
            below,
            secs: a.quiet_secs,
            max_wait: a.quiet_max_wait,
        });
        eprintln!(
            "machine before the load: busy {}% ({}, waited {} s)",
            q["busy_pct"],
            if q["quiet"] == true {
                "quiet"
            } else {
                "NOT quiet"
            },
            q["waited_s"]
        );
        q
    });

    let ctx: &'static Ctx = Box::leak(Box::new(Ctx {
        addr: target.addr,
        request: http::request(&target.host, &target.path, a.icy),
        icy: a.icy,
        connect_timeout: Duration::from_secs_f64(a.connect_timeout),
        rcvlowat: a.rcvlowat,
        slots: (0..a.listeners).map(|_| Slot::default()).collect(),
    }));

    // The run can never outlive this, whatever the server does.
    let budget = ramp_secs + settle + hold + 30.0;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(budget));
        eprintln!("floe-load: hard deadline of {budget:.0} s reached, exiting");
        std::process::exit(3);
    });

    let rt = if a.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(a.threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("runtime: {e}"))?;

    let pid = a.server_pid;
    let rss_base = pid.and_then(procfs::rss_kib);
    let fds_base = pid.and_then(procfs::fd_count);
    conn::start_clock();
    let progress = a.progress;
    let n = a.listeners;
    let rate = a.rate;

    let (ramp_actual, s0, s1, rss_end, fds_end, my_rss) = rt.block_on(async move {
        if progress > 0.0 {
            tokio::spawn(progress_loop(ctx, progress));
        }
        let ramp_t0 = Instant::now();
        if storm {
            for i in 0..n {
                tokio::spawn(conn::listener(ctx, i));
            }
        } else {
            let mut spawned = 0usize;
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while spawned < n {
                tick.tick().await;
                let due = ((ramp_t0.elapsed().as_secs_f64() * rate) as usize + 1).min(n);
                while spawned < due {
                    tokio::spawn(conn::listener(ctx, spawned));
                    spawned += 1;
                }
            }
        }
        let ramp_actual = ramp_t0.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs_f64(settle)).await;
        let s0 = snap(pid);
        conn::PHASE.store(conn::HOLD, Relaxed);
        tokio::time::sleep(Duration::from_secs_f64(hold)).await;
        conn::PHASE.store(conn::DONE, Relaxed);
        let s1 = snap(pid);
        let rss_end = pid.and_then(procfs::rss_kib);
        let fds_end = pid.and_then(procfs::fd_count);
        (
            ramp_actual,
            s0,
            s1,
            rss_end,
            fds_end,
            procfs::self_rss_kib(),
        )
    });
    // Dropping the runtime closes every connection; do it after the figures are taken.
    let report = build_report(
        &a,
        ctx,
        &Figures {
            storm,
            hold,
            settle,
            ramp_planned: ramp_secs,
            ramp_actual,
            s0: &s0,
            s1: &s1,
            rss_base,
            rss_end,
            fds_base,
            fds_end,
            my_rss,
            quiet,
            warnings,
        },
    );
    drop(rt);

    let human = render(&report);
    if a.json {
        eprint!("{human}");
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{human}");
    }
    if let Some(path) = &a.out {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn progress_loop(ctx: &'static Ctx, every: f64) {
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs_f64(every)).await;
        let mut c = [0usize; 5];
        let mut audio = 0usize;
        for s in &ctx.slots {
            c[s.state.load(Relaxed).min(4) as usize] += 1;
            if s.first_byte_us.load(Relaxed) != NONE {
                audio += 1;
            }
        }
        let phase = match conn::PHASE.load(Relaxed) {
            conn::RAMP => "ramp/settle",
            conn::HOLD => "hold",
            _ => "done",
        };
        eprintln!(
            "[{:6.1}s {phase}] started {} connecting {} awaiting-head {} streaming {} closed {} got-audio {}",
            t0.elapsed().as_secs_f64(),
            ctx.slots.len() - c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            audio
        );
    }
}

struct Figures<'a> {
    storm: bool,
    hold: f64,
    settle: f64,
    ramp_planned: f64,
    ramp_actual: f64,
    s0: &'a Snap,
    s1: &'a Snap,
    rss_base: Option<u64>,
    rss_end: Option<u64>,
    fds_base: Option<usize>,
    fds_end: Option<usize>,
    my_rss: Option<u64>,
    quiet: Option<Value>,
    warnings: Vec<String>,
}

fn build_report(a: &RunArgs, ctx: &Ctx, f: &Figures) -> Value {
    let tck = sys::clock_ticks();
    let window = f.s1.t.duration_since(f.s0.t).as_secs_f64();
    let slots = &ctx.slots;

    let mut connect = Vec::new();
    let mut first = Vec::new();
    let mut established = 0usize;
    let mut got_audio = 0usize;
    let mut streaming_end = 0usize;
    let mut still_connecting = 0usize;
    let mut no_response = 0usize;
    let mut not_started = 0usize;
    let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut reasons_connect: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut brs: BTreeMap<u32, usize> = BTreeMap::new();
    let mut storm_ok = 0usize;
    let storm_within_us = (a.storm_within * 1e6) as u64;
    for s in slots {
        let start = s.start_us.load(Relaxed);
        let con = s.connected_us.load(Relaxed);
        let fb = s.first_byte_us.load(Relaxed);
        let st = s.state.load(Relaxed);
        if start == NONE {
            not_started += 1;
            continue;
        }
        if con != NONE {
            established += 1;
            connect.push(con - start);
        }
        if fb != NONE {
            got_audio += 1;
            first.push(fb - start);
            // Storm: all started at time zero; the deadline counts from there.
            if fb <= storm_within_us {
                storm_ok += 1;
            }
        }
        match st {
            conn::ST_CONNECTING => still_connecting += 1,
            conn::ST_AWAIT_HEAD => no_response += 1,
            conn::ST_STREAMING if fb != NONE => streaming_end += 1,
            conn::ST_CLOSED => {
                let r = Reason::from_u8(s.reason.load(Relaxed));
                if con == NONE {
                    *reasons_connect.entry(r.name()).or_default() += 1;
                } else {
                    *reasons.entry(r.name()).or_default() += 1;
                }
            }
            _ => {}
        }
        let status = s.status.load(Relaxed);
        if status != 0 {
            *statuses.entry(status).or_default() += 1;
        }
        let br = s.icy_br.load(Relaxed);
        if br != 0 {
            *brs.entry(br).or_default() += 1;
        }
    }
    let header_br = brs
        .iter()
        .max_by_key(|(_, c)| **c)
        .map(|(b, _)| f64::from(*b));
    let bitrate = a.bitrate_kbps.or(header_br);

    let mut rates = Vec::new();
    let mut kept_up = 0usize;
    let need_bytes = bitrate.map(|b| a.keep_up_pct / 100.0 * b * 1000.0 / 8.0 * window);
    for s in slots {
        if s.first_byte_us.load(Relaxed) == NONE {
            continue;
        }
        let w = s.window_bytes.load(Relaxed);
        // kbps × 100, to keep two decimals in an integer distribution.
        rates.push((w as f64 * 8.0 / window.max(1e-9) / 1000.0 * 100.0) as u64);
        if let Some(need) = need_bytes {
            if w as f64 >= need {
                kept_up += 1;
            }
        }
    }

    let icy = if a.icy {
        let mut with_metaint = 0usize;
        let mut blocks = 0u64;
        let mut bad = 0u64;
        let mut changes = Vec::new();
        for s in slots
            .iter()
            .filter(|s| s.first_byte_us.load(Relaxed) != NONE)
        {
            if s.metaint.load(Relaxed) != 0 {
                with_metaint += 1;
            }
            blocks += u64::from(s.meta_blocks.load(Relaxed));
            bad += u64::from(s.meta_bad.load(Relaxed));
            changes.push(u64::from(s.meta_changes.load(Relaxed)));
        }
        let metaints: Vec<u32> = {
            let mut v: Vec<u32> = slots
                .iter()
                .map(|s| s.metaint.load(Relaxed))
                .filter(|m| *m != 0)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let ch = Dist::of(changes);
        json!({
            "listeners_with_metaint": with_metaint,
            "metaint": metaints,
            "blocks_total": blocks,
            "bad_blocks": bad,
            "titles_seen_per_listener": ch.map(|d| json!({"min": d.min, "p50": d.p50, "max": d.max})),
        })
    } else {
        Value::Null
    };

    // Server figures.
    let server = a.server_pid.map(|pid| {
        let cpu = cpu_pct(f.s0.server.as_ref(), f.s1.server.as_ref(), window, tck);
        let before: BTreeMap<u32, &Stat> = f.s0.server_threads.iter().map(|(t, s)| (*t, s)).collect();
        let mut threads: Vec<(f64, u32, String)> = f
            .s1
            .server_threads
            .iter()
            .map(|(tid, s)| {
                let prev = before.get(tid).map_or(0, |p| p.ticks);
                let pct = 100.0 * s.ticks.saturating_sub(prev) as f64 / tck as f64 / window.max(1e-9);
                (pct, *tid, s.comm.clone())
            })
            .collect();
        threads.sort_by(|x, y| y.0.total_cmp(&x.0));
        let busy_threads = threads.iter().filter(|t| t.0 >= 5.0).count();
        let rss_per = match (f.rss_base, f.rss_end) {
            (Some(b), Some(e)) if streaming_end > 0 => {
                Some(round2(e.saturating_sub(b) as f64 / streaming_end as f64))
            }
            _ => None,
        };
        json!({
            "pid": pid,
            "cpu_pct": cpu.map(round2),
            "threads_total": threads.len(),
            "threads_over_5pct": busy_threads,
            "threads": threads.iter().take(8).map(|(p, t, c)| json!({"tid": t, "comm": c, "cpu_pct": round2(*p)})).collect::<Vec<_>>(),
            "rss_base_kib": f.rss_base,
            "rss_end_kib": f.rss_end,
            "rss_per_listener_kib": rss_per,
            "fds_base": f.fds_base,
            "fds_end": f.fds_end,
        })
    });

    let machine = match (&f.s0.machine, &f.s1.machine) {
        (Some((a0, c0)), Some((a1, c1))) => json!({
            "cpus": sys::cpus(),
            "busy_pct": round2(a1.busy_pct_since(*a0)),
            "per_core_busy_pct": c0.iter().zip(c1).map(|(x, y)| round2(y.busy_pct_since(*x))).collect::<Vec<_>>(),
        }),
        _ => Value::Null,
    };
    let tool_cpu = cpu_pct(f.s0.me.as_ref(), f.s1.me.as_ref(), window, tck);
    // What else ran during the window, in % of one core: machine busy minus server and tool.
    // Interrupt and softirq time, for information: on loopback it is mostly the network stack
    // working for the server and the tool, and much of it is also inside their CPU figures.
    let irq = match (&f.s0.machine, &f.s1.machine) {
        (Some((a0, _)), Some((a1, _))) => Some(round2(a1.irq_pct_since(*a0) * sys::cpus() as f64)),
        _ => None,
    };
    let (others, kthreads) = others_cpu(f.s0, f.s1, a.server_pid, window, tck);

    json!({
        "label": a.label,
        "scenario": a.scenario,
        "url": a.url,
        "mode": if f.storm { "storm" } else { "ramp" },
        "listeners": a.listeners,
        "rate_per_s": if f.storm { Value::Null } else { json!(a.rate) },
        "ramp_s": {"planned": round2(f.ramp_planned), "actual": round2(f.ramp_actual)},
        "settle_s": f.settle,
        "hold_s": f.hold,
        "window_s": round2(window),
        "icy_requested": a.icy,
        "rcvlowat": a.rcvlowat,
        "not_started": not_started,
        "established": established,
        "failed_connect": established.abs_diff(a.listeners - not_started),
        "got_audio": got_audio,
        "streaming_at_end": streaming_end,
        "still_connecting_at_end": still_connecting,
        "no_response_at_end": no_response,
        "bitrate_kbps": bitrate,
        "bitrate_from": if a.bitrate_kbps.is_some() { "flag" } else if header_br.is_some() { "icy-br" } else { "unknown" },
        "keep_up_pct": a.keep_up_pct,
        "kept_up": if bitrate.is_some() { json!(kept_up) } else { Value::Null },
        "connect_ms": Dist::of(connect).map(|d| d.to_json(1000.0)),
        "first_byte_ms": Dist::of(first).map(|d| d.to_json(1000.0)),
        "rate_kbps": Dist::of(rates).map(|d| d.to_json(100.0)),
        "storm": if f.storm { json!({"within_s": a.storm_within, "got_audio_within": storm_ok, "got_audio_by_end": got_audio}) } else { Value::Null },
        "disconnects_after_connect": reasons,
        "connect_failures": reasons_connect,
        "http_status": statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "icy": icy,
        "server": server,
        "machine": machine,
        "others_cpu_pct": others,
        "irq_cpu_pct": irq,
        "kernel_threads_cpu_pct": kthreads,
        "load_tool": {"cpu_pct": tool_cpu.map(round2), "rss_kib": f.my_rss, "threads": a.threads},
        "quiet_before": f.quiet,
        "warnings": f.warnings,
    })
}

fn fmt_dist(v: &Value, unit: &str) -> String {
    if v.is_null() {
        return "-".into();
    }
    format!(
        "p50 {} / p99 {} / max {} {unit} (n={})",
        v["p50"], v["p99"], v["max"], v["n"]
    )
}

fn fmt_map(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    }
}

/// The human-readable report.
pub fn render(r: &Value) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "== floe-load {} / {}: {} {} listeners{} to {} ==",
        r["label"].as_str().unwrap_or(""),
        r["scenario"].as_str().unwrap_or(""),
        r["mode"].as_str().unwrap_or(""),
        r["listeners"],
        if r["rate_per_s"].is_null() {
            String::new()
        } else {
            format!(" at {}/s", r["rate_per_s"])
        },
        r["url"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        o,
        "ramp {} s (planned {}), settle {} s, window {} s{}",
        r["ramp_s"]["actual"],
        r["ramp_s"]["planned"],
        r["settle_s"],
        r["window_s"],
        if r["icy_requested"] == true {
            ", Icy-MetaData: 1"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "connections established  {} / {} (failed {}; still connecting at end {}; no response at end {})",
        r["established"], r["listeners"], r["failed_connect"], r["still_connecting_at_end"], r["no_response_at_end"]
    );
    let _ = writeln!(
        o,
        "got audio                {} (streaming at end {})",
        r["got_audio"], r["streaming_at_end"]
    );
    let _ = writeln!(
        o,
        "connect latency          {}",
        fmt_dist(&r["connect_ms"], "ms")
    );
    let _ = writeln!(
        o,
        "first audio byte         {}",
        fmt_dist(&r["first_byte_ms"], "ms")
    );
    if !r["storm"].is_null() {
        let _ = writeln!(
            o,
            "storm                    {} of {} got audio within {} s ({} by the end)",
            r["storm"]["got_audio_within"],
            r["listeners"],
            r["storm"]["within_s"],
            r["storm"]["got_audio_by_end"]
        );
    }
    let rate = &r["rate_kbps"];
    if !rate.is_null() {
        let _ = writeln!(
            o,
            "received rate (kbps)     min {} / p1 {} / p50 {} / max {} over the window",
            rate["min"], rate["p1"], rate["p50"], rate["max"]
        );
    }
    let _ = writeln!(
        o,
        "kept up                  {} of {} (≥{}% of {} kbps, bitrate from {})",
        r["kept_up"],
        r["listeners"],
        r["keep_up_pct"],
        r["bitrate_kbps"],
        r["bitrate_from"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        o,
        "disconnects              {}",
        fmt_map(&r["disconnects_after_connect"])
    );
    let _ = writeln!(
        o,
        "connect failures         {}",
        fmt_map(&r["connect_failures"])
    );
    let _ = writeln!(o, "http status              {}", fmt_map(&r["http_status"]));
    if !r["icy"].is_null() {
        let i = &r["icy"];
        let _ = writeln!(
            o,
            "icy                      metaint {} on {} listeners, {} blocks ({} bad), titles seen per listener {}",
            i["metaint"], i["listeners_with_metaint"], i["blocks_total"], i["bad_blocks"], i["titles_seen_per_listener"]
        );
    }
    if let Some(s) = r["server"].as_object() {
        let _ = writeln!(
            o,
            "server pid {}             CPU {}% of one core over the window; RSS {} → {} KiB = {} KiB per listener; fds {} → {}",
            s["pid"], s["cpu_pct"], s["rss_base_kib"], s["rss_end_kib"], s["rss_per_listener_kib"], s["fds_base"], s["fds_end"]
        );
        let threads: Vec<String> = s["threads"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter(|t| t["cpu_pct"].as_f64().unwrap_or(0.0) >= 0.5)
                    .map(|t| format!("{}:{}%", t["comm"].as_str().unwrap_or("?"), t["cpu_pct"]))
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "server threads           {} threads, {} over 5%: {}",
            s["threads_total"],
            s["threads_over_5pct"],
            threads.join(" ")
        );
    }
    if !r["machine"].is_null() {
        let _ = writeln!(
            o,
            "machine                  busy {}% of {} cores (per core {}); irq+softirq {}%, kernel threads {}%, other processes {}% of a core",
            r["machine"]["busy_pct"],
            r["machine"]["cpus"],
            r["machine"]["per_core_busy_pct"],
            r["irq_cpu_pct"],
            r["kernel_threads_cpu_pct"],
            r["others_cpu_pct"]
        );
    }
    let _ = writeln!(
        o,
        "load tool                CPU {}% of one core, RSS {} KiB, {} thread(s)",
        r["load_tool"]["cpu_pct"], r["load_tool"]["rss_kib"], r["load_tool"]["threads"]
    );
    if let Some(q) = r["quiet_before"].as_object() {
        let _ = writeln!(
            o,
            "machine before the load  busy {}% ({}, waited {} s)",
            q["busy_pct"],
            if q["quiet"] == true {
                "quiet"
            } else {
                "NOT quiet"
            },
            q["waited_s"]
        );
    }
    if let Some(w) = r["warnings"].as_array() {
        for w in w {
            let _ = writeln!(o, "warning: {}", w.as_str().unwrap_or(""));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("http://127.0.0.1:8000/live.mp3").expect("ok");
        assert_eq!(t.addr, "127.0.0.1:8000".parse().expect("addr"));
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:8000", "/live.mp3")
        );
        let t = parse_url("http://127.0.0.1").expect("ok");
        assert_eq!(t.addr.port(), 80);
        assert_eq!(t.path, "/");
        assert!(parse_url("https://x/").is_err());
    }
}
