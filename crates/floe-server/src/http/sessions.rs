//! Audio over Server-Sent Events and WebSocket, with a session API as simple web apps expect.
//!
//! - `POST /api/v1/sessions` with `{"mount": "/live.mp3", "codec": "pcm"}` → 201
//!   `{"id", "mount", "codec", "format", "stream_url", "ws_url"}`. Only `pcm` is offered
//!   (interleaved little-endian 16-bit samples at the mount's own rate and channel count).
//! - `GET /api/v1/sessions/{id}/stream`: `text/event-stream`; see below.
//! - `GET /api/v1/sessions/{id}/ws`: WebSocket; see below.
//! - `DELETE /api/v1/sessions/{id}` → 204. A session with no stream connected for
//!   `pcm.session_idle_seconds` is closed by itself.
//! - `GET /api/v1/sse/<mount>` and `GET /api/v1/ws/<mount>`: the same streams without a
//!   session (what `/api/v1/mounts` lists as `sse_url` and `ws_url`).
//!
//! The event stream: `retry: 3000`, a `format` event (`{"codec","encoding","rate","channels"}`),
//! a `metadata` event (`{"title","ts"}`) at the start and at every title change, and one `audio`
//! event per decoded chunk: `id:` its sequence number, data `{"seq","ts","server_time","data"}`
//! (`ts`: media time in ms; `server_time`: unix ms at which Floe had the audio; `data`: base64
//! samples). A client reconnecting with `Last-Event-ID` continues after that chunk if it is
//! still in the window (`pcm.window_seconds`), else from the live edge with the burst. A comment
//! every 15 s keeps proxies from closing an idle stream.
//!
//! The WebSocket: a text frame with the `format` JSON first, `metadata` JSON text frames, and one
//! binary frame per chunk: `seq`, `ts` (ms), `server_time` (unix ms) as unsigned 64-bit
//! little-endian integers (24 bytes), then the samples. Messages from the client are ignored.
//!
//! Streams start with `pcm.burst_ms` of audio (or `?burst_ms=`).

use super::error::HttpError;
use super::pcm::start_from_query;
use super::request::RequestContext;
use crate::pcm::{frame, Codec, PcmChunk, PcmConsumer, PcmError, PcmFormat, PcmService, Start};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use floe_proto::sse;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long an event-stream client waits before reconnecting.
pub const RETRY_MS: u64 = 3000;
/// Time between keep-alive comments on an idle event stream.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// How often expired sessions are closed.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The SSE URL of `mount` without a session.
pub fn sse_url(base_url: &str, mount: &str) -> String {
    format!("{base_url}/api/v1/sse{mount}")
}

/// The WebSocket URL of `mount` without a session (`ws://` or `wss://`).
pub fn ws_url(base_url: &str, mount: &str) -> String {
    format!("{}/api/v1/ws{mount}", ws_base(base_url))
}

fn ws_base(base_url: &str) -> String {
    if let Some(rest) = base_url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base_url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base_url.to_string()
    }
}

/// The body of `POST /api/v1/sessions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The mount (`/live.mp3`; the leading slash may be left out).
    pub mount: String,
    /// `pcm` (the default) or `opus`.
    #[serde(default)]
    pub codec: Option<String>,
}

impl CreateSession {
    /// The codec asked for.
    pub fn codec(&self) -> Codec {
        match self.codec.as_deref() {
            Some("opus") => Codec::Opus,
            _ => Codec::Pcm,
        }
    }
}

/// Parses and checks a session request body.
pub fn parse_create(body: &[u8]) -> Result<CreateSession, PcmError> {
    let mut req: CreateSession =
        serde_json::from_slice(body).map_err(|e| PcmError::BadBody(e.to_string()))?;
    if !req.mount.starts_with('/') {
        req.mount.insert(0, '/');
    }
    match req.codec.as_deref() {
        None => Ok(req),
        Some(name) => Codec::from_name(name).map(|_| req),
    }
}

