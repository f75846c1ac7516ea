//! Stations against the real binary: an auto-DJ station of a generated music folder (MP3, FLAC,
//! Ogg Vorbis, Ogg Opus and WAV files with tags, plus a corrupt one) with a rendition per codec,
//! and the demo station that `floe serve` runs with no config. Every rendition must decode with
//! zero errors in ffmpeg and show the declared codec, rate, channels and bitrate in ffprobe;
//! titles come from the tags; the corrupt file is skipped.
//!
//! These tests need ffmpeg and ffprobe on PATH (CI installs them); without them they fail.

mod common;

use common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Writes `name` in `dir`: `secs` of a tone, with artist/title tags, through ffmpeg.
fn tone_file(dir: &Path, name: &str, freq: u32, secs: f32, artist: &str, title: &str) {
    let path = dir.join(name);
    let codec: &[&str] = match path.extension().and_then(|e| e.to_str()) {
        Some("mp3") => &["-c:a", "libmp3lame", "-b:a", "128k"],
        Some("flac") => &["-c:a", "flac"],
        Some("ogg") => &["-c:a", "libvorbis", "-b:a", "96k"],
        Some("opus") => &["-c:a", "libopus", "-b:a", "64k"],
        _ => &["-c:a", "pcm_s16le"],
    };
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency={freq}:sample_rate=44100:duration={secs}"
        ))
        .args(["-ac", "2"])
        .args(codec)
        .args(["-metadata", &format!("artist={artist}")])
        .args(["-metadata", &format!("title={title}")])
        .arg(&path)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg could not write {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn music_folder() -> PathBuf {
    let dir = scratch_dir("music");
    tone_file(&dir, "1.mp3", 440, 2.5, "Alpha", "One");
    tone_file(&dir, "2.flac", 550, 2.5, "Beta", "Two");
    std::fs::write(dir.join("3 corrupt.mp3"), vec![0x5au8; 20_000]).expect("write");
    tone_file(&dir, "4.ogg", 660, 2.5, "Gamma", "Three");
    tone_file(&dir, "5.opus", 330, 2.5, "Delta", "Four");
    tone_file(&dir, "6.wav", 770, 2.5, "Epsilon", "Five");
    dir
}

/// Up to `n` bytes of `mount`'s stream (with the codec headers a new listener gets first).
fn capture(floe: &Floe, mount: &str, n: usize) -> Vec<u8> {
    let mut l = Listener::connect(floe, mount, false);
    assert_eq!(l.head.status, 200, "{mount}: {}", floe.log_text());
    l.read_bytes(n, Duration::from_secs(20))
}

struct Probe {
    codec: String,
    rate: u32,
    channels: u32,
    /// Measured from packet sizes and durations, kbit/s.
    kbps: f64,
    /// ffprobe's declared stream bitrate, when it gives one.
    declared_kbps: Option<f64>,
    /// AAC profile (`LC`, `HE-AAC`), empty for other codecs.
    profile: String,
}

fn ffprobe(file: &Path) -> Probe {
    let run = |args: &[&str]| {
        let out = Command::new("ffprobe")
            .args(["-v", "error"])
            .args(args)
            .arg(file)
            .output()
            .expect("run ffprobe");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stream = run(&[
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=codec_name,profile,sample_rate,channels,bit_rate",
        "-of",
        "default=nw=1",
    ]);
    let field = |k: &str| {
        stream
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .to_string()
    };
    let packets = run(&[
        "-select_streams",
        "a:0",
        "-show_entries",
        "packet=size,duration_time",
        "-of",
        "csv=p=0",
    ]);
    let (mut bytes, mut secs) = (0f64, 0f64);
    for l in packets.lines() {
        let mut it = l.split(',');
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            continue;
        };
        // The order of the two fields follows ffprobe's, not the request's.
        let (size, dur) = if a.contains('.') { (b, a) } else { (a, b) };
        if let (Ok(s), Ok(d)) = (size.parse::<f64>(), dur.parse::<f64>()) {
            bytes += s;
            secs += d;
        }
    }
    Probe {
        codec: field("codec_name"),
        rate: field("sample_rate").parse().unwrap_or(0),
        channels: field("channels").parse().unwrap_or(0),
        kbps: if secs > 0.0 {
            bytes * 8.0 / secs / 1000.0
        } else {
            0.0
        },
        declared_kbps: field("bit_rate").parse::<f64>().ok().map(|b| b / 1000.0),
        profile: field("profile"),
    }
}

/// How a rendition's bitrate is checked.
#[derive(Clone, Copy)]
enum Bitrate {
    /// CBR: the stream's packets average this (kbit/s) within the tolerance (fraction), and
    /// ffprobe's declared bitrate, when it gives one, matches.
    Measured(f64, f64),
    /// VBR with a nominal bitrate in the stream header (Vorbis): ffprobe declares it.
    Declared(f64),
    /// Lossless.
    None,
}

/// Where a capture of `mount` is written in `dir`.
fn capture_path(dir: &Path, mount: &str) -> PathBuf {
    dir.join(format!("capture{}", mount.replace('/', "-")))
}

/// Writes a capture of `mount` to `file` and checks it: symphonia decodes it, and ffprobe shows
/// `codec`, `rate`, 2 channels and `bitrate`.
fn check_capture(
    mount: &str,
    file: &Path,
    bytes: Vec<u8>,
    codec: &str,
    rate: u32,
    bitrate: Bitrate,
) -> Probe {
    std::fs::write(file, bytes).expect("write capture");
    let p = ffprobe(file);
    symphonia_decodes(mount, file);
    assert_eq!(p.codec, codec, "{mount}");
    assert_eq!(p.rate, rate, "{mount}");
    assert_eq!(p.channels, 2, "{mount}");
    check_bitrate(mount, &p, bitrate);
    p
}

/// Checks one rendition: zero ffmpeg errors, and ffprobe's codec, rate, channels, bitrate.
fn check_rendition(floe: &Floe, mount: &str, codec: &str, rate: u32, bitrate: Bitrate) -> String {
    let errors = ffmpeg_decode_errors(&floe.url(mount), 3);
    assert!(errors.trim().is_empty(), "{mount}: ffmpeg said:\n{errors}");
    let file = capture_path(&floe.dir, mount);
    let bytes = capture(floe, mount, 48 * 1024);
    let p = check_capture(mount, &file, bytes, codec, rate, bitrate);
    let line = format!(
        "{mount}: codec={}{} rate={} channels={} bitrate={:.1} kbit/s (declared {})",
        p.codec,
        if p.profile.is_empty() {
            String::new()
        } else {
            format!(" ({})", p.profile)
        },
        p.rate,
        p.channels,
        p.kbps,
        p.declared_kbps
            .map_or("n/a".to_string(), |d| format!("{d:.0}"))
    );
    println!("{line}");
    line
}

/// The captured stream cut after its last whole frame or page (a capture stops anywhere).
fn whole_units(mount: &str, bytes: &[u8]) -> Vec<u8> {
    use floe_proto::frame::{Framer, StreamFormat};
    let format = if mount.ends_with(".mp3") {
        StreamFormat::Mp3
    } else if mount.ends_with(".aac") {
        StreamFormat::Aac
    } else if mount.ends_with(".opus") || mount.ends_with(".ogg") {
        StreamFormat::Ogg
    } else if mount.ends_with(".wav") {
        // 44-byte header, then 4-byte stereo frames. A live WAV stream declares no length:
        // write the capture's into the header, as a recording would.
        let n = 44 + (bytes.len().saturating_sub(44)) / 4 * 4;
        let mut out = bytes[..n].to_vec();
        out[4..8].copy_from_slice(&((n - 8) as u32).to_le_bytes());
        out[40..44].copy_from_slice(&((n - 44) as u32).to_le_bytes());
        return out;
    } else {
        // Native FLAC: cut at the last frame header (sync 0xFFF8, reserved bit 0, CRC-8 ok).
        let cut = (4..bytes.len().saturating_sub(16))
            .rev()
            .find(|&i| bytes[i] == 0xFF && bytes[i + 1] == 0xF8 && flac_header_ok(&bytes[i..]))
            .unwrap_or(bytes.len());
        return bytes[..cut].to_vec();
    };
    let mut f = Framer::new(format, 1 << 22);
    f.push(bytes);
    let mut out = Vec::new();
    let mut last_page = 0;
    while let Some(u) = f.next_unit() {
        last_page = out.len();
        out.extend_from_slice(&u.data);
    }
    if format == StreamFormat::Ogg && out.len() > last_page + 27 {
        // A live stream has no end: mark the capture's last page as the end of the stream
        // (EOS flag, CRC recomputed), as a recording would.
        let page = &mut out[last_page..];
        page[5] |= 0x04;
        page[22..26].fill(0);
        let crc = ogg_crc(page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// True when a FLAC frame header (fixed 4096 blocks, 44.1/48 kHz as Floe writes) at the start
/// of `b` has a valid CRC-8.
fn flac_header_ok(b: &[u8]) -> bool {
    // Header: 2 sync bytes, 1 block size/rate byte, 1 channels/bits byte, UTF-8 frame number
    // (1-6 bytes), then the CRC-8 of all of that.
    let utf8_len = match b.get(4) {
        Some(x) if x & 0x80 == 0 => 1,
        Some(x) => x.leading_ones() as usize,
        None => return false,
    };
    let mut n = 4 + utf8_len;
    // Block size codes 6/7 and rate codes 12-14 add bytes.
    let bs = b[2] >> 4;
    n += match bs {
        6 => 1,
        7 => 2,
        _ => 0,
    };
    let sr = b[2] & 0x0F;
    n += match sr {
        12 => 1,
        13 | 14 => 2,
        _ => 0,
    };
    let Some(&crc) = b.get(n) else { return false };
    let mut c: u8 = 0;
    for &byte in &b[..n] {
        c ^= byte;
        for _ in 0..8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
        }
    }
    c == crc
}

/// symphonia (through floe-media) decodes the capture with no error and no skipped packet.
fn symphonia_decodes(mount: &str, file: &Path) {
    let bytes = whole_units(mount, &std::fs::read(file).expect("read capture"));
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_string);
    let d = floe_media::Decoder::open_bytes(bytes, ext.as_deref())
        .unwrap_or_else(|e| panic!("{mount}: symphonia cannot open the stream: {e}"));
    let (pcm, _, bad) = d
        .decode_all()
        .unwrap_or_else(|e| panic!("{mount}: symphonia: {e}"));
    assert_eq!(bad, 0, "{mount}: symphonia skipped {bad} packets");
    assert!(pcm.frames() > 0, "{mount}: no audio decoded");
}

fn check_bitrate(mount: &str, p: &Probe, bitrate: Bitrate) {
    match bitrate {
        Bitrate::Measured(k, tolerance) => {
            assert!(
                (p.kbps - k).abs() <= k * tolerance,
                "{mount}: {:.1} kbit/s measured, {k} declared",
                p.kbps
            );
            if let Some(d) = p.declared_kbps {
                // ffprobe's figure for ADTS is an estimate that counts the frame headers.
                let tol = tolerance.max(0.01);
                assert!((d - k).abs() <= k * tol, "{mount}: ffprobe declares {d}");
            }
        }
        Bitrate::Declared(k) => {
            let d = p.declared_kbps.unwrap_or(0.0);
            assert!((d - k).abs() <= k * 0.01, "{mount}: ffprobe declares {d}");
        }
        Bitrate::None => {}
    }
}

fn song_of(floe: &Floe, mount: &str) -> Option<String> {
    let mounts = floe.get("/api/v1/mounts", &[]).json();
    mounts
        .as_array()?
        .iter()
        .find_map(|m| (m["path"] == mount).then(|| m["song"].as_str().map(str::to_string))?)
}

/// Whether `mount`'s song becomes `title` within `secs` seconds.
fn title_within(floe: &Floe, mount: &str, title: &str, secs: u64) -> bool {
    eventually(Duration::from_secs(secs), || {
        song_of(floe, mount).as_deref() == Some(title)
    })
}

/// Waits for `title` on `mount`; fails with `what` and the log when it does not come.
fn await_title(floe: &Floe, mount: &str, title: &str, secs: u64, what: &str) {
    let ok = title_within(floe, mount, title, secs);
    assert!(ok, "{what}; log:\n{}", floe.log_text());
}

/// Reads an ICY listener until a `StreamTitle` other than the first appears; returns every
/// title seen in order.
fn icy_titles(floe: &Floe, mount: &str, want: usize, timeout: Duration) -> Vec<String> {
    let mut l = Listener::connect(floe, mount, true);
    let metaint: usize = l
        .head
        .header("icy-metaint")
        .and_then(|v| v.parse().ok())
        .expect("icy-metaint");
    let deadline = Instant::now() + timeout;
    let mut titles: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    l.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok();
    let mut chunk = [0u8; 16384];
    while titles.len() < want && Instant::now() < deadline {
        match l.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(_) => continue,
        }
        while buf.len() > metaint {
            let len = usize::from(buf[metaint]) * 16;
            if buf.len() < metaint + 1 + len {
                break;
            }
            let meta = String::from_utf8_lossy(&buf[metaint + 1..metaint + 1 + len]).into_owned();
            if let Some(t) = meta
                .strip_prefix("StreamTitle='")
                .and_then(|r| r.split("';").next())
            {
                if titles.last().map(String::as_str) != Some(t) {
                    titles.push(t.to_string());
                }
            }
            buf.drain(..metaint + 1 + len);
        }
    }
    titles
}

#[test]
fn a_station_of_a_folder_streams_every_rendition_with_titles() {
    require_ffmpeg();
    let music = music_folder();
    let play_log = music.join("play.log");
    let config = format!(
        r#"
[stations.test]
name = "Test Radio"
music = "{}"
order = "sequential"
crossfade_seconds = 0.5
loudness_target = -16.0
play_log = "{}"

[[stations.test.renditions]]
mount = "/t.mp3"
codec = "mp3"
bitrate = 64

[[stations.test.renditions]]
mount = "/t.opus"
codec = "opus"
bitrate = 96

[[stations.test.renditions]]
mount = "/t.ogg"
codec = "vorbis"
bitrate = 128

[[stations.test.renditions]]
mount = "/t.flac"
codec = "flac"

[[stations.test.renditions]]
mount = "/t.wav"
codec = "wav"
"#,
        music.display(),
        play_log.display()
    );
    #[cfg(feature = "fdk-aac")]
    let config = config
        + "\n[[stations.test.renditions]]\nmount = \"/t.aac\"\ncodec = \"aac\"\nbitrate = 128\n\
           \n[[stations.test.renditions]]\nmount = \"/t-he.aac\"\ncodec = \"he-aac\"\nbitrate = 48\n";
    let floe = Floe::start_with(&config);
    let mut report = Vec::new();
    #[cfg(feature = "fdk-aac")]
    for (mount, profile, kbps) in [("/t.aac", "LC", 128.0), ("/t-he.aac", "HE-AAC", 48.0)] {
        report.push(check_rendition(
            &floe,
            mount,
            "aac",
            44_100,
            Bitrate::Measured(kbps, 0.05),
        ));
        let file = capture_path(&floe.dir, mount);
        assert_eq!(ffprobe(&file).profile, profile, "{mount}");
    }
    use Bitrate::*;
    for (mount, codec, rate, bitrate) in [
        ("/t.mp3", "mp3", 44_100, Measured(64.0, 0.02)),
        // Opus in Ogg declares no bitrate: the packets' average, within its VBR's swing.
        ("/t.opus", "opus", 48_000, Measured(96.0, 0.35)),
        ("/t.ogg", "vorbis", 44_100, Declared(128.0)),
        ("/t.flac", "flac", 44_100, None),
        ("/t.wav", "pcm_s16le", 44_100, Measured(1411.2, 0.01)),
    ] {
        report.push(check_rendition(&floe, mount, codec, rate, bitrate));
    }

    // Titles from the tags, in order, on every rendition; the corrupt file is skipped.
    let titles = icy_titles(&floe, "/t.mp3", 3, Duration::from_secs(30));
    let known = [
        "Alpha - One",
        "Beta - Two",
        "Gamma - Three",
        "Delta - Four",
        "Epsilon - Five",
    ];
    assert!(
        titles.len() >= 2 && titles.iter().all(|t| known.contains(&t.as_str())),
        "ICY titles {titles:?}"
    );
    for w in titles.windows(2) {
        let (a, b) = (
            known.iter().position(|k| *k == w[0]).unwrap_or(0),
            known.iter().position(|k| *k == w[1]).unwrap_or(0),
        );
        assert_eq!(b, (a + 1) % known.len(), "sequential order: {titles:?}");
    }
    for mount in ["/t.opus", "/t.ogg", "/t.flac", "/t.wav"] {
        let ok = eventually(Duration::from_secs(20), || {
            song_of(&floe, mount).is_some_and(|s| known.contains(&s.as_str()))
        });
        assert!(ok, "{mount} has no title from the tags");
    }
    let skipped = eventually(Duration::from_secs(30), || {
        floe.log_text().contains("skipping unplayable track")
            && floe.log_text().contains("3 corrupt.mp3")
    });
    assert!(
        skipped,
        "corrupt file not reported; log:\n{}",
        floe.log_text()
    );
    // Playback continues past it: the track after the corrupt one plays.
    await_title(
        &floe,
        "/t.mp3",
        "Gamma - Three",
        30,
        "no title after the corrupt file",
    );
    let log = std::fs::read_to_string(&play_log).unwrap_or_default();
    assert!(
        log.contains("Test Radio\tAlpha - One\t"),
        "play log:\n{log}"
    );
    assert!(!log.contains("corrupt"), "play log:\n{log}");
    println!("ICY titles: {titles:?}");
    let _ = report;
}

#[test]
fn floe_serve_without_a_config_plays_the_demo() {
    require_ffmpeg();
    // The README's first command: `floe serve`, no config file at all.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = scratch_dir("demo");
    let log = dir.join("floe.log");
    let logfile = std::fs::File::create(&log).expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("FLOE_CONFIG")
        .env_remove("FLOE_MUSIC")
        .stdin(Stdio::null())
        .stdout(logfile.try_clone().expect("clone"))
        .stderr(logfile)
        .spawn()
        .expect("spawn floe");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _ = child.stdin.take();
    let guard = Kill(child);
    let up = eventually(Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(up, "floe did not start: {}", text());
    let url = format!("http://127.0.0.1:{port}/demo.mp3");
    assert!(
        eventually(Duration::from_secs(5), || text()
            .contains(&format!("Now playing: {url}"))),
        "banner: {}",
        text()
    );
    // Reuse the harness's checks through a Floe-like view of this process.
    let floe = FloeAt {
        addr: format!("127.0.0.1:{port}"),
        dir,
    };
    for mount in ["/demo.mp3", "/demo.opus"] {
        let u = format!("http://{}{mount}", floe.addr);
        let errors = ffmpeg_decode_errors(&u, 3);
        assert!(errors.trim().is_empty(), "{mount}: ffmpeg said:\n{errors}");
    }
    let titled = eventually(Duration::from_secs(30), || {
        let body = http_get(&floe.addr, "/api/v1/mounts");
        body.contains("\"song\":\"Floe Demo - ")
    });
    assert!(titled, "no demo title; log:\n{}", text());
    // The station goes live with silence while the first piece is synthesised (a few seconds
    // in a debug build): let the burst window fill with music before measuring bitrates.
    std::thread::sleep(Duration::from_secs(6));
    for (mount, codec, rate, bitrate) in [
        ("/demo.mp3", "mp3", 44_100, Bitrate::Measured(128.0, 0.02)),
        ("/demo.opus", "opus", 48_000, Bitrate::Measured(96.0, 0.35)),
    ] {
        let file = capture_path(&floe.dir, mount);
        let bytes = http_stream(&floe.addr, mount, 64 * 1024);
        let p = check_capture(mount, &file, bytes, codec, rate, bitrate);
        println!(
            "{mount}: codec={} rate={} channels={} bitrate={:.1} kbit/s",
            p.codec, p.rate, p.channels, p.kbps
        );
    }
    drop(guard);
}

struct FloeAt {
    addr: String,
    dir: PathBuf,
}

fn http_get(addr: &str, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `n` bytes of a stream's body.
fn http_stream(addr: &str, path: &str, n: usize) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    let head = read_head(&mut s);
    assert!(
        head.windows(4).take(16).any(|w| w == b" 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while out.len() < n {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
        }
    }
    out
}

#[test]
fn a_live_mount_gets_renditions() {
    require_ffmpeg();
    let floe = Floe::start_with(
        r#"
[stations.live]
name = "Live Radio"
live = "/live.mp3"

[[stations.live.renditions]]
mount = "/live-64.mp3"
codec = "mp3"
bitrate = 64

[[stations.live.renditions]]
mount = "/live.opus"
codec = "opus"
bitrate = 96
"#,
    );
    // Nothing to transcode yet: the renditions are not live.
    assert_eq!(floe.request("HEAD", "/live.opus", &[]).status, 404);
    let url = format!("icecast://source:{SOURCE_PASSWORD}@{}/live.mp3", floe.addr);
    let mut encoder = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:sample_rate=44100:duration=60")
        .args(["-ac", "2"])
        .args(MP3)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ffmpeg");
    let live = eventually(Duration::from_secs(15), || {
        floe.request("HEAD", "/live.opus", &[]).status == 200
            && floe.request("HEAD", "/live-64.mp3", &[]).status == 200
    });
    assert!(
        live,
        "renditions never went live; log:\n{}",
        floe.log_text()
    );
    for (mount, codec, rate, bitrate) in [
        ("/live-64.mp3", "mp3", 44_100, Bitrate::Measured(64.0, 0.02)),
        ("/live.opus", "opus", 48_000, Bitrate::Measured(96.0, 0.35)),
    ] {
        check_rendition(&floe, mount, codec, rate, bitrate);
    }
    let r = floe.admin("/admin/metadata?mode=updinfo&mount=/live.mp3&song=Live%20Title");
    assert_eq!(r.status, 200);
    for mount in ["/live-64.mp3", "/live.opus"] {
        let ok = title_within(&floe, mount, "Live Title", 10);
        assert!(ok, "{mount} did not get the live title");
    }
    let _ = encoder.kill();
    let _ = encoder.wait();
}

#[test]
fn serve_music_dir_plays_a_folder_and_stops_cleanly() {
    require_ffmpeg();
    let music = scratch_dir("music-flag");
    tone_file(&music, "a.flac", 440, 2.0, "Flag", "Song");
    // `floe serve --music DIR`, through its environment variable (the harness owns the argv).
    let floe = Floe::start_with_env("", &[("FLOE_MUSIC", music.to_str().expect("utf-8"))]);
    let ok = eventually(Duration::from_secs(20), || {
        song_of(&floe, "/radio.mp3").as_deref() == Some("Flag - Song")
            && song_of(&floe, "/radio.opus").as_deref() == Some("Flag - Song")
    });
    assert!(ok, "no station on /radio.mp3; log:\n{}", floe.log_text());
    // The demo does not run beside it.
    assert_eq!(floe.request("HEAD", "/demo.mp3", &[]).status, 404);
    let errors = ffmpeg_decode_errors(&floe.url("/radio.mp3"), 2);
    assert!(errors.trim().is_empty(), "ffmpeg said:\n{errors}");
    let t = Instant::now();
    let status = floe.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "shutdown took {:?}",
        t.elapsed()
    );
}

/// Dominant frequency by zero crossings (as in the interop tests): tells a 440 Hz tone from
/// the 220 Hz auto-DJ music.
fn tone_hz(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate))
}

