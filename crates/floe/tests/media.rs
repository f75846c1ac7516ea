//! On-demand media through the real binary: library files with every Range and conditional case
//! checked byte for byte, transcodes checked by ffmpeg/ffprobe and served from the cache like
//! files, the transcode limit, and the upstream proxy against a real second HTTP server.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Generates a tagged audio file with ffmpeg (a sine of `seconds`), returns its path.
fn generate(dir: &Path, name: &str, seconds: u32, codec_args: &[&str]) -> PathBuf {
    require_ffmpeg();
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=44100:duration={seconds}"
        ))
        .args(["-ac", "2"])
        .args(codec_args)
        .args(["-metadata", "title=Test Tone", "-metadata", "artist=Floe"])
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not write {name}");
    path
}

/// A library folder with one file, scanned into a catalog; Floe started on it. Returns the
/// server, the file, and the track's stream path.
fn library_with(
    name: &str,
    seconds: u32,
    codec_args: &[&str],
    extra: &str,
) -> (Floe, PathBuf, String) {
    let dir = scratch_dir("media-lib");
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("music dir");
    let file = generate(&music, name, seconds, codec_args);
    let config = format!(
        "[library]\npath = \"{}\"\ndatabase = \"{}\"\nwatch = false\n{extra}",
        music.display(),
        dir.join("library.db").display()
    );
    let floe = Floe::start_with(&config);
    let id = wait_for_track(&floe);
    (floe, file, format!("/api/v1/tracks/{id}"))
}

/// The id of the library's only track, once the start-up scan has found it.
fn wait_for_track(floe: &Floe) -> i64 {
    let mut id = None;
    let found = eventually(Duration::from_secs(30), || {
        let r = floe.get("/api/v1/tracks", &[]);
        if r.status != 200 {
            return false;
        }
        id = r.json()["items"][0]["id"].as_i64();
        id.is_some()
    });
    assert!(found, "the scan found no track; log:\n{}", floe.log_text());
    id.expect("id")
}

/// The duration ffprobe reads from `bytes` (written to a file, so it can look at the end).
fn ffprobe_duration(bytes: &[u8], ext: &str) -> f64 {
    let dir = scratch_dir("media-probe");
    let path = dir.join(format!("probe.{ext}"));
    std::fs::write(&path, bytes).expect("write probe file");
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration"])
        .args(["-of", "default=nw=1:nk=1"])
        .arg(&path)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    text.parse()
        .unwrap_or_else(|_| panic!("ffprobe gave no duration for {ext}: {text:?}"))
}

/// What `ffmpeg -v error -i - -f null -` prints decoding `bytes` (empty for a clean stream).
fn ffmpeg_errors(bytes: &[u8]) -> String {
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i", "-", "-f", "null", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("ffmpeg output");
    let _ = writer.join();
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The parts of a `multipart/byteranges` body: (Content-Range, bytes).
fn multipart_parts(r: &Response) -> Vec<(String, Vec<u8>)> {
    let ct = r.header("content-type").expect("content-type");
    let boundary = ct
        .split("boundary=")
        .nth(1)
        .unwrap_or_else(|| panic!("no boundary in {ct}"));
    let delimiter = format!("--{boundary}");
    let body = &r.body;
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes()).expect("first delimiter");
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            break;
        }
        let head_end = at + find(&body[at..], b"\r\n\r\n").expect("part head");
        let head = String::from_utf8_lossy(&body[at..head_end]).to_string();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: "))
            .expect("part Content-Range")
            .to_string();
        let data_start = head_end + 4;
        let next = data_start
            + find(&body[data_start..], format!("\r\n{delimiter}").as_bytes())
                .expect("next delimiter");
        parts.push((range, body[data_start..next].to_vec()));
        at = next + 2;
    }
    parts
}

// ---------------------------------------------------------------------------------------------
// Files

