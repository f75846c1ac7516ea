//! Black-box protocol tests: the real `floe` binary on loopback, driven over raw TCP the way
//! Icecast's source clients and listeners talk to it (see /work/shared/ICECAST.md).
//!
//! Every test runs its own Floe. Audio is synthetic MP3 frames (`mp3_frames`): each frame's
//! payload is one repeated byte, so a listener's bytes show which frames (and which source)
//! it got.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECS: Duration = Duration::from_secs(10);
const FRAME_HEADER: [u8; 4] = [0xFF, 0xFB, 0x90, 0x00];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A config with a short listener write interval (faster tests) plus `limits` lines in
/// `[limits]` and `rest` after it.
fn config(limits: &str, rest: &str) -> String {
    let interval = if limits.contains("write_interval_ms") {
        ""
    } else {
        "write_interval_ms = 50\n"
    };
    format!("[limits]\n{interval}{limits}\n\n{rest}\n")
}

/// `n` frames numbered from `start`: frame `i` has fill byte `i % 251`.
fn seq_frames(start: usize, n: usize) -> Vec<u8> {
    (start..start + n)
        .flat_map(|i| mp3_frames(1, (i % 251) as u8))
        .collect()
}

/// The fill byte of every whole frame in `body`, which must start at a frame boundary and
/// consist of uncorrupted synthetic frames.
fn frame_fills(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in body.chunks_exact(MP3_FRAME_LEN).enumerate() {
        assert_eq!(
            f[..4],
            FRAME_HEADER,
            "frame {i} (byte {}) does not start with a frame header",
            i * MP3_FRAME_LEN
        );
        assert!(
            f[4..].iter().all(|b| *b == f[4]),
            "frame {i} has mixed payload bytes: the stream is not contiguous"
        );
        out.push(f[4]);
    }
    out
}

/// Asserts that consecutive frames are numbered consecutively (mod 251).
fn assert_contiguous(fills: &[u8]) {
    for (i, w) in fills.windows(2).enumerate() {
        assert_eq!(
            w[1] as usize,
            (w[0] as usize + 1) % 251,
            "frame {} follows frame {} at index {i}: frames lost or repeated",
            w[1],
            w[0]
        );
    }
}

/// Sends raw bytes on a new connection and reads until the server closes it.
fn exchange(floe: &Floe, raw: &[u8]) -> Response {
    let mut s = floe.connect();
    s.write_all(raw).expect("send");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    Response::parse(&out)
}

/// A source request head with everything a PUT from ffmpeg carries, as text lines.
fn source_head(floe: &Floe, method: &str, mount: &str, version: &str, auth: &str) -> String {
    format!(
        "{method} {mount} {version}\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Type: audio/mpeg\r\n\
         Ice-Name: Test Radio\r\nIce-Description: desc\r\nIce-Genre: test\r\nIce-Url: http://example.org\r\n\
         Ice-Public: 0\r\nIce-Bitrate: 128\r\n\r\n",
        floe.addr
    )
}

