//! `/admin/*` as Icecast has it, and SHOUTcast's `/admin.cgi`.
//!
//! Credentials are HTTP Basic: the admin's, or, for a command naming a `mount`, that mount's
//! source credentials. Replies are Icecast's XML, or the same data as JSON with `format=json` or
//! an `Accept` that prefers it. Every command is also reachable with Icecast's `.xsl` suffix.

use super::dates;
use super::document::{ice_response, json_response, Element};
use super::error::HttpError;
use super::request::RequestContext;
use super::status::shoutcast_mount;
use super::view::MountView;
use crate::auth::{may_manage, source_credentials};
use crate::{AppState, SERVER_NAME};
use axum::extract::State;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use floe_engine::MountPolicy;
use floe_proto::auth::constant_time_eq;
use std::sync::atomic::Ordering;

/// `/admin` and `/admin/`: the statistics.
pub async fn home() -> Redirect {
    Redirect::to("/admin/stats")
}

/// `/admin/{command}`: dispatches on the command name.
pub async fn command(State(state): State<AppState>, uri: Uri, ctx: RequestContext) -> Response {
    let name = uri.path().strip_prefix("/admin/").unwrap_or("");
    let name = name.strip_suffix(".xsl").unwrap_or(name);
    let result = match name {
        "metadata" | "updatemetadata" => metadata(&state, &ctx),
        "listclients" => list_clients(&state, &ctx),
        "killclient" => kill_client(&state, &ctx),
        "moveclients" => move_clients(&state, &ctx),
        "killsource" => kill_source(&state, &ctx),
        "listmounts" => list_mounts(&state, &ctx),
        "stats" => stats(&state, &ctx),
        "streamlist.txt" | "streamlist" => stream_list(&state, &ctx),
        _ => Err(HttpError::UnknownCommand),
    };
    result.unwrap_or_else(|e| e.respond(ctx.flavor()))
}

/// Checks the credentials for a command on `mount` (or a server-wide one when `None`).
fn authorize(state: &AppState, ctx: &RequestContext, mount: Option<&str>) -> Result<(), HttpError> {
    let policy = mount.map(|path| mount_policy(state, path));
    let creds = &state.settings.credentials;
    if may_manage(creds, policy.as_ref(), ctx.authorization.as_deref()) {
        Ok(())
    } else {
        Err(HttpError::Unauthorized)
    }
}

/// The policy of the mount at `path`, or the one it would have.
fn mount_policy(state: &AppState, path: &str) -> MountPolicy {
    match state.engine.mount(path) {
        Some(m) => m.policy.clone(),
        None => state.engine.policy(path),
    }
}

/// Authorizes a command that needs `mount=` and returns the mount's path.
fn authorize_mount(state: &AppState, ctx: &RequestContext) -> Result<String, HttpError> {
    let mount = mount_param(ctx, "mount");
    authorize(state, ctx, mount.as_deref())?;
    mount.ok_or(HttpError::MissingParameter("mount"))
}

/// A mount path parameter; a missing leading `/` is added (`mount=live.mp3` means `/live.mp3`).
fn mount_param(ctx: &RequestContext, name: &str) -> Option<String> {
    ctx.param(name).map(|m| {
        if m.starts_with('/') {
            m
        } else {
            format!("/{m}")
        }
    })
}

fn metadata(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    let mount = authorize_mount(state, ctx)?;
    update_metadata(state, ctx, &mount)
}

/// `mode=updinfo` with `song`, or `artist` and `title`, and optionally `url`.
fn update_metadata(
    state: &AppState,
    ctx: &RequestContext,
    mount: &str,
) -> Result<Response, HttpError> {
    if ctx.param("mode").is_some_and(|m| m != "updinfo") {
        return Err(HttpError::InvalidParameter("mode"));
    }
    // An empty `song=` clears the title; empty artist/title count as absent.
    let song = ctx.query.get("song");
    let artist = ctx.param("artist");
    let title = ctx.param("title");
    if song.is_none() && artist.is_none() && title.is_none() {
        return Err(HttpError::MissingParameter("song"));
    }
    let url = ctx.param("url");
    state
        .engine
        .set_metadata(mount, song, artist, title, url)
        .map_err(|_| HttpError::MountNotFound)?;
    Ok(ice_response("Metadata update successful", true).respond(ctx.flavor()))
}

