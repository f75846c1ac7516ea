//! Source clients: the encoders that push a live stream.
//!
//! - `PUT /mount` (Icecast 2.4+, ffmpeg): with or without `Expect: 100-continue`; the body is the
//!   audio until the connection closes, or chunked.
//! - `SOURCE /mount` (libshout, liquidsoap, ices, DarkIce): the same, legacy method.
//! - libshout's probe: an unauthenticated `SOURCE` with `Content-Length: 0` and keep-alive gets
//!   `401` with `WWW-Authenticate` and an `Allow` that includes PUT, on a connection it may reuse.
//! - SHOUTcast v1 on port + 1: a password line, `OK2`, `icy-*` lines, then audio.

use crate::edge::{is_reserved_path, plain_response};
use crate::{auth, AppState, SERVER_NAME};
use bytes::{Buf, BytesMut};
use floe_engine::{SourceError, SourceInfo, SourceSession};
use floe_proto::chunked::ChunkedDecoder;
use floe_proto::frame::{AudioInfo, Framer};
use floe_proto::head::RequestHead;
use floe_proto::shoutcast;
use std::net::IpAddr;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes a framer may hold while looking for a frame boundary.
const MAX_FRAMER_BUFFER: usize = 256 * 1024;
/// Corruption in a source's stream is logged at most this often.
const CORRUPTION_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Read size for source sockets.
const READ_CHUNK: usize = 16 * 1024;

const ALLOW: &str = "GET, HEAD, OPTIONS, PUT, SOURCE";

fn unauthorized(keep_alive: bool) -> Vec<u8> {
    let body = "Authentication required\n";
    format!(
        "HTTP/1.0 401 Authentication Required\r\nServer: {SERVER_NAME}\r\n\
         WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\nAllow: {ALLOW}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{body}",
        body.len(),
        if keep_alive { "Keep-Alive" } else { "close" }
    )
    .into_bytes()
}

fn forbidden(message: &str) -> Vec<u8> {
    plain_response(403, "Forbidden", &format!("{message}\n"))
}

/// What a source's request head says about its stream.
pub fn source_info(head_value: impl Fn(&str) -> Option<String>, ip: IpAddr) -> SourceInfo {
    let either = |a: &str, b: &str| head_value(a).or_else(|| head_value(b));
    let audio_info = either("ice-audio-info", "icy-audio-info");
    let bitrate = either("ice-bitrate", "icy-br")
        .and_then(|b| b.trim().parse().ok())
        .or_else(|| {
            audio_info.as_deref().and_then(|ai| {
                ai.split([';', '&']).find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    let k = k.trim();
                    (k.eq_ignore_ascii_case("bitrate") || k.eq_ignore_ascii_case("ice-bitrate"))
                        .then(|| v.trim().parse().ok())
                        .flatten()
                })
            })
        });
    let public = either("ice-public", "icy-pub").map(|v| {
        let v = v.trim();
        v == "1" || v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("true")
    });
    SourceInfo {
        content_type: head_value("content-type").unwrap_or_default(),
        name: either("ice-name", "icy-name"),
        description: either("ice-description", "icy-description"),
        genre: either("ice-genre", "icy-genre"),
        url: either("ice-url", "icy-url"),
        public,
        bitrate,
        audio_info,
        user_agent: head_value("user-agent"),
        ip: ip.to_string(),
    }
}

