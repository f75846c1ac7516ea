//! Test harness: runs the real `floe` binary on a free loopback port and talks to it over TCP.
#![allow(dead_code)]

/// A generated music library (ffmpeg) for the library and Subsonic tests.
pub mod library;

use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SOURCE_PASSWORD: &str = "test-source-pw";
pub const ADMIN_PASSWORD: &str = "test-admin-pw";

/// A running Floe, killed on drop.
pub struct Floe {
    child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    // Two consecutive free ports (SHOUTcast uses port + 1), below the ephemeral range so that
    // load tests' client ports never collide with them.
    // Test binaries run at once in separate processes, tests in threads: spread by both.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = (std::process::id() % 600) * 20;
    for _ in 0..6000 {
        let n = NEXT.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + ((base + n) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port pair");
}

/// A fresh scratch directory under the target dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = base.join(format!(
        "{name}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_u64()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn rand_u64() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    h.finish() as u128
}

impl Floe {
    /// Floe with no config file (passwords from flags).
    pub fn start() -> Floe {
        Floe::start_with("")
    }

    /// Floe with this config file content; passwords from flags unless the config sets them.
    pub fn start_with(config: &str) -> Floe {
        Floe::start_with_env(config, &[])
    }

    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Floe {
        // Another test process may take the same free port between our check and floe's bind:
        // floe then exits at once, and we try another port.
        Floe::start_with_stdin(config, env, Stdio::null)
    }

    /// Floe with this config and environment, its standard input from `stdin` (called once per
    /// attempt: a port taken by another process between our check and floe's bind means
    /// another attempt).
    pub fn start_with_stdin(config: &str, env: &[(&str, &str)], stdin: impl Fn() -> Stdio) -> Floe {
        for _ in 0..5 {
            if let Some(floe) = Floe::try_start(config, env, stdin()) {
                return floe;
            }
        }
        panic!("floe could not bind a free port in 5 tries");
    }

    fn try_start(config: &str, env: &[(&str, &str)], stdin: Stdio) -> Option<Floe> {
        let dir = scratch_dir("floe");
        let cfg = dir.join("floe.toml");
        std::fs::write(&cfg, config).expect("write config");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let log = dir.join("floe.log");
        let logfile = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_floe"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&cfg)
            .arg("--listen")
            .arg(addr.to_string());
        if !config.contains("source_password") {
            cmd.arg("--source-password").arg(SOURCE_PASSWORD);
        }
        if !config.contains("admin_password") {
            cmd.arg("--admin-password").arg(ADMIN_PASSWORD);
        }
        cmd.env("FLOE_LOG", "debug");
        // A library without a configured database (e.g. `--music DIR`) lives in the default
        // data folder: keep it in this server's scratch folder, not the user's home.
        cmd.env("XDG_DATA_HOME", &dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(stdin)
            .stdout(logfile.try_clone().expect("clone"))
            .stderr(logfile)
            .spawn()
            .expect("spawn floe");
        let mut floe = Floe {
            child,
            addr,
            dir,
            log,
        };
        floe.wait_ready().then_some(floe)
    }

    /// True once this floe (not another process on the port) listens; false if it could not
    /// bind its port.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        let ours = format!("listening on http://{}/", self.addr);
        while Instant::now() < deadline {
            if self.log_text().contains(&ours) && TcpStream::connect(self.addr).is_ok() {
                return true;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log_text();
                if log.contains("cannot listen on") {
                    return false;
                }
                panic!("floe exited at start-up ({status}); log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("floe did not start; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                panic!("floe did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        s.set_write_timeout(Some(Duration::from_secs(10))).ok();
        s
    }

    /// A GET with Connection: close; the whole response.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers)
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut s = self.connect();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("send");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        Response::parse(&raw)
    }

    /// An admin GET with the admin credentials.
    pub fn admin(&self, path_and_query: &str) -> Response {
        self.get(
            path_and_query,
            &[("Authorization", &basic("admin", ADMIN_PASSWORD))],
        )
    }
}

impl Drop for Floe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- floe log ---\n{}", self.log_text());
        }
    }
}

/// Sets `mount`'s title through the admin metadata endpoint; asserts it was accepted.
pub fn set_title(floe: &Floe, mount: &str, song: &str) {
    let r = floe.admin(&format!(
        "/admin/metadata?mode=updinfo&mount={mount}&song={}",
        song.replace(' ', "%20")
    ));
    assert_eq!(r.status, 200, "{r:?}");
}

pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

pub fn source_auth() -> String {
    basic("source", SOURCE_PASSWORD)
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn parse(raw: &[u8]) -> Response {
        let end = find(raw, b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| find(raw, b"\n\n").map(|i| (i, 2)));
        let (head, body) = match end {
            Some((i, n)) => (&raw[..i], raw[i + n..].to_vec()),
            None => (raw, Vec::new()),
        };
        let head = String::from_utf8_lossy(head).to_string();
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or("").to_string();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut r = Response {
            status,
            status_line,
            headers,
            body,
        };
        if r.header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"))
        {
            r.body = dechunk(&r.body);
        }
        r
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = find(body, b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&body[..i])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        let end = (start + size).min(body.len());
        out.extend_from_slice(&body[start..end]);
        body = &body[(end + 2).min(body.len())..];
    }
    out
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `n` MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes each) whose payload bytes are
/// all `fill`, so a test can tell which source a listener hears.
pub fn mp3_frames(n: usize, fill: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 417);
    for _ in 0..n {
        out.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        out.extend(std::iter::repeat_n(fill, 413));
    }
    out
}

