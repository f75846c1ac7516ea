//! The library's REST API under `/api/v1/`: artists, albums, tracks, search, suggestions,
//! covers and playlists (CRUD, import and export). Track streams (`/api/v1/tracks/{id}/stream`)
//! are served by the media layer, not here.
//!
//! Every list is paged with `limit` and `offset` (answered with `total`); every error is JSON
//! through [`HttpError`] with a precise status: 400 naming the bad parameter, 404, 409 for a
//! taken playlist name, 413 for a body over the limit, 503 while the server has no library.
//! Catalog calls are blocking SQLite calls and run on tokio's blocking pool.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use floe_library::{
    playlist_file, Album, Artist, CoverData, Library, LibraryError, Playlist, PlaylistEdit,
    PlaylistEntryMatch, Track,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::HttpError;
use super::request::RequestContext;
use crate::AppState;

/// Default page size when a request gives no `limit`.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest `limit` accepted.
pub const DEFAULT_MAX_PAGE_SIZE: u64 = 500;
/// Most suggestions returned by `/api/v1/search/suggest`.
pub const DEFAULT_MAX_SUGGESTIONS: u64 = 20;
/// Largest request body (playlist JSON or an imported playlist file), bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The API's limits (config `[library]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryLimits {
    /// `limit` when a request gives none.
    pub default_page_size: u64,
    /// Largest `limit` accepted (a larger one is a 400).
    pub max_page_size: u64,
    /// Most suggestions per request.
    pub max_suggestions: u64,
    /// Largest request body (a larger one is a 413).
    pub max_body_bytes: usize,
}