fn list_clients(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    let path = authorize_mount(state, ctx)?;
    let mount = state.engine.mount(&path).ok_or(HttpError::MountNotFound)?;
    let listeners = mount.listeners();
    let clients = listeners
        .iter()
        .map(|l| {
            Element::new("listener")
                .attr("id", l.id.to_string())
                .field("IP", l.ip.as_str())
                .field("UserAgent", l.user_agent.as_deref().unwrap_or(""))
                .field("Connected", l.connected_secs())
                .field("ID", l.id)
        })
        .collect();
    let source = Element::new("source")
        .attr("mount", path)
        .field("Listeners", listeners.len())
        .list("listener", clients);
    Ok(Element::new("icestats").child(source).respond(ctx.flavor()))
}

fn kill_client(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    let path = authorize_mount(state, ctx)?;
    let id = ctx.param("id").ok_or(HttpError::MissingParameter("id"))?;
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| HttpError::InvalidParameter("id"))?;
    state.engine.mount(&path).ok_or(HttpError::MountNotFound)?;
    if !state.engine.kill_listener(&path, id) {
        return Err(HttpError::ClientNotFound);
    }
    Ok(ice_response(&format!("Client {id} removed"), true).respond(ctx.flavor()))
}

fn move_clients(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    let from = authorize_mount(state, ctx)?;
    let to = mount_param(ctx, "destination").ok_or(HttpError::MissingParameter("destination"))?;
    state.engine.mount(&from).ok_or(HttpError::MountNotFound)?;
    let moved = state
        .engine
        .move_listeners(&from, &to)
        .map_err(|_| HttpError::DestinationNotFound)?;
    tracing::info!(from, to, moved, "listeners moved by admin");
    Ok(ice_response(&format!("Clients moved from {from} to {to}"), true).respond(ctx.flavor()))
}

fn kill_source(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    let path = authorize_mount(state, ctx)?;
    if !state.engine.kill_source(&path) {
        return Err(HttpError::MountNotFound);
    }
    tracing::info!(mount = path, "source killed by admin");
    Ok(ice_response("Source Removed", true).respond(ctx.flavor()))
}

/// Mounts with a source (hidden ones too: this is the admin's view).
fn live_mounts(state: &AppState) -> Vec<MountView> {
    MountView::all(&state.engine)
        .into_iter()
        .filter(MountView::live)
        .collect()
}

fn list_mounts(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    authorize(state, ctx, None)?;
    let sources = live_mounts(state)
        .iter()
        .map(|v| {
            let connected = v
                .stream_start()
                .and_then(|t| t.elapsed().ok())
                .map_or(0, |d| d.as_secs());
            Element::new("source")
                .attr("mount", v.path())
                .field("fallback", v.snap.fallback.clone().unwrap_or_default())
                .field("listeners", v.snap.listeners)
                .field("Connected", connected)
                .field("content-type", v.content_type().unwrap_or_default())
        })
        .collect();
    Ok(Element::new("icestats")
        .list("source", sources)
        .respond(ctx.flavor()))
}

fn stats(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    authorize(state, ctx, None)?;
    let engine = &state.engine;
    let settings = &state.settings;
    let listener_connections = engine.counters.listener_connections.load(Ordering::Relaxed);
    let source_connections = engine.counters.source_connections.load(Ordering::Relaxed);
    let connections = listener_connections + source_connections;
    let sources = live_mounts(state)
        .iter()
        .map(|v| source_stats(v, ctx, engine.settings().max_listeners))
        .collect();
    let doc = Element::new("icestats")
        .field("admin", settings.admin_contact.as_str())
        .field("client_connections", connections)
        .field("clients", engine.listener_count() + engine.source_count())
        .field("connections", connections)
        .field("host", settings.hostname.as_str())
        .field("listener_connections", listener_connections)
        .field("listeners", engine.listener_count())
        .field("location", settings.location.as_str())
        .field("server_id", SERVER_NAME)
        .field("server_start", dates::icecast(engine.started))
        .field(
            "server_start_iso8601",
            dates::icecast_iso8601(engine.started),
        )
        .field("source_client_connections", source_connections)
        .field("source_total_connections", source_connections)
        .field("sources", engine.source_count())
        .field("stats", 0u64)
        .list("source", sources);
    Ok(doc.respond(ctx.flavor()))
}

