//! Everything HTTP that is not a source or a live listener on the edge's fast path: admin,
//! status pages, the JSON API, playlists, Server-Sent Events and the web page, served by axum.
//!
//! Layout:
//! - [`request`]: what every handler reads from a request ([`RequestContext`]): the peer, the
//!   query (with Icecast's `charset`), credentials, JSON-or-XML, and the base URL from `Host`.
//! - [`error`]: the one place that maps errors to HTTP status codes and bodies (XML, JSON, text).
//! - [`document`]: a small element tree written as Icecast's XML or as the same data in JSON.
//! - [`view`]: a mount as status pages describe it (config overrides over the source's headers).
//! - [`dates`]: Icecast's date formats, by hand (no calendar crate).
//! - [`admin`]: `/admin/*` and SHOUTcast's `/admin.cgi`.
//! - [`status`]: `/status-json.xsl`, SHOUTcast's `/7.html` and `/stats`.
//! - [`api`]: the JSON API under `/api/v1/`.
//! - [`events`]: `/api/v1/events` (Server-Sent Events) and the listener-count ticker.
//! - [`pcm`]: endless WAV and `audio/L16` under `/api/v1/pcm/`.
//! - [`sessions`]: audio over Server-Sent Events and WebSocket, and `/api/v1/sessions`.
//! - [`library`]: the music library's REST API (artists, albums, tracks, search, playlists).
//! - [`playlist`]: `.m3u`, `.pls`, `.xspf` and `.vclt` for every mount.
//! - [`web`]: the page at `/`.
//!
//! Every response carries `Access-Control-Allow-Origin: *` and a `Server` header; `OPTIONS` on any
//! path is a CORS preflight answered here; every request is written to the access log.

pub mod admin;
pub mod api;
pub mod dates;
pub mod document;
pub mod error;
pub mod events;
pub mod library;
pub mod pcm;
pub mod playlist;
pub mod request;
pub mod sessions;
pub mod status;
pub mod view;
pub mod web;

#[cfg(test)]
mod tests;

pub use error::HttpError;
pub use events::spawn_listener_count_ticker;
pub use request::RequestContext;

use crate::access::unix_now;
use crate::{AppState, SERVER_NAME};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use floe_proto::accesslog::AccessRecord;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

/// Inserted into every request's extensions by the edge.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address (after trusted-proxy resolution).
    pub client: IpAddr,
    /// The socket's remote address.
    pub remote: SocketAddr,
}

impl Peer {
    /// The peer of a request, or loopback when the edge did not say (tests, embedding).
    pub fn of(extensions: &axum::http::Extensions) -> Peer {
        extensions.get::<Peer>().copied().unwrap_or(Peer {
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        })
    }
}

/// The methods Floe serves, as `OPTIONS` and `Allow` advertise them (libshout switches to PUT
/// only when it sees `PUT` here).
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS, PUT, SOURCE";

/// Marks a response whose access-log line is written by someone else (a listener session logs
/// itself when it ends).
#[derive(Debug, Clone, Copy)]
struct LoggedElsewhere;

/// The complete router.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/", get(web::index))
        .route("/web/{file}", get(web::asset))
        .route("/web/vendor/{file}", get(web::vendor))
        .route("/admin", get(admin::home))
        .route("/admin/", get(admin::home))
        .route(
            "/admin/{*command}",
            get(admin::command).post(admin::command),
        )
        .route("/admin.cgi", get(admin::shoutcast).post(admin::shoutcast))
        .route("/status-json.xsl", get(status::status_json))
        .route("/7.html", get(status::seven_html))
        .route("/stats", get(status::shoutcast_stats))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/mounts", get(api::mounts))
        .route("/api/v1/mounts/{*path}", get(api::mount))
        .route("/api/v1/nowplaying", get(api::now_playing))
        .route("/api/v1/events", get(events::stream))
        .route("/api/v1/pcm/{*path}", get(pcm::stream))
        .route("/api/v1/sse/{*mount}", get(sessions::mount_stream))
        .route("/api/v1/ws/{*mount}", get(sessions::mount_ws))
        .route("/api/v1/sessions", axum::routing::post(sessions::create))
        .route(
            "/api/v1/sessions/{id}",
            axum::routing::delete(sessions::delete),
        )
        .route(
            "/api/v1/sessions/{id}/stream",
            get(sessions::session_stream),
        )
        .route("/api/v1/sessions/{id}/ws", get(sessions::session_ws))
        .merge(crate::hls::routes())
        .merge(library::routes())
        .route(
            "/api/v1/tracks/{id}/stream",
            get(crate::media::tracks::stream),
        )
        .route(
            "/api/v1/tracks/{id}/download",
            get(crate::media::tracks::download),
        )
        .route(
            "/rest/{method}",
            get(crate::subsonic::entry).post(crate::subsonic::entry),
        )
        .fallback(fallback)
        .layer(middleware::from_fn(common_headers))
        .layer(middleware::from_fn_with_state(state.clone(), access_log))
        .with_state(state)
}

