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
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Looks a track up: in the [`TrackCache`], else in the catalog on the blocking pool.
pub async fn find_track(state: &AppState, id: &str) -> Result<Arc<Track>, MediaError> {
    let library = state.library.clone().ok_or(MediaError::NoLibrary)?;
    let Ok(numeric) = id.parse::<i64>() else {
        return Err(MediaError::TrackNotFound(id.to_string()));
    };
    let cache = &state.media.tracks;
    if let Some(track) = cache.get(numeric, Instant::now()) {
        return Ok(track);
    }
    let track = super::file::quick_blocking(move || library.track(numeric))
        .await?
        .map_err(|e| MediaError::Library(e.to_string()))?
        .ok_or_else(|| MediaError::TrackNotFound(id.to_string()))?;
    let track = Arc::new(track);
    cache.insert(numeric, Arc::clone(&track), Instant::now());
    Ok(track)
}

/// Default of [`TrackCacheSettings::entries`].
pub const DEFAULT_TRACK_CACHE_ENTRIES: usize = 4096;
/// Default of [`TrackCacheSettings::ttl`].
pub const DEFAULT_TRACK_CACHE_TTL: Duration = Duration::from_secs(2);

/// Limits of the [`TrackCache`] (`[limits] track_cache_entries`, `track_cache_seconds`).
#[derive(Debug, Clone, Copy)]
pub struct TrackCacheSettings {
    /// Tracks remembered at most; when full the cache starts over empty. 0: no cache.
    pub entries: usize,
    /// How long a looked-up track is used without asking the catalog again.
    pub ttl: Duration,
}

impl Default for TrackCacheSettings {
    fn default() -> Self {
        TrackCacheSettings {
            entries: DEFAULT_TRACK_CACHE_ENTRIES,
            ttl: DEFAULT_TRACK_CACHE_TTL,
        }
    }
}

/// Recently looked-up tracks, so the many small range requests of one player cost one catalog
/// query per `ttl` instead of one each. A track's id keeps its path (the catalog's promise), so
/// the only staleness is a track removed less than `ttl` ago.
pub type TrackCache = IdCache<Track>;

/// Values by id, each used for `ttl` after it was stored, at most `entries` of them.
#[derive(Debug)]
pub struct IdCache<V> {
    settings: TrackCacheSettings,
    map: Mutex<HashMap<i64, (Arc<V>, Instant)>>,
}

impl<V> IdCache<V> {
    /// An empty cache.
    pub fn new(settings: TrackCacheSettings) -> IdCache<V> {
        IdCache {
            settings,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (Arc<V>, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The track, if looked up less than `ttl` before `now`.
    pub fn get(&self, id: i64, now: Instant) -> Option<Arc<V>> {
        let map = self.lock();
        let (track, at) = map.get(&id)?;
        (now.saturating_duration_since(*at) < self.settings.ttl).then(|| Arc::clone(track))
    }

    /// Remembers a track looked up at `now`.
    pub fn insert(&self, id: i64, track: Arc<V>, now: Instant) {
        if self.settings.entries == 0 {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.settings.entries && !map.contains_key(&id) {
            map.clear();
        }
        map.insert(id, (track, now));
    }
}

/// The file name a download is offered under: the file's own, else `{id}.{suffix}`.
pub(crate) fn attachment_name(track: &Track, id: &str) -> String {
    track.path.file_name().map_or_else(
        || format!("{id}.{}", track.suffix),
        |n| n.to_string_lossy().into_owned(),
    )
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
        options.attachment = Some(attachment_name(&track, id));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn track(id: i64) -> Arc<i64> {
        Arc::new(id)
    }

    #[test]
    fn cached_tracks_expire_and_the_cache_stays_bounded() {
        let cache = IdCache::new(TrackCacheSettings {
            entries: 2,
            ttl: Duration::from_secs(2),
        });
        let t0 = Instant::now();
        cache.insert(1, track(1), t0);
        assert_eq!(
            cache.get(1, t0 + Duration::from_secs(1)).map(|t| *t),
            Some(1)
        );
        assert!(
            cache.get(1, t0 + Duration::from_secs(2)).is_none(),
            "expired"
        );
        cache.insert(2, track(2), t0);
        cache.insert(3, track(3), t0); // full: starts over
        assert!(cache.get(1, t0).is_none() && cache.get(2, t0).is_none());
        assert_eq!(cache.get(3, t0).map(|t| *t), Some(3));
        let off = IdCache::new(TrackCacheSettings {
            entries: 0,
            ttl: Duration::from_secs(2),
        });
        off.insert(1, track(1), t0);
        assert!(off.get(1, t0).is_none());
    }
}
