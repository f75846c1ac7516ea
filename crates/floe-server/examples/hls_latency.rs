//! Benchmark: latency from an ingest byte to its availability in an LL-HLS partial segment.
//!
//! Runs Floe's server in process on a loopback port (the real edge, ingest, segmenter and HTTP
//! paths), pushes an AAC (ADTS) source over a real PUT at real-time pace whose frames carry
//! their own index, and plays the mount as an LL-HLS client does: a blocking playlist reload
//! (`_HLS_msn`/`_HLS_part`) then the hinted part, which the server answers once complete. For
//! every frame it measures the time from the frame's last byte leaving the source socket to the
//! part that carries it arriving at the client, and prints p50/p90/p99/max: for every frame
//! (a frame waits in the open part for up to one part duration) and for the last frame of each
//! part (the segmenter's and HTTP's own delay).
//!
//! `cargo run --release -p floe-server --example hls_latency -- [seconds] [part_ms] [poll_ms]`
//! (defaults 20, 333, 20).

use floe_engine::{Engine, EngineSettings};
use floe_hls::{HlsService, HlsSettings, SegmenterSettings};
use floe_server::settings::Credentials;
use floe_server::{AppState, ServerSettings};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;
const FRAME_SAMPLES: u32 = 1024;
/// Raw AAC payload per frame: an 8-byte index, then filler (about 120 kbit/s).
const PAYLOAD: usize = 320;
const MOUNT: &str = "/bench.aac";