pub const MP3_FRAME_LEN: usize = 417;

/// A connected source: the request was accepted (200) and audio may follow.
pub struct Source {
    pub stream: TcpStream,
}

impl Source {
    /// PUT with the given extra head lines; panics unless the server answers 200.
    pub fn put(floe: &Floe, mount: &str, extra: &[(&str, &str)]) -> Source {
        Source::open(floe, "PUT", mount, "audio/mpeg", extra).expect("source accepted")
    }

    /// Sends a source request; Ok(source) on 200, Err(response head) otherwise.
    pub fn open(
        floe: &Floe,
        method: &str,
        mount: &str,
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> Result<Source, Response> {
        let mut s = floe.connect();
        let mut req = format!(
            "{method} {mount} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: {content_type}\r\nIce-Name: Test Radio\r\nIce-Description: desc\r\nIce-Genre: test\r\nIce-Url: http://example.org\r\nIce-Public: 0\r\nIce-Bitrate: 128\r\n",
            floe.addr,
            source_auth()
        );
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("send");
        let head = read_head(&mut s);
        let r = Response::parse(&head);
        if r.status == 200 {
            Ok(Source { stream: s })
        } else {
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
            let mut raw = head;
            raw.extend(rest);
            Err(Response::parse(&raw))
        }
    }

    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).expect("source write");
    }
}

/// Reads up to and including the blank line ending a response head (skipping a 100 Continue).
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return head,
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            if head.starts_with(b"HTTP/1.1 100") {
                head.clear();
                continue;
            }
            return head;
        }
    }
}

/// A listener: the response head is read; `read_some` collects body bytes.
pub struct Listener {
    pub stream: TcpStream,
    pub head: Response,
}

impl Listener {
    pub fn connect(floe: &Floe, mount: &str, icy: bool) -> Listener {
        let mut s = floe.connect();
        let icy_line = if icy { "Icy-MetaData: 1\r\n" } else { "" };
        write!(
            s,
            "GET {mount} HTTP/1.1\r\nHost: {}\r\nUser-Agent: floe-test\r\n{icy_line}\r\n",
            floe.addr
        )
        .expect("send");
        let head = Response::parse(&read_head(&mut s));
        Listener { stream: s, head }
    }