/// A listener GET with extra header lines.
fn listener_with(floe: &Floe, mount: &str, headers: &[(&str, &str)]) -> Listener {
    let mut s = floe.connect();
    let mut req = format!(
        "GET {mount} HTTP/1.1\r\nHost: {}\r\nUser-Agent: floe-test\r\n",
        floe.addr
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let head = Response::parse(&read_head(&mut s));
    Listener { stream: s, head }
}

/// Connects a listener once the mount (or its fallback) has a stream to join.
fn listen_ready(floe: &Floe, mount: &str, icy: bool) -> Listener {
    let mut got = None;
    let ok = eventually(SECS, || {
        let l = Listener::connect(floe, mount, icy);
        if l.head.status == 200 {
            got = Some(l);
            true
        } else {
            false
        }
    });
    assert!(
        ok,
        "no listener could join {mount}; log:\n{}",
        floe.log_text()
    );
    got.expect("listener")
}

/// Reads into `buf` until `done(buf)` or the timeout; panics if the server closes the connection.
fn read_until(
    l: &mut Listener,
    buf: &mut Vec<u8>,
    timeout: Duration,
    done: impl Fn(&[u8]) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    let mut chunk = [0u8; 16384];
    while !done(buf) {
        if Instant::now() > deadline {
            return false;
        }
        l.stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .ok();
        match l.stream.read(&mut chunk) {
            Ok(0) => panic!("the server closed the listener connection"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("listener read failed: {e}"),
        }
    }
    true
}

/// True once the listener receives a whole frame filled with `fill` (looking only at bytes
/// that arrive from now on). Panics if the connection closes.
fn hears(l: &mut Listener, fill: u8, timeout: Duration) -> bool {
    let mut pattern = FRAME_HEADER.to_vec();
    pattern.extend(std::iter::repeat_n(fill, 413));
    let mut buf = Vec::new();
    read_until(l, &mut buf, timeout, |b| find(b, &pattern).is_some())
}

/// A thread feeding a source one frame of `fill` every 5 ms until stopped; stopping closes the
/// source connection.
struct Feeder {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// A second handle on the source socket, for reading what the server does to it.
    pub socket: TcpStream,
}

impl Feeder {
    fn start(mut source: Source, fill: u8) -> Feeder {
        let socket = source.stream.try_clone().expect("clone");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let frame = mp3_frames(1, fill);
        // A few frames at once so the mount is ready quickly.
        let _ = source.stream.write_all(&mp3_frames(8, fill));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if source.stream.write_all(&frame).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = source.stream.shutdown(std::net::Shutdown::Both);
        });
        Feeder {
            stop,
            thread: Some(thread),
            socket,
        }
    }

    /// Stops feeding and closes the source connection.
    fn close(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// True once the server closed the source's connection (EOF or reset) within `timeout`.
    fn closed_by_server_within(&mut self, timeout: Duration) -> bool {
        closed_by_server_within(&mut self.socket, timeout)
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// On a source connection `s` already accepted for `mount`: sends 10 frames of `fill`, joins a
/// listener, sends 10 more; returns the listener and whether it heard them.
fn relay_to_listener(floe: &Floe, s: &mut TcpStream, mount: &str, fill: u8) -> (Listener, bool) {
    s.write_all(&mp3_frames(10, fill)).expect("audio");
    let mut l = listen_ready(floe, mount, false);
    s.write_all(&mp3_frames(10, fill)).expect("audio");
    let heard = hears(&mut l, fill, SECS);
    (l, heard)
}

/// A source on `mount` fed continuously with `fill` frames.
fn feed(floe: &Floe, mount: &str, fill: u8) -> Feeder {
    Feeder::start(Source::put(floe, mount, &[]), fill)
}

/// An ICY stream split back into audio and metadata blocks.
struct Icy {
    audio: Vec<u8>,
    /// (audio bytes before the block, the block with its length byte)
    blocks: Vec<(usize, Vec<u8>)>,
}

fn demux(body: &[u8], metaint: usize) -> Icy {
    let mut audio = Vec::new();
    let mut blocks = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let n = metaint.min(body.len() - pos);
        audio.extend_from_slice(&body[pos..pos + n]);
        pos += n;
        if n < metaint || pos >= body.len() {
            break;
        }
        let len = body[pos] as usize * 16;
        if pos + 1 + len > body.len() {
            break;
        }
        blocks.push((audio.len(), body[pos..pos + 1 + len].to_vec()));
        pos += 1 + len;
    }
    Icy { audio, blocks }
}

/// The block Icecast writes for a title: length byte, `StreamTitle='…';`, NUL padded (with room
/// for at least one NUL).
fn icy_block(title: &str) -> Vec<u8> {
    let payload = format!("StreamTitle='{title}';");
    let blocks = (payload.len() + 16) / 16;
    let mut out = vec![blocks as u8];
    out.extend_from_slice(payload.as_bytes());
    out.resize(1 + blocks * 16, 0);
    out
}

/// The title in a full metadata block.
fn block_title(block: &[u8]) -> String {
    let payload = &block[1..];
    let end = payload
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(payload.len());
    let text = String::from_utf8_lossy(&payload[..end]).to_string();
    text.strip_prefix("StreamTitle='")
        .and_then(|t| t.split_once("';"))
        .map(|(t, _)| t.to_string())
        .unwrap_or(text)
}

/// The metadata interval of the ICY tests (see [`ICY_CONFIG`]).
const METAINT: usize = 1000;
const ICY_CONFIG: &str = "[mount_defaults]\nmetaint = 1000\n";

/// Whether an ICY stream holds at least `frames` frames of audio once its blocks are taken out.
fn has_audio_frames(frames: usize) -> impl Fn(&[u8]) -> bool {
    move |raw: &[u8]| demux(raw, METAINT).audio.len() >= frames * MP3_FRAME_LEN
}

/// The titles of the non-empty metadata blocks in an ICY stream, in order.
fn icy_titles(raw: &[u8]) -> Vec<String> {
    demux(raw, METAINT)
        .blocks
        .iter()
        .filter(|(_, b)| b != &[0])
        .map(|(_, b)| block_title(b))
        .collect()
}

/// Floe with metadata every [`METAINT`] bytes and a source on `/live.mp3` that has sent frames
/// 0 to 9.
fn start_icy() -> (Floe, Source) {
    let floe = Floe::start_with(&config("", ICY_CONFIG));
    let mut src = Source::put(&floe, "/live.mp3", &[]);
    src.send(&seq_frames(0, 10));
    (floe, src)
}

fn set_song(floe: &Floe, query: &str) {
    let r = floe.admin(&format!(
        "/admin/metadata?mode=updinfo&mount=/live.mp3&{query}"
    ));
    assert_eq!(r.status, 200, "metadata update refused: {}", r.text());
    assert!(
        r.text().contains("Metadata update successful"),
        "unexpected reply: {}",
        r.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Sources and listeners
// ---------------------------------------------------------------------------------------------

#[test]
fn put_source_and_listener_get_icecast_headers_and_a_contiguous_stream() {
    let floe = Floe::start_with(&config("", ""));
    let mut src = Source::put(&floe, "/live.mp3", &[]);
    src.send(&seq_frames(0, 10));
    let mut l = listen_ready(&floe, "/live.mp3", false);
    let h = &l.head;
    assert_eq!(h.status, 200, "{h:?}");
    assert_eq!(h.header("content-type"), Some("audio/mpeg"));
    assert_eq!(h.header("icy-name"), Some("Test Radio"));
    assert_eq!(h.header("icy-description"), Some("desc"));
    assert_eq!(h.header("icy-genre"), Some("test"));
    assert_eq!(h.header("icy-url"), Some("http://example.org"));
    assert_eq!(h.header("icy-pub"), Some("0"));
    assert_eq!(h.header("icy-br"), Some("128"));
    assert_eq!(h.header("icy-metaint"), None, "no metadata was asked for");
    assert_eq!(h.header("cache-control"), Some("no-cache, no-store"));
    assert_eq!(h.header("access-control-allow-origin"), Some("*"));
    assert_eq!(h.header("content-length"), None);
    assert!(
        !h.headers.iter().any(|(_, v)| v.contains(SOURCE_PASSWORD)),
        "the source password leaked into the listener's head"
    );
    src.send(&seq_frames(10, 30));
    let body = l.read_bytes(30 * MP3_FRAME_LEN, SECS);
    assert!(
        body.len() >= 30 * MP3_FRAME_LEN,
        "got only {} bytes",
        body.len()
    );
    assert_eq!(
        body[..2],
        [0xFF, 0xFB],
        "the listener must join at a frame boundary"
    );
    let fills = frame_fills(&body[..body.len() / MP3_FRAME_LEN * MP3_FRAME_LEN]);
    assert_contiguous(&fills);
    assert_eq!(
        fills[0], 0,
        "with the default burst, a new listener starts at the oldest frame"
    );
}

#[test]
fn put_with_expect_100_continue_gets_icecasts_exact_replies() {
    let floe = Floe::start_with(&config("", ""));
    let mut s = floe.connect();
    let head = format!(
        "PUT /live.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nExpect: 100-continue\r\n\
         Connection: close\r\nHost: {}\r\nContent-Type: audio/mpeg\r\nIcy-MetaData: 1\r\nIce-Name: Test Radio\r\n\
         Ice-Description: desc\r\nIce-URL: http://example.org\r\nIce-Genre: test\r\nIce-Public: 0\r\n\
         Authorization: {}\r\n\r\n",
        floe.addr,
        source_auth()
    );
    s.write_all(head.as_bytes()).expect("send");
    let want: &[u8] = b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\n\r\n";
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).expect("the two replies");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "replies differ from Icecast's"
    );
    // Nothing more comes, and the audio (no Content-Length) flows to listeners.
    let (_l, heard) = relay_to_listener(&floe, &mut s, "/live.mp3", 0x42);
    assert!(heard);
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    let mut extra = [0u8; 16];
    assert!(
        !matches!(s.read(&mut extra), Ok(n) if n > 0),
        "the server sent more than the two replies"
    );
}

#[test]
fn chunked_put_delivers_audio() {
    let floe = Floe::start_with(&config("", ""));
    let mut s = floe.connect();
    let head = format!(
        "PUT /live.mp3 HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: audio/mpeg\r\n\
         Transfer-Encoding: chunked\r\nIce-Name: Chunked\r\n\r\n",
        floe.addr,
        source_auth()
    );
    s.write_all(head.as_bytes()).expect("send");
    let r = Response::parse(&read_head(&mut s));
    assert_eq!(r.status, 200, "{r:?}");
    let send_chunked = |s: &mut TcpStream, data: &[u8]| {
        // Odd chunk sizes, so chunks and frames do not line up.
        for piece in data.chunks(1000) {
            s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .expect("size");
            s.write_all(piece).expect("data");
            s.write_all(b"\r\n").expect("crlf");
        }
    };
    send_chunked(&mut s, &seq_frames(0, 10));
    let mut l = listen_ready(&floe, "/live.mp3", false);
    assert_eq!(l.head.header("icy-name"), Some("Chunked"));
    send_chunked(&mut s, &seq_frames(10, 20));
    let body = l.read_bytes(25 * MP3_FRAME_LEN, SECS);
    assert!(
        body.len() >= 25 * MP3_FRAME_LEN,
        "got only {} bytes",
        body.len()
    );
    let fills = frame_fills(&body[..25 * MP3_FRAME_LEN]);
    assert_contiguous(&fills);
    assert!(
        !body.windows(3).any(|w| w == b"3e8"),
        "chunk-size lines leaked into the audio"
    );
}

fn source_method_works(version: &str) {
    let floe = Floe::start_with(&config("", ""));
    let mut s = floe.connect();
    s.write_all(source_head(&floe, "SOURCE", "/live.mp3", version, &source_auth()).as_bytes())
        .expect("send");
    let r = Response::parse(&read_head(&mut s));
    assert_eq!(r.status, 200, "{version}: {r:?}");
    assert!(
        r.status_line.starts_with("HTTP/1.0 200"),
        "{}",
        r.status_line
    );
    let (l, heard) = relay_to_listener(&floe, &mut s, "/live.mp3", 0x37);
    assert_eq!(l.head.header("icy-name"), Some("Test Radio"));
    assert!(heard, "{version}: no audio reached the listener");
}

#[test]
fn source_method_with_ice_1_0() {
    source_method_works("ICE/1.0");
}

#[test]
fn source_method_with_http_1_0() {
    source_method_works("HTTP/1.0");
}

#[test]
fn libshout_probe_then_authenticated_source_on_one_connection() {
    let floe = Floe::start_with(&config("", ""));
    let mut s = floe.connect();
    let common_lines = format!(
        "Host: {}\r\nUser-Agent: libshout/2.4.6\r\nContent-Type: audio/mpeg\r\nice-name: Shout Radio\r\n\
         ice-public: 0\r\nice-audio-info: channels=2;samplerate=44100;bitrate=128\r\n",
        floe.addr
    );
    let probe = format!(
        "SOURCE /live.mp3 HTTP/1.0\r\n{common_lines}Content-Length: 0\r\nConnection: Keep-Alive\r\nPrefer: return=minimal\r\n\r\n"
    );
    s.write_all(probe.as_bytes()).expect("probe");
    let r = Response::parse(&read_head(&mut s));
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Icecast2 Server\"")
    );
    let allow = r.header("allow").unwrap_or_default().to_ascii_uppercase();
    assert!(allow.contains("PUT"), "Allow must advertise PUT: {allow:?}");
    // Consume the body, if any, so the next reply starts clean.
    let body_len: usize = r
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; body_len];
    s.read_exact(&mut body).expect("401 body");
    // Same socket: the authenticated request.
    let real = format!(
        "SOURCE /live.mp3 HTTP/1.0\r\n{common_lines}Authorization: {}\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\nPrefer: return=minimal\r\n\r\n",
        source_auth()
    );
    s.write_all(real.as_bytes()).expect("source");
    let r = Response::parse(&read_head(&mut s));
    assert_eq!(r.status, 200, "{r:?}");
    let (l, heard) = relay_to_listener(&floe, &mut s, "/live.mp3", 0x55);
    assert_eq!(l.head.header("icy-name"), Some("Shout Radio"));
    assert_eq!(
        l.head.header("icy-br"),
        Some("128"),
        "bitrate from ice-audio-info"
    );
    assert!(heard);
}