#[test]
fn file_ranges_and_conditionals_byte_for_byte() {
    let (floe, file, track) =
        library_with("tone.mp3", 12, &["-c:a", "libmp3lame", "-b:a", "128k"], "");
    let data = std::fs::read(&file).expect("read file");
    let len = data.len();
    assert!(len > 150_000, "big enough to be streamed in pieces: {len}");
    let url = format!("{track}/stream");

    // Whole file.
    let r = floe.get(&url, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, data);
    assert_eq!(r.header("content-type"), Some("audio/mpeg"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    let etag = r.header("etag").expect("etag").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let last_modified = r
        .header("last-modified")
        .expect("last-modified")
        .to_string();
    assert!(r.header("cache-control").is_some());

    // What browsers send first: 206 with Content-Range, the whole file.
    let r = floe.get(&url, &[("Range", "bytes=0-")]);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-{}/{len}", len - 1).as_str())
    );
    assert_eq!(r.body, data);

    let single = |range: &str, start: usize, end: usize| {
        let r = floe.get(&url, &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {start}-{end}/{len}").as_str()),
            "{range}"
        );
        assert_eq!(
            r.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert!(r.body == data[start..=end], "{range}: bytes differ");
    };
    single("bytes=100-199", 100, 199);
    single("bytes=0-0", 0, 0);
    single("bytes=-500", len - 500, len - 1);
    single(&format!("bytes={}-", len - 70_000), len - 70_000, len - 1);
    single(&format!("bytes=1000-{}", len + 5000), 1000, len - 1);
    single(" bytes=5-9 ", 5, 9);
    // Overlapping ranges are coalesced into one.
    single("bytes=10-20,15-30", 10, 30);

    // Several ranges: multipart/byteranges, each part compared; one part large enough to be
    // streamed.
    let r = floe.get(&url, &[("Range", "bytes=0-9, 100-100000, -10")]);
    assert_eq!(r.status, 206);
    assert!(r
        .header("content-type")
        .expect("ct")
        .starts_with("multipart/byteranges; boundary="));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    let parts = multipart_parts(&r);
    let expected = [(0, 9), (100, 100_000), (len - 10, len - 1)];
    assert_eq!(parts.len(), 3);
    for ((range, bytes), (start, end)) in parts.iter().zip(expected) {
        assert_eq!(range, &format!("bytes {start}-{end}/{len}"));
        assert!(bytes[..] == data[start..=end], "part {range} differs");
    }

    // Unsatisfiable.
    let r = floe.get(&url, &[("Range", &format!("bytes={len}-"))]);
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // Invalid or foreign units are ignored: the whole file.
    for ignored in ["bytes=abc", "bytes=9-1", "pages=1-2"] {
        let r = floe.get(&url, &[("Range", ignored)]);
        assert_eq!(r.status, 200, "{ignored}");
        assert_eq!(r.body, data);
    }

    // If-Range: a matching tag or date honours the range, anything else sends everything.
    let r = floe.get(&url, &[("Range", "bytes=0-99"), ("If-Range", &etag)]);
    assert_eq!((r.status, r.body.len()), (206, 100));
    let r = floe.get(
        &url,
        &[("Range", "bytes=0-99"), ("If-Range", &last_modified)],
    );
    assert_eq!((r.status, r.body.len()), (206, 100));
    let r = floe.get(&url, &[("Range", "bytes=0-99"), ("If-Range", "\"stale\"")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);

    // Conditionals.
    let r = floe.get(&url, &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = floe.get(&url, &[("If-None-Match", "\"other\", W/\"x\"")]);
    assert_eq!(r.status, 200);
    let r = floe.get(&url, &[("If-Modified-Since", &last_modified)]);
    assert_eq!(r.status, 304);
    let r = floe.get(
        &url,
        &[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
    );
    assert_eq!(r.status, 200);
    let r = floe.get(&url, &[("If-Match", "\"other\"")]);
    assert_eq!(r.status, 412);
    let r = floe.get(&url, &[("If-Match", &etag), ("Range", "bytes=1-2")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, data[1..=2]);
    let r = floe.get(
        &url,
        &[("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
    );
    assert_eq!(r.status, 412);

    // HEAD: the same head, no body.
    let r = floe.request("HEAD", &url, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    assert!(r.body.is_empty());
    let r = floe.request("HEAD", &url, &[("Range", "bytes=-5")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-length"), Some("5"));

    // Download: the same bytes as an attachment.
    let r = floe.get(&format!("{track}/download"), &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, data[10..20]);
    assert!(r
        .header("content-disposition")
        .expect("disposition")
        .starts_with("attachment"));

    // Unknown ids are JSON 404s.
    let r = floe.get("/api/v1/tracks/999999/stream", &[]);
    assert_eq!(r.status, 404);
    assert!(r.json()["error"]["message"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Transcodes

#[test]
fn transcodes_decode_cleanly_seek_and_are_cached_like_files() {
    let cache = scratch_dir("media-cache");
    let (floe, _file, track) = library_with(
        "tone.flac",
        8,
        &["-c:a", "flac"],
        &format!("[transcode]\ncache_dir = \"{}\"\n", cache.display()),
    );
    let url = format!("{track}/stream?format=mp3&bitrate=128");

    // MP3 CBR: exact Content-Length, clean decode, full duration.
    let r = floe.get(&url, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("audio/mpeg"));
    let announced: usize = r
        .header("content-length")
        .expect("length")
        .parse()
        .expect("number");
    assert_eq!(
        announced,
        r.body.len(),
        "Content-Length equals the bytes sent"
    );
    assert_eq!(ffmpeg_errors(&r.body), "", "clean decode");
    let d = ffprobe_duration(&r.body, "mp3");
    assert!((d - 8.0).abs() < 0.2, "duration {d}");
    let mp3 = r.body;

    // offset seeks: the output is the rest of the track.
    for (format, hint) in [
        ("opus", "ogg"),
        ("wav", "wav"),
        ("mp3", "mp3"),
        ("flac", "flac"),
    ] {
        let r = floe.get(&format!("{track}/stream?format={format}&offset=3"), &[]);
        assert_eq!(r.status, 200, "{format}: {}", r.text());
        assert_eq!(ffmpeg_errors(&r.body), "", "{format} decodes cleanly");
        let d = ffprobe_duration(&r.body, hint);
        assert!((d - 5.0).abs() < 0.2, "{format} from 3 s lasts {d} s");
        if let Some(len) = r.header("content-length") {
            assert_eq!(len, r.body.len().to_string(), "{format}: exact length");
        }
    }

    // The first transcode was cached: the same URL now answers ranges exactly like a file.
    let cached = eventually(Duration::from_secs(10), || {
        std::fs::read_dir(&cache)
            .map(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().ends_with("-128k.mp3"))
            })
            .unwrap_or(false)
    });
    assert!(cached, "no cache file in {}", cache.display());
    let r = floe.get(&url, &[("Range", "bytes=1000-1999")]);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 1000-1999/{}", mp3.len()).as_str())
    );
    assert_eq!(r.body, mp3[1000..2000]);
    let etag = r
        .header("etag")
        .expect("a cached transcode has an ETag")
        .to_string();
    let r = floe.get(&url, &[("Range", "bytes=0-9,-10")]);
    let parts = multipart_parts(&r);
    assert_eq!(parts[0].1, mp3[..10]);
    assert_eq!(parts[1].1, mp3[mp3.len() - 10..]);
    assert_eq!(floe.get(&url, &[("If-None-Match", &etag)]).status, 304);
    assert_eq!(floe.get(&url, &[]).body, mp3);

    // Bad parameters are precise 400s.
    let r = floe.get(&format!("{track}/stream?format=mp4"), &[]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .expect("message")
        .contains("format"));
    let r = floe.get(&format!("{track}/stream?format=mp3&offset=60"), &[]);
    assert_eq!(r.status, 400);
}

#[test]
fn transcode_limit_answers_503_and_a_hangup_frees_the_slot() {
    // 20 minutes of audio: far more MP3 than socket buffers hold, so a client that does not read
    // keeps its transcode (and the only slot) busy.
    let (floe, _file, track) = library_with(
        "long.flac",
        1200,
        &["-c:a", "flac", "-compression_level", "0"],
        "[transcode]\nmax_concurrent = 1\nretry_after_seconds = 7\n",
    );
    let url = format!("{track}/stream?format=mp3&bitrate=320");
    let mut stalled = floe.connect();
    write!(stalled, "GET {url} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let head = read_head(&mut stalled);
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 200"));

    let r = floe.get(&url, &[]);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("7"));
    assert!(r.json()["error"]["message"]
        .as_str()
        .expect("message")
        .contains("transcodes"));

    // The stalled client hangs up: its transcode stops and the slot is free again.
    drop(stalled);
    let freed = eventually(Duration::from_secs(15), || {
        floe.request("HEAD", &url, &[]).status == 200
    });
    assert!(freed, "the slot was not freed after the client left");
}

// ---------------------------------------------------------------------------------------------
// Proxy

/// One request as the upstream saw it.
struct Seen {
    head: String,
}

/// A tiny HTTP/1.1 server on loopback that answers one request by calling `answer` with the
/// socket, and reports the request head.
fn upstream(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> (u16, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let head = read_head(&mut s);
        let _ = tx.send(Seen {
            head: String::from_utf8_lossy(&head).to_string(),
        });
        answer(&mut s);
    });
    (port, rx)
}

fn proxy_config(port: u16, extra: &str) -> String {
    format!(
        "[proxy.\"/remote\"]\nupstream = \"http://127.0.0.1:{port}/base\"\nopen_range_window = 1000\n{extra}"
    )
}

#[test]
fn proxy_passes_ranges_through_and_streams_before_the_upstream_finishes() {
    let body: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (go_on_tx, go_on_rx) = mpsc::channel::<()>();
    let upstream_body = body.clone();
    let (port, seen) = upstream(move |s| {
        let head = "HTTP/1.1 206 Partial Content\r\nContent-Type: audio/mpeg\r\n\
                    Content-Range: bytes 100-1099/5000\r\nContent-Length: 1000\r\n\
                    ETag: \"up-1\"\r\nLast-Modified: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n";
        s.write_all(head.as_bytes()).expect("head");
        s.write_all(&upstream_body[..500]).expect("first half");
        s.flush().expect("flush");
        // The rest only once the test has seen bytes at the client.
        let _ = go_on_rx.recv_timeout(Duration::from_secs(20));
        let _ = s.write_all(&upstream_body[500..]);
    });
    let floe = Floe::start_with(&proxy_config(port, ""));

    let mut client = floe.connect();
    write!(
        client,
        "GET /remote/song.mp3?x=1 HTTP/1.1\r\nHost: x\r\nRange: bytes=100-\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let head = String::from_utf8_lossy(&read_head(&mut client)).to_string();
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("content-range: bytes 100-1099/5000"),
        "{head}"
    );
    assert!(lower.contains("content-length: 1000"), "{head}");
    assert!(lower.contains("etag: \"up-1\""), "{head}");
    assert!(
        lower.contains("last-modified: sat, 01 jan 2000 00:00:00 gmt"),
        "{head}"
    );
    // The first bytes arrive while the upstream still holds back the second half.
    let mut first = vec![0u8; 100];
    client
        .read_exact(&mut first)
        .expect("first bytes before the upstream finished");
    assert_eq!(first, body[..100]);
    go_on_tx.send(()).expect("upstream waiting");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).expect("rest");
    assert_eq!([first, rest].concat(), body);

    // The upstream got the path under its base, the query, and the open range bounded to the
    // window.
    let seen = seen
        .recv_timeout(Duration::from_secs(5))
        .expect("upstream saw a request");
    assert!(
        seen.head.starts_with("GET /base/song.mp3?x=1 HTTP/1.1"),
        "{}",
        seen.head
    );
    assert!(
        seen.head
            .to_ascii_lowercase()
            .contains("range: bytes=100-1099"),
        "{}",
        seen.head
    );
}

#[test]
fn proxy_errors_are_502_and_504() {
    // Nothing listens on the upstream's port: 502.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let floe = Floe::start_with(&proxy_config(port, ""));
    let r = floe.get("/remote/a.mp3", &[]);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.json()["error"]["message"]
        .as_str()
        .expect("message")
        .contains("upstream"));
    assert!(eventually(Duration::from_secs(5), || floe
        .log_text()
        .contains("proxy /remote/a.mp3")));
    drop(floe);

    // An upstream that accepts and never answers: 504 after response_timeout.
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let (port, _seen) = upstream(move |_s| {
        let _ = hold_rx.recv_timeout(Duration::from_secs(30));
    });
    let floe = Floe::start_with(&proxy_config(
        port,
        "response_timeout = 0.5\nconnect_timeout = 0.5\n",
    ));
    let r = floe.get("/remote/b.mp3", &[]);
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(r.json()["error"]["message"]
        .as_str()
        .expect("message")
        .contains("did not answer"));
    drop(hold_tx);
}

// ---------------------------------------------------------------------------------------------
// sendfile(2) from the edge

/// Reads one response with a `Content-Length` from a kept-alive connection (exactly its bytes,
/// nothing of the next response).
fn read_response(s: &mut TcpStream) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    let mut r = Response::parse(&head);
    let len: usize = r
        .header("content-length")
        .unwrap_or_else(|| panic!("no content-length: {r:?}"))
        .parse()
        .expect("length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("response body");
    r.body = body;
    r
}

/// The headers of a response without `Date` (which differs by the second), sorted.
fn headers_but_date(r: &Response) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    h.sort();
    h
}

/// A request and what it must get: (route, request headers, the file's bytes the body must
/// be when it is a slice of the file, whether it goes out with sendfile).
type SendfileCase<'a> = (&'a str, Vec<(&'a str, String)>, Option<&'a [u8]>, bool);

fn sendfile_count(floe: &Floe) -> u64 {
    floe.get("/api/v1/status", &[]).json()["sendfile_responses"]
        .as_u64()
        .expect("sendfile_responses")
}

/// One file served by two servers on the same library folder: one with the edge's sendfile
/// path (the default), one with it off (`sendfile_min_bytes = 0`, every body through hyper).
/// Both must answer every request with the same status, headers and bytes; only the first may
/// count sendfile responses, and only for large single-range bodies.
#[test]
fn sendfile_answers_exactly_like_hyper() {
    let dir = scratch_dir("media-sendfile");
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("music dir");
    let file = generate(
        &music,
        "tone.mp3",
        12,
        &["-c:a", "libmp3lame", "-b:a", "128k"],
    );
    let data = std::fs::read(&file).expect("read file");
    let len = data.len();
    assert!(len > 150_000, "larger than the threshold: {len}");
    let access = dir.join("access.log");
    let config = |db: &str, extra: &str| {
        format!(
            "[library]\npath = \"{}\"\ndatabase = \"{}\"\nwatch = false\n{extra}",
            music.display(),
            dir.join(db).display()
        )
    };
    let zero_copy = Floe::start_with(&config(
        "a.db",
        &format!("[logging]\naccess_log = \"{}\"\n", access.display()),
    ));
    let plain = Floe::start_with(&config("b.db", "[limits]\nsendfile_min_bytes = 0\n"));
    let id_a = wait_for_track(&zero_copy);
    let id_b = wait_for_track(&plain);

    let etag = plain
        .get(&format!("/api/v1/tracks/{id_b}/stream"), &[])
        .header("etag")
        .expect("etag")
        .to_string();
    let cases: Vec<SendfileCase> = vec![
        // (route, headers, expected body when it is a slice of the file, sent with sendfile)
        ("stream", vec![], Some(&data[..]), true),
        (
            "stream",
            vec![("Range", "bytes=0-".into())],
            Some(&data[..]),
            true,
        ),
        (
            "stream",
            vec![("Range", format!("bytes=1000-{}", len + 10))],
            Some(&data[1000..]),
            true,
        ),
        (
            "stream",
            vec![("Range", "bytes=-100000".into())],
            Some(&data[len - 100_000..]),
            true,
        ),
        ("download", vec![], Some(&data[..]), true),
        ("stream?format=raw", vec![], Some(&data[..]), true),
        // Left to hyper: small bodies, multipart, 304, 416, HEAD-like cases.
        (
            "stream",
            vec![("Range", "bytes=100-199".into())],
            Some(&data[100..200]),
            false,
        ),
        (
            "stream",
            vec![("Range", "bytes=-500".into())],
            Some(&data[len - 500..]),
            false,
        ),
        (
            "stream",
            vec![("Range", "bytes=0-0,100000-".into())],
            None,
            false,
        ),
        ("stream", vec![("If-None-Match", etag.clone())], None, false),
        (
            "stream",
            vec![("Range", format!("bytes={len}-"))],
            None,
            false,
        ),
        (
            "stream",
            vec![
                ("If-Range", "\"other\"".into()),
                ("Range", "bytes=5-".into()),
            ],
            Some(&data[..]),
            true,
        ),
    ];
    for (route, headers, body, via_sendfile) in &cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let before = sendfile_count(&zero_copy);
        let a = zero_copy.get(&format!("/api/v1/tracks/{id_a}/{route}"), &headers);
        let after = sendfile_count(&zero_copy);
        let b = plain.get(&format!("/api/v1/tracks/{id_b}/{route}"), &headers);
        assert_eq!(a.status_line, b.status_line, "{route} {headers:?}");
        assert_eq!(
            headers_but_date(&a),
            headers_but_date(&b),
            "{route} {headers:?}"
        );
        assert!(a.header("date").is_some(), "date header");
        assert!(a.body == b.body, "{route} {headers:?}: bodies differ");
        if let Some(expected) = body {
            assert!(
                a.body == *expected,
                "{route} {headers:?}: not the file's bytes"
            );
        }
        assert_eq!(
            after - before,
            u64::from(*via_sendfile),
            "{route} {headers:?}"
        );
    }
    assert_eq!(
        sendfile_count(&plain),
        0,
        "sendfile_min_bytes = 0 turns it off"
    );
    // The access log has the sendfile responses like hyper's, with their bytes.
    let line = format!("\"GET /api/v1/tracks/{id_a}/stream HTTP/1.1\" 200 {len} ");
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read_to_string(&access)
            .is_ok_and(|t| t.contains(&line))),
        "no access-log line {line:?}"
    );
}

/// One kept-alive connection: a whole file by sendfile, then a small range (hyper's single
/// read), then a JSON API call, each answered byte for byte; then the same three requests
/// pipelined in one write, the last with `Connection: close`, after which the server closes.
#[test]
fn sendfile_keeps_the_connection_alive_for_the_next_requests() {
    let (floe, file, track) =
        library_with("tone.mp3", 12, &["-c:a", "libmp3lame", "-b:a", "128k"], "");
    let data = std::fs::read(&file).expect("read file");
    let len = data.len();
    let host = floe.addr.to_string();
    let whole = format!("GET {track}/stream HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let small =
        format!("GET {track}/stream HTTP/1.1\r\nHost: {host}\r\nRange: bytes=100-4195\r\n\r\n");
    let status =
        |close: &str| format!("GET /api/v1/status HTTP/1.1\r\nHost: {host}\r\n{close}\r\n");
    let check = |s: &mut TcpStream, before: u64| {
        let r = read_response(s);
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body == data, "whole file differs");
        let r = read_response(s);
        assert_eq!(r.status, 206, "{r:?}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes 100-4195/{len}").as_str())
        );
        assert!(r.body == data[100..4196], "range differs");
        let r = read_response(s);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["sendfile_responses"].as_u64(), Some(before + 1));
    };

    let before = sendfile_count(&floe);
    let mut s = floe.connect();
    s.write_all(whole.as_bytes()).expect("send");
    let r = read_response(&mut s);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body == data, "whole file differs");
    s.write_all(small.as_bytes()).expect("send");
    let r = read_response(&mut s);
    assert_eq!(r.status, 206, "{r:?}");
    assert!(r.body == data[100..4196], "range differs");
    s.write_all(status("").as_bytes()).expect("send");
    let r = read_response(&mut s);
    assert_eq!(r.json()["sendfile_responses"].as_u64(), Some(before + 1));
    // And once more on the same connection: hyper holds it now and answers a file itself.
    s.write_all(whole.as_bytes()).expect("send");
    let r = read_response(&mut s);
    assert!(r.body == data, "whole file through hyper differs");
    drop(s);

    // Pipelined: all three in one write.
    let before = sendfile_count(&floe);
    let mut s = floe.connect();
    let all = format!("{whole}{small}{}", status("Connection: close\r\n"));
    s.write_all(all.as_bytes()).expect("send");
    check(&mut s, before);
    assert!(
        closed_by_server_within(&mut s, Duration::from_secs(5)),
        "Connection: close honoured"
    );

    // Connection: close on the sendfile response itself.
    let mut s = floe.connect();
    let close = format!("GET {track}/stream HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(close.as_bytes()).expect("send");
    let r = read_response(&mut s);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(r.body == data, "whole file differs");
    assert!(closed_by_server_within(&mut s, Duration::from_secs(5)));
}
