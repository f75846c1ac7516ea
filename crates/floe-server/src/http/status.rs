//! Public status pages that widgets read: Icecast's `/status-json.xsl`, SHOUTcast's `/7.html`
//! and `/stats?sid=1`. Hidden mounts are never listed.

use super::admin::shoutcast_path;
use super::dates;
use super::document::{json_response, Element, Scalar};
use super::request::RequestContext;
use super::view::MountView;
use crate::{AppState, SERVER_NAME};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use floe_engine::{Engine, Mount};
use serde::Serialize;
use std::sync::Arc;

/// The whole `/status-json.xsl` document.
#[derive(Debug, Serialize)]
struct StatusJson {
    icestats: IceStats,
}

#[derive(Debug, Serialize)]
struct IceStats {
    admin: String,
    host: String,
    location: String,
    server_id: &'static str,
    server_start: String,
    server_start_iso8601: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<OneOrMany>,
}

/// Icecast writes an object for one source and an array for several.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<SourceStatus>),
    Many(Vec<SourceStatus>),
}

/// One source, fields in Icecast's order (alphabetical, then the XSL's trailing `dummy`).
#[derive(Debug, Serialize)]
struct SourceStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    artist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bitrate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    genre: Option<String>,
    listener_peak: usize,
    listeners: usize,
    listenurl: String,
    server_description: String,
    server_name: String,
    server_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_start_iso8601: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    dummy: (),
}

impl SourceStatus {
    fn of(v: &MountView, ctx: &RequestContext) -> SourceStatus {
        let start = v.stream_start();
        SourceStatus {
            artist: v.artist().map(str::to_string),
            audio_info: v.audio_info(),
            bitrate: v.bitrate(),
            genre: v.genre(),
            listener_peak: v.snap.peak,
            listeners: v.snap.listeners,
            listenurl: ctx.url(v.path()),
            server_description: v
                .description()
                .unwrap_or_else(|| "Unspecified description".into()),
            server_name: v.name().unwrap_or_else(|| "Unspecified name".into()),
            server_type: v.content_type().unwrap_or_default(),
            server_url: v.url(),
            stream_start: start.map(dates::icecast),
            stream_start_iso8601: start.map(dates::icecast_iso8601),
            title: v.song().map(str::to_string),
            dummy: (),
        }
    }
}

/// `/status-json.xsl`: every listed live mount, shaped exactly as Icecast's.
pub async fn status_json(State(state): State<AppState>, ctx: RequestContext) -> Response {
    let mut sources: Vec<SourceStatus> = MountView::listed(&state.engine, true)
        .iter()
        .map(|v| SourceStatus::of(v, &ctx))
        .collect();
    let source = match sources.len() {
        0 => None,
        1 => sources.pop().map(|s| OneOrMany::One(Box::new(s))),
        _ => Some(OneOrMany::Many(sources)),
    };
    let settings = &state.settings;
    let started = state.engine.started;
    let doc = StatusJson {
        icestats: IceStats {
            admin: settings.admin_contact.clone(),
            host: settings.hostname.clone(),
            location: settings.location.clone(),
            server_id: SERVER_NAME,
            server_start: dates::icecast(started),
            server_start_iso8601: dates::icecast_iso8601(started),
            source,
        },
    };
    match serde_json::to_value(&doc) {
        Ok(value) => json_response(&value),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize status");
            super::HttpError::Internal.into_response()
        }
    }
}

/// The mount SHOUTcast-style requests mean. `sid` above 1 picks the sid-th mount with a source;
/// otherwise: the only mount with a source if there is exactly one, else the SHOUTcast mount
/// (`sc_path`) if it exists, else the first mount with a source.
pub fn shoutcast_mount(
    engine: &Engine,
    sc_path: &str,
    sid: Option<usize>,
    include_hidden: bool,
) -> Option<Arc<Mount>> {
    let live: Vec<Arc<Mount>> = engine
        .mounts()
        .into_iter()
        .filter(|m| m.has_source() && (include_hidden || !m.policy.hidden))
        .collect();
    if let Some(sid) = sid.filter(|s| *s > 1) {
        return live.get(sid - 1).cloned();
    }
    if live.len() == 1 {
        return live.into_iter().next();
    }
    engine
        .mount(sc_path)
        .filter(|m| include_hidden || !m.policy.hidden)
        .or_else(|| live.into_iter().next())
}

