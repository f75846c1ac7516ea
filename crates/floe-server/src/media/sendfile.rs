//! The edge's zero-copy answer to a plain GET of a library track's file.
//!
//! A `GET /api/v1/tracks/{id}/stream` (with no transcode asked) or `/download` whose answer is
//! a 200 or a single-range 206 with a body of at least `[limits] sendfile_min_bytes` is answered
//! by the edge itself: the head that [`super::file::decide`] builds for hyper's path too (plus
//! the `Server`, CORS and `Date` headers every hyper response gets), then the body with
//! `sendfile(2)` from the file to the socket, driven by the socket's write readiness. Anything
//! else (HEAD, HTTP/1.0, a request body, an upgrade, 304/412/416, multipart, a small body, an
//! unknown track, a transcode) is left to hyper, which answers it as before.
//!
//! Cancel safety: dropping [`try_serve`] mid-body leaves the connection with a partial response;
//! the edge then drops the connection.

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use floe_proto::accesslog::AccessRecord;
use floe_proto::head::RequestHead;
use floe_proto::query::Query;
use floe_proto::range::{format_http_date, parse_range, RangeSpec};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::file::{decide, open_file, RequestHeaders};
use super::transcode::{SourceTrack, TranscodeParams};
use crate::access::unix_now;
use crate::AppState;

/// Default of `[limits] sendfile_min_bytes`: bodies below it are one positioned read through
/// hyper, as cheap as a `sendfile` call.
pub const DEFAULT_SENDFILE_MIN_BYTES: u64 = 64 * 1024;

/// The most one `sendfile` call is asked to send, so one large body does not hold a worker
/// thread while other connections wait.
const SENDFILE_STEP: usize = 1024 * 1024;

/// How many responses went out through `sendfile(2)` (shown in `/api/v1/status`).
#[derive(Debug, Default)]
pub struct SendfileCounters {
    /// Responses whose body was sent with `sendfile(2)` (complete or not).
    pub responses: AtomicU64,
    /// Body bytes sent with `sendfile(2)`.
    pub bytes: AtomicU64,
}

/// What [`try_serve`] did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Not a request for this path: hand it to hyper.
    NotTaken,
    /// Answered completely; the connection may carry the next request.
    KeepAlive,
    /// Answered (or the client left, or the file failed mid-body): close the connection.
    Close,
}

/// Which route a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackRoute {
    Stream,
    Download,
}

