//! HLS, LL-HLS and DASH over HTTP, from the segments [`floe_hls::HlsService`] cuts.
//!
//! URLs (`{mount}` is the mount's path, e.g. `/live.mp3`):
//! - `/hls{mount}/index.m3u8`: the LL-HLS media playlist over CMAF (`_HLS_msn`, `_HLS_part`
//!   block until that part exists; `_HLS_skip=YES` gives a delta update);
//! - `/hls{mount}/ts.m3u8`: MPEG-TS segments, for AAC and MP3 mounts, for older clients;
//! - `/hls{mount}/master.m3u8`: a master playlist with the mount as its one variant;
//! - `/hls{mount}/manifest.mpd`: the dynamic DASH MPD over the same CMAF segments;
//! - `/hls{mount}/init{n}.mp4`, `s{msn}.m4s`, `p{msn}.{part}.m4s`, `s{msn}.ts`: media. A request
//!   for the next part or segment (the preload hint) blocks until it is complete;
//! - `/hls/stations/{name}.m3u8`: a station's master playlist, one variant per rendition;
//! - `/api/v1/time`: the server's clock (ISO 8601), the MPD's `UTCTiming` source;
//! - `/api/v1/tracks/{id}/hls/index.m3u8`: on-demand HLS of a library track (MP3, ADTS AAC,
//!   Ogg Opus/FLAC files), `init.mp4` and `s{n}.m4s`.
//!
//! Caching: media is `public, max-age=31536000, immutable` with a strong ETag (and answers
//! `If-None-Match` with 304); playlists and the MPD are `max-age=1` (at most one segment
//! duration), blocking playlist responses `max-age` of one target duration (their URL names
//! the part they wait for, and any later playlist satisfies it).
//!
//! Every request counts the session it belongs to (the `sid` query parameter, else client
//! address and user agent) as a listener of the mount until it stops asking.

use crate::http::Peer;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use floe_hls::playlist;
use floe_hls::service::unix_ms;
use floe_hls::vod::{self, VodError, VodTrack};
use floe_hls::{Availability, LiveStream};
use floe_proto::hls::{DeliveryDirectives, MasterPlaylist, RenditionReport, Variant};
use floe_proto::query::Query;
use std::time::Duration;

/// `Cache-Control` of segments, parts and init segments.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of playlists and the MPD.
pub const PLAYLIST_CACHE: &str = "public, max-age=1";