fn sid(ctx: &RequestContext) -> Option<usize> {
    ctx.param("sid").and_then(|s| s.trim().parse().ok())
}

/// SHOUTcast's `/7.html`: `cur,status,peak,max,unique,bitrate,title`.
pub async fn seven_html(State(state): State<AppState>, ctx: RequestContext) -> Response {
    let mount = shoutcast_mount(&state.engine, shoutcast_path(&state), sid(&ctx), false);
    let view = mount.map(MountView::of);
    let server_max = state.engine.settings().max_listeners;
    let line = match &view {
        Some(v) => format!(
            "{},{},{},{},{},{},{}",
            v.snap.listeners,
            u8::from(v.live()),
            v.snap.peak,
            v.mount.policy.max_listeners.unwrap_or(server_max),
            v.unique_listeners(),
            v.bitrate().unwrap_or(0),
            floe_proto::xml::escape(v.song().unwrap_or(""))
        ),
        None => format!("0,0,0,{server_max},0,0,"),
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<html><body>{line}</body></html>"),
    )
        .into_response()
}

/// SHOUTcast v2's `/stats?sid=1` (XML, or JSON with `json=1`).
pub async fn shoutcast_stats(State(state): State<AppState>, ctx: RequestContext) -> Response {
    let mount = shoutcast_mount(&state.engine, shoutcast_path(&state), sid(&ctx), false);
    let view = mount.map(MountView::of);
    let fields = shoutcast_fields(view.as_ref(), state.engine.settings().max_listeners);
    let json = ctx.param("json").is_some_and(|j| j == "1") || ctx.wants_json;
    if json {
        let map: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    Scalar::Text(t) => serde_json::Value::String(t),
                    Scalar::Int(n) => serde_json::Value::from(n),
                };
                (name.to_ascii_lowercase(), value)
            })
            .collect();
        return json_response(&serde_json::Value::Object(map));
    }
    let doc = fields
        .into_iter()
        .fold(Element::new("SHOUTCASTSERVER"), |e, (name, value)| {
            e.field(name, value)
        });
    ([(header::CONTENT_TYPE, "text/xml")], doc.to_xml()).into_response()
}

fn shoutcast_fields(view: Option<&MountView>, server_max: usize) -> Vec<(&'static str, Scalar)> {
    let Some(v) = view else {
        return vec![
            ("CURRENTLISTENERS", 0u64.into()),
            ("PEAKLISTENERS", 0u64.into()),
            ("MAXLISTENERS", server_max.into()),
            ("UNIQUELISTENERS", 0u64.into()),
            ("STREAMSTATUS", 0u64.into()),
            ("VERSION", SERVER_NAME.into()),
        ];
    };
    let listeners = v.mount.listeners();
    let average = if listeners.is_empty() {
        0
    } else {
        listeners.iter().map(|l| l.connected_secs()).sum::<u64>() / listeners.len() as u64
    };
    let uptime = v
        .stream_start()
        .and_then(|t| t.elapsed().ok())
        .map_or(0, |d| d.as_secs());
    vec![
        ("CURRENTLISTENERS", v.snap.listeners.into()),
        ("PEAKLISTENERS", v.snap.peak.into()),
        (
            "MAXLISTENERS",
            v.mount.policy.max_listeners.unwrap_or(server_max).into(),
        ),
        ("UNIQUELISTENERS", v.unique_listeners().into()),
        ("AVERAGETIME", average.into()),
        ("SERVERGENRE", v.genre().unwrap_or_default().into()),
        ("SERVERURL", v.url().unwrap_or_default().into()),
        ("SERVERTITLE", v.name().unwrap_or_default().into()),
        ("SONGTITLE", v.song().unwrap_or("").into()),
        ("STREAMHITS", v.snap.connections.into()),
        ("STREAMSTATUS", u64::from(v.live()).into()),
        ("BACKUPSTATUS", 0u64.into()),
        ("STREAMLISTED", u64::from(v.public()).into()),
        ("STREAMPATH", v.path().into()),
        ("STREAMUPTIME", uptime.into()),
        ("BITRATE", v.bitrate().unwrap_or(0).into()),
        ("SAMPLERATE", v.snap.audio.sample_rate.into()),
        ("CONTENT", v.content_type().unwrap_or_default().into()),
        ("VERSION", SERVER_NAME.into()),
    ]
}