#[test]
fn libshout_tls_probe_options_and_poke_are_tolerated() {
    let floe = Floe::start_with(&config("", ""));
    let mut s = floe.connect();
    let options = format!(
        "OPTIONS * HTTP/1.1\r\nHost: {}\r\nUser-Agent: libshout/2.4.6\r\nConnection: Upgrade\r\nUpgrade: TLS/1.0, HTTP/1.1\r\n\r\n",
        floe.addr
    );
    s.write_all(options.as_bytes()).expect("options");
    let r = Response::parse(&read_head(&mut s));
    assert!((200..500).contains(&r.status), "OPTIONS *: {r:?}");
    let len: usize = r
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("body");
    let poke = format!(
        "GET /admin/!POKE HTTP/1.1\r\nHost: {}\r\nUser-Agent: libshout/2.4.6\r\nConnection: close\r\n\r\n",
        floe.addr
    );
    s.write_all(poke.as_bytes()).expect("poke");
    let r = Response::parse(&read_head(&mut s));
    assert!((200..500).contains(&r.status), "GET /admin/!POKE: {r:?}");
    drop(s);
    // Still serving.
    let mut src = Source::put(&floe, "/live.mp3", &[]);
    src.send(&mp3_frames(5, 1));
    let _ = listen_ready(&floe, "/live.mp3", false);
}