fn adts_frame(index: u64) -> Vec<u8> {
    let len = 7 + PAYLOAD;
    let mut f = vec![
        0xFF,
        0xF1,
        (1 << 6) | (3 << 2), // AAC-LC, 48 kHz
        (2 << 6) | ((len >> 11) as u8 & 3),
        (len >> 3) as u8,
        ((len as u8 & 7) << 5) | 0x1F,
        0xFC,
    ];
    f.extend_from_slice(&index.to_be_bytes());
    f.resize(len, 0x55);
    f
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let seconds = arg(0, 20);
    let part_ms = arg(1, 333);
    let poll_ms = arg(2, 20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime.block_on(async {
        floe_server::edge::bind("127.0.0.1:0".parse().expect("addr")).expect("bind")
    });
    let addr = listener.local_addr().expect("addr");
    let credentials = Credentials {
        source_user: "source".into(),
        source_password: "bench".into(),
        admin_user: "admin".into(),
        admin_password: "bench".into(),
    };
    let engine = Engine::new(EngineSettings::default());
    let mut state = AppState::new(
        engine.clone(),
        ServerSettings::local(addr, credentials),
        floe_server::access::AccessLog::disabled(),
    );
    let hls_settings = HlsSettings {
        segmenter: SegmenterSettings {
            part_duration: part_ms as f64 / 1000.0,
            ..SegmenterSettings::default()
        },
        poll_interval: Duration::from_millis(poll_ms),
        ..HlsSettings::default()
    };
    state.hls = HlsService::new(engine, hls_settings, BTreeMap::new());
    runtime.block_on(async {
        state.hls.spawn();
        tokio::spawn(floe_server::edge::serve(
            state,
            listener,
            None,
            std::future::pending(),
        ));
    });

    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let source = {
        let sent = sent.clone();
        std::thread::spawn(move || push_source(addr, seconds + 6, &sent))
    };
    let (all, last) = play(addr, seconds, &sent);
    let _ = source.join();
    println!(
        "LL-HLS ingest → part latency, AAC 48 kHz (21.3 ms frames), part target {part_ms} ms, poll {poll_ms} ms, {seconds} s"
    );
    println!(
        "{:<34} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "", "frames", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (name, v) in [
        ("every frame → its part", all),
        ("last frame of a part → the part", last),
    ] {
        let mut v = v;
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            v.get(((v.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "{:<34} {:>7} {:>7.1} {:>7.1} {:>7.1} {:>7.1}",
            name,
            v.len(),
            q(0.5),
            q(0.9),
            q(0.99),
            q(1.0)
        );
    }
}

/// PUTs ADTS frames at real-time pace for `seconds`, recording when each frame was written.
fn push_source(addr: SocketAddr, seconds: u64, sent: &Mutex<HashMap<u64, Instant>>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).ok();
    let auth = base64_basic("source", "bench");
    write!(
        s,
        "PUT {MOUNT} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Type: audio/aac\r\nIce-Name: bench\r\n\r\n"
    )
    .expect("send head");
    let mut head = [0u8; 512];
    let n = s.read(&mut head).expect("read head");
    assert!(
        head[..n].starts_with(b"HTTP/1.1 200") || head[..n].starts_with(b"HTTP/1.0 200"),
        "source refused: {}",
        String::from_utf8_lossy(&head[..n])
    );
    let start = Instant::now();
    let frames = seconds * u64::from(RATE) / u64::from(FRAME_SAMPLES);
    for i in 0..frames {
        let due = start
            + Duration::from_micros(i * 1_000_000 * u64::from(FRAME_SAMPLES) / u64::from(RATE));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if s.write_all(&adts_frame(i)).is_err() {
            return;
        }
        sent.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(i, Instant::now());
    }
}

fn base64_basic(user: &str, pass: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{pass}").into_bytes();
    let mut out = String::new();
    for c in input.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One GET with `Connection: close`: (status, body).
fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, Vec::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    if write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return (0, Vec::new());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, Vec::new());
    };
    let status = std::str::from_utf8(&raw[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw[end + 4..].to_vec())
}

fn preload_hint(playlist: &str) -> Option<(u64, u32)> {
    let uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p"))?
        .strip_suffix(".m4s\"")?;
    let (m, p) = uri.split_once('.')?;
    Some((m.parse().ok()?, p.parse().ok()?))
}

/// The frame indices a part carries (each raw AAC sample starts with its index).
fn frame_indices(part: &[u8]) -> Vec<u64> {
    let Some(at) = part.windows(4).position(|w| w == b"mdat") else {
        return Vec::new();
    };
    part[at + 4..]
        .chunks_exact(PAYLOAD)
        .map(|c| u64::from_be_bytes(c[..8].try_into().unwrap_or([0; 8])))
        .collect()
}

/// Plays the mount as an LL-HLS client for `seconds`; returns latencies (ms) of every frame
/// and of each part's last frame.
fn play(
    addr: SocketAddr,
    seconds: u64,
    sent: &Mutex<HashMap<u64, Instant>>,
) -> (Vec<f64>, Vec<f64>) {
    let path = format!("/hls{MOUNT}/index.m3u8");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut hint = loop {
        let (status, body) = get(addr, &path);
        if status == 200 {
            if let Some(h) = preload_hint(&String::from_utf8_lossy(&body)) {
                break h;
            }
        }
        assert!(Instant::now() < deadline, "the mount never had a playlist");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (mut all, mut last) = (Vec::new(), Vec::new());
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        let (msn, part) = hint;
        let (status, body) = get(addr, &format!("/hls{MOUNT}/p{msn}.{part}.m4s"));
        let arrived = Instant::now();
        if status == 200 {
            let sent = sent.lock().unwrap_or_else(|e| e.into_inner());
            let lat: Vec<f64> = frame_indices(&body)
                .iter()
                .filter_map(|i| sent.get(i))
                .map(|t| arrived.duration_since(*t).as_secs_f64() * 1000.0)
                .collect();
            if let Some(l) = lat.last() {
                last.push(*l);
            }
            all.extend(lat);
        }
        // The next hint, from a blocking reload that waits for the part just read.
        let (status, body) = get(addr, &format!("{path}?_HLS_msn={msn}&_HLS_part={part}"));
        match (status, preload_hint(&String::from_utf8_lossy(&body))) {
            (200, Some(h)) => hint = h,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    (all, last)
}