/// Handles a PUT or SOURCE request. Returns the socket when the request was an authentication
/// probe on a kept-alive connection, so the edge reads the next request from it.
pub async fn http_source(
    state: &AppState,
    mut stream: TcpStream,
    head: RequestHead,
    leftover: BytesMut,
    client: IpAddr,
) -> Option<(TcpStream, BytesMut)> {
    let path = head.path().to_string();
    let policy = state.engine.policy(&path);
    let creds = &state.settings.credentials;
    let keep_alive = head
        .header("connection")
        .is_some_and(|v| v.to_ascii_lowercase().contains("keep-alive"));
    let empty_body = head.header("content-length").map(str::trim) == Some("0");
    if !auth::is_source(creds, &policy, head.header("authorization")) {
        if head.header("authorization").is_some() {
            tracing::warn!(%client, mount = %path, "source refused: wrong credentials");
        } else {
            tracing::debug!(%client, mount = %path, "source probe without credentials");
        }
        let reuse = keep_alive && empty_body;
        stream.write_all(&unauthorized(reuse)).await.ok()?;
        return reuse.then_some((stream, leftover));
    }
    if is_reserved_path(&path) {
        let _ = stream.write_all(&forbidden("Invalid mountpoint")).await;
        return None;
    }
    let Some(content_type) = head.header("content-type").filter(|c| !c.trim().is_empty()) else {
        tracing::warn!(%client, mount = %path, "source refused: no Content-Type");
        let _ = stream.write_all(&forbidden("No Content-type given")).await;
        return None;
    };
    let _ = content_type;
    let info = source_info(|name| head.header(name).map(str::to_string), client);
    let mut session = match state.engine.open_source(&path, info) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%client, mount = %path, error = %e, "source refused");
            let reply = match e {
                SourceError::MountInUse | SourceError::TooManySources | SourceError::NotAllowed => {
                    forbidden(&e.to_string())
                }
                _ => forbidden(&e.to_string()),
            };
            let _ = stream.write_all(&reply).await;
            return None;
        }
    };
    let expect_continue = head
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let mut reply = Vec::with_capacity(64);
    if expect_continue {
        reply.extend_from_slice(b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n");
    }
    reply.extend_from_slice(b"HTTP/1.0 200 OK\r\n\r\n");
    if stream.write_all(&reply).await.is_err() {
        return None;
    }
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let limit = if head.method == "PUT" && !chunked {
        head.header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    } else {
        None
    };
    tracing::info!(
        %client,
        mount = %path,
        method = %head.method,
        content_type = %head.header("content-type").unwrap_or(""),
        agent = head.header("user-agent").unwrap_or("-"),
        "source connected"
    );
    let body = BodyReader {
        chunked: chunked.then(ChunkedDecoder::new),
        remaining: limit,
    };
    feed(state, &mut stream, &mut session, leftover, body, client).await;
    None
}

/// How the request body is delimited.
struct BodyReader {
    chunked: Option<ChunkedDecoder>,
    remaining: Option<u64>,
}

enum Stop {
    Closed,
    Error(std::io::Error),
    Timeout,
    Killed,
    Shutdown,
    BodyEnd,
    BadChunk,
}

/// Reads audio from the source until it ends, feeding the mount.
async fn feed<R: AsyncRead + Unpin>(
    state: &AppState,
    stream: &mut R,
    session: &mut SourceSession,
    mut buf: BytesMut,
    mut body: BodyReader,
    client: IpAddr,
) {
    let started = Instant::now();
    // Titles set through the admin reach Ogg Opus/Vorbis players as new chains.
    session.write_titles_into_ogg();
    let mut framer = Framer::new(session.format(), MAX_FRAMER_BUFFER);
    let mut decoded = Vec::new();
    let mut total: u64 = buf.len() as u64;
    let mut info = AudioInfo::default();
    let mut units = Vec::new();
    let mut reported_skips = 0u64;
    let mut last_report: Option<Instant> = None;
    let stop = loop {
        // Take what the buffer holds.
        let mut ended = false;
        if let Some(dec) = body.chunked.as_mut() {
            decoded.clear();
            match dec.decode(&buf, &mut decoded) {
                Ok(used) => buf.advance(used),
                Err(_) => break Stop::BadChunk,
            }
            framer.push(&decoded);
            ended = dec.is_done();
        } else {
            let take = match body.remaining {
                Some(r) => (r.min(buf.len() as u64)) as usize,
                None => buf.len(),
            };
            framer.push(&buf[..take]);
            buf.advance(take);
            if let Some(r) = body.remaining.as_mut() {
                *r -= take as u64;
                ended = *r == 0;
            }
        }
        while let Some(u) = framer.next_unit() {
            units.push(u);
        }
        if !units.is_empty() {
            session.push_units(units.drain(..));
        }
        let stats = framer.stats();
        let corrupt = stats.skipped_bytes - stats.tag_bytes;
        if corrupt > reported_skips
            && last_report.is_none_or(|t| t.elapsed() >= CORRUPTION_REPORT_EVERY)
        {
            tracing::warn!(
                %client,
                mount = %session.mount().path,
                skipped_bytes = corrupt - reported_skips,
                resyncs = stats.resyncs,
                "source sent bytes that are not {:?} frames; skipped them and resynced",
                session.format()
            );
            reported_skips = corrupt;
            last_report = Some(Instant::now());
        }
        let now = framer.audio_info();
        if now != info {
            info = now;
            session.set_audio_info(info);
        }
        if ended {
            break Stop::BodyEnd;
        }
        buf.reserve(READ_CHUNK);
        tokio::select! {
            read = tokio::time::timeout(state.settings.source_timeout, stream.read_buf(&mut buf)) => match read {
                Ok(Ok(0)) => break Stop::Closed,
                Ok(Ok(n)) => total += n as u64,
                Ok(Err(e)) => break Stop::Error(e),
                Err(_) => break Stop::Timeout,
            },
            _ = session.killed() => break Stop::Killed,
            _ = state.shutdown.wait() => break Stop::Shutdown,
        }
    };
    if let Some(u) = framer.finish() {
        session.push_units([u]);
    }
    let stats = framer.stats();
    let why = match &stop {
        Stop::Closed => "source closed the connection".to_string(),
        Stop::Error(e) => format!("read error: {e}"),
        Stop::Timeout => format!(
            "no data for {} s (source timeout)",
            state.settings.source_timeout.as_secs()
        ),
        Stop::Killed => "killed by admin".to_string(),
        Stop::Shutdown => "server shutting down".to_string(),
        Stop::BodyEnd => "end of request body".to_string(),
        Stop::BadChunk => "malformed chunked body".to_string(),
    };
    tracing::info!(
        %client,
        mount = %session.mount().path,
        bytes = total,
        secs = started.elapsed().as_secs(),
        skipped_bytes = stats.skipped_bytes,
        resyncs = stats.resyncs,
        "source disconnected: {why}"
    );
    if stats.skipped_bytes > stats.tag_bytes {
        tracing::warn!(
            mount = %session.mount().path,
            skipped_bytes = stats.skipped_bytes - stats.tag_bytes,
            resyncs = stats.resyncs,
            "source stream had corrupt or non-audio bytes in all; they were skipped"
        );
    }
}

