//! The listener hot path.
//!
//! A listener task wakes once per `write_interval`, asks its [`ListenerSession`] for what is due
//! (shared `Bytes` slices of the mount's ring, ICY blocks interleaved) and writes it with one
//! vectored write. Nothing is copied per listener, and a listener costs one timer wake-up per
//! interval however many chunks the source sent. The response head and the burst go out in the
//! first write, right after the request is read.

use crate::access::unix_now;
use crate::edge::plain_response;
use crate::edge::ConnGuard;
use crate::http::Peer;
use crate::{AppState, SERVER_NAME};
use bytes::{Buf, Bytes};
use floe_engine::listener::EndReason;
use floe_engine::{Fill, ListenError, ListenerInfo, ListenerSession, Mount};
use floe_proto::accesslog::AccessRecord;
use floe_proto::head::RequestHead;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::io::IoSlice;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
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

/// Starts serving a live listener on a socket the edge read the head from, as a task of its
/// own whose state is just the listener's ([`Listening`]). `guard` is dropped when it ends.
pub fn spawn<W: AsyncWrite + Unpin + Send + 'static>(
    state: &AppState,
    stream: W,
    req: Box<ListenRequest>,
    client: IpAddr,
    guard: Option<ConnGuard>,
) {
    let started = Instant::now();
    let start_unix = unix_now();
    let refusal = if req.head_only {
        match head_for(state, req.path()) {
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
        }
    } else {
        let info = ListenerInfo {
            ip: client.to_string(),
            user_agent: req.user_agent.clone(),
            icy: req.icy,
        };
        match state.engine.add_listener(req.path(), info) {
            Ok(session) => {
                let id = session.handle().id;
                tracing::debug!(%client, mount = req.path(), id, "listener connected");
                let head = response_head(state, session.mount(), session.metaint());
                tokio::spawn(Listening {
                    pump: Pump::new(state, stream, session, head),
                    log: Log {
                        state: state.clone(),
                        req,
                        client,
                        started,
                        start_unix,
                    },
                    _guard: guard,
                });
                return;
            }
            Err(e) => {
                let (status, reason) = match e {
                    ListenError::NotFound => (404, "Not Found"),
                    _ => (403, "Forbidden"),
                };
                tracing::info!(%client, mount = req.path(), error = %e, "listener refused");
                (
                    status,
                    plain_response(status, reason, &format!("{e}\n")).into(),
                )
            }
        }
    };
    let log = Log {
        state: state.clone(),
        req,
        client,
        started,
        start_unix,
    };
    let mut stream = stream;
    tokio::spawn(async move {
        let (status, reply): (u16, Bytes) = refusal;
        let _ = stream.write_all(&reply).await;
        log.write(status, 0);
        drop(guard);
    });
}

/// The size of a socket listener's task state, for the test that keeps it small.
#[cfg(test)]
pub(crate) fn listening_task_size() -> usize {
    std::mem::size_of::<Listening<tokio::net::TcpStream>>()
}

/// What the access-log line of a listener needs.
struct Log {
    state: AppState,
    req: Box<ListenRequest>,
    client: IpAddr,
    started: Instant,
    start_unix: i64,
}

impl Log {
    fn write(&self, status: u16, bytes: u64) {
        let req = &self.req;
        self.state.access_log.record(&AccessRecord {
            client: &self.client.to_string(),
            user: None,
            start_unix: self.start_unix,
            method: req.method(),
            target: &req.target,
            version: req.version,
            status,
            bytes,
            referer: req.referer.as_deref(),
            user_agent: req.user_agent.as_deref(),
            duration_secs: self.started.elapsed().as_secs(),
        });
    }
}

/// A listener's whole task: the pump, then the log line.
struct Listening<W> {
    pump: Pump<W>,
    log: Log,
    _guard: Option<ConnGuard>,
}

impl<W: AsyncWrite + Unpin> Future for Listening<W> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Poll::Ready((outcome, session)) = Pin::new(&mut this.pump).poll(cx) else {
            return Poll::Pending;
        };
        let id = session.handle().id;
        let sent = session
            .handle()
            .bytes_sent
            .load(std::sync::atomic::Ordering::Relaxed);
        let (client, mount) = (this.log.client, this.log.req.path());
        match outcome {
            Outcome::Ended(EndReason::TooSlow) => {
                tracing::info!(%client, mount, id, "listener dropped: fallen too far behind")
            }
            Outcome::Ended(r) => {
                tracing::debug!(%client, mount, id, reason = r.describe(), "listener ended")
            }
            other => tracing::debug!(%client, mount, id, reason = ?other, "listener left"),
        }
        drop(session);
        this.log.write(200, sent);
        Poll::Ready(())
    }
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
    spawn(state, ours, Box::new(listen_req), peer.client, None);
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

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ended(EndReason),
    ClientGone,
    DurationLimit,
    Shutdown,
}

/// Writes a listener's stream until it ends, the client goes, or a limit is hit.
///
/// A hand-written future rather than an `async fn`: its state is exactly these fields (a few
/// hundred bytes), which is most of what a listener costs. Each tick of `interval` it fills
/// `out` from the session and writes what the socket takes; a full socket is retried at the
/// next tick, after the session has checked the listener's lag.
struct Pump<W> {
    stream: W,
    session: Option<ListenerSession>,
    out: VecDeque<Bytes>,
    pending: usize,
    head_left: usize,
    tick: Pin<Box<tokio::time::Sleep>>,
    interval: std::time::Duration,
    /// The listener's id, which picks its phase of the tick grid.
    id: u64,
    ends_at: Option<tokio::time::Instant>,
    shutdown: crate::Shutdown,
}

