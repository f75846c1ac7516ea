//! The page at `/`: stations and their mounts with live titles and listener counts, and a
//! player for every transport Floe offers (HLS and DASH through the vendored hls.js and
//! dash.js, the plain stream, endless WAV, PCM over WebSocket and Server-Sent Events).
//!
//! Plain HTML, CSS and JavaScript embedded in the binary (no CDN, no build step). The page
//! loads `/api/v1/mounts`, then follows `/api/v1/events`. The vendored players are the
//! unmodified minified builds from npm (versions pinned in `web-tests/package.json`), with
//! their licence files beside them (hls.js: Apache-2.0; dash.js: BSD-3-Clause).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("web/index.html");
const STYLE_CSS: &str = include_str!("web/style.css");
const APP_JS: &str = include_str!("web/app.js");
const HLS_JS: &str = include_str!("web/vendor/hls.min.js");
const HLS_LICENSE: &str = include_str!("web/vendor/hls.js.LICENSE");
const DASH_JS: &str = include_str!("web/vendor/dash.mediaplayer.min.js");
const DASH_LICENSE: &str = include_str!("web/vendor/dash.js.LICENSE.md");
const DASH_THIRD_PARTY: &str = include_str!("web/vendor/dash.mediaplayer.min.js.LICENSE.txt");

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// `GET /`.
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// `GET /web/{file}`: the page's stylesheet and script.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "style.css" => ("text/css; charset=utf-8", STYLE_CSS),
        "app.js" => (JS, APP_JS),
        _ => return super::HttpError::NotFound.text(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /web/vendor/{file}`: the vendored players and their licences. They change only with
/// Floe's version, so browsers may keep them for a day.
pub async fn vendor(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "hls.min.js" => (JS, HLS_JS),
        "hls.js.LICENSE" => (TEXT, HLS_LICENSE),
        "dash.mediaplayer.min.js" => (JS, DASH_JS),
        "dash.js.LICENSE.md" => (TEXT, DASH_LICENSE),
        "dash.mediaplayer.min.js.LICENSE.txt" => (TEXT, DASH_THIRD_PARTY),
        _ => return super::HttpError::NotFound.text(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
