//! The listener hot path.
//!
//! A listener task wakes once per `write_interval`, asks its [`ListenerSession`] for what is due
//! (shared `Bytes` slices of the mount's ring, ICY blocks interleaved) and writes it with one
//! vectored write. Nothing is copied per listener, and a listener costs one timer wake-up per
//! interval however many chunks the source sent. The response head and the burst go out in the
//! first write, right after the request is read.

use crate::access::unix_now;
use crate::edge::plain_response;
use crate::http::Peer;
use crate::{AppState, SERVER_NAME};
use bytes::{Buf, Bytes};
use floe_engine::listener::EndReason;
use floe_engine::{Fill, ListenError, ListenerInfo, ListenerSession, Mount};
use floe_proto::accesslog::AccessRecord;
use floe_proto::head::RequestHead;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::IoSlice;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Most audio handed to one write.
const FILL_BUDGET: usize = 256 * 1024;
/// Most buffers in one vectored write.
const MAX_IOV: usize = 64;

/// The request fields the listener path needs, copied out of the parsed head so that the head
/// (and its header list) is freed before streaming starts.
pub struct ListenRequest {
    head_only: bool,
    target: String,
    version: &'static str,
    icy: bool,
    user_agent: Option<String>,
    referer: Option<String>,
}

impl ListenRequest {
    /// From a head the edge parsed.
    pub fn from_head(head: &RequestHead) -> ListenRequest {
        ListenRequest {
            head_only: head.method == "HEAD",
            target: head.target.clone(),
            version: if head.version.eq_ignore_ascii_case("HTTP/1.0") {
                "HTTP/1.0"
            } else {
                "HTTP/1.1"
            },
            icy: head.header("icy-metadata").is_some_and(|v| v.trim() == "1"),
            user_agent: head.header("user-agent").map(str::to_string),
            referer: head.header("referer").map(str::to_string),
        }
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn method(&self) -> &'static str {
        if self.head_only {
            "HEAD"
        } else {
            "GET"
        }
    }
}

/// Serves a live listener on a socket the edge read the head from. Meant to be spawned as its
/// own task, so the task holds nothing but the listener's state.
pub async fn serve(
    state: AppState,
    stream: tokio::net::TcpStream,
    req: Box<ListenRequest>,
    client: IpAddr,
) {
    run(&state, stream, &req, client).await;
}

/// Serves a listener GET that arrived through hyper (on a kept-alive connection): the same
/// stream, through a pipe into hyper's response body. `None` when the path is not a mount.
pub async fn hyper_listener(
    state: &AppState,
    req: axum::extract::Request,
    peer: Peer,
) -> Option<axum::response::Response> {
    let path = req.uri().path().to_string();
    state.engine.mount(&path)?;
    let listen_req = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        ListenRequest {
            head_only: req.method() == axum::http::Method::HEAD,
            target: req
                .uri()
                .path_and_query()
                .map_or(path.clone(), |p| p.as_str().to_string()),
            version: "HTTP/1.1",
            icy: header("icy-metadata").is_some_and(|v| v.trim() == "1"),
            user_agent: header("user-agent"),
            referer: header("referer"),
        }
    };
    drop(req);
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let state2 = state.clone();
    tokio::spawn(async move {
        run(&state2, ours, &listen_req, peer.client).await;
    });
    // The pipe carries a complete HTTP/1.0 response; parse its head back out for hyper.
    let mut reader = tokio::io::BufReader::new(theirs);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        let n = tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut line)
            .await
            .ok()?;
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let status: u16 = head
        .first()?
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())?;
    let mut builder = axum::http::Response::builder().status(status);
    for line in head.iter().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("connection") {
                continue;
            }
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let body = axum::body::Body::from_stream(tokio_util_stream(reader));
    builder.body(body).ok()
}

fn tokio_util_stream<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    mut reader: R,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::poll_fn(move |cx| {
        let mut buf = [0u8; 16 * 1024];
        let mut rb = tokio::io::ReadBuf::new(&mut buf);
        match Pin::new(&mut reader).poll_read(cx, &mut rb) {
            std::task::Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                std::task::Poll::Ready(None)
            }
            std::task::Poll::Ready(Ok(())) => {
                std::task::Poll::Ready(Some(Ok(Bytes::copy_from_slice(rb.filled()))))
            }
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Some(Err(e))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    })
}