impl<W: AsyncWrite + Unpin> Pump<W> {
    fn new(state: &AppState, stream: W, mut session: ListenerSession, head: Bytes) -> Self {
        let now = tokio::time::Instant::now();
        let ends_at = session
            .mount()
            .policy
            .max_listener_duration
            .map(|secs| now + std::time::Duration::from_secs(secs));
        let head_left = head.len();
        let id = session.handle().id;
        let mut out = VecDeque::with_capacity(8);
        out.push_back(head);
        // The burst goes out with the head, in the first write.
        let pending = match session.fill(0, &mut out, FILL_BUDGET) {
            Fill::Data(n) => head_left + n,
            _ => head_left,
        };
        Pump {
            stream,
            session: Some(session),
            out,
            pending,
            head_left,
            tick: Box::pin(tokio::time::sleep_until(
                now + state.settings.write_interval,
            )),
            interval: state.settings.write_interval,
            id,
            ends_at,
            shutdown: state.shutdown.clone(),
        }
    }

    /// Writes until the socket would block. `Err` when the client is gone.
    fn write_ready(&mut self, cx: &mut Context<'_>) -> Result<(), ()> {
        while self.pending > 0 {
            let polled = {
                // Built on each poll, so the slices never live in the task's state.
                let mut iov = [IoSlice::new(&[]); MAX_IOV];
                let mut count = 0;
                for (slot, b) in iov.iter_mut().zip(self.out.iter()) {
                    *slot = IoSlice::new(b);
                    count += 1;
                }
                Pin::new(&mut self.stream).poll_write_vectored(cx, &iov[..count])
            };
            match polled {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Err(()),
                Poll::Ready(Ok(n)) => {
                    self.advance(n);
                    let audio = n.saturating_sub(self.head_left);
                    self.head_left = self.head_left.saturating_sub(n);
                    if let Some(session) = &self.session {
                        session.sent(audio);
                    }
                }
                Poll::Pending => break,
            }
        }
        if self.out.is_empty() && self.out.capacity() > 16 {
            // The burst needed many buffers; steady state needs few.
            self.out.shrink_to(8);
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) {
        let mut left = n;
        while left > 0 {
            let Some(front) = self.out.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                self.out.pop_front();
            } else {
                front.advance(left);
                left = 0;
            }
        }
        self.pending -= n;
    }

    fn finish(&mut self, outcome: Outcome) -> Poll<(Outcome, ListenerSession)> {
        match self.session.take() {
            Some(session) => Poll::Ready((outcome, session)),
            // Polled again after completion: never resolves twice.
            None => Poll::Pending,
        }
    }
}

/// Listeners are spread over this many phases of the write interval.
const TICK_PHASES: u64 = 8;

/// The next tick after `now` on a grid shared by every listener: the interval is cut into
/// [`TICK_PHASES`] phases and listener `id` wakes in phase `id % TICK_PHASES`. Listeners of a
/// phase wake together, so a worker writes to a thousand sockets per wake-up instead of waking
/// for each; the phases keep any one batch short, so a new listener's first byte never waits
/// behind all the others' writes.
fn next_tick(
    now: tokio::time::Instant,
    interval: std::time::Duration,
    id: u64,
) -> tokio::time::Instant {
    static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let step = u64::try_from(interval.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let phase = step / TICK_PHASES * (id % TICK_PHASES);
    let since = u64::try_from(now.saturating_duration_since(epoch).as_micros()).unwrap_or(0);
    let next = (since.saturating_sub(phase) / step + 1) * step + phase;
    epoch + std::time::Duration::from_micros(next)
}

impl<W: AsyncWrite + Unpin> Future for Pump<W> {
    type Output = (Outcome, ListenerSession);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            if this.write_ready(cx).is_err() {
                return this.finish(Outcome::ClientGone);
            }
            if this.tick.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = tokio::time::Instant::now();
            if this.shutdown.is_triggered() {
                return this.finish(Outcome::Shutdown);
            }
            if this.ends_at.is_some_and(|end| now >= end) {
                return this.finish(Outcome::DurationLimit);
            }
            this.tick
                .as_mut()
                .reset(next_tick(now, this.interval, this.id));
            let lag = this.pending.saturating_sub(this.head_left);
            let Some(session) = this.session.as_mut() else {
                return Poll::Pending;
            };
            match session.fill(lag, &mut this.out, FILL_BUDGET) {
                Fill::Data(n) => this.pending += n,
                Fill::Idle => {}
                Fill::End(reason) => {
                    // What was already due still goes out, as far as the socket takes it now.
                    if reason != EndReason::TooSlow {
                        let _ = this.write_ready(cx);
                    }
                    return this.finish(Outcome::Ended(reason));
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::next_tick;
    use std::time::Duration;

    #[tokio::test]
    async fn ticks_fall_on_one_grid_for_every_listener() {
        let interval = Duration::from_millis(800);
        let base = next_tick(tokio::time::Instant::now(), interval, 0);
        for offset_ms in [0u64, 1, 250, 799] {
            let t = next_tick(base + Duration::from_millis(offset_ms), interval, 0);
            assert_eq!(t, base + interval, "offset {offset_ms} ms");
        }
        assert_eq!(next_tick(base + interval, interval, 0), base + interval * 2);
        // Listener 3 wakes 3/8 of an interval after listener 0, on its own grid.
        let phase = Duration::from_millis(300);
        assert_eq!(next_tick(base, interval, 3), base + phase);
        assert_eq!(
            next_tick(base + phase, interval, 3),
            base + phase + interval
        );
        assert_eq!(next_tick(base, interval, 11), base + phase);
    }
}