impl Default for LibraryLimits {
    fn default() -> Self {
        LibraryLimits {
            default_page_size: DEFAULT_PAGE_SIZE,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            max_suggestions: DEFAULT_MAX_SUGGESTIONS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What the library API fails with; mapped to HTTP in `error.rs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryApiError {
    /// The server runs without a library.
    #[error("no music library is configured (set [library] path or --music)")]
    Unavailable,
    /// No such item.
    #[error("{kind} {id} does not exist")]
    NotFound {
        /// "track", "album", ...
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A parameter or body field has a bad value.
    #[error("{name}: {reason}")]
    BadParameter {
        /// The parameter or field.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A name is taken.
    #[error("{0}")]
    Conflict(String),
    /// The body is over the limit.
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The database failed (logged).
    #[error("library error: {0}")]
    Internal(String),
}

impl LibraryApiError {
    /// Its status code.
    pub fn status(&self) -> StatusCode {
        match self {
            LibraryApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            LibraryApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            LibraryApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            LibraryApiError::Conflict(_) => StatusCode::CONFLICT,
            LibraryApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            LibraryApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn bad(name: &str, reason: impl Into<String>) -> HttpError {
    HttpError::Library(LibraryApiError::BadParameter {
        name: name.to_string(),
        reason: reason.into(),
    })
}

fn not_found(kind: &'static str, id: impl ToString) -> HttpError {
    HttpError::Library(LibraryApiError::NotFound {
        kind,
        id: id.to_string(),
    })
}

impl From<LibraryError> for HttpError {
    fn from(e: LibraryError) -> Self {
        HttpError::Library(match e {
            LibraryError::NotFound { kind, id } => LibraryApiError::NotFound {
                kind,
                id: id.to_string(),
            },
            LibraryError::Invalid { field, reason } => LibraryApiError::BadParameter {
                name: field.to_string(),
                reason,
            },
            LibraryError::Conflict { .. } => LibraryApiError::Conflict(e.to_string()),
            LibraryError::PlaylistFile(reason) => LibraryApiError::BadParameter {
                name: "body".into(),
                reason,
            },
            other => {
                tracing::error!("library: {other}");
                LibraryApiError::Internal(other.to_string())
            }
        })
    }
}

/// The routes, merged into the main router.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/artists", get(artists))
        .route("/api/v1/artists/{id}", get(artist))
        .route("/api/v1/albums", get(albums))
        .route("/api/v1/albums/{id}", get(album))
        .route("/api/v1/tracks", get(tracks))
        .route("/api/v1/tracks/{id}", get(track))
        .route("/api/v1/search", get(search))
        .route("/api/v1/search/suggest", get(suggest))
        .route("/api/v1/covers/{id}", get(cover))
        .route("/api/v1/playlists", get(playlists).post(create_playlist))
        .route(
            "/api/v1/playlists/import",
            axum::routing::post(import_playlist),
        )
        .route(
            "/api/v1/playlists/{id}",
            get(playlist)
                .put(replace_playlist)
                .patch(edit_playlist)
                .delete(delete_playlist),
        )
}

/// Runs a catalog call on the blocking pool.
async fn call<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Library) -> floe_library::Result<T> + Send + 'static,
) -> Result<T, HttpError> {
    let library = state
        .library
        .clone()
        .ok_or(HttpError::Library(LibraryApiError::Unavailable))?;
    match tokio::task::spawn_blocking(move || f(&library)).await {
        Ok(result) => Ok(result?),
        Err(e) => {
            tracing::error!("library call failed: {e}");
            Err(HttpError::Internal)
        }
    }
}

/// Runs a catalog lookup of one item; `None` is a 404 naming `kind` and `id`.
async fn find<T: Send + 'static>(
    state: &AppState,
    kind: &'static str,
    id: i64,
    f: impl FnOnce(&Library) -> floe_library::Result<Option<T>> + Send + 'static,
) -> Result<T, HttpError> {
    call(state, f).await?.ok_or_else(|| not_found(kind, id))
}

/// An item found with what `children` lists for it (not asked for when there is no item).
fn with_children<T, C>(
    item: Option<T>,
    children: impl FnOnce() -> floe_library::Result<C>,
) -> floe_library::Result<Option<(T, C)>> {
    item.map(|item| Ok((item, children()?))).transpose()
}

fn parse_id(raw: &str) -> Result<i64, HttpError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("id", format!("{raw:?} is not an id")))
}

fn number_param(ctx: &RequestContext, name: &str) -> Result<Option<u64>, HttpError> {
    match ctx.param(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| bad(name, format!("{v:?} is not a whole number"))),
    }
}

fn page(state: &AppState, ctx: &RequestContext) -> Result<floe_library::PageRequest, HttpError> {
    let limits = &state.library_limits;
    let limit = number_param(ctx, "limit")?.unwrap_or(limits.default_page_size);
    if limit == 0 {
        return Err(bad("limit", "must be at least 1"));
    }
    if limit > limits.max_page_size {
        return Err(bad(
            "limit",
            format!("must be at most {}", limits.max_page_size),
        ));
    }
    let offset = number_param(ctx, "offset")?.unwrap_or(0);
    Ok(floe_library::PageRequest { offset, limit })
}

fn cover_url(ctx: &RequestContext, cover: Option<i64>) -> Value {
    cover.map_or(Value::Null, |id| {
        Value::String(ctx.url(&format!("/api/v1/covers/{id}")))
    })
}

/// A track as the API shows it (the file's path on the server is not shown).
pub fn track_json(ctx: &RequestContext, t: &Track) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "artist": t.artist,
        "album": t.album,
        "album_artist": t.album_artist,
        "artist_id": t.artist_id,
        "album_id": t.album_id,
        "track_no": t.track_no,
        "disc_no": t.disc_no,
        "year": t.year,
        "genre": t.genre,
        "duration_ms": t.duration_ms,
        "bitrate_kbps": t.bitrate_kbps,
        "sample_rate": t.sample_rate,
        "channels": t.channels,
        "suffix": t.suffix,
        "content_type": t.content_type,
        "size": t.size,
        "mtime": t.mtime,
        "has_cover": t.has_cover,
        "url": ctx.url(&format!("/api/v1/tracks/{}", t.id)),
        "stream_url": ctx.url(&format!("/api/v1/tracks/{}/stream", t.id)),
        "cover_url": cover_url(ctx, t.cover_id),
    })
}

fn artist_json(ctx: &RequestContext, a: &Artist) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "album_count": a.album_count,
        "track_count": a.track_count,
        "url": ctx.url(&format!("/api/v1/artists/{}", a.id)),
        "cover_url": cover_url(ctx, a.cover_id),
    })
}

fn album_json(ctx: &RequestContext, a: &Album) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "artist_id": a.artist_id,
        "artist": a.artist,
        "year": a.year,
        "genre": a.genre,
        "track_count": a.track_count,
        "duration_ms": a.duration_ms,
        "url": ctx.url(&format!("/api/v1/albums/{}", a.id)),
        "cover_url": cover_url(ctx, a.cover_id),
    })
}

fn playlist_json(ctx: &RequestContext, p: &Playlist) -> Value {
    let base = format!("/api/v1/playlists/{}", p.id);
    json!({
        "id": p.id,
        "name": p.name,
        "owner_user_id": p.owner_user_id,
        "comment": p.comment,
        "public": p.public,
        "created": p.created,
        "changed": p.changed,
        "track_count": p.track_count,
        "duration_ms": p.duration_ms,
        "url": ctx.url(&base),
        "m3u_url": ctx.url(&format!("{base}.m3u")),
        "pls_url": ctx.url(&format!("{base}.pls")),
        "xspf_url": ctx.url(&format!("{base}.xspf")),
    })
}

/// Items, each shown by `show`.
fn list_json<T>(
    ctx: &RequestContext,
    items: &[T],
    show: fn(&RequestContext, &T) -> Value,
) -> Value {
    Value::Array(items.iter().map(|x| show(ctx, x)).collect())
}

/// A page of a list, each item shown by `show`.
fn page_json<T>(
    ctx: &RequestContext,
    page: floe_library::PageRequest,
    list: &floe_library::Page<T>,
    show: fn(&RequestContext, &T) -> Value,
) -> Value {
    let items = list_json(ctx, &list.items, show);
    json!({ "total": list.total, "offset": page.offset, "limit": page.limit, "items": items })
}

/// A page of a list: the page asked for, fetched by `query` on the blocking pool, each item shown by `show`.
async fn paged<T: Send + 'static>(
    state: &AppState,
    ctx: &RequestContext,
    query: impl FnOnce(&Library, floe_library::PageRequest) -> floe_library::Result<floe_library::Page<T>>
        + Send
        + 'static,
    show: fn(&RequestContext, &T) -> Value,
) -> Result<Json<Value>, HttpError> {
    let p = page(state, ctx)?;
    let list = call(state, move |l| query(l, p)).await?;
    Ok(Json(page_json(ctx, p, &list, show)))
}

async fn artists(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Value>, HttpError> {
    paged(&state, &ctx, |l, p| l.artists(p), artist_json).await
}

async fn artist(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = parse_id(&id)?;
    let max = state.library_limits.max_page_size;
    let all = floe_library::PageRequest {
        offset: 0,
        limit: max,
    };
    let (artist, albums) = find(&state, "artist", id, move |l| {
        with_children(l.artist(id)?, || l.albums(Some(id), all))
    })
    .await?;
    let mut body = artist_json(&ctx, &artist);
    body["albums"] = list_json(&ctx, &albums.items, album_json);
    Ok(Json(body))
}

async fn albums(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Value>, HttpError> {
    let p = page(&state, &ctx)?;
    let artist = match ctx.param("artist_id") {
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| bad("artist_id", format!("{raw:?} is not an id")))?,
        ),
        None => None,
    };
    let list = call(&state, move |l| l.albums(artist, p)).await?;
    Ok(Json(page_json(&ctx, p, &list, album_json)))
}

async fn album(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = parse_id(&id)?;
    let (album, tracks) = find(&state, "album", id, move |l| {
        with_children(l.album(id)?, || l.album_tracks(id))
    })
    .await?;
    let mut body = album_json(&ctx, &album);
    body["tracks"] = list_json(&ctx, &tracks, track_json);
    Ok(Json(body))
}

async fn tracks(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Value>, HttpError> {
    paged(&state, &ctx, |l, p| l.tracks(p), track_json).await
}

async fn track(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = parse_id(&id)?;
    let track = find(&state, "track", id, move |l| l.track(id)).await?;
    Ok(Json(track_json(&ctx, &track)))
}

fn query_param(ctx: &RequestContext) -> Result<String, HttpError> {
    let q = ctx.param("q").ok_or_else(|| bad("q", "required"))?;
    if floe_library::search::fts_query(&q).is_none() {
        return Err(bad("q", "has no word to search for"));
    }
    Ok(q)
}

async fn search(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Value>, HttpError> {
    let q = query_param(&ctx)?;
    let p = page(&state, &ctx)?;
    let query = q.clone();
    let found = call(&state, move |l| l.search(&query, p)).await?;
    Ok(Json(json!({
        "query": q,
        "artists": page_json(&ctx, p, &found.artists, artist_json),
        "albums": page_json(&ctx, p, &found.albums, album_json),
        "tracks": page_json(&ctx, p, &found.tracks, track_json),
    })))
}

async fn suggest(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Value>, HttpError> {
    let q = query_param(&ctx)?;
    let max = state.library_limits.max_suggestions;
    let limit = number_param(&ctx, "limit")?.unwrap_or(max.min(10));
    if limit == 0 || limit > max {
        return Err(bad("limit", format!("must be between 1 and {max}")));
    }
    let query = q.clone();
    let list = call(&state, move |l| l.suggest(&query, limit)).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|s| {
            let path = match s.kind {
                "artist" => format!("/api/v1/artists/{}", s.id),
                "album" => format!("/api/v1/albums/{}", s.id),
                _ => format!("/api/v1/tracks/{}", s.id),
            };
            json!({ "kind": s.kind, "id": s.id, "text": s.text, "artist": s.artist, "url": ctx.url(&path) })
        })
        .collect();
    Ok(Json(json!({ "query": q, "suggestions": items })))
}

/// A picture, with a strong `ETag` (an embedded picture's id never changes content; folder art
/// adds the file's size and modification time) and `304` for a matching `If-None-Match`.
async fn cover(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let id = parse_id(&id)?;
    let cover = find(&state, "cover", id, move |l| l.cover(id)).await?;
    let unreadable = |path: &std::path::Path, e: std::io::Error| {
        tracing::warn!(path = %path.display(), "cover art unreadable: {e}");
        not_found("cover", id)
    };
    let (etag, bytes) = match cover.data {
        CoverData::Bytes(b) => (format!("\"c{id}\""), b),
        CoverData::File(path) => {
            let meta = tokio::fs::metadata(&path)
                .await
                .map_err(|e| unreadable(&path, e))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let etag = format!("\"f{id}-{}-{mtime}\"", meta.len());
            let data = tokio::fs::read(&path)
                .await
                .map_err(|e| unreadable(&path, e))?;
            (etag, bytes::Bytes::from(data))
        }
    };
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    let cache = (header::CACHE_CONTROL, "max-age=3600".to_string());
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, cover.mime),
            (header::ETAG, etag),
            cache,
        ],
        bytes,
    )
        .into_response())
}

async fn playlists(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Value>, HttpError> {
    paged(&state, &ctx, |l, p| l.playlists(None, p), playlist_json).await
}

async fn read_body(state: &AppState, body: Body) -> Result<bytes::Bytes, HttpError> {
    let max = state.library_limits.max_body_bytes;
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| HttpError::Library(LibraryApiError::TooLarge(max)))
}

fn json_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, HttpError> {
    serde_json::from_slice(bytes).map_err(|e| bad("body", e.to_string()))
}

/// Body of `POST /api/v1/playlists` and `PUT /api/v1/playlists/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaylistBody {
    name: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    tracks: Vec<i64>,
}

/// Body of `PATCH /api/v1/playlists/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaylistPatch {
    name: Option<String>,
    comment: Option<String>,
    public: Option<bool>,
    tracks: Option<Vec<i64>>,
    #[serde(default)]
    add: Vec<i64>,
    #[serde(default)]
    remove: Vec<u64>,
    #[serde(default, rename = "move")]
    moves: Vec<Move>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    from: u64,
    to: u64,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

fn created(ctx: &RequestContext, playlist: &Playlist, body: Value) -> Response {
    let location = ctx.url(&format!("/api/v1/playlists/{}", playlist.id));
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

async fn create_playlist(
    State(state): State<AppState>,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, HttpError> {
    if !is_json(request.headers()) {
        return import(state, ctx, request).await;
    }
    let body: PlaylistBody = json_body(&read_body(&state, request.into_body()).await?)?;
    let playlist = call(&state, move |l| {
        l.create_playlist(&body.name, None, &body.comment, body.public, &body.tracks)
    })
    .await?;
    let json = playlist_json(&ctx, &playlist);
    Ok(created(&ctx, &playlist, json))
}

async fn import_playlist(
    State(state): State<AppState>,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, HttpError> {
    import(state, ctx, request).await
}

/// Creates a playlist from an `.m3u`/`.pls`/`.xspf` body, named by `?name=` (default
/// "Imported playlist"); answers it with `unmatched`, the entries no track matched.
async fn import(
    state: AppState,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, HttpError> {
    let bytes = read_body(&state, request.into_body()).await?;
    let entries = playlist_file::parse(&bytes).map_err(|e| match e {
        LibraryError::PlaylistFile(reason) => bad("body", reason),
        other => HttpError::from(other),
    })?;
    let name = ctx
        .param("name")
        .unwrap_or_else(|| "Imported playlist".to_string());
    let entries: Vec<PlaylistEntryMatch> = entries.into_iter().map(Into::into).collect();
    let (playlist, unmatched) =
        call(&state, move |l| l.import_playlist(&name, None, entries)).await?;
    let mut json = playlist_json(&ctx, &playlist);
    json["unmatched"] = json!(unmatched);
    Ok(created(&ctx, &playlist, json))
}

/// Export formats by suffix: (suffix, content type).
const EXPORTS: &[(&str, &str)] = &[
    (".m3u", "audio/x-mpegurl"),
    (".pls", "audio/x-scpls"),
    (".xspf", "application/xspf+xml"),
];

async fn playlist(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(raw): Path<String>,
) -> Result<Response, HttpError> {
    let export = EXPORTS.iter().find(|(suffix, _)| raw.ends_with(suffix));
    let id = parse_id(export.map_or(raw.as_str(), |(suffix, _)| &raw[..raw.len() - suffix.len()]))?;
    let (playlist, tracks) = find(&state, "playlist", id, move |l| {
        with_children(l.playlist(id)?, || l.playlist_tracks(id))
    })
    .await?;
    let Some((suffix, content_type)) = export else {
        let mut body = playlist_json(&ctx, &playlist);
        body["tracks"] = list_json(&ctx, &tracks, track_json);
        return Ok(Json(body).into_response());
    };
    let urls: Vec<(String, String)> = tracks
        .iter()
        .map(|t| {
            (
                ctx.url(&format!("/api/v1/tracks/{}/stream", t.id)),
                format!("{} - {}", t.artist, t.title),
            )
        })
        .collect();
    let entries: Vec<floe_proto::playlist::Entry<'_>> = urls
        .iter()
        .map(|(url, title)| floe_proto::playlist::Entry {
            url,
            title: Some(title),
        })
        .collect();
    let text = match *suffix {
        ".m3u" => floe_proto::playlist::m3u(&entries),
        ".pls" => floe_proto::playlist::pls(&entries),
        _ => floe_proto::playlist::xspf(&entries),
    };
    let file_name: String = playlist
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file_name}{suffix}\""),
            ),
        ],
        text,
    )
        .into_response())
}

async fn replace_playlist(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    request: Request,
) -> Result<Json<Value>, HttpError> {
    let id = parse_id(&id)?;
    let body: PlaylistBody = json_body(&read_body(&state, request.into_body()).await?)?;
    let edit = PlaylistEdit {
        name: Some(body.name),
        comment: Some(body.comment),
        public: Some(body.public),
        tracks: Some(body.tracks),
        ..PlaylistEdit::default()
    };
    apply_edit(&state, &ctx, id, edit).await
}

/// Applies an edit to a playlist and answers the playlist as it is then.
async fn apply_edit(
    state: &AppState,
    ctx: &RequestContext,
    id: i64,
    edit: PlaylistEdit,
) -> Result<Json<Value>, HttpError> {
    let playlist = call(state, move |l| l.edit_playlist(id, &edit)).await?;
    Ok(Json(playlist_json(ctx, &playlist)))
}

async fn edit_playlist(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    request: Request,
) -> Result<Json<Value>, HttpError> {
    let id = parse_id(&id)?;
    let body: PlaylistPatch = json_body(&read_body(&state, request.into_body()).await?)?;
    let edit = PlaylistEdit {
        name: body.name,
        comment: body.comment,
        public: body.public,
        tracks: body.tracks,
        remove: body.remove,
        moves: body.moves.iter().map(|m| (m.from, m.to)).collect(),
        add: body.add,
    };
    apply_edit(&state, &ctx, id, edit).await
}

async fn delete_playlist(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    let id = parse_id(&id)?;
    if call(&state, move |l| l.delete_playlist(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("playlist", id))
    }
}
