//! Raw PCM from a live mount, against the real binary with ffmpeg as the source: endless WAV
//! (decoded cleanly by ffmpeg), big-endian `audio/L16`, PCM over Server-Sent Events with
//! `Last-Event-ID` resume and title events, the session API, and WebSocket frames.

mod common;

use base64::Engine as _;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Floe with a live 440 Hz MP3 tone (48 kHz mono) on `/tone.mp3`.
fn live_tone() -> (Floe, Encoder) {
    require_ffmpeg();
    let floe = Floe::start_with("");
    let source = ffmpeg_sine_source(&floe, "/tone.mp3", MP3, false, 440, 120);
    wait_live(&floe, "/tone.mp3");
    (floe, source)
}

/// An HTTP/1.0 GET (so the body is not chunked); returns the stream with the head read.
fn open(floe: &Floe, path: &str, headers: &[(&str, &str)]) -> (TcpStream, Response) {
    let mut s = floe.connect();
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {}\r\n", floe.addr);
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let head = Response::parse(&read_head(&mut s));
    (s, head)
}

/// Reads until `n` bytes arrived or `timeout` passed.
fn read_n(s: &mut TcpStream, n: usize, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 16384];
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    while out.len() < n && Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    out
}

/// Mean absolute step between consecutive samples relative to the peak: a 440 Hz sine at
/// 48 kHz read in the right byte order is smooth (about 0.04); in the wrong order it is noise.
fn roughness(samples: &[i16]) -> f64 {
    let peak = samples
        .iter()
        .map(|s| i32::from(*s).abs())
        .max()
        .unwrap_or(0);
    assert!(peak > 3000, "the audio is (nearly) silent: peak {peak}");
    let steps: f64 = samples
        .windows(2)
        .map(|w| f64::from((i32::from(w[1]) - i32::from(w[0])).abs()))
        .sum();
    steps / (samples.len() - 1) as f64 / f64::from(peak)
}

#[test]
fn endless_wav_is_a_streaming_riff_that_ffmpeg_decodes_cleanly() {
    let (floe, _source) = live_tone();
    let (mut s, head) = open(&floe, "/api/v1/pcm/tone.mp3.wav", &[]);
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("content-type"), Some("audio/wav"));
    // 44-byte header + 3 s of 48 kHz mono 16-bit: the 2 s burst and a second of real time.
    let want = 44 + 3 * 96_000;
    let mut body = read_n(&mut s, want, Duration::from_secs(20));
    assert!(body.len() >= want, "the WAV stream stopped early");
    body.truncate(want);
    let mut expected = Vec::new();
    expected.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVEfmt ");
    expected.extend_from_slice(&[16, 0, 0, 0, 1, 0, 1, 0]);
    expected.extend_from_slice(&48_000u32.to_le_bytes());
    expected.extend_from_slice(&96_000u32.to_le_bytes());
    expected.extend_from_slice(&[2, 0, 16, 0]);
    expected.extend_from_slice(b"data\xff\xff\xff\xff");
    assert_eq!(&body[..44], &expected[..]);
    let samples: Vec<i16> = body[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(roughness(&samples) < 0.1, "not a clean tone");
    let file = floe.dir.join("capture.wav");
    std::fs::write(&file, &body).expect("write capture");
    assert_ffmpeg_decodes(file.to_str().expect("UTF-8 scratch path"), 3);
}

#[test]
fn l16_is_big_endian_pcm_with_its_rate_and_channels_in_the_type() {
    let (floe, _source) = live_tone();
    let (mut s, head) = open(&floe, "/api/v1/pcm/tone.mp3.l16?burst_ms=500", &[]);
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(
        head.header("content-type"),
        Some("audio/L16;rate=48000;channels=1")
    );
    let mut body = read_n(&mut s, 48_000, Duration::from_secs(20));
    assert!(body.len() >= 48_000, "the L16 stream stopped early");
    body.truncate(48_000);
    let be: Vec<i16> = body
        .chunks_exact(2)
        .map(|b| i16::from_be_bytes([b[0], b[1]]))
        .collect();
    let le: Vec<i16> = body
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        roughness(&be) < 0.1,
        "big-endian reading is not a clean tone"
    );
    assert!(
        roughness(&le) > 0.3,
        "little-endian reading should be noise"
    );
}

