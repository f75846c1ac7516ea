//! `GET`/`HEAD /api/v1/tracks/{id}/stream` and `/api/v1/tracks/{id}/download`.
//!
//! `stream` serves the library file itself (complete range support) unless the query asks for
//! a transcode (`format`, `bitrate`, `max_bitrate` below the file's bitrate, `offset`; see
//! [`TranscodeParams::from_query`]); `download` is always the file, as an attachment. Unknown
//! ids are 404 and a server without a library answers 503, both as JSON.

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use floe_library::Track;
use floe_proto::query::Query;

use super::transcode::{self, SourceTrack, TranscodeParams};
use super::{serve_file, MediaError};
use crate::http::HttpError;
use crate::AppState;

/// `/api/v1/tracks/{id}/stream`.
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    respond(serve(&state, &id, req, false).await)
}

/// `/api/v1/tracks/{id}/download`.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    respond(serve(&state, &id, req, true).await)
}

fn respond(result: Result<Response, MediaError>) -> Response {
    result.unwrap_or_else(|e| HttpError::Media(e).into_response())
}

/// Looks a track up on the blocking pool.
pub async fn find_track(state: &AppState, id: &str) -> Result<Track, MediaError> {
    let library = state.library.clone().ok_or(MediaError::NoLibrary)?;
    let Ok(numeric) = id.parse::<i64>() else {
        return Err(MediaError::TrackNotFound(id.to_string()));
    };
    tokio::task::spawn_blocking(move || library.track(numeric))
        .await
        .map_err(|_| MediaError::Internal("library task panicked"))?
        .map_err(|e| MediaError::Library(e.to_string()))?
        .ok_or_else(|| MediaError::TrackNotFound(id.to_string()))
}

async fn serve(
    state: &AppState,
    id: &str,
    req: Request,
    download: bool,
) -> Result<Response, MediaError> {
    let track = find_track(state, id).await?;
    let media = &state.media;
    let mut options = media.file_options();
    if download {
        options.attachment = Some(track.path.file_name().map_or_else(
            || format!("{id}.{}", track.suffix),
            |n| n.to_string_lossy().into_owned(),
        ));
        return serve_file(
            req.method(),
            req.headers(),
            &track.path,
            &track.content_type,
            &options,
        )
        .await;
    }
    let source = SourceTrack {
        id: track.id.to_string(),
        path: track.path.clone(),
        bitrate_kbps: track.bitrate_kbps,
        suffix: Some(track.suffix.clone()),
    };
    let query = Query::parse(req.uri().query().unwrap_or(""));
    match TranscodeParams::from_query(&query, media.transcodes.settings(), &source)? {
        None => {
            serve_file(
                req.method(),
                req.headers(),
                &track.path,
                &track.content_type,
                &options,
            )
            .await
        }
        Some(params) => {
            transcode::stream(
                &media.transcodes,
                req.method(),
                req.headers(),
                &source,
                params,
                &options,
            )
            .await
        }
    }
}