/// What half a second of the capture sounds like.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Heard {
    Music,
    Live,
    Other,
}

/// One listener of `mount` on a raw socket for as long as the test wants: call
/// [`Recording::finish`] to get what it received and whether it was disconnected.
struct Recording {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    reader: std::thread::JoinHandle<(Vec<u8>, Option<String>)>,
}

impl Recording {
    fn start(floe: &Floe, mount: &str) -> Recording {
        let mut listener = Listener::connect(floe, mount, false);
        assert_eq!(listener.head.status, 200);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = std::thread::spawn({
            let done = done.clone();
            move || {
                let mut bytes = Vec::new();
                let mut closed = None;
                let mut buf = [0u8; 16384];
                listener
                    .stream
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .ok();
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    match listener.stream.read(&mut buf) {
                        Ok(0) => {
                            closed = Some("end of stream".to_string());
                            break;
                        }
                        Ok(k) => bytes.extend_from_slice(&buf[..k]),
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(e) => {
                            closed = Some(e.to_string());
                            break;
                        }
                    }
                }
                (bytes, closed)
            }
        });
        Recording { done, reader }
    }

    /// Stops listening; the bytes received, and why the stream ended early if it did.
    fn finish(self) -> (Vec<u8>, Option<String>) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
        self.reader.join().expect("reader")
    }
}

