//! The accept loop and request routing.
//!
//! Icecast source clients send PUT/SOURCE with no `Content-Length`: the body is the audio until
//! the connection closes. A standard HTTP server would read an empty body and then parse audio as
//! the next request, so the edge reads each request head itself ([`floe_proto::head`]) and:
//! - takes sources over as raw sockets ([`crate::ingest`]);
//! - streams live listeners directly ([`crate::listen`]), the hot path;
//! - answers `OPTIONS *` (libshout's TLS probe) itself;
//! - sends large library file bodies with `sendfile(2)` ([`crate::media::sendfile`]), then
//!   reads the next request on the connection itself;
//! - hands everything else to hyper with the bytes it already read ([`Rewind`]).

use crate::access::client_ip;
use crate::http::Peer;
use crate::media::sendfile::{self, Served};
use crate::{ingest, listen, AppState};
use bytes::{Buf, Bytes, BytesMut};
use floe_proto::head::{parse_head, HeadError, RequestHead};
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Pending connections the kernel may queue (capped by `net.core.somaxconn`).
const LISTEN_BACKLOG: i32 = 8192;

/// Binds a listening socket with a deep backlog, so a storm of connections waits in the kernel
/// instead of retrying SYNs.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Runs the server on already-bound sockets until `shutdown` resolves, then stops accepting,
/// tells every connection to finish, and waits up to the grace period for them.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shoutcast: Option<TcpListener>,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let router = crate::http::router(state.clone());
    let open = Arc::new(AtomicUsize::new(0));
    let ticker = crate::http::spawn_listener_count_ticker(state.engine.clone());
    if let Some(sc) = shoutcast {
        let state = state.clone();
        let open = open.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = sc.accept() => match accepted {
                        Ok((stream, remote)) => {
                            let state = state.clone();
                            let guard = ConnGuard::new(&open);
                            tokio::spawn(async move {
                                ingest::shoutcast_source(&state, stream, remote.ip()).await;
                                drop(guard);
                            });
                        }
                        Err(e) => accept_error(e).await,
                    },
                    _ = state.shutdown.wait() => break,
                }
            }
        });
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let state = state.clone();
                    let router = router.clone();
                    let guard = ConnGuard::new(&open);
                    tokio::spawn(handle(state, router, stream, remote, guard));
                }
                Err(e) => accept_error(e).await,
            },
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    ticker.abort();
    tracing::info!(
        connections = open.load(Ordering::Relaxed),
        "shutting down: closing sources and listeners"
    );
    state.shutdown.trigger();
    let deadline = tokio::time::Instant::now() + state.settings.shutdown_grace;
    while open.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Binds the configured addresses and runs until `shutdown` resolves.
pub async fn run(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let listener = bind(state.settings.listen)?;
    let shoutcast = match &state.settings.shoutcast {
        Some(_) => {
            let mut addr = state.settings.listen;
            addr.set_port(addr.port().wrapping_add(1));
            Some(bind(addr)?)
        }
        None => None,
    };
    serve(state, listener, shoutcast, shutdown).await
}

async fn accept_error(e: io::Error) {
    // EMFILE and friends: back off instead of spinning.
    tracing::warn!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Counts an open connection until dropped (shutdown waits for the count to reach zero).
pub struct ConnGuard(Arc<AtomicUsize>);

impl ConnGuard {
    fn new(open: &Arc<AtomicUsize>) -> ConnGuard {
        open.fetch_add(1, Ordering::Relaxed);
        ConnGuard(open.clone())
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a head could not be read.
enum ReadHeadError {
    Closed,
    Io,
    Timeout,
    Bad(HeadError),
}

/// Reads until `buf` holds a complete head. Returns it and its length in `buf`.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    limit: usize,
    timeout: Duration,
) -> Result<(RequestHead, usize), ReadHeadError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match parse_head(buf, limit) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e) => return Err(ReadHeadError::Bad(e)),
        }
        if buf.capacity() - buf.len() < 512 {
            buf.reserve(2048);
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(buf)).await {
            Ok(Ok(0)) => return Err(ReadHeadError::Closed),
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(ReadHeadError::Io),
            Err(_) => return Err(ReadHeadError::Timeout),
        }
    }
}

/// True for paths that are Floe's own pages rather than mounts.
pub fn is_reserved_path(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/",
        "/admin",
        "/admin.cgi",
        "/status-json.xsl",
        "/7.html",
        "/stats",
    ];
    const PREFIXES: &[&str] = &["/admin/", "/api/", "/web/"];
    EXACT.contains(&path) || PREFIXES.iter().any(|p| path.starts_with(p))
}

enum Route {
    Source,
    Listener,
    OptionsStar,
    Http,
}

fn route(state: &AppState, head: &RequestHead) -> Route {
    match head.method.as_str() {
        // The JSON API has PUT endpoints (playlists); no mount under /api/ could be listened
        // to anyway (reserved paths are never listener routes).
        "PUT" if head.path().starts_with("/api/") => Route::Http,
        "SOURCE" | "PUT" => Route::Source,
        "OPTIONS" if head.target == "*" => Route::OptionsStar,
        "GET" | "HEAD"
            if !is_reserved_path(head.path()) && state.engine.mount(head.path()).is_some() =>
        {
            Route::Listener
        }
        _ => Route::Http,
    }
}