/// `POST /api/v1/sessions`.
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    body: Bytes,
) -> Result<Response, HttpError> {
    let req = parse_create(&body).map_err(HttpError::Pcm)?;
    let tap = state
        .pcm
        .taps
        .tap(&state.engine, &req.mount)
        .map_err(HttpError::Pcm)?;
    let codec = req.codec();
    let mut probe = PcmConsumer::new(tap.clone(), Start::Burst(Duration::ZERO), codec);
    let format = probe.ready().await.map_err(HttpError::Pcm)?;
    let id = format!("{:032x}", rand::random::<u128>());
    let session = state
        .pcm
        .sessions
        .create(id, tap, codec, Instant::now())
        .map_err(HttpError::Pcm)?;
    spawn_sweeper(&state.pcm);
    let base = &ctx.base_url;
    let body = serde_json::json!({
        "id": session.id,
        "mount": session.mount,
        "codec": codec.name(),
        "format": format_value(format, codec),
        "stream_url": format!("{base}/api/v1/sessions/{}/stream", session.id),
        "ws_url": format!("{}/api/v1/sessions/{}/ws", ws_base(base), session.id),
    });
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

fn format_value(format: PcmFormat, codec: Codec) -> serde_json::Value {
    let encoding = match codec {
        Codec::Pcm => "s16le",
        Codec::Opus => "opus",
    };
    serde_json::json!({
        "encoding": encoding,
        "rate": format.rate,
        "channels": format.channels,
    })
}

/// The codec a session-less stream asks for with `?codec=` (PCM by default).
fn codec_from_query(ctx: &RequestContext) -> Result<Codec, HttpError> {
    match ctx.param("codec") {
        None => Ok(Codec::Pcm),
        Some(name) => Codec::from_name(&name).map_err(HttpError::Pcm),
    }
}

/// Starts (once per server) the task that closes idle sessions; it ends with the service.
fn spawn_sweeper(service: &Arc<PcmService>) {
    if service.sweeper_started.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak: Weak<PcmService> = Arc::downgrade(service);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let Some(service) = weak.upgrade() else {
                break;
            };
            let closed = service.sessions.sweep(Instant::now());
            if closed > 0 {
                tracing::debug!(closed, "idle PCM sessions closed");
            }
        }
    });
}

/// `DELETE /api/v1/sessions/{id}`.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if state.pcm.sessions.remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        HttpError::Pcm(PcmError::NoSession(id)).into_response()
    }
}

/// Where a stream starts: after `Last-Event-ID` (header, or `?last_event_id=` for clients that
/// cannot set headers), else the requested or configured burst.
fn start_of(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
) -> Result<Start, HttpError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| ctx.param("last_event_id"));
    match last.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(seq) => Ok(Start::After(seq)),
        None => start_from_query(state, ctx),
    }
}

/// `GET /api/v1/sessions/{id}/stream`.
pub async fn session_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: RequestContext,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let start = start_of(&state, &ctx, &headers)?;
    let (session, guard) = state.pcm.attach_stream(&id).map_err(HttpError::Pcm)?;
    let consumer = PcmConsumer::new(session.tap, start, session.codec).counted(&state.engine);
    event_stream(&state, consumer, Some(guard)).await
}

/// `GET /api/v1/sse/{*mount}`.
pub async fn mount_stream(
    State(state): State<AppState>,
    uri: Uri,
    ctx: RequestContext,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let mount = mount_of(uri.path(), "/api/v1/sse")?;
    let start = start_of(&state, &ctx, &headers)?;
    let codec = codec_from_query(&ctx)?;
    let consumer = state
        .pcm
        .taps
        .consumer(&state.engine, mount, start, codec)
        .map_err(HttpError::Pcm)?;
    event_stream(&state, consumer, None).await
}

fn mount_of<'a>(path: &'a str, prefix: &str) -> Result<&'a str, HttpError> {
    path.strip_prefix(prefix)
        .filter(|m| m.len() > 1 && m.starts_with('/'))
        .ok_or(HttpError::NotFound)
}

/// An event stream of `consumer`'s chunks.
async fn event_stream(
    state: &AppState,
    mut consumer: PcmConsumer,
    guard: Option<crate::pcm::sessions::StreamGuard>,
) -> Result<Response, HttpError> {
    let format = consumer.ready().await.map_err(HttpError::Pcm)?;
    let feed = Feed {
        consumer,
        title: Titles::default(),
        started: false,
        format,
        shutdown: state.shutdown.clone(),
        keepalive: tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE),
        _guard: guard,
    };
    let body = futures_util::stream::unfold(feed, |mut feed| async move {
        let text = feed.next().await?;
        Some((Ok::<Bytes, Infallible>(Bytes::from(text)), feed))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Remembers the title a client last got, so it is sent only when it changes.
#[derive(Debug, Default)]
struct Titles {
    last: Option<Arc<str>>,
}

impl Titles {
    /// The title to announce before `chunk`, if it differs from the last one.
    fn change(&mut self, chunk: &PcmChunk) -> Option<Arc<str>> {
        let title = chunk.title.as_ref()?;
        if self.last.as_deref() == Some(&**title) {
            return None;
        }
        self.last = Some(title.clone());
        Some(title.clone())
    }
}

struct Feed {
    consumer: PcmConsumer,
    title: Titles,
    started: bool,
    format: PcmFormat,
    shutdown: crate::Shutdown,
    keepalive: tokio::time::Interval,
    _guard: Option<crate::pcm::sessions::StreamGuard>,
}

impl Feed {
    async fn next(&mut self) -> Option<String> {
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(&sse::retry(RETRY_MS));
            out.push_str(&frame::sse_format_event(
                self.format,
                self.consumer.codec().name(),
            ));
        }
        let batch = tokio::select! {
            batch = self.consumer.next() => batch,
            _ = self.keepalive.tick() => {
                out.push_str(&sse::comment("keep-alive"));
                return Some(out);
            }
            _ = self.shutdown.wait() => return None,
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::info!(mount = %self.consumer.tap().mount(), error = %e, "SSE audio client dropped");
                return None;
            }
        };
        for chunk in &batch {
            if let Some(title) = self.title.change(chunk) {
                out.push_str(&frame::sse_metadata_event(&title, chunk.stamp.ts_ms));
            }
            out.push_str(&frame::sse_audio_event(chunk.stamp, &chunk.samples));
        }
        self.keepalive.reset();
        Some(out)
    }
}