/// Checks that an MP3 capture decodes with zero errors in ffmpeg, then tells, half a second
/// at a time, whether it sounds like the 220 Hz music, the 440 Hz live tone, or neither.
fn hear_mp3(floe: &Floe, name: &str, bytes: &[u8]) -> Vec<Heard> {
    let file = floe.dir.join(name);
    std::fs::write(&file, whole_units("/radio.mp3", bytes)).expect("write capture");
    // The whole capture (far shorter than the hour ffmpeg is allowed).
    assert_ffmpeg_decodes(file.to_str().expect("UTF-8 scratch path"), 3600);
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&file)
        .args(["-f", "s16le", "-ac", "1", "-ar", "8000", "-"])
        .output()
        .expect("run ffmpeg");
    let samples: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    samples
        .chunks_exact(4000)
        .map(|w| {
            let peak = w.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            let hz = tone_hz(w, 8000);
            if peak < 1000 {
                Heard::Other
            } else if (hz - 440.0).abs() < 15.0 {
                Heard::Live
            } else if (hz - 220.0).abs() < 15.0 {
                Heard::Music
            } else {
                Heard::Other
            }
        })
        .collect()
}

/// Music, then at least `min_live` half-seconds of the live tone, then music again.
fn assert_music_live_music(heard: &[Heard], min_live: usize) {
    let first_live = heard.iter().position(|h| *h == Heard::Live);
    let last_live = heard.iter().rposition(|h| *h == Heard::Live);
    let (Some(first_live), Some(last_live)) = (first_live, last_live) else {
        panic!("no live tone in the capture: {heard:?}");
    };
    let live_run = heard[first_live..=last_live]
        .iter()
        .filter(|h| **h == Heard::Live)
        .count();
    assert!(
        live_run >= min_live,
        "{live_run} half-seconds of the tone: {heard:?}"
    );
    let music = |part: &[Heard]| part.iter().filter(|h| **h == Heard::Music).count();
    assert!(
        music(&heard[..first_live]) >= 4,
        "no music before the show: {heard:?}"
    );
    assert!(
        music(&heard[last_live + 1..]) >= 4,
        "no music after the show: {heard:?}"
    );
}