#[test]
fn darkice_bare_lf_head_is_accepted() {
    let floe = Floe::start_with(&config("", ""));
    let mut s = floe.connect();
    let head = format!(
        "SOURCE /live.mp3 HTTP/1.0\nAuthorization: {}\nUser-Agent: DarkIce/1.3 (http://code.google.com/p/darkice/)\n\
         Content-Type: audio/mpeg\nice-name: Dark Radio\nice-genre: test\nice-public: 0\nice-bitrate: 128\n\n",
        source_auth()
    );
    s.write_all(head.as_bytes()).expect("send");
    let r = Response::parse(&read_head(&mut s));
    assert_eq!(r.status, 200, "{r:?}");
    let (l, heard) = relay_to_listener(&floe, &mut s, "/live.mp3", 0x66);
    assert_eq!(l.head.header("icy-name"), Some("Dark Radio"));
    assert!(heard);
}

fn shoutcast_port(floe: &Floe) -> std::net::SocketAddr {
    let mut a = floe.addr;
    a.set_port(a.port() + 1);
    a
}

#[test]
fn shoutcast_v1_source_on_port_plus_one() {
    let floe = Floe::start_with(&config("", "[shoutcast]\nenabled = true\n"));
    let mut s = TcpStream::connect(shoutcast_port(&floe)).expect("SHOUTcast port");
    s.set_read_timeout(Some(SECS)).ok();
    s.write_all(format!("{SOURCE_PASSWORD}\r\n").as_bytes())
        .expect("password");
    let want = b"OK2\r\nicy-caps:11\r\n\r\n";
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).expect("OK2");
    assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&got));
    s.write_all(b"icy-name:SC Radio\r\nicy-genre:oldies\r\nicy-pub:1\r\nicy-br:128\r\n\r\n")
        .expect("headers");
    let (l, heard) = relay_to_listener(&floe, &mut s, "/stream", 0x77);
    assert_eq!(l.head.header("icy-name"), Some("SC Radio"));
    assert_eq!(l.head.header("icy-genre"), Some("oldies"));
    assert_eq!(l.head.header("content-type"), Some("audio/mpeg"));
    assert!(heard);
}

#[test]
fn shoutcast_v1_wrong_password() {
    let floe = Floe::start_with(&config("", "[shoutcast]\nenabled = true\n"));
    let mut s = TcpStream::connect(shoutcast_port(&floe)).expect("SHOUTcast port");
    s.set_read_timeout(Some(SECS)).ok();
    s.write_all(b"not-the-password\r\n").expect("password");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert_eq!(String::from_utf8_lossy(&got), "invalid password\r\n");
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn source_with_wrong_password_gets_401() {
    let floe = Floe::start_with(&config("", ""));
    let head = source_head(
        &floe,
        "PUT",
        "/live.mp3",
        "HTTP/1.1",
        &basic("source", "wrong"),
    );
    let r = exchange(&floe, head.as_bytes());
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Icecast2 Server\"")
    );
    let head = source_head(
        &floe,
        "SOURCE",
        "/live.mp3",
        "HTTP/1.0",
        &basic("admin", ADMIN_PASSWORD),
    );
    assert_eq!(
        exchange(&floe, head.as_bytes()).status,
        401,
        "admin is not a source"
    );
}

#[test]
fn second_source_on_a_mount_gets_403_mountpoint_in_use() {
    let floe = Floe::start_with(&config("", ""));
    let mut first = Source::put(&floe, "/live.mp3", &[]);
    first.send(&mp3_frames(5, 1));
    let r = Source::open(&floe, "PUT", "/live.mp3", "audio/mpeg", &[])
        .err()
        .expect("refused");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.text().contains("Mountpoint in use"), "{}", r.text());
    // The first source is unaffected.
    first.send(&mp3_frames(5, 2));
    let mut l = listen_ready(&floe, "/live.mp3", false);
    first.send(&mp3_frames(10, 2));
    assert!(hears(&mut l, 2, SECS));
}

#[test]
fn source_without_content_type_gets_403() {
    let floe = Floe::start_with(&config("", ""));
    let head = format!(
        "PUT /live.mp3 HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nIce-Name: x\r\n\r\n",
        floe.addr,
        source_auth()
    );
    let r = exchange(&floe, head.as_bytes());
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.text().contains("No Content-type given"), "{}", r.text());
}

#[test]
fn max_sources_is_enforced() {
    let floe = Floe::start_with(&config("max_sources = 1", ""));
    let mut first = Source::put(&floe, "/a.mp3", &[]);
    first.send(&mp3_frames(2, 1));
    let r = Source::open(&floe, "PUT", "/b.mp3", "audio/mpeg", &[])
        .err()
        .expect("refused");
    assert_eq!(r.status, 403, "{r:?}");
    drop(first);
    // The slot frees when the first source leaves.
    assert!(eventually(SECS, || Source::open(
        &floe,
        "PUT",
        "/b.mp3",
        "audio/mpeg",
        &[]
    )
    .is_ok()));
}

#[test]
fn listener_for_unknown_mount_gets_404() {
    let floe = Floe::start_with(&config("", ""));
    let l = Listener::connect(&floe, "/nothing.mp3", false);
    assert_eq!(l.head.status, 404, "{:?}", l.head);
    // A declared mount with no source and no fallback: also nothing to hear.
    let floe = Floe::start_with(&config("", "[mounts.\"/declared.mp3\"]\n"));
    let l = Listener::connect(&floe, "/declared.mp3", false);
    assert_eq!(l.head.status, 404, "{:?}", l.head);
}