/// Why an HLS request fails; [`HlsError::into_response`] is the one place mapping it to HTTP.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HlsError {
    /// No such mount, the mount is not offered over HLS, or nothing is segmented yet.
    #[error("no HLS stream for this mount")]
    NoStream,
    /// A name under the mount's directory that Floe does not serve.
    #[error("no such HLS resource")]
    NotFound,
    /// The segment or part left the window (or was never cut).
    #[error("segment no longer available")]
    Gone,
    /// `_HLS_msn` / `_HLS_part` too far ahead of the live edge, or out of range.
    #[error("bad blocking request: {0}")]
    BadRequest(&'static str),
    /// A malformed delivery directive (`_HLS_msn`, `_HLS_part`, `_HLS_skip`).
    #[error(transparent)]
    Directive(#[from] floe_proto::hls::HlsError),
    /// A blocking request was not satisfied in time.
    #[error("not available within the blocking timeout")]
    Timeout,
    /// The mount's codec has no form for this request (e.g. TS for Opus).
    #[error("this mount's codec is not offered in this form")]
    Unsupported,
    /// A library track has no on-demand HLS form, or it failed.
    #[error(transparent)]
    Vod(#[from] VodError),
}

impl IntoResponse for HlsError {
    fn into_response(self) -> Response {
        let status = match self {
            HlsError::NoStream | HlsError::NotFound | HlsError::Gone | HlsError::Unsupported => {
                StatusCode::NOT_FOUND
            }
            HlsError::BadRequest(_) | HlsError::Directive(_) => StatusCode::BAD_REQUEST,
            HlsError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            HlsError::Vod(VodError::Unsupported) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HlsError::Vod(VodError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            HlsError::Vod(VodError::NoSegment(_) | VodError::Empty) => StatusCode::NOT_FOUND,
            HlsError::Vod(VodError::Unreadable | VodError::Mux(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            format!("{self}\n"),
        )
            .into_response()
    }
}

/// The routes of this module.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/hls/{*rest}", get(serve))
        .route("/api/v1/time", get(time))
        .route("/api/v1/tracks/{id}/hls/{file}", get(vod))
}

/// `Cache-Control` of on-demand playlists and segments (the file may be replaced).
pub const VOD_CACHE: &str = "public, max-age=86400";

/// `GET /api/v1/tracks/{id}/hls/{index.m3u8 | init.mp4 | s{n}.m4s}`: on-demand HLS of a
/// library track, cut once (no re-encoding) and kept in a small cache.
async fn vod(
    State(state): State<AppState>,
    axum::extract::Path((id, file)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let track = match crate::media::tracks::find_track(&state, &id).await {
        Ok(t) => t,
        Err(e) => return crate::http::HttpError::Media(e).into_response(),
    };
    match vod_respond(&state, &track, &file, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn vod_respond(
    state: &AppState,
    track: &floe_library::Track,
    file: &str,
    headers: &HeaderMap,
) -> Result<Response, HlsError> {
    let ext = track
        .path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let format = vod::format_of(ext).ok_or(VodError::Unsupported)?;
    let settings = state.hls.settings();
    if track.size > settings.vod_max_file_bytes {
        return Err(VodError::TooLarge {
            size: track.size,
            limit: settings.vod_max_file_bytes,
        }
        .into());
    }
    let (hls, id, mtime, path) = (state.hls.clone(), track.id, track.mtime, track.path.clone());
    let segment_duration = settings.vod_segment_duration;
    let cut = tokio::task::spawn_blocking(move || {
        hls.vod_track(id, mtime, || {
            let data = std::fs::read(&path).map_err(|_| VodError::Unreadable)?;
            VodTrack::prepare(&data, format, segment_duration)
        })
    })
    .await
    .map_err(|_| VodError::Unreadable)??;
    let tag = format!("vod-{id}-{mtime}");
    let mut response = match file {
        "index.m3u8" => text_response(cut.playlist().render(), VOD_CACHE, HLS_TYPE),
        "init.mp4" => media_response(headers, cut.init.clone(), &format!("{tag}-i"), "audio/mp4"),
        _ => {
            let n: usize = file
                .strip_prefix('s')
                .and_then(|f| f.strip_suffix(".m4s"))
                .and_then(|n| n.parse().ok())
                .ok_or(HlsError::NotFound)?;
            let bytes = Bytes::from(cut.segment(n)?);
            media_response(headers, bytes, &format!("{tag}-s{n}"), "audio/mp4")
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(VOD_CACHE));
    Ok(response)
}

/// True for a track browsers cannot play as CMAF (MP3: Chromium's MSE has no MP3 in MP4), so
/// players are pointed at the MPEG-TS playlist (hls.js transmuxes it) and get no DASH URL.
fn browsers_need_ts(state: &AppState, mount: &str, content_type: Option<&str>) -> bool {
    match state.hls.stream(mount).and_then(|s| {
        s.segmenter()
            .init()
            .map(|i| i.track.config.codec == floe_media::mux::fmp4::AudioCodec::Mp3)
    }) {
        Some(mp3) => mp3,
        None => content_type.is_some_and(|ct| {
            floe_proto::frame::StreamFormat::from_content_type(ct)
                == floe_proto::frame::StreamFormat::Mp3
        }),
    }
}

/// The `hls_url` and `dash_url` of a mount, if offered: LL-HLS over CMAF and DASH, or for MP3
/// the MPEG-TS playlist and no DASH (see [`browsers_need_ts`]).
pub fn urls(
    state: &AppState,
    base_url: &str,
    v: &crate::http::view::MountView,
) -> (Option<String>, Option<String>) {
    if !state.hls.settings().enabled || !v.mount.policy.hls {
        return (None, None);
    }
    let path = v.path();
    if browsers_need_ts(state, path, v.content_type().as_deref()) {
        return (Some(format!("{base_url}/hls{path}/ts.m3u8")), None);
    }
    (
        Some(format!("{base_url}/hls{path}/index.m3u8")),
        Some(format!("{base_url}/hls{path}/manifest.mpd")),
    )
}

/// `GET /api/v1/time`: the server's time (`urn:mpeg:dash:utc:http-iso:2014`).
async fn time() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        floe_proto::hls::date_time(i64::try_from(unix_ms()).unwrap_or(i64::MAX)),
    )
        .into_response()
}

/// What a name under `/hls{mount}/` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Media,
    Ts,
    Master,
    Mpd,
    Init(u32),
    Segment(u64),
    Part(u64, u32),
    TsSegment(u64),
}

fn parse_resource(file: &str) -> Option<Resource> {
    Some(match file {
        "index.m3u8" => Resource::Media,
        "ts.m3u8" => Resource::Ts,
        "master.m3u8" => Resource::Master,
        "manifest.mpd" => Resource::Mpd,
        _ => {
            if let Some(n) = file
                .strip_prefix("init")
                .and_then(|f| f.strip_suffix(".mp4"))
            {
                Resource::Init(n.parse().ok()?)
            } else if let Some(n) = file.strip_prefix('s').and_then(|f| f.strip_suffix(".m4s")) {
                Resource::Segment(n.parse().ok()?)
            } else if let Some(n) = file.strip_prefix('s').and_then(|f| f.strip_suffix(".ts")) {
                Resource::TsSegment(n.parse().ok()?)
            } else if let Some(n) = file.strip_prefix('p').and_then(|f| f.strip_suffix(".m4s")) {
                let (msn, part) = n.split_once('.')?;
                Resource::Part(msn.parse().ok()?, part.parse().ok()?)
            } else {
                return None;
            }
        }
    })
}

/// What a handler keeps of the request (a `Request` is not `Sync`, so it is not held across
/// the blocking waits).
struct Asked {
    path: String,
    /// The raw query string (the delivery directives are parsed from it).
    raw_query: String,
    headers: HeaderMap,
    session: String,
    base_url: String,
}

/// `GET /hls/...`.
async fn serve(State(state): State<AppState>, req: Request) -> Response {
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let asked = Asked {
        path: req.uri().path().to_string(),
        raw_query: req.uri().query().unwrap_or("").to_string(),
        session: session_key(&req, &query),
        base_url: crate::http::RequestContext::new(
            req.uri(),
            req.headers(),
            req.extensions(),
            &state.settings,
        )
        .base_url,
        headers: req.headers().clone(),
    };
    drop(req);
    match respond(&state, &asked).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn respond(state: &AppState, asked: &Asked) -> Result<Response, HlsError> {
    let rest = asked.path.strip_prefix("/hls").ok_or(HlsError::NotFound)?;
    let (mount, file) = rest.rsplit_once('/').ok_or(HlsError::NotFound)?;
    if mount == "/stations" {
        if let Some(name) = file.strip_suffix(".m3u8") {
            if state.hls.stations().contains_key(name) {
                return station_master(state, name);
            }
        }
    }
    let resource = parse_resource(file).ok_or(HlsError::NotFound)?;
    // Streams exist only for offered mounts, and outlive a source's absence by their window.
    let stream = state.hls.stream(mount).ok_or(HlsError::NoStream)?;
    stream.touch(asked.session.clone());
    let target = {
        let seg = stream.segmenter();
        playlist::target_duration(&seg)
    };
    // The LL-HLS rule: a blocking request waits at most three target durations.
    let block = Duration::from_secs(3 * target);
    match resource {
        Resource::Media => {
            let directives = DeliveryDirectives::parse(&asked.raw_query)?;
            media_playlist(state, &stream, mount, directives, block, target).await
        }
        Resource::Ts => {
            let (text, has_ts) = {
                let seg = stream.segmenter();
                let has_ts = seg.init().is_some_and(|i| i.track.ts.is_some());
                (playlist::ts_playlist(&seg).map(|p| p.render()), has_ts)
            };
            match (text, has_ts) {
                (Some(text), _) => Ok(text_response(text, PLAYLIST_CACHE, HLS_TYPE)),
                (None, false) => Err(HlsError::Unsupported),
                (None, true) => Err(HlsError::NoStream),
            }
        }
        Resource::Master => {
            let variant = playlist::variant(&stream.segmenter(), format!("/hls{mount}/index.m3u8"))
                .ok_or(HlsError::NoStream)?;
            Ok(master_response(vec![variant]))
        }
        Resource::Mpd => {
            let mpd = playlist::dash_manifest(
                &stream.segmenter(),
                &format!("{}/api/v1/time", asked.base_url),
                unix_ms(),
            )
            .ok_or(HlsError::NoStream)?;
            Ok(text_response(
                mpd.render(),
                PLAYLIST_CACHE,
                "application/dash+xml",
            ))
        }
        Resource::Init(id) => {
            let init = stream.segmenter().init_by_id(id).ok_or(HlsError::Gone)?;
            Ok(media_response(
                &asked.headers,
                init.bytes.clone(),
                &format!("{}-i{id}", stream.tag),
                "audio/mp4",
            ))
        }
        Resource::Segment(msn) | Resource::TsSegment(msn) => {
            wait(&stream, msn, None, block).await?;
            let ts = matches!(resource, Resource::TsSegment(_));
            let bytes = {
                let seg = stream.segmenter();
                let s = seg.segment(msn).ok_or(HlsError::Gone)?;
                if ts {
                    s.ts.clone().ok_or(HlsError::Unsupported)?
                } else {
                    s.bytes.clone()
                }
            };
            let (tag, kind) = if ts {
                (format!("{}-t{msn}", stream.tag), "video/mp2t")
            } else {
                (format!("{}-s{msn}", stream.tag), "audio/mp4")
            };
            Ok(media_response(&asked.headers, bytes, &tag, kind))
        }
        Resource::Part(msn, part) => {
            wait(&stream, msn, Some(part), block).await?;
            let bytes = stream.segmenter().part(msn, part).ok_or(HlsError::Gone)?;
            Ok(media_response(
                &asked.headers,
                bytes,
                &format!("{}-p{msn}.{part}", stream.tag),
                "audio/mp4",
            ))
        }
    }
}

const HLS_TYPE: &str = "application/vnd.apple.mpegurl";

/// Waits for a segment or part that will exist soon.
async fn wait(
    stream: &LiveStream,
    msn: u64,
    part: Option<u32>,
    block: Duration,
) -> Result<(), HlsError> {
    match stream.wait_for(msn, part, block).await {
        Availability::Ready => Ok(()),
        Availability::Never => Err(HlsError::Gone),
        Availability::Soon => Err(HlsError::Timeout),
    }
}

async fn media_playlist(
    state: &AppState,
    stream: &LiveStream,
    mount: &str,
    directives: DeliveryDirectives,
    block: Duration,
    target: u64,
) -> Result<Response, HlsError> {
    let DeliveryDirectives { msn, part, skip } = directives;
    let part = part
        .map(|p| u32::try_from(p).map_err(|_| HlsError::BadRequest("_HLS_part too large")))
        .transpose()?;
    let mut cache = PLAYLIST_CACHE.to_string();
    if let Some(msn) = msn {
        let next = stream.segmenter().next_msn();
        if msn > next + 1 {
            return Err(HlsError::BadRequest(
                "_HLS_msn more than two segments ahead",
            ));
        }
        match stream.wait_for(msn, part, block).await {
            // Asked for a part of a segment that ended before it: the playlist has what follows.
            Availability::Ready | Availability::Never => {}
            Availability::Soon => return Err(HlsError::Timeout),
        }
        cache = format!("public, max-age={target}");
    }
    let reports = rendition_reports(state, mount);
    let text = playlist::media_playlist(&stream.segmenter(), skip.is_some(), &reports)
        .ok_or(HlsError::NoStream)?
        .render();
    Ok(text_response(text, &cache, HLS_TYPE))
}

/// `EXT-X-RENDITION-REPORT`s: the other renditions of the mount's station.
fn rendition_reports(state: &AppState, mount: &str) -> Vec<RenditionReport> {
    let Some((_, mounts)) = state.hls.station_of(mount) else {
        return Vec::new();
    };
    let depth = mount.matches('/').count();
    mounts
        .iter()
        .filter(|m| *m != mount)
        .filter_map(|m| {
            let stream = state.hls.stream(m)?;
            let (last_msn, last_part) = stream.segmenter().last_part()?;
            Some(RenditionReport {
                uri: format!(
                    "{}{}/index.m3u8",
                    "../".repeat(depth),
                    m.trim_start_matches('/')
                ),
                last_msn,
                last_part: Some(u64::from(last_part)),
            })
        })
        .collect()
}

/// A master playlist over `variants` (audio: every segment is independent).
fn master_response(variants: Vec<Variant>) -> Response {
    let master = MasterPlaylist {
        independent_segments: true,
        variants,
    };
    text_response(master.render(), PLAYLIST_CACHE, HLS_TYPE)
}

fn station_master(state: &AppState, name: &str) -> Result<Response, HlsError> {
    let mounts = state.hls.stations().get(name).ok_or(HlsError::NotFound)?;
    let variants: Vec<Variant> = mounts
        .iter()
        .filter(|m| state.hls.offered(m))
        .filter_map(|m| {
            let stream = state.hls.stream(m)?;
            // (Decided before the lock: `browsers_need_ts` takes it too.)
            let need_ts = browsers_need_ts(state, m, None);
            let seg = stream.segmenter();
            if need_ts {
                // MP3 in MPEG-TS: RFC 6381's `mp4a.40.34`, as hls.js reads it.
                let mut v = playlist::variant(&seg, format!("/hls{m}/ts.m3u8"))?;
                v.codecs = "mp4a.40.34".into();
                return Some(v);
            }
            playlist::variant(&seg, format!("/hls{m}/index.m3u8"))
        })
        .collect();
    if variants.is_empty() {
        return Err(HlsError::NoStream);
    }
    Ok(master_response(variants))
}

/// The session a request belongs to: `sid`, else client address and user agent.
fn session_key(req: &Request, query: &Query) -> String {
    if let Some(sid) = query.get("sid").filter(|s| !s.is_empty() && s.len() <= 128) {
        return format!("sid:{sid}");
    }
    let peer = Peer::of(req.extensions());
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!("{}|{ua}", peer.client)
}

fn text_response(text: String, cache: &str, content_type: &'static str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, content_type)], text).into_response();
    if let Ok(v) = HeaderValue::from_str(cache) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r
}

fn media_response(
    headers: &HeaderMap,
    bytes: Bytes,
    tag: &str,
    content_type: &'static str,
) -> Response {
    let etag = format!("\"{tag}\"");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let status = if matches {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut r = if matches {
        status.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names() {
        assert_eq!(parse_resource("index.m3u8"), Some(Resource::Media));
        assert_eq!(parse_resource("init3.mp4"), Some(Resource::Init(3)));
        assert_eq!(parse_resource("s12.m4s"), Some(Resource::Segment(12)));
        assert_eq!(parse_resource("s12.ts"), Some(Resource::TsSegment(12)));
        assert_eq!(parse_resource("p12.3.m4s"), Some(Resource::Part(12, 3)));
        assert_eq!(parse_resource("p12.m4s"), None);
        assert_eq!(parse_resource("s-1.m4s"), None);
        assert_eq!(parse_resource("other"), None);
    }

    #[test]
    fn errors_map_to_statuses() {
        assert_eq!(HlsError::Timeout.into_response().status(), 503);
        assert_eq!(HlsError::BadRequest("x").into_response().status(), 400);
        assert_eq!(HlsError::Gone.into_response().status(), 404);
    }

    #[test]
    fn media_answers_if_none_match_with_304() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"a-s1\""));
        let r = media_response(&h, Bytes::from_static(b"x"), "a-s1", "audio/mp4");
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers()[header::ETAG], "\"a-s1\"");
        let r = media_response(
            &HeaderMap::new(),
            Bytes::from_static(b"x"),
            "a-s1",
            "audio/mp4",
        );
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
    }
}