    /// Reads until `n` bytes arrived or `timeout` passes.
    pub fn read_bytes(&mut self, n: usize, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        let mut buf = [0u8; 8192];
        while out.len() < n && Instant::now() < deadline {
            self.stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .ok();
            match self.stream.read(&mut buf) {
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

    /// True once the server closed the connection (EOF or reset) within `timeout`.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        closed_by_server_within(&mut self.stream, timeout)
    }
}

/// True once the server closed `stream` (EOF or reset) within `timeout`; reads and drops what
/// arrives meanwhile.
pub fn closed_by_server_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 65536];
    while Instant::now() < deadline {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .ok();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    f()
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Panics with an install hint unless ffmpeg and ffprobe are on PATH (CI installs them).
pub fn require_ffmpeg() {
    assert!(
        have("ffmpeg") && have("ffprobe"),
        "ffmpeg and ffprobe are needed for these tests (apt-get install ffmpeg)"
    );
}

/// ffmpeg output arguments (codec, bitrate, `-content_type`, muxer) of a source of each
/// codec, for [`ffmpeg_tone_source`] and [`ffmpeg_sine_source`].
pub const MP3: &[&str] = &[
    "-c:a",
    "libmp3lame",
    "-b:a",
    "128k",
    "-content_type",
    "audio/mpeg",
    "-f",
    "mp3",
];
/// AAC-LC in ADTS (see [`MP3`]).
pub const AAC: &[&str] = &[
    "-c:a",
    "aac",
    "-b:a",
    "128k",
    "-content_type",
    "audio/aac",
    "-f",
    "adts",
];
/// Opus in Ogg (see [`MP3`]).
pub const OPUS: &[&str] = &[
    "-c:a",
    "libopus",
    "-b:a",
    "96k",
    "-content_type",
    "audio/ogg",
    "-f",
    "ogg",
];
/// FLAC in Ogg (see [`MP3`]).
pub const OGG_FLAC: &[&str] = &["-c:a", "flac", "-content_type", "audio/ogg", "-f", "ogg"];

/// ffmpeg decodes `url` (or a file) for `seconds` seconds; returns what it printed at
/// `-v error`, with its exit status when it failed (empty: a clean decode).
pub fn ffmpeg_decode_errors(url: &str, seconds: u32) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i", url, "-t"])
        .arg(seconds.to_string())
        .args(["-f", "null", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    let mut s = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        s.push_str(&format!("\n(exit status {})", out.status));
    }
    s
}

/// Panics with ffmpeg's messages unless it decodes `url` for `seconds` without an error.
pub fn assert_ffmpeg_decodes(url: &str, seconds: u32) {
    let errors = ffmpeg_decode_errors(url, seconds);
    assert!(errors.is_empty(), "decoding {url}: {errors}");
}

/// ffprobe's `-show_entries` of `path`'s first audio stream as CSV lines without a prefix
/// (e.g. `packet=pts,duration`).
pub fn ffprobe_csv(path: &std::path::Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
        .arg(entries)
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running ffmpeg, killed on drop.
pub struct Encoder(pub std::process::Child);

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ffmpeg pushing a 440 Hz tone to `mount` in real time, encoded with `codec_args`
/// (codec, bitrate, `-content_type`, muxer); SOURCE instead of PUT when `legacy`.
pub fn ffmpeg_tone_source(floe: &Floe, mount: &str, codec_args: &[&str], legacy: bool) -> Encoder {
    ffmpeg_sine_source(floe, mount, codec_args, legacy, 440, 60)
}

/// ffmpeg pushing a `frequency` Hz tone for `seconds` to `mount` in real time, encoded with
/// `codec_args`; SOURCE instead of PUT when `legacy`.
pub fn ffmpeg_sine_source(
    floe: &Floe,
    mount: &str,
    codec_args: &[&str],
    legacy: bool,
    frequency: u32,
    seconds: u32,
) -> Encoder {
    let url = format!("icecast://source:{SOURCE_PASSWORD}@{}{mount}", floe.addr);
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency={frequency}:sample_rate=48000:duration={seconds}"
        ))
        .args(codec_args)
        .args(["-ice_name", "Interop Radio", "-ice_genre", "test"]);
    if legacy {
        cmd.args(["-legacy_icecast", "1"]);
    }
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Encoder(cmd.spawn().expect("spawn ffmpeg"))
}

/// [`ffmpeg_tone_source`] over PUT, once `mount` is live.
pub fn live_tone_source(floe: &Floe, mount: &str, codec_args: &[&str]) -> Encoder {
    let encoder = ffmpeg_tone_source(floe, mount, codec_args, false);
    wait_live(floe, mount);
    encoder
}

/// Waits until `mount` answers HEAD with 200.
pub fn wait_live(floe: &Floe, mount: &str) {
    let ok = eventually(Duration::from_secs(15), || {
        floe.request("HEAD", mount, &[]).status == 200
    });
    assert!(
        ok,
        "mount {mount} never went live; log:\n{}",
        floe.log_text()
    );
}