#[test]
fn per_mount_listener_limit() {
    let floe = Floe::start_with(&config("", "[mount_defaults]\nmax_listeners = 1\n"));
    let _f = feed(&floe, "/live.mp3", 1);
    let _first = listen_ready(&floe, "/live.mp3", false);
    let second = Listener::connect(&floe, "/live.mp3", false);
    assert_eq!(second.head.status, 403, "{:?}", second.head);
}

#[test]
fn global_listener_limit() {
    let floe = Floe::start_with(&config("max_listeners = 1", ""));
    let _a = feed(&floe, "/a.mp3", 1);
    let _b = feed(&floe, "/b.mp3", 2);
    let _first = listen_ready(&floe, "/a.mp3", false);
    let _ = listen_ready_status(&floe, "/b.mp3");
    let second = Listener::connect(&floe, "/b.mp3", false);
    assert_eq!(second.head.status, 403, "{:?}", second.head);
}

/// Waits until `/b.mp3`-style mounts answer something other than 404 (their source is live).
fn listen_ready_status(floe: &Floe, mount: &str) -> u16 {
    let mut status = 0;
    eventually(SECS, || {
        status = floe.request("HEAD", mount, &[]).status;
        status == 200
    });
    status
}

#[test]
fn malformed_request_line_gets_400() {
    let floe = Floe::start_with(&config("", ""));
    for raw in [
        &b"HELLO\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"\x01\x02\x03 / HTTP/1.1\r\n\r\n",
    ] {
        let r = exchange(&floe, raw);
        assert_eq!(r.status, 400, "{:?}: {r:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn oversized_head_gets_431() {
    let floe = Floe::start_with(&config("max_header_size = 1024", ""));
    let big = "a".repeat(1200);
    let raw = format!("GET /live.mp3 HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let r = exchange(&floe, raw.as_bytes());
    assert_eq!(r.status, 431, "{r:?}");
}

#[test]
fn incomplete_head_times_out_with_408() {
    let floe = Floe::start_with(&config("header_timeout = 1", ""));
    let mut s = floe.connect();
    let started = Instant::now();
    s.write_all(b"GET /live.mp3 HTTP/1.1\r\nHost: x\r\n")
        .expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let r = Response::parse(&out);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed only after {:?}",
        started.elapsed()
    );
}

#[test]
fn undeclared_mount_is_refused_without_auto_mounts() {
    let floe = Floe::start_with(&config(
        "",
        "[server]\nauto_mounts = false\n\n[mounts.\"/declared.mp3\"]\n",
    ));
    let r = Source::open(&floe, "PUT", "/other.mp3", "audio/mpeg", &[])
        .err()
        .expect("refused");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(Source::open(&floe, "PUT", "/declared.mp3", "audio/mpeg", &[]).is_ok());
}

// ---------------------------------------------------------------------------------------------
// HEAD, Range, CORS
// ---------------------------------------------------------------------------------------------

#[test]
fn head_on_a_live_mount_has_headers_and_no_body() {
    let floe = Floe::start_with(&config("", ""));
    let _f = feed(&floe, "/live.mp3", 9);
    assert_eq!(listen_ready_status(&floe, "/live.mp3"), 200);
    let r = floe.request("HEAD", "/live.mp3", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("audio/mpeg"));
    assert_eq!(r.header("icy-name"), Some("Test Radio"));
    assert!(r.body.is_empty(), "HEAD got {} body bytes", r.body.len());
}

#[test]
fn range_from_zero_on_a_live_mount_is_200_and_streams() {
    let floe = Floe::start_with(&config("", ""));
    let _f = feed(&floe, "/live.mp3", 9);
    listen_ready_status(&floe, "/live.mp3");
    let mut l = listener_with(&floe, "/live.mp3", &[("Range", "bytes=0-")]);
    assert_eq!(l.head.status, 200, "{:?}", l.head);
    assert_eq!(l.head.header("content-range"), None);
    assert!(hears(&mut l, 9, SECS));
}

#[test]
fn cors_preflight_on_a_mount() {
    let floe = Floe::start_with(&config("", ""));
    let _f = feed(&floe, "/live.mp3", 9);
    listen_ready_status(&floe, "/live.mp3");
    let r = floe.request(
        "OPTIONS",
        "/live.mp3",
        &[
            ("Origin", "https://player.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "icy-metadata, range"),
        ],
    );
    assert_eq!(r.status, 204, "{r:?}");
    let origin = r.header("access-control-allow-origin").unwrap_or_default();
    assert!(origin == "*" || origin == "https://player.example", "{r:?}");
    let methods = r
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("GET"), "{r:?}");
    let headers = r
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers == "*" || headers.contains("icy-metadata"),
        "Icy-MetaData must be allowed: {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// ICY metadata
// ---------------------------------------------------------------------------------------------

#[test]
fn icy_metadata_blocks_are_byte_exact_and_in_step_for_every_listener() {
    let (floe, mut src) = start_icy();
    // Both join at the start of the stream (the burst covers all of it).
    let mut a = listen_ready(&floe, "/live.mp3", true);
    let mut b = listen_ready(&floe, "/live.mp3", true);
    for l in [&a, &b] {
        assert_eq!(l.head.header("icy-metaint"), Some("1000"), "{:?}", l.head);
    }
    let (mut raw_a, mut raw_b) = (Vec::new(), Vec::new());
    // Wait until each has the first 9 frames (the last may be held until the next arrives).
    assert!(read_until(&mut a, &mut raw_a, SECS, has_audio_frames(9)));
    assert!(read_until(&mut b, &mut raw_b, SECS, has_audio_frames(9)));
    let before = demux(&raw_a, METAINT)
        .audio
        .len()
        .min(demux(&raw_b, METAINT).audio.len());
    set_song(&floe, "song=Artist%20-%20Title%20%C3%A9");
    src.send(&seq_frames(10, 20));
    assert!(read_until(&mut a, &mut raw_a, SECS, has_audio_frames(29)));
    assert!(read_until(&mut b, &mut raw_b, SECS, has_audio_frames(29)));

    let want = icy_block("Artist - Title é");
    assert_eq!(want.len(), 49, "ICECAST.md's measured size");
    assert_eq!(want[0], 3);
    let mut title_at = Vec::new();
    for (name, raw) in [("a", &raw_a), ("b", &raw_b)] {
        let icy = demux(raw, METAINT);
        // Audio is intact once the blocks are taken out.
        let whole = icy.audio.len() / MP3_FRAME_LEN * MP3_FRAME_LEN;
        assert_contiguous(&frame_fills(&icy.audio[..whole]));
        let full: Vec<&(usize, Vec<u8>)> = icy.blocks.iter().filter(|(_, b)| b != &[0]).collect();
        assert_eq!(
            full.len(),
            1,
            "listener {name}: one title block, then 0x00s: {:?}",
            icy.blocks
        );
        let (at, block) = full[0];
        assert_eq!(block, &want, "listener {name}: block bytes");
        for (pos, blk) in &icy.blocks {
            assert!(pos % METAINT == 0);
            if pos != at {
                assert_eq!(
                    blk,
                    &[0],
                    "listener {name}: at {pos} expected an empty block"
                );
            }
        }
        title_at.push(*at);
    }
    assert_eq!(
        title_at[0], title_at[1],
        "both listeners switch at the same stream byte"
    );
    let at = title_at[0];
    // The title applies from where the update happened: the first boundary at or after it.
    assert!(
        at >= before,
        "title at {at}, before the update point ({before})"
    );
    assert!(
        at <= (10 * MP3_FRAME_LEN).div_ceil(METAINT) * METAINT,
        "title at {at}: later than the first boundary after the update"
    );
}

#[test]
fn icy_metadata_from_artist_and_title_and_from_latin1() {
    let (floe, mut src) = start_icy();
    let mut l = listen_ready(&floe, "/live.mp3", true);
    let mut raw = Vec::new();
    let mut sent = 10;
    let mut step = |l: &mut Listener, raw: &mut Vec<u8>, query: &str| {
        set_song(&floe, query);
        src.send(&seq_frames(sent, 10));
        sent += 10;
        assert!(read_until(l, raw, SECS, has_audio_frames(sent - 1)));
    };
    assert!(read_until(&mut l, &mut raw, SECS, has_audio_frames(9)));
    step(&mut l, &mut raw, "artist=A&title=T");
    step(&mut l, &mut raw, "charset=ISO-8859-1&song=Caf%E9");
    step(
        &mut l,
        &mut raw,
        "charset=UTF-8&artist=Bj%C3%B6rk&title=J%C3%B3ga",
    );
    assert_eq!(icy_titles(&raw), ["A - T", "Café", "Björk - Jóga"]);
    let icy = demux(&raw, METAINT);
    let cafe = icy
        .blocks
        .iter()
        .find(|(_, b)| block_title(b) == "Café")
        .expect("block");
    assert_eq!(cafe.1, icy_block("Café"), "sent as UTF-8");
}

// ---------------------------------------------------------------------------------------------
// Slow listeners
// ---------------------------------------------------------------------------------------------

#[test]
fn slow_listener_is_dropped_while_a_fast_one_gets_every_byte() {
    // The slow listener never reads. What it cannot take piles up in the kernel (the server's
    // send buffer, up to tcp_wmem's 4 MiB, and the client's receive buffer) and then in the
    // server's queue, so the source sends well past all of that.
    const TOTAL: usize = 8 * 1024 * 1024;
    let floe = Floe::start_with(&config(
        "write_interval_ms = 10",
        "[mount_defaults]\nqueue_size = 1048576\nburst_bytes = 0\n",
    ));
    let mut src = Source::put(&floe, "/live.mp3", &[]);
    src.send(&seq_frames(0, 10));
    let mut fast = listen_ready(&floe, "/live.mp3", false);
    let mut slow = listen_ready(&floe, "/live.mp3", false);
    // The fast reader drains its socket on its own thread until the stream ends.
    let mut fast_stream = fast.stream.try_clone().expect("clone");
    fast_stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = fast_stream.read_to_end(&mut all);
        all
    });
    // Paced at about 4 MB/s: far faster than real time, slow enough for the fast listener.
    let frames = TOTAL / MP3_FRAME_LEN;
    let started = Instant::now();
    let mut sent = 10;
    while sent < frames {
        let n = 24.min(frames - sent);
        src.send(&seq_frames(sent, n));
        sent += n;
        let due = Duration::from_secs_f64((sent * MP3_FRAME_LEN) as f64 / 4e6);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    // While the source is still connected (its mount is listed), the drop is counted.
    let slow_count = || {
        let text = floe.admin("/admin/stats").text();
        let n: u64 = text
            .split("<source mount=\"/live.mp3\">")
            .nth(1)
            .and_then(|t| t.split("<slow_listeners>").nth(1))
            .and_then(|t| t.split('<').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        (n, text)
    };
    assert!(
        eventually(SECS, || slow_count().0 >= 1),
        "slow_listeners not counted in /admin/stats:\n{}",
        slow_count().1
    );
    drop(src);
    let body = reader.join().expect("reader");
    assert!(!body.is_empty());
    let whole = body.len() / MP3_FRAME_LEN * MP3_FRAME_LEN;
    assert_eq!(whole, body.len(), "the stream ended inside a frame");
    let fills = frame_fills(&body);
    assert_contiguous(&fills);
    assert_eq!(
        *fills.last().expect("frames") as usize,
        (frames - 1) % 251,
        "the fast listener must get everything up to the source's last frame"
    );
    // The slow one was dropped: when it finally reads, the stream ends.
    assert!(
        slow.closed_within(SECS),
        "the slow listener was never disconnected"
    );
    let _ = &mut fast;
}

// ---------------------------------------------------------------------------------------------
// Fallbacks and admin moves
// ---------------------------------------------------------------------------------------------

const FALLBACK_CONFIG: &str =
    "[mounts.\"/main.mp3\"]\nfallback = \"/backup.mp3\"\n\n[mounts.\"/backup.mp3\"]\n";

#[test]
fn fallback_and_return_without_disconnecting() {
    let floe = Floe::start_with(&config("", FALLBACK_CONFIG));
    let _backup = feed(&floe, "/backup.mp3", 0xBB);
    let main = feed(&floe, "/main.mp3", 0xAA);
    let mut l = listen_ready(&floe, "/main.mp3", false);
    assert!(hears(&mut l, 0xAA, SECS), "main's audio");
    main.close();
    assert!(
        hears(&mut l, 0xBB, SECS),
        "the backup's audio after main left"
    );
    let _main = feed(&floe, "/main.mp3", 0xAA);
    assert!(
        hears(&mut l, 0xAA, SECS),
        "main's audio again once it returned"
    );
}

#[test]
fn listener_joining_a_mount_without_source_gets_the_fallback_then_moves_back() {
    let floe = Floe::start_with(&config("", FALLBACK_CONFIG));
    let _backup = feed(&floe, "/backup.mp3", 0xBB);
    let mut l = listen_ready(&floe, "/main.mp3", false);
    assert!(hears(&mut l, 0xBB, SECS), "the backup's audio");
    let _main = feed(&floe, "/main.mp3", 0xAA);
    assert!(
        hears(&mut l, 0xAA, SECS),
        "moved to main when its source came"
    );
}

#[test]
fn icy_title_follows_the_listener_to_the_fallback_and_back() {
    let floe = Floe::start_with(&config("", &format!("{ICY_CONFIG}\n{FALLBACK_CONFIG}")));
    let _backup = feed(&floe, "/backup.mp3", 0xBB);
    let main = feed(&floe, "/main.mp3", 0xAA);
    listen_ready(&floe, "/backup.mp3", false);
    listen_ready(&floe, "/main.mp3", false);
    set_title(&floe, "/backup.mp3", "Backup Song");
    set_title(&floe, "/main.mp3", "Main Song");
    let mut l = listen_ready(&floe, "/main.mp3", true);
    let mut raw = Vec::new();
    assert!(read_until(&mut l, &mut raw, SECS, |r| !icy_titles(r).is_empty()));
    main.close();
    assert!(
        read_until(&mut l, &mut raw, SECS, |r| icy_titles(r).len() >= 2),
        "no title block after the move to the fallback: {:?}",
        icy_titles(&raw)
    );
    let _main = feed(&floe, "/main.mp3", 0xAA);
    set_title(&floe, "/main.mp3", "Main Again");
    assert!(
        read_until(&mut l, &mut raw, SECS, |r| icy_titles(r)
            .last()
            .is_some_and(|t| t == "Main Again")),
        "{:?}",
        icy_titles(&raw)
    );
    let t = icy_titles(&raw);
    assert_eq!(t[..2], ["Main Song", "Backup Song"], "{t:?}");
}

fn listener_ids(floe: &Floe, mount: &str) -> Vec<u64> {
    let r = floe.admin(&format!("/admin/listclients?mount={mount}"));
    assert_eq!(r.status, 200, "listclients: {r:?}");
    r.text()
        .split("<ID>")
        .skip(1)
        .filter_map(|t| t.split('<').next()?.trim().parse().ok())
        .collect()
}

#[test]
fn moveclients_moves_listeners_without_disconnecting() {
    let floe = Floe::start_with(&config("", ""));
    let _a = feed(&floe, "/a.mp3", 0xA1);
    let _b = feed(&floe, "/b.mp3", 0xB1);
    let mut l = listen_ready(&floe, "/a.mp3", false);
    listen_ready_status(&floe, "/b.mp3");
    assert!(hears(&mut l, 0xA1, SECS));
    let r = floe.admin("/admin/moveclients?mount=/a.mp3&destination=/b.mp3");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(hears(&mut l, 0xB1, SECS), "the moved listener hears /b.mp3");
    assert!(eventually(SECS, || listener_ids(&floe, "/b.mp3").len() == 1));
    assert!(listener_ids(&floe, "/a.mp3").is_empty());
}

#[test]
fn killclient_closes_that_listener_only() {
    let floe = Floe::start_with(&config("", ""));
    let _a = feed(&floe, "/live.mp3", 0xA1);
    let mut victim = listen_ready(&floe, "/live.mp3", false);
    let ids = listener_ids(&floe, "/live.mp3");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let mut other = listen_ready(&floe, "/live.mp3", false);
    let r = floe.admin(&format!("/admin/killclient?mount=/live.mp3&id={}", ids[0]));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        victim.closed_within(SECS),
        "the killed listener is still connected"
    );
    assert!(hears(&mut other, 0xA1, SECS), "the other listener goes on");
}

#[test]
fn killsource_closes_the_source_and_its_listeners() {
    let floe = Floe::start_with(&config("", ""));
    let mut src = feed(&floe, "/live.mp3", 0xA1);
    let mut l = listen_ready(&floe, "/live.mp3", false);
    let r = floe.admin("/admin/killsource?mount=/live.mp3");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        src.closed_by_server_within(SECS),
        "the source was not disconnected"
    );
    assert!(
        l.closed_within(SECS),
        "a listener without fallback must be closed"
    );
}

// ---------------------------------------------------------------------------------------------
// Listener limits, intro, shutdown, logs, proxies
// ---------------------------------------------------------------------------------------------

#[test]
fn max_listener_duration_closes_the_listener() {
    let floe = Floe::start_with(&config("", "[mount_defaults]\nmax_listener_duration = 1\n"));
    let _f = feed(&floe, "/live.mp3", 3);
    let mut l = listen_ready(&floe, "/live.mp3", false);
    assert!(l.closed_within(Duration::from_secs(6)));
}

#[test]
fn intro_is_sent_before_the_stream() {
    let dir = scratch_dir("intro");
    let intro: Vec<u8> = b"INTRO-MARKER-"
        .iter()
        .copied()
        .cycle()
        .take(1300)
        .collect();
    let path = dir.join("intro.bin");
    std::fs::write(&path, &intro).expect("intro");
    let floe = Floe::start_with(&config(
        "",
        &format!("[mount_defaults]\nintro = \"{}\"\n", path.display()),
    ));
    let _f = feed(&floe, "/live.mp3", 4);
    let mut l = listen_ready(&floe, "/live.mp3", false);
    let body = l.read_bytes(intro.len() + MP3_FRAME_LEN, SECS);
    assert!(body.len() >= intro.len() + 4, "got {} bytes", body.len());
    assert_eq!(&body[..intro.len()], &intro[..], "the intro comes first");
    assert_eq!(
        body[intro.len()..intro.len() + 4],
        FRAME_HEADER,
        "then the stream, at a frame"
    );
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let floe = Floe::start_with(&config("", ""));
    let mut src = feed(&floe, "/live.mp3", 5);
    let mut l = listen_ready(&floe, "/live.mp3", false);
    assert!(hears(&mut l, 5, SECS));
    let started = Instant::now();
    let status = floe.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?} to stop",
        started.elapsed()
    );
    assert!(
        l.closed_within(Duration::from_secs(2)),
        "the listener socket is still open"
    );
    assert!(src.closed_by_server_within(Duration::from_secs(2)));
}