#[test]
fn unknown_mounts_and_paths_are_404() {
    let floe = Floe::start_with("");
    assert_eq!(floe.get("/api/v1/pcm/nothing.mp3.wav", &[]).status, 404);
    assert_eq!(floe.get("/api/v1/pcm/nothing.mp3", &[]).status, 404);
    assert_eq!(floe.get("/api/v1/sse/nothing.mp3", &[]).status, 404);
    let r = floe.get("/api/v1/pcm/x.wav?burst_ms=soon", &[]);
    assert_eq!(r.status, 400, "{r:?}");
}

/// One Server-Sent Event.
#[derive(Debug, Default)]
struct Sse {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

/// Reads events from an event stream until `n` `audio` events came (or 20 s passed).
fn read_events(s: &mut TcpStream, n: usize) -> (String, Vec<Sse>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    let mut buf = [0u8; 16384];
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    loop {
        let events = parse_events(&text);
        let audio = events
            .iter()
            .filter(|e| e.event.as_deref() == Some("audio"))
            .count();
        if audio >= n || Instant::now() > deadline {
            return (text, events);
        }
        match s.read(&mut buf) {
            Ok(0) => return (text.clone(), parse_events(&text)),
            Ok(k) => text.push_str(&String::from_utf8_lossy(&buf[..k])),
            Err(_) => {}
        }
    }
}

fn parse_events(text: &str) -> Vec<Sse> {
    let mut out = Vec::new();
    // Only complete events (ended by a blank line).
    let complete = match text.rfind("\n\n") {
        Some(i) => &text[..i + 2],
        None => return out,
    };
    for block in complete.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut ev = Sse::default();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                ev.id = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("event: ") {
                ev.event = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                ev.data.push_str(v);
            }
        }
        if ev.event.is_some() {
            out.push(ev);
        }
    }
    out
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[test]
fn sse_audio_carries_stamped_chunks_and_resumes_after_last_event_id() {
    let (floe, _source) = live_tone();
    set_title(&floe, "/tone.mp3", "Tone One");
    let (mut s, head) = open(&floe, "/api/v1/sse/tone.mp3", &[]);
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    let (text, events) = read_events(&mut s, 8);
    assert!(text.starts_with("retry: 3000\n"), "{text:.200}");
    assert_eq!(events[0].event.as_deref(), Some("format"));
    let format: serde_json::Value = serde_json::from_str(&events[0].data).expect("format json");
    assert_eq!(format["rate"], 48_000);
    assert_eq!(format["channels"], 1);
    assert_eq!(format["encoding"], "s16le");
    let meta = events
        .iter()
        .find(|e| e.event.as_deref() == Some("metadata"))
        .expect("a metadata event");
    let meta: serde_json::Value = serde_json::from_str(&meta.data).expect("metadata json");
    assert_eq!(meta["title"], "Tone One");
    let audio: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("audio"))
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(&e.data).expect("audio json");
            assert_eq!(e.id.as_deref(), Some(v["seq"].to_string().as_str()));
            v
        })
        .collect();
    assert!(audio.len() >= 8);
    let now = now_ms();
    for pair in audio.windows(2) {
        assert_eq!(
            pair[1]["seq"].as_u64(),
            pair[0]["seq"].as_u64().map(|s| s + 1)
        );
        assert!(pair[1]["ts"].as_u64() > pair[0]["ts"].as_u64());
    }
    for a in &audio {
        let t = a["server_time"].as_u64().expect("server_time");
        assert!(t <= now && t + 30_000 > now, "server_time {t} vs now {now}");
        let pcm = base64::engine::general_purpose::STANDARD
            .decode(a["data"].as_str().expect("data"))
            .expect("base64");
        assert!(!pcm.is_empty() && pcm.len() % 2 == 0);
    }
    drop(s);
    // Reconnect as EventSource does, after the third chunk.
    let third = audio[2]["seq"].as_u64().expect("seq");
    let (mut s, head) = open(
        &floe,
        "/api/v1/sse/tone.mp3",
        &[("Last-Event-ID", &third.to_string())],
    );
    assert_eq!(head.status, 200);
    let (_, events) = read_events(&mut s, 1);
    let first = events
        .iter()
        .find(|e| e.event.as_deref() == Some("audio"))
        .expect("audio after resume");
    assert_eq!(first.id.as_deref(), Some((third + 1).to_string().as_str()));
    // A title change arrives as a metadata event in the stream.
    set_title(&floe, "/tone.mp3", "Tone Two");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    let mut buf = [0u8; 16384];
    while !text.contains("Tone Two") && Instant::now() < deadline {
        if let Ok(k) = s.read(&mut buf) {
            text.push_str(&String::from_utf8_lossy(&buf[..k]));
        }
    }
    assert!(
        text.contains("event: metadata\ndata: {\"title\":\"Tone Two\""),
        "no metadata event for the new title"
    );
}

