//! The JSON API under `/api/v1/`. Errors are `{"error": {"status": …, "message": …}}`.
//!
//! - `GET /api/v1/status`: server figures.
//! - `GET /api/v1/mounts`: every listed mount (hidden ones left out), live or not.
//! - `GET /api/v1/mounts/{path}`: one mount.
//! - `GET /api/v1/mounts/{path}/listeners`: its listeners (admin or the mount's source
//!   credentials).
//! - `GET /api/v1/nowplaying`: what each live listed mount is playing.
//! - `GET /api/v1/events`: Server-Sent Events, see [`super::events`].

use super::dates;
use super::document::json_response;
use super::error::HttpError;
use super::playlist::Kind;
use super::request::RequestContext;
use super::view::MountView;
use crate::auth::may_manage;
use crate::{AppState, SERVER_NAME};
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// A mount as the API describes it.
#[derive(Debug, Serialize)]
pub struct MountJson {
    /// Its path (`/live.mp3`).
    pub path: String,
    /// A source is connected.
    pub live: bool,
    pub content_type: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub genre: Option<String>,
    /// The station's web site.
    pub url: Option<String>,
    /// kbit/s.
    pub bitrate: Option<u32>,
    pub listeners: usize,
    pub peak: usize,
    /// "Artist - Title" as listeners see it.
    pub song: Option<String>,
    pub title: Option<String>,
    pub artist: Option<String>,
    /// RFC 3339, while live.
    pub stream_start: Option<String>,
    /// Absolute URL to listen on.
    pub stream_url: String,
    /// Absolute playlist URLs by kind (`m3u`, `pls`, `xspf`, `vclt`).
    pub playlists: BTreeMap<&'static str, String>,
    /// Endless 16-bit WAV of the mount, decoded in Floe.
    pub wav_url: String,
    /// Raw `audio/L16` (big-endian 16-bit PCM) of the mount.
    pub pcm_url: String,
    /// The mount's PCM over Server-Sent Events (base64 `audio` events).
    pub sse_url: String,
    /// The mount's PCM over WebSocket (binary frames), `ws://` or `wss://`.
    pub ws_url: String,
    /// Absolute URL of the LL-HLS playlist (CMAF), when the mount is offered over HLS.
    pub hls_url: Option<String>,
    /// Absolute URL of the DASH MPD, when the mount is offered over DASH.
    pub dash_url: Option<String>,
}

impl MountJson {
    /// Describes `v` with URLs on the request's host.
    pub fn of(v: &MountView, ctx: &RequestContext) -> MountJson {
        let stream_url = ctx.url(v.path());
        let playlists = Kind::ALL
            .iter()
            .map(|k| (k.extension(), format!("{stream_url}.{}", k.extension())))
            .collect();
        MountJson {
            path: v.path().to_string(),
            live: v.live(),
            content_type: v.content_type(),
            name: v.name(),
            description: v.description(),
            genre: v.genre(),
            url: v.url(),
            bitrate: v.bitrate(),
            listeners: v.snap.listeners,
            peak: v.snap.peak,
            song: v.song().map(str::to_string),
            title: v.title().map(str::to_string),
            artist: v.artist().map(str::to_string),
            stream_start: v.stream_start().map(dates::rfc3339),
            wav_url: super::pcm::url(&ctx.base_url, v.path(), super::pcm::Shape::Wav),
            pcm_url: super::pcm::url(&ctx.base_url, v.path(), super::pcm::Shape::L16),
            sse_url: super::sessions::sse_url(&ctx.base_url, v.path()),
            ws_url: super::sessions::ws_url(&ctx.base_url, v.path()),
            hls_url: None,
            dash_url: None,
            stream_url,
            playlists,
        }
    }
}

impl MountJson {
    /// Adds the HLS/DASH URLs the server offers for the mount.
    pub fn offered(mut self, state: &AppState, v: &MountView, ctx: &RequestContext) -> MountJson {
        (self.hls_url, self.dash_url) = crate::hls::urls(state, &ctx.base_url, v);
        self
    }
}

fn to_json(value: &impl Serialize) -> Result<Response, HttpError> {
    serde_json::to_value(value)
        .map(|v| json_response(&v))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot serialize an API reply");
            HttpError::Internal
        })
}

/// `GET /api/v1/status`.
pub async fn status(State(state): State<AppState>) -> Response {
    let engine = &state.engine;
    let uptime = engine.started.elapsed().map_or(0, |d| d.as_secs());
    json_response(&json!({
        "server_id": SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "started": dates::rfc3339(engine.started),
        "uptime_secs": uptime,
        "listeners": engine.listener_count(),
        "sources": engine.source_count(),
        "mounts": engine.mounts().len(),
        "listener_connections": engine.counters.listener_connections.load(Ordering::Relaxed),
        "source_connections": engine.counters.source_connections.load(Ordering::Relaxed),
        "sendfile_responses": state.media.sendfile.responses.load(Ordering::Relaxed),
        "sendfile_bytes": state.media.sendfile.bytes.load(Ordering::Relaxed),
    }))
}

/// `GET /api/v1/mounts`.
pub async fn mounts(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, HttpError> {
    let list: Vec<MountJson> = MountView::listed(&state.engine, false)
        .iter()
        .map(|v| MountJson::of(v, &ctx).offered(&state, v, &ctx))
        .collect();
    to_json(&list)
}

/// `GET /api/v1/mounts/{path}` and `GET /api/v1/mounts/{path}/listeners`. The path is taken raw
/// from the URI, as mounts are named by raw request paths.
pub async fn mount(
    State(state): State<AppState>,
    uri: Uri,
    ctx: RequestContext,
) -> Result<Response, HttpError> {
    let rest = uri.path().strip_prefix("/api/v1/mounts").unwrap_or("");
    if let Some(m) = state.engine.mount(rest) {
        let view = MountView::of(m);
        return to_json(&MountJson::of(&view, &ctx).offered(&state, &view, &ctx));
    }
    let path = rest
        .strip_suffix("/listeners")
        .ok_or(HttpError::MountNotFound)?;
    listeners(&state, &ctx, path)
}

fn listeners(state: &AppState, ctx: &RequestContext, path: &str) -> Result<Response, HttpError> {
    let mount = state.engine.mount(path);
    let policy = match &mount {
        Some(m) => m.policy.clone(),
        None => state.engine.policy(path),
    };
    if !may_manage(
        &state.settings.credentials,
        Some(&policy),
        ctx.authorization.as_deref(),
    ) {
        return Err(HttpError::Unauthorized);
    }
    let mount = mount.ok_or(HttpError::MountNotFound)?;
    let list: Vec<serde_json::Value> = mount
        .listeners()
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "ip": l.ip,
                "user_agent": l.user_agent,
                "connected_secs": l.connected_secs(),
                "connected_at": dates::rfc3339(l.connected_at),
                "bytes_sent": l.bytes_sent.load(Ordering::Relaxed),
            })
        })
        .collect();
    Ok(json_response(
        &json!({ "mount": mount.path, "listeners": list }),
    ))
}

/// `GET /api/v1/nowplaying`: `{"/live.mp3": {"song", "title", "artist"}}` for live listed mounts.
pub async fn now_playing(State(state): State<AppState>) -> Response {
    let map: serde_json::Map<String, serde_json::Value> = MountView::listed(&state.engine, true)
        .iter()
        .map(|v| {
            (
                v.path().to_string(),
                json!({ "song": v.song(), "title": v.title(), "artist": v.artist() }),
            )
        })
        .collect();
    json_response(&serde_json::Value::Object(map))
}