/// The renditions of the takeover tests: MP3 128k and Opus 96k.
const RADIO_RENDITIONS: &str = r#"
[[stations.radio.renditions]]
mount = "/radio.mp3"
codec = "mp3"
bitrate = 128

[[stations.radio.renditions]]
mount = "/radio.opus"
codec = "opus"
bitrate = 96
"#;

/// A scratch folder holding one 5 s 220 Hz track, "Music - Low" (after checking for ffmpeg).
fn low_music(name: &str) -> PathBuf {
    require_ffmpeg();
    let music = scratch_dir(name);
    tone_file(&music, "low.flac", 220, 5.0, "Music", "Low");
    music
}

/// Starts Floe with `config` and waits for its auto-DJ's "Music - Low" on `/radio.mp3`.
fn start_auto_dj(config: &str) -> Floe {
    let floe = Floe::start_with(config);
    await_title(&floe, "/radio.mp3", "Music - Low", 20, "no auto-DJ title");
    floe
}

#[test]
fn a_live_source_takes_over_the_auto_dj_and_hands_back_without_breaking_a_listener() {
    let music = low_music("takeover-music");
    let floe = start_auto_dj(&format!(
        r#"
[stations.radio]
name = "Takeover Radio"
music = "{}"
live = "/studio.mp3"
takeover_crossfade_seconds = 1.0
{RADIO_RENDITIONS}"#,
        music.display()
    ));

    // One listener for the whole test.
    let recording = Recording::start(&floe, "/radio.mp3");
    std::thread::sleep(Duration::from_secs(4));

    // The live show: 5 s of a 440 Hz tone, then the encoder stops. With 1 s fades in and out
    // (and 1 s of prebuffer), about 3 s of it is heard alone.
    let url = format!(
        "icecast://source:{SOURCE_PASSWORD}@{}/studio.mp3",
        floe.addr
    );
    let mut encoder = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:sample_rate=44100:duration=5")
        .args(["-ac", "2"])
        .args(MP3)
        .args(["-ice_name", "Studio Show"])
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ffmpeg");
    let live_title = title_within(&floe, "/radio.mp3", "Studio Show", 15);
    let status = encoder.wait().expect("ffmpeg");
    assert!(status.success(), "ffmpeg source: {status}");
    assert!(live_title, "no live title; log:\n{}", floe.log_text());
    await_title(&floe, "/radio.mp3", "Music - Low", 15, "no hand-back title");
    // Music after the show, past the station's lead and the listener's write interval.
    std::thread::sleep(Duration::from_secs(6));
    let (bytes, closed) = recording.finish();
    assert_eq!(closed, None, "the listener was disconnected");

    // The capture decodes with zero errors, and sounds like music, the live tone, music.
    let heard = hear_mp3(&floe, "takeover-capture.mp3", &bytes);
    println!("heard (0.5 s each): {heard:?}");
    assert_music_live_music(&heard, 4);
}