async fn run<W: AsyncWrite + Unpin>(
    state: &AppState,
    mut stream: W,
    req: &ListenRequest,
    client: IpAddr,
) {
    let started = Instant::now();
    let start_unix = unix_now();
    let log = |status: u16, bytes: u64| {
        state.access_log.record(&AccessRecord {
            client: &client.to_string(),
            user: None,
            start_unix,
            method: req.method(),
            target: &req.target,
            version: req.version,
            status,
            bytes,
            referer: req.referer.as_deref(),
            user_agent: req.user_agent.as_deref(),
            duration_secs: started.elapsed().as_secs(),
        })
    };
    if req.head_only {
        let (status, head) = match head_for(state, req.path()) {
            Some(head) => (200, head),
            None => (
                404,
                plain_response(
                    404,
                    "Not Found",
                    "The source you requested could not be found.\n",
                )
                .into(),
            ),
        };
        let _ = stream.write_all(&head).await;
        log(status, 0);
        return;
    }
    let info = ListenerInfo {
        ip: client.to_string(),
        user_agent: req.user_agent.clone(),
        icy: req.icy,
    };
    let mut session = match state.engine.add_listener(req.path(), info) {
        Ok(s) => s,
        Err(e) => {
            let (status, reason) = match e {
                ListenError::NotFound => (404, "Not Found"),
                _ => (403, "Forbidden"),
            };
            tracing::info!(%client, mount = req.path(), error = %e, "listener refused");
            let _ = stream
                .write_all(&plain_response(status, reason, &format!("{e}\n")))
                .await;
            log(status, 0);
            return;
        }
    };
    let id = session.handle().id;
    tracing::debug!(%client, mount = req.path(), id, "listener connected");
    let head = response_head(state, session.mount(), session.metaint());
    let mut out = VecDeque::with_capacity(8);
    let head_len = head.len();
    out.push_back(head);
    let outcome = pump(state, &mut stream, &mut session, out, head_len).await;
    let sent = session
        .handle()
        .bytes_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    match outcome {
        Outcome::Ended(EndReason::TooSlow) => tracing::info!(
            %client, mount = req.path(), id, "listener dropped: fallen too far behind"
        ),
        Outcome::Ended(r) => {
            tracing::debug!(%client, mount = req.path(), id, reason = r.describe(), "listener ended")
        }
        other => tracing::debug!(%client, mount = req.path(), id, reason = ?other, "listener left"),
    }
    drop(session);
    log(200, sent);
}

#[derive(Debug)]
enum Outcome {
    Ended(EndReason),
    ClientGone,
    DurationLimit,
    Shutdown,
}

/// Writes the stream until it ends, the client goes, or a limit is hit.
async fn pump<W: AsyncWrite + Unpin>(
    state: &AppState,
    stream: &mut W,
    session: &mut ListenerSession,
    mut out: VecDeque<Bytes>,
    head_len: usize,
) -> Outcome {
    let interval = state.settings.write_interval;
    let max_duration = session
        .mount()
        .policy
        .max_listener_duration
        .map(std::time::Duration::from_secs);
    let started = Instant::now();
    let mut pending: usize = out.iter().map(Bytes::len).sum();
    let mut head_left = head_len;
    // One timer for the task's life: it bounds each write and paces the loop.
    let tick = tokio::time::sleep(std::time::Duration::ZERO);
    tokio::pin!(tick);
    loop {
        match session.fill(pending.saturating_sub(head_left), &mut out, FILL_BUDGET) {
            Fill::Data(n) => pending += n,
            Fill::Idle => {}
            Fill::End(reason) => {
                // What was already due still goes out, briefly.
                if reason != EndReason::TooSlow && pending > 0 {
                    tick.as_mut().reset(tokio::time::Instant::now() + interval);
                    tokio::select! {
                        _ = write_some(stream, &mut out, &mut pending) => {}
                        () = &mut tick => {}
                    }
                }
                return Outcome::Ended(reason);
            }
        }
        tick.as_mut().reset(tokio::time::Instant::now() + interval);
        while pending > 0 {
            tokio::select! {
                biased;
                written = write_some(stream, &mut out, &mut pending) => match written {
                    Ok(n) => {
                        let audio = n.saturating_sub(head_left);
                        head_left = head_left.saturating_sub(n);
                        session.sent(audio);
                    }
                    Err(_) => return Outcome::ClientGone,
                },
                // The socket is full: check the lag, then try again.
                () = &mut tick => break,
            }
        }
        if out.is_empty() && out.capacity() > 16 {
            // The burst needed many buffers; steady state needs few.
            out.shrink_to(8);
        }
        if state.shutdown.is_triggered() {
            return Outcome::Shutdown;
        }
        if max_duration.is_some_and(|d| started.elapsed() >= d) {
            return Outcome::DurationLimit;
        }
        (&mut tick).await;
    }
}