/// `GET /api/v1/sessions/{id}/ws`.
pub async fn session_ws(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: RequestContext,
    upgrade: WebSocketUpgrade,
) -> Result<Response, HttpError> {
    let start = start_from_query(&state, &ctx)?;
    let (session, guard) = state.pcm.attach_stream(&id).map_err(HttpError::Pcm)?;
    let consumer = PcmConsumer::new(session.tap, start, session.codec).counted(&state.engine);
    websocket(&state, consumer, Some(guard), upgrade).await
}

/// `GET /api/v1/ws/{*mount}`.
pub async fn mount_ws(
    State(state): State<AppState>,
    uri: Uri,
    ctx: RequestContext,
    upgrade: WebSocketUpgrade,
) -> Result<Response, HttpError> {
    let mount = mount_of(uri.path(), "/api/v1/ws")?;
    let start = start_from_query(&state, &ctx)?;
    let codec = codec_from_query(&ctx)?;
    let consumer = state
        .pcm
        .taps
        .consumer(&state.engine, mount, start, codec)
        .map_err(HttpError::Pcm)?;
    websocket(&state, consumer, None, upgrade).await
}

async fn websocket(
    state: &AppState,
    mut consumer: PcmConsumer,
    guard: Option<crate::pcm::sessions::StreamGuard>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, HttpError> {
    let format = consumer.ready().await.map_err(HttpError::Pcm)?;
    let shutdown = state.shutdown.clone();
    Ok(upgrade.on_upgrade(move |socket| async move {
        let _guard = guard;
        if let Err(e) = pump_ws(socket, consumer, format, shutdown).await {
            tracing::info!(error = %e, "WebSocket audio client dropped");
        }
    }))
}

/// Why a WebSocket audio stream ended early.
#[derive(Debug, thiserror::Error)]
enum WsEnd {
    #[error("{0}")]
    Pcm(#[from] PcmError),
    #[error("socket: {0}")]
    Socket(#[from] axum::Error),
}

async fn pump_ws(
    mut socket: WebSocket,
    mut consumer: PcmConsumer,
    format: PcmFormat,
    shutdown: crate::Shutdown,
) -> Result<(), WsEnd> {
    let codec = consumer.codec().name();
    socket
        .send(Message::Text(frame::format_json(format, codec).into()))
        .await?;
    let mut titles = Titles::default();
    loop {
        let batch = tokio::select! {
            batch = consumer.next() => batch?,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
            },
            _ = shutdown.wait() => {
                let _ = socket.send(Message::Close(None)).await;
                return Ok(());
            }
        };
        for chunk in &batch {
            if let Some(title) = titles.change(chunk) {
                let text = frame::metadata_json(&title, chunk.stamp.ts_ms);
                socket.send(Message::Text(text.into())).await?;
            }
            socket
                .send(Message::Binary(frame::ws_audio_frame(
                    chunk.stamp,
                    &chunk.samples,
                )))
                .await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_bodies() {
        let req = parse_create(br#"{"mount":"live.mp3"}"#).unwrap();
        assert_eq!(req.mount, "/live.mp3");
        assert!(parse_create(br#"{"mount":"/a","codec":"pcm"}"#).is_ok());
        assert_eq!(
            parse_create(br#"{"mount":"/a","codec":"opus"}"#)
                .unwrap()
                .codec(),
            Codec::Opus
        );
        assert_eq!(
            parse_create(br#"{"mount":"/a","codec":"mp3"}"#).unwrap_err(),
            PcmError::UnsupportedCodec("mp3".into())
        );
        assert!(matches!(
            parse_create(br#"{"mount":"/a","volume":3}"#),
            Err(PcmError::BadBody(_))
        ));
        assert!(matches!(
            parse_create(b"not json"),
            Err(PcmError::BadBody(_))
        ));
    }

    #[test]
    fn transport_urls() {
        assert_eq!(
            sse_url("http://h:1", "/a.mp3"),
            "http://h:1/api/v1/sse/a.mp3"
        );
        assert_eq!(ws_url("http://h:1", "/a.mp3"), "ws://h:1/api/v1/ws/a.mp3");
        assert_eq!(ws_url("https://h", "/a.mp3"), "wss://h/api/v1/ws/a.mp3");
    }
}