/// Makes a FIFO at `path` (`mkfifo`).
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// ffmpeg writing `secs` of a 440 Hz tone into `fifo` as raw s16le, 48 kHz stereo, at real
/// time (as `arecord -f S16_LE -r 48000 -c 2 -t raw` would).
fn ffmpeg_tone_into_fifo(fifo: &Path, secs: u32) -> std::process::Child {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-re", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={secs}"
        ))
        .args(["-ac", "2", "-f", "s16le", "-c:a", "pcm_s16le"])
        .arg(fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ffmpeg")
}

#[test]
fn raw_pcm_from_a_fifo_takes_over_and_hands_back_and_a_new_writer_takes_over_again() {
    let music = low_music("fifo-music");
    let fifo = music.join("line-in.fifo");
    mkfifo(&fifo);
    let floe = start_auto_dj(&format!(
        r#"
[stations.radio]
name = "Line-in Radio"
music = "{}"
takeover_crossfade_seconds = 1.0

[[stations.radio.inputs]]
pcm = "{}"
format = "s16le"
sample_rate = 48000
channels = 2
title = "Line in"
{RADIO_RENDITIONS}"#,
        music.display(),
        fifo.display()
    ));
    let recording = Recording::start(&floe, "/radio.mp3");
    std::thread::sleep(Duration::from_secs(4));

    // Two writers one after the other: each takes over while it sends and hands back at its
    // end (the FIFO is reopened for the second).
    for round in 1..=2 {
        let writer = ffmpeg_tone_into_fifo(&fifo, 5);
        let live = title_within(&floe, "/radio.mp3", "Line in", 15);
        let out = writer.wait_with_output().expect("ffmpeg");
        assert!(
            out.status.success(),
            "ffmpeg into the FIFO: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            live,
            "round {round}: no takeover; log:\n{}",
            floe.log_text()
        );
        await_title(
            &floe,
            "/radio.mp3",
            "Music - Low",
            15,
            &format!("round {round}: no hand-back"),
        );
        std::thread::sleep(Duration::from_secs(5));
    }
    std::thread::sleep(Duration::from_secs(2));
    let (bytes, closed) = recording.finish();
    assert_eq!(closed, None, "the listener was disconnected");
    let heard = hear_mp3(&floe, "fifo-capture.mp3", &bytes);
    println!("heard (0.5 s each): {heard:?}");
    // Music, tone, music, tone, music.
    let mut runs: Vec<(Heard, usize)> = Vec::new();
    for h in heard.iter().filter(|h| **h != Heard::Other) {
        match runs.last_mut() {
            Some((last, n)) if last == h => *n += 1,
            _ => runs.push((*h, 1)),
        }
    }
    let shape: Vec<Heard> = runs
        .iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(h, _)| *h)
        .collect();
    assert_eq!(
        shape,
        [
            Heard::Music,
            Heard::Live,
            Heard::Music,
            Heard::Live,
            Heard::Music
        ],
        "{heard:?}"
    );
    let log = floe.log_text();
    assert_eq!(
        log.matches("local input: a writer is sending").count(),
        2,
        "{log}"
    );
    assert_eq!(
        log.matches("local input: the writer is gone").count(),
        2,
        "{log}"
    );
}