/// Whatever no route took: a listener GET of a mount on a kept-alive connection, a playlist,
/// or a 404.
async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let is_get = matches!(*req.method(), Method::GET | Method::HEAD);
    if is_get && state.engine.mount(&path).is_some() {
        return listener(&state, req).await;
    }
    if state.media.proxy.handles(&path) {
        if let Some(response) = state.media.proxy.forward(req).await {
            return response;
        }
        return HttpError::NotFound.into_response();
    }
    if is_get {
        let ctx = RequestContext::new(req.uri(), req.headers(), req.extensions(), &state.settings);
        if let Some(response) = playlist::serve(&state, &ctx, &path) {
            return response;
        }
    }
    if path.starts_with("/api/") {
        return HttpError::NotFound.into_response();
    }
    HttpError::NotFound.text()
}

/// A listener GET of a mount that arrived through hyper (a kept-alive connection).
async fn listener(state: &AppState, req: Request) -> Response {
    let peer = Peer::of(req.extensions());
    match crate::listen::hyper_listener(state, req, peer).await {
        Some(mut response) => {
            response.extensions_mut().insert(LoggedElsewhere);
            response
        }
        None => HttpError::MountNotFound.text(),
    }
}

/// CORS on every response, the `Server` header, and the preflight answer to `OPTIONS`.
async fn common_headers(req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        return preflight();
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers
        .entry(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .or_insert(HeaderValue::from_static("*"));
    headers
        .entry(header::SERVER)
        .or_insert(HeaderValue::from_static(SERVER_NAME));
    response
}

fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Icy-MetaData, Range, Content-Type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
            (header::ALLOW, ALLOWED_METHODS),
            (header::SERVER, SERVER_NAME),
        ],
    )
        .into_response()
}

/// The request fields an access-log line needs, copied out before the request is handed on.
struct Logged {
    peer: Peer,
    method: String,
    target: String,
    version: String,
    referer: Option<String>,
    user_agent: Option<String>,
    user: Option<String>,
}

impl Logged {
    fn of(req: &Request) -> Logged {
        let headers = req.headers();
        Logged {
            peer: Peer::of(req.extensions()),
            method: req.method().to_string(),
            target: redact_target(
                req.uri()
                    .path_and_query()
                    .map_or_else(|| req.uri().path(), |p| p.as_str()),
            ),
            version: format!("{:?}", req.version()),
            referer: header_string(headers, header::REFERER),
            user_agent: header_string(headers, header::USER_AGENT),
            user: header_string(headers, header::AUTHORIZATION)
                .and_then(|a| floe_proto::auth::parse_basic(&a))
                .map(|(user, _)| user)
                .or_else(|| subsonic_user(req.uri())),
        }
    }
}

/// Writes one access-log line per request once its response head is ready. Long responses
/// (events) are logged when they start, with the bytes unknown (0).
async fn access_log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let start_unix = unix_now();
    let logged = Logged::of(&req);
    let response = next.run(req).await;
    if response.extensions().get::<LoggedElsewhere>().is_none() {
        state.access_log.record(&AccessRecord {
            client: &logged.peer.client.to_string(),
            user: logged.user.as_deref(),
            start_unix,
            method: &logged.method,
            target: &logged.target,
            version: &logged.version,
            status: response.status().as_u16(),
            bytes: response_length(&response),
            referer: logged.referer.as_deref(),
            user_agent: logged.user_agent.as_deref(),
            duration_secs: started.elapsed().as_secs(),
        });
    }
    response
}

fn header_string(headers: &axum::http::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The body length of a response: its `Content-Length`, else the body's exact size, else 0.
fn response_length(response: &Response) -> u64 {
    use axum::body::HttpBody;
    response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| response.body().size_hint().exact())
        .unwrap_or(0)
}

/// The user a Subsonic request names in its query (`u`), for the access log's user field.
fn subsonic_user(uri: &axum::http::Uri) -> Option<String> {
    if !uri.path().starts_with("/rest/") {
        return None;
    }
    crate::subsonic::params::Params::from_query(uri.query()?)
        .get("u")
        .map(str::to_string)
}

/// The request target with password parameters (`pass=`, SHOUTcast's admin.cgi; the Subsonic
/// API's `p`, `t` and `apiKey` under `/rest/`) blanked, so the access log never holds a
/// credential.
pub(crate) fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_string();
    };
    let subsonic = path.starts_with("/rest/");
    let secret = |name: &str| {
        name.eq_ignore_ascii_case("pass") || (subsonic && matches!(name, "p" | "t" | "apiKey"))
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret(name) => format!("{name}=*"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn passwords_are_blanked_in_logged_targets() {
        assert_eq!(
            redact_target("/admin.cgi?pass=secret&mode=updinfo&song=x"),
            "/admin.cgi?pass=*&mode=updinfo&song=x"
        );
        assert_eq!(redact_target("/live.mp3"), "/live.mp3");
        assert_eq!(redact_target("/a?b&c=d"), "/a?b&c=d");
        assert_eq!(
            redact_target("/rest/ping.view?u=al&p=enc:41&v=1&t=ab&s=cd&apiKey=k&c=x"),
            "/rest/ping.view?u=al&p=*&v=1&t=*&s=cd&apiKey=*&c=x"
        );
        assert_eq!(redact_target("/other?p=1&t=2"), "/other?p=1&t=2");
    }
}