async fn handle(
    state: AppState,
    router: axum::Router,
    mut stream: TcpStream,
    remote: SocketAddr,
    guard: ConnGuard,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        let settings = &state.settings;
        let (head, head_len) = match read_head(
            &mut stream,
            &mut buf,
            settings.max_header_size,
            settings.header_timeout,
        )
        .await
        {
            Ok(found) => found,
            Err(ReadHeadError::Closed | ReadHeadError::Io) => return,
            Err(ReadHeadError::Timeout) => {
                if !buf.is_empty() {
                    tracing::info!(%remote, "request head not complete within the header timeout");
                    let _ = stream
                        .write_all(&plain_response(
                            408,
                            "Request Timeout",
                            "request head timeout\n",
                        ))
                        .await;
                }
                return;
            }
            Err(ReadHeadError::Bad(HeadError::TooLarge(limit))) => {
                tracing::info!(%remote, limit, "request head too large");
                let _ = stream
                    .write_all(&plain_response(
                        431,
                        "Request Header Fields Too Large",
                        "request head too large\n",
                    ))
                    .await;
                return;
            }
            Err(ReadHeadError::Bad(e)) => {
                tracing::info!(%remote, error = %e, "malformed request");
                let _ = stream
                    .write_all(&plain_response(400, "Bad Request", &format!("{e}\n")))
                    .await;
                return;
            }
        };
        let client = client_ip(
            remote.ip(),
            head.header("x-forwarded-for"),
            &settings.trusted_proxies,
        );
        match route(&state, &head) {
            Route::Source => {
                buf.advance(head_len);
                // Boxed: a source's state is large and must not size every listener's task.
                match Box::pin(ingest::http_source(&state, stream, head, buf, client)).await {
                    Some((s, b)) => {
                        stream = s;
                        buf = b;
                    }
                    None => return,
                }
            }
            Route::Listener => {
                // A task of its own, so it holds only the listener's state.
                let req = Box::new(listen::ListenRequest::from_head(&head));
                listen::spawn(&state, stream, req, client, Some(guard));
                return;
            }
            Route::OptionsStar => {
                buf.advance(head_len);
                let reply = b"HTTP/1.1 200 OK\r\nAllow: GET, HEAD, OPTIONS, PUT, SOURCE\r\nContent-Length: 0\r\n\r\n";
                if stream.write_all(reply).await.is_err() {
                    return;
                }
            }
            Route::Http => {
                if head.path().starts_with("/api/v1/tracks/") {
                    // Boxed like the others: only these requests pay for its state.
                    match Box::pin(sendfile::try_serve(&state, &mut stream, &head, client)).await {
                        Served::KeepAlive => {
                            buf.advance(head_len);
                            continue;
                        }
                        Served::Close => return,
                        Served::NotTaken => {}
                    }
                }
                drop(head);
                // Boxed: hyper's connection state must not size every listener's task.
                Box::pin(serve_http(
                    router,
                    Rewind::new(buf.freeze(), stream),
                    Peer { client, remote },
                    settings,
                ))
                .await;
                return;
            }
        }
    }
}

/// Serves the rest of a connection with hyper, under the same head limits as the edge
/// (`limits.max_header_size`, `limits.header_timeout`) for every further request on it.
async fn serve_http(
    router: axum::Router,
    io: Rewind,
    peer: Peer,
    settings: &crate::ServerSettings,
) {
    let remote = peer.remote;
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(peer);
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        // hyper's smallest buffer is 8 KiB; it also bounds a request head.
        .max_buf_size(settings.max_header_size.max(8192))
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!(%remote, error = %e, "http connection ended with an error");
    }
}

/// A minimal HTTP/1.0 response with a plain-text body, closing the connection.
pub fn plain_response(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.0 {status} {reason}\r\nServer: {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        crate::SERVER_NAME,
        body.len()
    )
    .into_bytes()
}

/// A socket with bytes already read from it put back in front.
pub struct Rewind {
    pre: Bytes,
    inner: TcpStream,
}

impl Rewind {
    /// `pre` is returned by reads before anything more is read from `inner`.
    pub fn new(pre: Bytes, inner: TcpStream) -> Rewind {
        Rewind { pre, inner }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pre.is_empty() {
            let n = self.pre.len().min(buf.remaining());
            let part = self.pre.split_to(n);
            buf.put_slice(&part);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_paths_are_never_mounts() {
        assert!(is_reserved_path("/admin/metadata"));
        assert!(is_reserved_path("/admin.cgi"));
        assert!(is_reserved_path("/api/v1/mounts"));
        assert!(is_reserved_path("/status-json.xsl"));
        assert!(is_reserved_path("/"));
        assert!(!is_reserved_path("/live.mp3"));
        assert!(!is_reserved_path("/apis.mp3"));
        assert!(!is_reserved_path("/stats.mp3"));
    }
}

#[cfg(test)]
mod task_size {
    /// Every listener is one task: its state is most of a listener's memory. This keeps it from
    /// growing by accident (a second timer, a buffer inline, a future where a struct was).
    #[test]
    fn a_listener_task_stays_small() {
        let size = crate::listen::listening_task_size();
        eprintln!("listener task state: {size} bytes");
        assert!(size <= 400, "listener task state grew to {size} bytes");
    }
}
