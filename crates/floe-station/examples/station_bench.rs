//! What one station costs: the demo music through the chain into four renditions.
//!
//! ```text
//! cargo run --release -p floe-station --example station_bench [-- SECONDS] [--features fdk-aac]
//! ```
//!
//! 1. **Real time**: the station runs as Floe runs it (its thread, an engine, four mounts: MP3
//!    128k, MP3 64k, Ogg Opus 96k, and Ogg Vorbis 128k, or AAC 128k in a build with
//!    `fdk-aac`) for SECONDS (default 30) after a 5 s warm-up; the process's CPU time (user +
//!    system, from `/proc/self/stat`) over that time is printed as a share of one core.
//! 2. **As fast as possible**: 60 s of the auto-DJ's output, then each rendition alone on it
//!    (its resampler included), as × real time on one thread. Timed in process CPU time (the
//!    auto-DJ's helper thread included), not wall-clock time, so that other work on the
//!    machine does not count against it.

use floe_engine::{Engine, EngineSettings};
use floe_media::AudioBlock;
use floe_station::autodj::Output;
use floe_station::rendition::{Fanout, RenditionSpec};
use floe_station::station::STEP_FRAMES;
use floe_station::StationSpec;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/self/stat` (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// This process's CPU time (user + system) in seconds.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

fn renditions() -> Vec<RenditionSpec> {
    use floe_media::Codec;
    let fourth = if Codec::AacLc.available() {
        RenditionSpec {
            mount: "/bench.aac".into(),
            codec: Codec::AacLc,
            bitrate_kbps: 128,
        }
    } else {
        RenditionSpec {
            mount: "/bench.ogg".into(),
            codec: Codec::Vorbis,
            bitrate_kbps: 128,
        }
    };
    vec![
        RenditionSpec {
            mount: "/bench.mp3".into(),
            codec: Codec::Mp3,
            bitrate_kbps: 128,
        },
        RenditionSpec {
            mount: "/bench-64.mp3".into(),
            codec: Codec::Mp3,
            bitrate_kbps: 64,
        },
        RenditionSpec {
            mount: "/bench.opus".into(),
            codec: Codec::Opus,
            bitrate_kbps: 96,
        },
        fourth,
    ]
}

fn spec() -> StationSpec {
    let mut spec = StationSpec::demo();
    spec.name = "Bench".into();
    spec.renditions = renditions();
    spec
}

fn label(r: &RenditionSpec) -> String {
    format!("{} {}k", r.codec.name(), r.bitrate_kbps)
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let spec = spec();
    let names: Vec<String> = spec.renditions.iter().map(label).collect();
    println!(
        "station: demo music, {} Hz stereo, renditions: {}",
        spec.autodj.format.rate,
        names.join(", ")
    );

    // 1. Real time, as Floe runs it.
    let engine = Engine::new(EngineSettings::default());
    let station = match floe_station::start(engine.clone(), spec.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("station: {e}");
            std::process::exit(1);
        }
    };
    std::thread::sleep(Duration::from_secs(5));
    let (Some(c0), t0) = (cpu_secs(), Instant::now()) else {
        eprintln!("/proc/self/stat is not readable: no CPU figure on this system");
        std::process::exit(1);
    };
    std::thread::sleep(Duration::from_secs(seconds));
    let cpu = cpu_secs().unwrap_or(c0) - c0;
    let wall = t0.elapsed().as_secs_f64();
    station.stop();
    println!(
        "real time: {wall:.1} s, process CPU {cpu:.2} s = {:.1}% of one core",
        cpu / wall * 100.0,
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "load average (1, 5, 15 min): {}",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }

    // 2. As fast as possible, one thread.
    const SECS: usize = 60;
    let fmt = spec.autodj.format;
    let mut fast = spec.clone();
    // Wait for each piece rather than play silence: every frame timed is music.
    fast.autodj.silence_until_ready = false;
    let mut dj = fast.autodj().expect("demo music");
    // CPU seconds since `t0`, at least one tick.
    let since = |t0: f64| (cpu_secs().unwrap_or(t0) - t0).max(1.0 / TICKS);
    let t = cpu_secs().unwrap_or(0.0);
    let mut pcm = Vec::new();
    let mut frames = 0;
    while frames < SECS * fmt.rate as usize {
        let out = dj.next(STEP_FRAMES);
        frames += out.block.frames();
        pcm.push(out.block);
    }
    let audio = frames as f64 / f64::from(fmt.rate);
    println!("\n{:<22} {:>10}", "as fast as possible", "x real time");
    println!(
        "{:<22} {:>10.0}   (demo synthesis, loudness, crossfades)",
        "auto-DJ",
        audio / since(t)
    );
    // The synthesis alone (a station of files decodes them instead).
    let t = cpu_secs().unwrap_or(0.0);
    let mut synth = 0.0;
    for piece in floe_media::synth::pieces().iter().cycle() {
        synth += piece.render(fmt.rate).duration_secs();
        if synth >= audio {
            break;
        }
    }
    println!(
        "{:<22} {:>10.0}   (of which: rendering the demo pieces)",
        "  demo synthesis",
        synth / since(t)
    );
    let mut total = 0.0;
    for r in &spec.renditions {
        let Ok(mut fanout) = Fanout::new(std::slice::from_ref(r), fmt.rate, fmt.channels) else {
            println!("{:<22} {:>10}", label(r), "n/a");
            continue;
        };
        let t = cpu_secs().unwrap_or(0.0);
        for block in &pcm {
            let out = Output {
                block: AudioBlock::clone(block),
                marks: Vec::new(),
            };
            let _ = fanout.push(&out);
        }
        let secs = since(t);
        total += secs;
        let rate_note = if r.rate(fmt.rate) == fmt.rate {
            String::new()
        } else {
            format!("   (resampled to {} Hz)", r.rate(fmt.rate))
        };
        println!("{:<22} {:>10.0}{rate_note}", label(r), audio / secs);
    }
    println!(
        "{:<22} {:>10.0}   = {:.1}% of one core at real time",
        "4 encoders together",
        audio / total,
        total / audio * 100.0
    );
}