/// One vectored write of the front of `out`; drops what was written.
async fn write_some<W: AsyncWrite + Unpin>(
    stream: &mut W,
    out: &mut VecDeque<Bytes>,
    pending: &mut usize,
) -> std::io::Result<usize> {
    let n = std::future::poll_fn(|cx| {
        // Built on each poll, so the slices never live in the task's state.
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let mut count = 0;
        for (slot, b) in iov.iter_mut().zip(out.iter()) {
            *slot = IoSlice::new(b);
            count += 1;
        }
        Pin::new(&mut *stream).poll_write_vectored(cx, &iov[..count])
    })
    .await?;
    if n == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    let mut left = n;
    while left > 0 {
        let Some(front) = out.front_mut() else { break };
        if front.len() <= left {
            left -= front.len();
            out.pop_front();
        } else {
            front.advance(left);
            left = 0;
        }
    }
    *pending -= n;
    Ok(n)
}

/// The response head a listener of the mount gets (only for HEAD: the mount or a fallback must
/// have a stream).
fn head_for(state: &AppState, path: &str) -> Option<Bytes> {
    let requested = state.engine.mount(path)?;
    let serving = if requested.is_ready() {
        requested
    } else {
        state.engine.live_fallback(&requested)?
    };
    Some(response_head(state, &serving, None))
}

/// Icecast's listener response head: the source's `ice-*` headers as `icy-*`, no
/// `Content-Length`, caching off, CORS open.
pub fn response_head(state: &AppState, mount: &Arc<Mount>, metaint: Option<usize>) -> Bytes {
    let _ = state;
    let source = mount.source();
    let p = &mount.policy;
    let src = source.as_deref();
    let content_type = src
        .map(|s| s.content_type.as_str())
        .filter(|c| !c.is_empty())
        .unwrap_or("application/octet-stream");
    let mut h = String::with_capacity(512);
    let _ = write!(
        h,
        "HTTP/1.0 200 OK\r\nServer: {SERVER_NAME}\r\nConnection: Close\r\nContent-Type: {}\r\n\
         Cache-Control: no-cache, no-store\r\nExpires: Mon, 26 Jul 1997 05:00:00 GMT\r\nPragma: no-cache\r\n\
         Access-Control-Allow-Origin: *\r\n\
         Access-Control-Expose-Headers: icy-br, icy-description, icy-genre, icy-metaint, icy-name, icy-pub, icy-url\r\n",
        clean(content_type)
    );
    let field = |own: &Option<String>, theirs: Option<&Option<String>>| -> Option<String> {
        own.clone().or_else(|| theirs.and_then(|t| t.clone()))
    };
    let bitrate = src
        .and_then(|s| s.bitrate)
        .or_else(|| Some(mount.snapshot().audio.bitrate_kbps).filter(|b| *b > 0));
    if let Some(br) = bitrate {
        let _ = write!(h, "icy-br:{br}\r\n");
    }
    for (name, value) in [
        (
            "icy-description",
            field(&p.description, src.map(|s| &s.description)),
        ),
        ("icy-genre", field(&p.genre, src.map(|s| &s.genre))),
        ("icy-name", field(&p.name, src.map(|s| &s.name))),
    ] {
        if let Some(v) = value {
            let _ = write!(h, "{name}:{}\r\n", clean(&v));
        }
    }
    if let Some(public) = src.and_then(|s| s.public) {
        let _ = write!(h, "icy-pub:{}\r\n", u8::from(public && !p.hidden));
    }
    if let Some(url) = field(&p.url, src.map(|s| &s.url)) {
        let _ = write!(h, "icy-url:{}\r\n", clean(&url));
    }
    if let Some(m) = metaint {
        let _ = write!(h, "icy-metaint:{m}\r\n");
    }
    h.push_str("\r\n");
    Bytes::from(h)
}

/// A header value with line breaks removed (a source must not inject headers).
fn clean(v: &str) -> String {
    v.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}
