//! Encoder throughput, one thread, against ffmpeg on the same PCM in the same run.
//!
//! ```text
//! cargo run --release -p floe-media --example encode_bench [--features fdk-aac]
//! ```
//!
//! Renders 60 s of the demo music (48 kHz stereo), encodes it with every Floe encoder on this
//! thread, writes it to a WAV, and times `ffmpeg -threads 1` encoding that WAV to the same codec,
//! bitrate and settings (LAME at quality 2, Opus with constrained VBR, Vorbis in the VBR mode
//! of its bitrate: what Floe's encoders use) into a pipe this program counts; ffmpeg's time
//! includes its start-up and reading the WAV. Prints × real time and kbit/s for both and the
//! ratio of speeds, plus how busy the machine was.
//!
//! Times are CPU time (user + system, from `/proc/self/stat`: this process's own, and its
//! waited-for children's for ffmpeg), not wall-clock time: on a machine shared with other
//! work, time spent waiting for a core is not counted against either side.

use std::process::Command;
use std::time::Instant;

use floe_media::encode::{new_encoder, Codec, EncoderConfig};
use floe_media::mux::wav::wav_file;
use floe_media::AudioBlock;

const SECONDS: f64 = 60.0;
const RATE: u32 = 48_000;

fn music() -> AudioBlock {
    let mut all = AudioBlock::empty(RATE, 2);
    for piece in floe_media::synth::pieces() {
        all.append(&piece.render(RATE));
        if all.duration_secs() >= SECONDS {
            break;
        }
    }
    all.take_front((SECONDS * f64::from(RATE)) as usize)
}

fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((v.iter().sum(), idle))
}

/// Clock ticks per second of `/proc/self/stat` (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds (user + system) of this process, and of its children that were waited for.
fn cpu_secs() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<f64> = rest
        .split_whitespace()
        .take(15)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14 to 17 of the line, 12 to 15 after the name.
    Some((
        (f.get(11)? + f.get(12)?) / TICKS,
        (f.get(13)? + f.get(14)?) / TICKS,
    ))
}

fn floe_encode(config: EncoderConfig, pcm: &AudioBlock) -> Option<(f64, usize)> {
    let mut best = f64::MAX;
    let mut bytes = 0;
    for _ in 0..2 {
        let mut enc = new_encoder(config).ok()?;
        let (start, _) = cpu_secs()?;
        bytes = 0;
        for chunk in pcm.samples.chunks(4096 * 2) {
            let block = AudioBlock::new(RATE, 2, chunk.to_vec());
            bytes += enc
                .encode(&block)
                .ok()?
                .iter()
                .map(|p| p.data.len())
                .sum::<usize>();
        }
        bytes += enc
            .finish()
            .ok()?
            .iter()
            .map(|p| p.data.len())
            .sum::<usize>();
        best = best.min(cpu_secs()?.0 - start);
    }
    Some((best.max(1.0 / TICKS), bytes))
}

/// ffmpeg's best time of 2 runs, and the bytes it wrote.
fn ffmpeg_encode(wav: &std::path::Path, args: &[&str]) -> Option<(f64, usize)> {
    let mut best = f64::MAX;
    let mut bytes = 0;
    for _ in 0..2 {
        let (_, start) = cpu_secs()?;
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-threads", "1", "-i"])
            .arg(wav)
            .args(["-threads", "1"])
            .args(args)
            .arg("pipe:1")
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        best = best.min(cpu_secs()?.1 - start);
        bytes = out.stdout.len();
    }
    Some((best.max(1.0 / TICKS), bytes))
}