/// One source's statistics, named and ordered as Icecast's.
fn source_stats(v: &MountView, ctx: &RequestContext, server_max: usize) -> Element {
    let source = v.snap.source.as_deref();
    let max_listeners = v.mount.policy.max_listeners.unwrap_or(server_max);
    let start = v.stream_start();
    Element::new("source")
        .attr("mount", v.path())
        .field_opt("artist", v.artist())
        .field_opt("audio_info", v.audio_info())
        .field_opt("bitrate", v.bitrate())
        .field_opt("genre", v.genre())
        .field("listener_peak", v.snap.peak)
        .field("listeners", v.snap.listeners)
        .field("listenurl", ctx.url(v.path()))
        .field("max_listeners", max_listeners)
        .field("public", u64::from(v.public()))
        .field(
            "server_description",
            v.description()
                .unwrap_or_else(|| "Unspecified description".into()),
        )
        .field(
            "server_name",
            v.name().unwrap_or_else(|| "Unspecified name".into()),
        )
        .field("server_type", v.content_type().unwrap_or_default())
        .field_opt("server_url", v.url())
        .field("slow_listeners", v.snap.slow_listeners)
        .field("source_ip", source.map_or("", |s| s.ip.as_str()))
        .field_opt("stream_start", start.map(dates::icecast))
        .field_opt("stream_start_iso8601", start.map(dates::icecast_iso8601))
        .field_opt("title", v.song())
        .field("total_bytes_read", v.snap.bytes_in)
        .field("total_bytes_sent", v.snap.bytes_out)
        .field_opt("user_agent", source.and_then(|s| s.user_agent.as_deref()))
}

/// One live mount per line, as relays poll it.
fn stream_list(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    authorize(state, ctx, None)?;
    let paths: Vec<String> = live_mounts(state)
        .iter()
        .map(|v| v.path().to_string())
        .collect();
    if ctx.wants_json {
        return Ok(json_response(&serde_json::json!({ "mounts": paths })));
    }
    let mut body = String::new();
    for p in &paths {
        body.push_str(p);
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// SHOUTcast's `/admin.cgi?pass=P&mode=updinfo&song=S&sid=1`: the admin password or the source
/// password of the SHOUTcast mount in `pass` (or HTTP Basic) sets that mount's title.
pub async fn shoutcast(State(state): State<AppState>, ctx: RequestContext) -> Response {
    shoutcast_update(&state, &ctx).unwrap_or_else(|e| e.respond(ctx.flavor()))
}

fn shoutcast_update(state: &AppState, ctx: &RequestContext) -> Result<Response, HttpError> {
    let sid = ctx.param("sid").and_then(|s| s.trim().parse().ok());
    let mount = shoutcast_mount(&state.engine, shoutcast_path(state), sid, true);
    let policy = mount.as_ref().map(|m| &m.policy);
    let creds = &state.settings.credentials;
    let pass = ctx.query.get("pass").unwrap_or_default();
    let by_pass = !pass.is_empty()
        && (constant_time_eq(pass.as_bytes(), creds.admin_password.as_bytes())
            || policy.is_some_and(|p| {
                let (_, want) = source_credentials(creds, p);
                constant_time_eq(pass.as_bytes(), want.as_bytes())
            }));
    let by_header = may_manage(creds, policy, ctx.authorization.as_deref());
    if !(by_pass || by_header) {
        return Err(HttpError::Unauthorized);
    }
    let mount = mount.ok_or(HttpError::MountNotFound)?;
    update_metadata(state, ctx, &mount.path)
}

/// The mount SHOUTcast clients mean: the configured SHOUTcast mount, or `/stream`.
pub fn shoutcast_path(state: &AppState) -> &str {
    state
        .settings
        .shoutcast
        .as_ref()
        .map_or("/stream", |s| s.mount.as_str())
}