#[test]
fn sessions_are_created_streamed_and_deleted() {
    let (floe, _source) = live_tone();
    let post = |body: &str| {
        let mut s = floe.connect();
        write!(
            s,
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            floe.addr,
            body.len()
        )
        .expect("send");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        Response::parse(&raw)
    };
    let r = post(r#"{"mount": "/tone.mp3", "codec": "pcm"}"#);
    assert_eq!(r.status, 201, "{r:?}");
    let session = r.json();
    let id = session["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(session["format"]["rate"], 48_000);
    let base = floe.url("");
    assert_eq!(
        session["stream_url"],
        format!("{base}/api/v1/sessions/{id}/stream")
    );
    assert_eq!(
        session["ws_url"],
        format!("ws://{}/api/v1/sessions/{id}/ws", floe.addr)
    );
    let (mut s, head) = open(&floe, &format!("/api/v1/sessions/{id}/stream"), &[]);
    assert_eq!(head.status, 200);
    let (_, events) = read_events(&mut s, 2);
    assert!(events.iter().any(|e| e.event.as_deref() == Some("audio")));
    drop(s);
    assert_eq!(
        floe.request("DELETE", &format!("/api/v1/sessions/{id}"), &[])
            .status,
        204
    );
    let gone = floe.get(&format!("/api/v1/sessions/{id}/stream"), &[]);
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["error"]["message"], format!("no session {id}"));
    assert_eq!(
        floe.request("DELETE", &format!("/api/v1/sessions/{id}"), &[])
            .status,
        404
    );
    let r = post(r#"{"mount": "/nothing.mp3"}"#);
    assert_eq!(r.status, 404);
    let r = post(r#"{"mount": "/tone.mp3", "codec": "flac"}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "codec \"flac\" is not offered; use \"pcm\" or \"opus\""
    );
    assert_eq!(post("{").status, 400);
}

/// Reads one WebSocket frame sent by a server (unmasked): (opcode, payload).
fn ws_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).expect("frame head");
    let opcode = h[0] & 0x0f;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).expect("len16");
            usize::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).expect("len64");
            u64::from_be_bytes(b) as usize
        }
        n => usize::from(n),
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).expect("payload");
    (opcode, payload)
}