/// Checks one access-log line against Icecast's format; returns (bytes, secs).
fn parse_access_line(line: &str) -> (u64, u64) {
    // IP - - [dd/Mon/yyyy:HH:MM:SS +0000] "GET /live.mp3 HTTP/1.1" 200 <bytes> "-" "floe-test" <secs>
    let rest = line
        .strip_prefix("127.0.0.1 - - [")
        .unwrap_or_else(|| panic!("prefix: {line}"));
    let (time, rest) = rest
        .split_once("] ")
        .unwrap_or_else(|| panic!("time: {line}"));
    let t = time.as_bytes();
    assert_eq!(time.len(), 26, "time field {time:?}");
    assert!(
        t[..2].iter().all(u8::is_ascii_digit) && t[2] == b'/',
        "{time}"
    );
    assert!(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            .contains(&&time[3..6]),
        "{time}"
    );
    assert!(
        t[6] == b'/' && t[7..11].iter().all(u8::is_ascii_digit) && t[11] == b':',
        "{time}"
    );
    assert!(
        t[12..14].iter().all(u8::is_ascii_digit) && t[14] == b':',
        "{time}"
    );
    assert!(
        t[15..17].iter().all(u8::is_ascii_digit) && t[17] == b':',
        "{time}"
    );
    assert!(t[18..20].iter().all(u8::is_ascii_digit), "{time}");
    assert_eq!(&time[20..], " +0000", "{time}");
    let rest = rest
        .strip_prefix("\"GET /live.mp3 HTTP/1.1\" 200 ")
        .unwrap_or_else(|| panic!("request/status: {line}"));
    let (bytes, rest) = rest
        .split_once(' ')
        .unwrap_or_else(|| panic!("bytes: {line}"));
    let rest = rest
        .strip_prefix("\"-\" \"floe-test\" ")
        .unwrap_or_else(|| panic!("referer/agent: {line}"));
    (
        bytes.parse().unwrap_or_else(|_| panic!("bytes: {line}")),
        rest.trim()
            .parse()
            .unwrap_or_else(|_| panic!("secs: {line}")),
    )
}