#[test]
fn a_live_source_sending_silence_falls_through_to_the_auto_dj_while_connected() {
    let music = low_music("dead-air-music");
    let floe = start_auto_dj(&format!(
        r#"
[stations.radio]
name = "Dead Air Radio"
music = "{}"
live = "/studio.mp3"
takeover_crossfade_seconds = 0.5
dead_air_seconds = 2
{RADIO_RENDITIONS}"#,
        music.display()
    ));
    let recording = Recording::start(&floe, "/radio.mp3");
    std::thread::sleep(Duration::from_secs(3));
    // 5 s of the tone, then silence for the rest of a minute: the source stays connected.
    let _encoder = ffmpeg_tone_source(
        &floe,
        "/studio.mp3",
        &[
            &["-af", "volume=enable='gte(t,5)':volume=0", "-ac", "2"],
            MP3,
        ]
        .concat(),
        false,
    );
    await_title(&floe, "/radio.mp3", "Interop Radio", 15, "no takeover");
    await_title(
        &floe,
        "/radio.mp3",
        "Music - Low",
        20,
        "dead air did not fall through",
    );
    // The source is still connected: it was the silence, not its leaving.
    assert_eq!(floe.request("HEAD", "/studio.mp3", &[]).status, 200);
    std::thread::sleep(Duration::from_secs(5));
    let (bytes, closed) = recording.finish();
    assert_eq!(closed, None, "the listener was disconnected");
    assert_eq!(floe.request("HEAD", "/studio.mp3", &[]).status, 200);
    let heard = hear_mp3(&floe, "dead-air-capture.mp3", &bytes);
    println!("heard (0.5 s each): {heard:?}");
    assert_music_live_music(&heard, 4);
    // Between the tone and the music: the dead air itself (silence, about 2 s), no more than
    // the dead-air time plus the fade and a half-second of rounding.
    let last_live = heard.iter().rposition(|h| *h == Heard::Live).expect("live");
    let next_music = heard[last_live..]
        .iter()
        .position(|h| *h == Heard::Music)
        .expect("music");
    assert!(
        (2..=8).contains(&next_music),
        "{next_music} half-seconds between the tone and the music: {heard:?}"
    );
}

