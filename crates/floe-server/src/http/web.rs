//! The page at `/`: every mount with its live title and listener count, and a player.
//!
//! Plain HTML, CSS and JavaScript embedded in the binary (no CDN, no build step). The page
//! loads `/api/v1/mounts`, then follows `/api/v1/events`.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("web/index.html");
const STYLE_CSS: &str = include_str!("web/style.css");
const APP_JS: &str = include_str!("web/app.js");

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
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        _ => return super::HttpError::NotFound.text(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}