/// Handles a SHOUTcast v1 source on the port after the HTTP one.
pub async fn shoutcast_source(state: &AppState, mut stream: TcpStream, client: IpAddr) {
    let Some(sc) = state.settings.shoutcast.clone() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let limit = state.settings.max_header_size;
    let deadline = tokio::time::Instant::now() + state.settings.header_timeout;
    let mut buf = BytesMut::with_capacity(1024);
    // The password line.
    let password = loop {
        match shoutcast::parse_password(&buf, limit) {
            Ok(Some((pw, used))) => {
                buf.advance(used);
                break pw;
            }
            Ok(None) => {}
            Err(()) => return,
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    };
    let policy = state.engine.policy(&sc.mount);
    let (_, want) = auth::source_credentials(&state.settings.credentials, &policy);
    // Some encoders send `user:password`.
    let given = password
        .split_once(':')
        .filter(|(_, p)| !p.is_empty() && password != want)
        .map_or(password.as_str(), |(_, p)| p);
    if !floe_proto::auth::constant_time_eq(given.as_bytes(), want.as_bytes()) {
        tracing::warn!(%client, mount = %sc.mount, "SHOUTcast source refused: wrong password");
        let _ = stream.write_all(shoutcast::BAD_PASSWORD_REPLY).await;
        return;
    }
    if stream.write_all(shoutcast::OK_REPLY).await.is_err() {
        return;
    }
    let headers = loop {
        match shoutcast::parse_headers(&buf, limit) {
            Ok(Some((h, used))) => {
                buf.advance(used);
                break h;
            }
            Ok(None) => {}
            Err(()) => return,
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    };
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut info = source_info(value, client);
    if info.content_type.is_empty() {
        info.content_type = "audio/mpeg".into();
    }
    let mut session = match state.engine.open_source(&sc.mount, info) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%client, mount = %sc.mount, error = %e, "SHOUTcast source refused");
            let _ = stream.write_all(format!("{e}\r\n").as_bytes()).await;
            return;
        }
    };
    tracing::info!(%client, mount = %sc.mount, "SHOUTcast source connected");
    let body = BodyReader {
        chunked: None,
        remaining: None,
    };
    feed(state, &mut stream, &mut session, buf, body, client).await;
}