#[test]
fn raw_pcm_on_standard_input_plays_all_of_it_at_real_time_then_the_station_plays_silence() {
    require_ffmpeg();
    // 10 s of the tone as raw s16le in a file: standard input delivers it as fast as Floe
    // reads, so only the input's backpressure keeps it from being dropped.
    let dir = scratch_dir("stdin-pcm");
    let raw = dir.join("tone.raw");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:sample_rate=48000:duration=10")
        .args(["-ac", "2", "-f", "s16le", "-c:a", "pcm_s16le"])
        .arg(&raw)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = format!(
        r#"
[stations.radio]
name = "Stdin Radio"

[[stations.radio.inputs]]
pcm = "-"
title = "Line in"
{RADIO_RENDITIONS}"#
    );
    let floe = Floe::start_with_stdin(&config, &[], || {
        Stdio::from(std::fs::File::open(&raw).expect("open the raw tone"))
    });
    await_title(
        &floe,
        "/radio.mp3",
        "Line in",
        15,
        "the input did not go on the air",
    );
    let recording = Recording::start(&floe, "/radio.mp3");
    let ended = eventually(Duration::from_secs(30), || {
        floe.log_text().contains("standard input closed")
    });
    assert!(ended, "no end of standard input; log:\n{}", floe.log_text());
    // Silence titled with the station's name after the input played out.
    await_title(
        &floe,
        "/radio.mp3",
        "Stdin Radio",
        15,
        "no hand-back to silence",
    );
    std::thread::sleep(Duration::from_secs(4));
    let (bytes, closed) = recording.finish();
    assert_eq!(closed, None, "the listener was disconnected");
    let heard = hear_mp3(&floe, "stdin-capture.mp3", &bytes);
    println!("heard (0.5 s each): {heard:?}");
    // The listener joined a moment after the station went on the air (its burst covers part
    // of that); the rest of the 10 s arrives, none of it dropped for being read too early.
    let live = heard.iter().filter(|h| **h == Heard::Live).count();
    assert!(live >= 14, "{live} half-seconds of the tone: {heard:?}");
    assert!(
        heard.iter().rev().take(4).all(|h| *h == Heard::Other),
        "silence at the end: {heard:?}"
    );
}