fn main() {
    println!("rendering {SECONDS} s of demo music at {RATE} Hz stereo ...");
    let t = Instant::now();
    let pcm = music();
    let synth_secs = t.elapsed().as_secs_f64();
    println!("synth: {:.1}x real time\n", SECONDS / synth_secs);
    let wav = std::env::temp_dir().join("floe-encode-bench.wav");
    if let Err(e) = std::fs::write(&wav, wav_file(RATE, 2, &pcm.samples)) {
        eprintln!("cannot write {}: {e}", wav.display());
        std::process::exit(1);
    }
    let ffmpeg_ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());

    let cases: [(Codec, u32, &str, &[&str]); 7] = [
        (
            Codec::Mp3,
            128,
            "libmp3lame",
            // LAME's quality 2 (`-q 2`), as Floe's MP3 encoder; ffmpeg's default is 3.
            &[
                "-c:a",
                "libmp3lame",
                "-b:a",
                "128k",
                "-compression_level",
                "2",
                "-f",
                "mp3",
            ],
        ),
        (
            Codec::Opus,
            96,
            "libopus",
            &[
                "-c:a",
                "libopus",
                "-b:a",
                "96k",
                "-vbr",
                "constrained",
                "-f",
                "ogg",
            ],
        ),
        (
            Codec::AacLc,
            128,
            "aac (native)",
            &["-c:a", "aac", "-b:a", "128k", "-f", "adts"],
        ),
        (
            Codec::HeAac,
            48,
            "libfdk_aac",
            &[
                "-c:a",
                "libfdk_aac",
                "-profile:a",
                "aac_he",
                "-b:a",
                "48k",
                "-f",
                "adts",
            ],
        ),
        (
            Codec::Vorbis,
            128,
            "libvorbis",
            &["-c:a", "libvorbis", "-b:a", "128k", "-f", "ogg"],
        ),
        (
            Codec::Flac,
            0,
            "flac (native)",
            &["-c:a", "flac", "-f", "flac"],
        ),
        (
            Codec::PcmS16Le,
            0,
            "pcm_s16le",
            &["-c:a", "pcm_s16le", "-f", "wav"],
        ),
    ];
    let before = cpu_ticks();
    println!(
        "{:<8} {:>5}  {:>10} {:>7}   {:<14} {:>11} {:>7}  {:>8}",
        "codec", "kbps", "floe x RT", "kbit/s", "ffmpeg", "ffmpeg x RT", "kbit/s", "floe/ffm"
    );
    for (codec, kbps, ff_name, ff_args) in cases {
        let config = EncoderConfig {
            codec,
            rate: RATE,
            channels: 2,
            bitrate_kbps: kbps,
        };
        let floe = if codec.available() {
            floe_encode(config, &pcm)
        } else {
            None
        };
        let ff = if ffmpeg_ok {
            ffmpeg_encode(&wav, ff_args)
        } else {
            None
        };
        let floe_x = floe.map(|(s, _)| SECONDS / s);
        let ff_x = ff.map(|(s, _)| SECONDS / s);
        let fmt = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.0}x"));
        let kbits = |r: Option<(f64, usize)>| {
            r.map_or("n/a".to_string(), |(_, b)| {
                format!("{:.0}", b as f64 * 8.0 / SECONDS / 1000.0)
            })
        };
        let ratio = match (floe_x, ff_x) {
            (Some(a), Some(b)) => format!("{:.2}", a / b),
            _ => "n/a".to_string(),
        };
        let kb = if kbps == 0 {
            "-".to_string()
        } else {
            kbps.to_string()
        };
        println!(
            "{:<8} {:>5}  {:>10} {:>7}   {:<14} {:>11} {:>7}  {:>8}",
            codec.name(),
            kb,
            fmt(floe_x),
            kbits(floe),
            ff_name,
            fmt(ff_x),
            kbits(ff),
            ratio
        );
    }
    if let (Some((t0, i0)), Some((t1, i1))) = (before, cpu_ticks()) {
        let busy = 100.0 * (1.0 - (i1 - i0) as f64 / (t1 - t0).max(1) as f64);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "\nmachine busy during the run: {busy:.0}% of {cores} cores (one core = {:.0}%)",
            100.0 / cores as f64
        );
    }
    println!("n/a: codec not built (AAC needs --features fdk-aac) or not in this ffmpeg (Debian's has no libfdk_aac).");
    println!("CPU time, best of 2 runs each; ffmpeg's includes its start-up and WAV reading.");
    let _ = std::fs::remove_file(&wav);
}