/// The track id and route of `/api/v1/tracks/{id}/stream|download`, if the path is exactly that
/// with a numeric id (anything else goes to hyper's router).
fn track_route(path: &str) -> Option<(i64, TrackRoute)> {
    let rest = path.strip_prefix("/api/v1/tracks/")?;
    let (id, tail) = rest.split_once('/')?;
    let route = match tail {
        "stream" => TrackRoute::Stream,
        "download" => TrackRoute::Download,
        _ => return None,
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((id.parse().ok()?, route))
}

/// True when the request may be answered here at all (before any lookup).
fn eligible(head: &RequestHead, min_bytes: u64, limits: floe_proto::range::RangeLimits) -> bool {
    if min_bytes == 0 || head.method != "GET" || head.version != "HTTP/1.1" {
        return false;
    }
    let has_body = head
        .header("content-length")
        .is_some_and(|v| v.trim() != "0")
        || head.header("transfer-encoding").is_some();
    if has_body || head.header("upgrade").is_some() || head.header("expect").is_some() {
        return false;
    }
    // A player's small range (`bytes=a-b`) is left to hyper's single positioned read without
    // looking anything up twice.
    if let Some(specs) = head.header("range").and_then(|r| parse_range(r, limits)) {
        if let [RangeSpec::FromTo(a, b)] = specs.as_slice() {
            if b.saturating_sub(*a).saturating_add(1) < min_bytes {
                return false;
            }
        }
    }
    true
}

/// True when the request asks to close the connection after the response.
fn wants_close(head: &RequestHead) -> bool {
    head.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

/// Answers `head` on `stream` if it is a plain GET of a track's file with a large body.
///
/// `client` is the address the access log shows. Returns [`Served::NotTaken`] without writing
/// anything when hyper should answer.
pub async fn try_serve(
    state: &AppState,
    stream: &mut TcpStream,
    head: &RequestHead,
    client: IpAddr,
) -> Served {
    let media = &state.media;
    let min_bytes = media.settings.sendfile_min_bytes;
    let limits = media.settings.limits.limits();
    let Some((id, route)) = track_route(head.path()) else {
        return Served::NotTaken;
    };
    if !eligible(head, min_bytes, limits) {
        return Served::NotTaken;
    }
    let started = Instant::now();
    let start_unix = unix_now();
    let Ok(track) = super::tracks::find_track(state, &id.to_string()).await else {
        return Served::NotTaken;
    };
    let mut options = media.file_options();
    match route {
        TrackRoute::Download => {
            options.attachment = Some(super::tracks::attachment_name(&track, &id.to_string()));
        }
        TrackRoute::Stream => {
            let source = SourceTrack {
                id: track.id.to_string(),
                path: track.path.clone(),
                bitrate_kbps: track.bitrate_kbps,
                suffix: Some(track.suffix.clone()),
            };
            let query = Query::parse(head.query().unwrap_or(""));
            if !matches!(
                TranscodeParams::from_query(&query, media.transcodes.settings(), &source),
                Ok(None)
            ) {
                return Served::NotTaken;
            }
        }
    }
    let Ok((file, meta)) = open_file(&track.path) else {
        return Served::NotTaken;
    };
    let decided = decide(
        &meta,
        &RequestHeaders::of_head(head),
        &track.content_type,
        &options,
    );
    let Some(range) = decided.single_range() else {
        return Served::NotTaken;
    };
    if decided.length < min_bytes {
        return Served::NotTaken;
    }
    let close = wants_close(head);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        decided.status.as_u16(),
        decided.status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &decided.headers {
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("access-control-allow-origin: *\r\nserver: ");
    out.push_str(crate::SERVER_NAME);
    if close {
        out.push_str("\r\nconnection: close");
    }
    out.push_str("\r\ndate: ");
    out.push_str(&format_http_date(start_unix.max(0) as u64));
    out.push_str("\r\n\r\n");
    media.sendfile.responses.fetch_add(1, Ordering::Relaxed);
    let sent = match stream.write_all(out.as_bytes()).await {
        Ok(()) => send_range(stream, &file, range.start, range.len()).await,
        Err(_) => Err((0, io::ErrorKind::BrokenPipe.into())),
    };
    let (bytes, outcome) = match sent {
        Ok(n) => (
            n,
            if close {
                Served::Close
            } else {
                Served::KeepAlive
            },
        ),
        Err((n, e)) => {
            tracing::debug!(path = %track.path.display(), error = %e, "sendfile body ended early");
            (n, Served::Close)
        }
    };
    media.sendfile.bytes.fetch_add(bytes, Ordering::Relaxed);
    let user = head
        .header("authorization")
        .and_then(floe_proto::auth::parse_basic)
        .map(|(user, _)| user);
    state.access_log.record(&AccessRecord {
        client: &client.to_string(),
        user: user.as_deref(),
        start_unix,
        method: &head.method,
        target: &crate::http::redact_target(&head.target),
        version: &head.version,
        status: decided.status.as_u16(),
        bytes,
        referer: head.header("referer"),
        user_agent: head.header("user-agent"),
        duration_secs: started.elapsed().as_secs(),
    });
    outcome
}

/// Sends `len` bytes of `file` from `offset` with `sendfile(2)`, waiting for write readiness
/// whenever the socket buffer is full. Returns the bytes sent, with the error when the client
/// left or the file ended early.
async fn send_range(
    stream: &TcpStream,
    file: &File,
    offset: u64,
    len: u64,
) -> Result<u64, (u64, io::Error)> {
    let start = offset;
    let end = offset + len;
    let mut at = i64::try_from(offset).map_err(|_| (0, io::ErrorKind::InvalidInput.into()))?;
    loop {
        let done = at as u64 - start;
        if done >= len {
            return Ok(done);
        }
        if let Err(e) = stream.writable().await {
            return Err((done, e));
        }
        let count = (end - at as u64).min(SENDFILE_STEP as u64) as usize;
        let result = stream.try_io(Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile(stream, file, Some(&mut at), count)
                .map_err(io::Error::from)
        });
        match result {
            Ok(0) => {
                // The file is shorter than its size said (truncated while being sent).
                return Err((done, io::ErrorKind::UnexpectedEof.into()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((at as u64 - start, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_proto::range::RangeLimits;

    fn head(raw: &str) -> RequestHead {
        floe_proto::head::parse_head(raw.as_bytes(), 8192)
            .expect("valid")
            .expect("complete")
            .0
    }

    #[test]
    fn only_exact_track_paths_with_numeric_ids() {
        assert_eq!(
            track_route("/api/v1/tracks/12/stream"),
            Some((12, TrackRoute::Stream))
        );
        assert_eq!(
            track_route("/api/v1/tracks/7/download"),
            Some((7, TrackRoute::Download))
        );
        assert_eq!(track_route("/api/v1/tracks/12/stream/"), None);
        assert_eq!(track_route("/api/v1/tracks/x1/stream"), None);
        assert_eq!(track_route("/api/v1/tracks//stream"), None);
        assert_eq!(track_route("/api/v1/tracks/12"), None);
        assert_eq!(
            track_route("/api/v1/tracks/99999999999999999999/stream"),
            None
        );
    }

    #[test]
    fn only_plain_http11_gets_without_small_ranges() {
        let limits = RangeLimits::default();
        let ok = |raw: &str| eligible(&head(raw), 65_536, limits);
        assert!(ok("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(ok("GET /a HTTP/1.1\r\nRange: bytes=0-\r\n\r\n"));
        assert!(ok("GET /a HTTP/1.1\r\nRange: bytes=0-65535\r\n\r\n"));
        assert!(!ok("GET /a HTTP/1.1\r\nRange: bytes=0-65534\r\n\r\n"));
        assert!(!ok("HEAD /a HTTP/1.1\r\n\r\n"));
        assert!(!ok("GET /a HTTP/1.0\r\n\r\n"));
        assert!(!ok("GET /a HTTP/1.1\r\nContent-Length: 3\r\n\r\n"));
        assert!(!ok("GET /a HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"));
        assert!(!eligible(
            &head("GET /a HTTP/1.1\r\n\r\n"),
            0,
            RangeLimits::default()
        ));
    }

    #[test]
    fn connection_close_is_seen_in_any_token() {
        assert!(wants_close(&head(
            "GET /a HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n"
        )));
        assert!(!wants_close(&head(
            "GET /a HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"
        )));
    }
}