/// Runs `floe ARGS` to its end (it must end within 30 s): exit status and standard error.
fn floe_run(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn floe");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("floe {args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(not(feature = "alsa"))]
#[test]
fn a_capture_input_in_a_build_without_alsa_is_a_config_error_saying_how_to_build() {
    let dir = scratch_dir("capture-config");
    let file = dir.join("floe.toml");
    std::fs::write(
        &file,
        "[stations.mic]\n\n[[stations.mic.inputs]]\ncapture = \"default\"\n",
    )
    .expect("write config");
    let path = file.to_string_lossy().into_owned();
    let (status, stderr) = floe_run(&["check-config", &path]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stations.\"mic\".inputs[1].capture")
            && stderr.contains("line 4")
            && stderr.contains("--features alsa"),
        "{stderr}"
    );
    let (status, stderr) = floe_run(&["serve", "--config", &path, "--listen", "127.0.0.1:0"]);
    assert!(!status.success());
    assert!(stderr.contains("--features alsa"), "{stderr}");
}

#[cfg(feature = "alsa")]
#[test]
fn a_missing_capture_device_stops_start_up_listing_the_capture_devices() {
    let dir = scratch_dir("capture-missing");
    let file = dir.join("floe.toml");
    std::fs::write(
        &file,
        "[stations.mic]\n\n[[stations.mic.inputs]]\ncapture = \"floe-no-such-device\"\n",
    )
    .expect("write config");
    let path = file.to_string_lossy().into_owned();
    let (status, stderr) = floe_run(&["serve", "--config", &path, "--listen", "127.0.0.1:0"]);
    assert!(!status.success(), "{stderr}");
    // alsa-lib always defines its `null` device.
    assert!(
        stderr.contains(
            "stations.\"mic\".inputs[1].capture: no ALSA capture device `floe-no-such-device`"
        ) && stderr.contains("available capture devices: ")
            && stderr.contains("null"),
        "{stderr}"
    );
}

#[cfg(feature = "alsa")]
#[test]
fn a_capture_input_goes_on_the_air() {
    require_ffmpeg();
    // ALSA's `null` device captures silence: the station goes on the air with it.
    let floe = Floe::start_with(&format!(
        r#"
[stations.radio]
name = "Mic Radio"

[[stations.radio.inputs]]
capture = "null"
title = "Microphone"
{RADIO_RENDITIONS}"#
    ));
    await_title(
        &floe,
        "/radio.mp3",
        "Microphone",
        15,
        "the capture did not go on the air",
    );
    let errors = ffmpeg_decode_errors(&floe.url("/radio.mp3"), 3);
    assert!(errors.trim().is_empty(), "ffmpeg said:\n{errors}");
}