#[test]
fn access_log_line_in_icecasts_format() {
    let dir = scratch_dir("accesslog");
    let log = dir.join("access.log");
    let floe = Floe::start_with(&config(
        "",
        &format!("[logging]\naccess_log = \"{}\"\n", log.display()),
    ));
    let mut src = Source::put(&floe, "/live.mp3", &[]);
    src.send(&mp3_frames(10, 1));
    let mut l = listen_ready(&floe, "/live.mp3", false);
    // The last frame may wait for the next one (the framer confirms a frame by the next header).
    let got = l.read_bytes(5 * MP3_FRAME_LEN, SECS);
    assert!(got.len() >= 5 * MP3_FRAME_LEN, "got {} bytes", got.len());
    drop(l);
    // The server notices the listener left when it next writes to it.
    let found = eventually(SECS, || {
        src.send(&mp3_frames(1, 1));
        std::fs::read_to_string(&log).is_ok_and(|t| {
            t.lines()
                .any(|l| l.contains(" 200 ") && l.contains("floe-test"))
        })
    });
    assert!(found, "no access-log line; log:\n{}", floe.log_text());
    let text = std::fs::read_to_string(&log).expect("log");
    let line = text
        .lines()
        .find(|l| l.contains("\"GET /live.mp3 HTTP/1.1\" 200 ") && l.contains("floe-test"))
        .unwrap_or_else(|| panic!("no 200 line for the listener in:\n{text}"));
    let (bytes, secs) = parse_access_line(line);
    assert!(
        bytes >= 10 * MP3_FRAME_LEN as u64,
        "bytes {bytes} in {line}"
    );
    assert!(secs < 30, "{line}");
}

/// Joins `/live.mp3` (fed by a source) with `X-Forwarded-For: 203.0.113.7`; returns the
/// listclients page.
fn listclients_after_forwarded_for(floe: &Floe) -> Response {
    let _f = feed(floe, "/live.mp3", 1);
    listen_ready_status(floe, "/live.mp3");
    let l = listener_with(floe, "/live.mp3", &[("X-Forwarded-For", "203.0.113.7")]);
    assert_eq!(l.head.status, 200);
    let r = floe.admin("/admin/listclients?mount=/live.mp3");
    assert_eq!(r.status, 200, "{r:?}");
    r
}

#[test]
fn forwarded_for_from_a_trusted_proxy_is_the_client_address() {
    let floe = Floe::start_with(&config(
        "",
        "[network]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    ));
    let r = listclients_after_forwarded_for(&floe);
    assert!(r.text().contains("<IP>203.0.113.7</IP>"), "{}", r.text());
}

#[test]
fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let floe = Floe::start_with(&config("", ""));
    let r = listclients_after_forwarded_for(&floe);
    assert!(!r.text().contains("203.0.113.7"), "{}", r.text());
    assert!(r.text().contains("<IP>127.0.0.1</IP>"), "{}", r.text());
}