#[test]
fn websocket_sends_the_format_then_stamped_binary_frames() {
    let (floe, _source) = live_tone();
    let mut s = floe.connect();
    write!(
        s,
        "GET /api/v1/ws/tone.mp3?burst_ms=200 HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        floe.addr
    )
    .expect("send");
    let head = Response::parse(&read_head(&mut s));
    assert_eq!(head.status, 101, "{head:?}");
    // RFC 6455's example key and its answer.
    assert_eq!(
        head.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    let (op, text) = ws_frame(&mut s);
    assert_eq!(op, 1, "the first frame is text");
    let format: serde_json::Value = serde_json::from_slice(&text).expect("format json");
    assert_eq!(format["type"], "format");
    assert_eq!(format["rate"], 48_000);
    let mut last: Option<(u64, u64)> = None;
    let mut binary = 0;
    while binary < 20 {
        let (op, payload) = ws_frame(&mut s);
        if op == 1 {
            continue; // metadata
        }
        assert_eq!(op, 2);
        assert!(payload.len() > 24 && (payload.len() - 24) % 2 == 0);
        let field =
            |i: usize| u64::from_le_bytes(payload[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let (seq, ts, server_time) = (field(0), field(1), field(2));
        let now = now_ms();
        assert!(server_time <= now && server_time + 30_000 > now);
        if let Some((prev_seq, prev_ts)) = last {
            assert_eq!(seq, prev_seq + 1);
            assert!(ts > prev_ts);
        }
        last = Some((seq, ts));
        binary += 1;
    }
}

#[test]
fn the_mount_list_names_every_pcm_transport() {
    let (floe, _source) = live_tone();
    let list = floe.get("/api/v1/mounts", &[]).json();
    let m = &list[0];
    let base = floe.url("");
    assert_eq!(m["wav_url"], format!("{base}/api/v1/pcm/tone.mp3.wav"));
    assert_eq!(m["pcm_url"], format!("{base}/api/v1/pcm/tone.mp3.l16"));
    assert_eq!(m["sse_url"], format!("{base}/api/v1/sse/tone.mp3"));
    assert_eq!(
        m["ws_url"],
        format!("ws://{}/api/v1/ws/tone.mp3", floe.addr)
    );
}

#[test]
fn opus_sessions_stream_20_ms_opus_packets() {
    let (floe, _source) = live_tone();
    let mut s = floe.connect();
    let body = r#"{"mount": "/tone.mp3", "codec": "opus"}"#;
    write!(
        s,
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        floe.addr,
        body.len()
    )
    .expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let r = Response::parse(&raw);
    assert_eq!(r.status, 201, "{r:?}");
    let session = r.json();
    assert_eq!(session["codec"], "opus");
    assert_eq!(session["format"]["encoding"], "opus");
    assert_eq!(session["format"]["rate"], 48_000);
    let id = session["id"].as_str().expect("id");
    let (mut s, head) = open(&floe, &format!("/api/v1/sessions/{id}/stream"), &[]);
    assert_eq!(head.status, 200);
    let (_, events) = read_events(&mut s, 10);
    let format: serde_json::Value = serde_json::from_str(&events[0].data).expect("format");
    assert_eq!(format["codec"], "opus");
    let packets: Vec<(u64, Vec<u8>)> = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("audio"))
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(&e.data).expect("json");
            let data = base64::engine::general_purpose::STANDARD
                .decode(v["data"].as_str().expect("data"))
                .expect("base64");
            (v["ts"].as_u64().expect("ts"), data)
        })
        .collect();
    assert!(packets.len() >= 10);
    for pair in packets.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 20, "20 ms packets");
    }
    for (_, p) in &packets {
        // A 20 ms frame of one mode or another: TOC configs 3, 7, 11 (SILK), 13, 15 (hybrid),
        // 19, 23, 27, 31 (CELT), one frame (code 0).
        let config = p[0] >> 3;
        assert!(
            [3, 7, 11, 13, 15, 19, 23, 27, 31].contains(&config) && p[0] & 3 == 0,
            "TOC {:#04x}",
            p[0]
        );
        assert!(p.len() > 10 && p.len() < 1500);
    }
}

/// The mount's `listeners` figure in `/api/v1/mounts`.
fn listeners(floe: &Floe) -> u64 {
    floe.get("/api/v1/mounts", &[]).json()[0]["listeners"]
        .as_u64()
        .expect("listeners")
}

#[test]
fn pcm_clients_count_as_listeners_and_the_tap_does_not() {
    let (floe, _source) = live_tone();
    assert_eq!(listeners(&floe), 0);
    let (mut s, head) = open(&floe, "/api/v1/pcm/tone.mp3.wav", &[]);
    assert_eq!(head.status, 200, "{head:?}");
    assert!(read_n(&mut s, 4096, Duration::from_secs(20)).len() >= 4096);
    assert_eq!(listeners(&floe), 1, "one WAV client, the tap not counted");
    let list = floe.admin("/admin/listclients?mount=/tone.mp3");
    assert!(
        !list.text().contains("Floe PCM tap"),
        "the tap is listed: {}",
        list.text()
    );
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(20);
    while listeners(&floe) != 0 {
        assert!(Instant::now() < deadline, "the WAV client is still counted");
        std::thread::sleep(Duration::from_millis(100));
    }
}
