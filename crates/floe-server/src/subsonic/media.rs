//! stream, download and getCoverArt.
//!
//! `stream` serves the file itself (full HTTP range support) unless `format`, `maxBitRate`
//! or `timeOffset` ask for a transcode, which goes to the media layer's transcoder (its
//! concurrency limit and cache apply); `format=raw`, or the file's own format with no lower
//! bit rate, is the file. `download` is always the file, as an attachment.
//!
//! Cover art: the stored image as it is without `size`; with `size`, scaled down (never up)
//! to fit a `size`×`size` box, aspect kept, as JPEG, decoded under pixel and memory limits on
//! the blocking pool, at most `max_concurrent_resizes` at once. Resized images are kept in a
//! [`CoverCache`] bounded in bytes.

use super::error::SubsonicError;
use super::ids::{self, Id};
use super::params::Params;
use super::{answer, Call, Subsonic};
use crate::media::transcode::{self, SourceTrack, TranscodeParams};
use crate::media::{serve_file, FileOptions, MediaError};
use crate::AppState;
use axum::body::Bytes;
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use floe_library::CoverData;
use floe_proto::query::{percent_encode, Query};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn media_error(e: MediaError) -> SubsonicError {
    match e {
        MediaError::FileNotFound(_) | MediaError::NotAFile(_) | MediaError::TrackNotFound(_) => {
            SubsonicError::NotFound(e.to_string())
        }
        MediaError::InvalidParameter { .. }
        | MediaError::FormatUnavailable(_)
        | MediaError::OffsetPastEnd
        | MediaError::TooManyTranscodes { .. }
        | MediaError::Transcode(_) => SubsonicError::Generic(e.to_string()),
        e => {
            tracing::error!(error = %e, "subsonic: media error");
            SubsonicError::Internal
        }
    }
}

/// `stream` (or `download` when `download` is set).
pub async fn stream(
    state: &AppState,
    api: &Arc<Subsonic>,
    parts: &Parts,
    call: Call,
    download: bool,
) -> Response {
    let format = call.format.clone();
    match stream_inner(state, api, parts, call, download).await {
        Ok(response) => response,
        Err(e) => answer(Err(e), &format),
    }
}

/// The media layer's query (`format`, `max_bitrate`, `offset`) for a Subsonic `stream` call's
/// `format`, `maxBitRate` and `timeOffset`, or `None` for the file itself: nothing asked,
/// `format=raw`, or the file's own format with no lower bit rate and no offset.
fn transcode_query(params: &Params, suffix: &str, bitrate: Option<u32>) -> Option<String> {
    let format = params.get("format");
    let max_text = params.get("maxBitRate");
    let max = max_text
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|&m| m > 0);
    let offset = params.get("timeOffset").filter(|o| o.trim() != "0");
    let own_format = format.is_some_and(|f| f.eq_ignore_ascii_case(suffix));
    let lower_rate = max.is_some_and(|m| bitrate.is_none_or(|b| m < b));
    let nothing_asked = format.is_none() && max.is_none() && offset.is_none();
    if nothing_asked
        || format.is_some_and(|f| f.eq_ignore_ascii_case("raw"))
        || (own_format && !lower_rate && offset.is_none())
    {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(f) = format {
        parts.push(format!("format={}", percent_encode(f)));
    }
    if let Some(m) = max_text {
        parts.push(format!("max_bitrate={}", percent_encode(m)));
    }
    if let Some(o) = offset {
        parts.push(format!("offset={}", percent_encode(o)));
    }
    Some(parts.join("&"))
}

async fn stream_inner(
    state: &AppState,
    api: &Arc<Subsonic>,
    parts: &Parts,
    call: Call,
    download: bool,
) -> Result<Response, SubsonicError> {
    let id = ids::track(call.params.require("id")?)?;
    let track = api
        .blocking(move |api| {
            api.library()
                .track(id)?
                .ok_or_else(|| SubsonicError::NotFound(format!("song tr-{id}")))
        })
        .await?;
    let mut options: FileOptions = state.media.file_options();
    let source = SourceTrack {
        id: track.id.to_string(),
        path: track.path.clone(),
        bitrate_kbps: track.bitrate_kbps,
        suffix: Some(track.suffix.clone()),
    };
    // A download is the file as it is; a stream is transcoded when the parameters ask for it.
    let wanted = if download {
        options.attachment = track
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        None
    } else {
        transcode_query(&call.params, &track.suffix, track.bitrate_kbps)
            .map(|q| Query::parse(&q))
            .map(|q| TranscodeParams::from_query(&q, state.media.transcodes.settings(), &source))
            .transpose()
            .map_err(media_error)?
            .flatten()
    };
    match wanted {
        None => serve_file(
            &parts.method,
            &parts.headers,
            &track.path,
            &track.content_type,
            &options,
        )
        .await
        .map_err(media_error),
        Some(params) => transcode::stream(
            &state.media.transcodes,
            &parts.method,
            &parts.headers,
            &source,
            params,
            &options,
        )
        .await
        .map_err(media_error),
    }
}

/// `getCoverArt`: `id` is a picture (`co-N`) or an artist, album or track whose picture is
/// wanted; `size` scales it down.
pub async fn cover_art(api: &Arc<Subsonic>, call: Call) -> Response {
    let format = call.format.clone();
    match cover_inner(api, call).await {
        Ok(response) => response,
        Err(e) => answer(Err(e), &format),
    }
}

async fn cover_inner(api: &Arc<Subsonic>, call: Call) -> Result<Response, SubsonicError> {
    let text = call.params.require("id")?.to_string();
    let size = call
        .params
        .number::<u32>("size")?
        .filter(|&s| s > 0)
        .map(|s| s.min(api.settings.max_cover_size));
    let not_found = || SubsonicError::NotFound(format!("cover art {text}"));
    let id = Id::parse(&text).ok_or_else(not_found)?;
    let cache_key = text.clone();
    if let Some(size) = size {
        if let Some(hit) = api.covers.get(&cache_key, size) {
            return Ok(image_response(hit, "image/jpeg"));
        }
    }
    let (bytes, mime) = api
        .blocking(move |api| {
            let lib = api.library();
            let cover_id = match id {
                Id::Cover(c) => Some(c),
                Id::Album(a) => lib.album(a)?.and_then(|a| a.cover_id),
                Id::Track(t) => lib.track(t)?.and_then(|t| t.cover_id),
                Id::Artist(a) => lib.artist(a)?.and_then(|a| a.cover_id),
                Id::Playlist(_) => None,
            };
            let cover = match cover_id {
                Some(c) => lib.cover(c)?,
                None => None,
            };
            let Some(cover) = cover else {
                return Ok(None);
            };
            let bytes = match cover.data {
                CoverData::Bytes(b) => b,
                CoverData::File(path) => match std::fs::read(&path) {
                    Ok(b) => Bytes::from(b),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "subsonic: cover file unreadable");
                        return Ok(None);
                    }
                },
            };
            Ok(Some((bytes, cover.mime)))
        })
        .await?
        .ok_or_else(not_found)?;
    let Some(size) = size else {
        return Ok(image_response(bytes, &mime));
    };
    let permit = api
        .resizes
        .acquire()
        .await
        .map_err(|_| SubsonicError::Internal)?;
    // Another request may have made this size while we waited.
    if let Some(hit) = api.covers.get(&cache_key, size) {
        return Ok(image_response(hit, "image/jpeg"));
    }
    let resized = api
        .blocking(move |_| resize(&bytes, size).map(Bytes::from))
        .await?;
    drop(permit);
    api.covers.put(&cache_key, size, resized.clone());
    Ok(image_response(resized, "image/jpeg"))
}

fn image_response(bytes: Bytes, mime: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CACHE_CONTROL, "public, max-age=86400".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// The widest or tallest source image decoded for resizing, in pixels.
pub const MAX_SOURCE_DIMENSION: u32 = 8192;
/// The most memory one decode may allocate, in bytes.
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// Resized covers by (cover id, size), least recently used evicted first once the total size
/// passes the budget.
#[derive(Debug)]
pub struct CoverCache {
    budget: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    entries: HashMap<(String, u32), (Bytes, u64)>,
    bytes: usize,
    tick: u64,
}

impl CoverCache {
    /// An empty cache holding at most `budget` bytes of images.
    pub fn new(budget: usize) -> CoverCache {
        CoverCache {
            budget,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    /// The cached image, marked as just used.
    pub fn get(&self, id: &str, size: u32) -> Option<Bytes> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.entries.get_mut(&(id.to_string(), size))?;
        entry.1 = tick;
        Some(entry.0.clone())
    }

    /// Stores an image, evicting the least recently used until the budget holds. An image
    /// larger than the whole budget is not stored.
    pub fn put(&self, id: &str, size: u32, image: Bytes) {
        if image.len() > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let len = image.len();
        if let Some((old, _)) = inner.entries.insert((id.to_string(), size), (image, tick)) {
            inner.bytes -= old.len();
        }
        inner.bytes += len;
        while inner.bytes > self.budget {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((gone, _)) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.len();
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

/// Scales `image` down to fit `size`×`size` (never up) and encodes it as JPEG.
pub fn resize(image: &[u8], size: u32) -> Result<Vec<u8>, SubsonicError> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(image))
        .with_guessed_format()
        .map_err(|_| SubsonicError::Generic("cover art is not a readable image".into()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_DIMENSION);
    limits.max_image_height = Some(MAX_SOURCE_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| SubsonicError::Generic(format!("cover art cannot be decoded: {e}")))?;
    let scaled = if decoded.width() > size || decoded.height() > size {
        decoded.resize(size, size, image::imageops::FilterType::Lanczos3)
    } else {
        decoded
    };
    let mut out = Vec::new();
    scaled
        .to_rgb8()
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .map_err(|e| SubsonicError::Generic(format!("cover art cannot be encoded: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Option<String> {
        transcode_query(&Params::from_query(q), "mp3", Some(128))
    }

    #[test]
    fn subsonic_stream_parameters_become_the_media_query() {
        assert_eq!(query(""), None);
        assert_eq!(query("format=raw&maxBitRate=64&timeOffset=10"), None);
        assert_eq!(query("format=mp3"), None);
        assert_eq!(query("format=MP3&maxBitRate=320"), None);
        assert_eq!(query("maxBitRate=0"), None);
        assert_eq!(query("timeOffset=0"), None);
        assert_eq!(
            query("format=mp3&maxBitRate=96").as_deref(),
            Some("format=mp3&max_bitrate=96")
        );
        assert_eq!(query("format=opus").as_deref(), Some("format=opus"));
        assert_eq!(query("maxBitRate=64").as_deref(), Some("max_bitrate=64"));
        assert_eq!(query("timeOffset=30").as_deref(), Some("offset=30"));
        assert_eq!(
            query("format=ogg&maxBitRate=x&timeOffset=1.5").as_deref(),
            Some("format=ogg&max_bitrate=x&offset=1.5")
        );
    }

    #[test]
    fn cover_cache_evicts_least_recently_used_within_budget() {
        let cache = CoverCache::new(10);
        cache.put("a", 1, Bytes::from_static(b"aaaa"));
        cache.put("b", 1, Bytes::from_static(b"bbbb"));
        assert!(cache.get("a", 1).is_some());
        cache.put("c", 1, Bytes::from_static(b"cccc"));
        assert!(cache.get("b", 1).is_none(), "b was least recently used");
        assert!(cache.get("a", 1).is_some());
        assert!(cache.get("c", 1).is_some());
        assert_eq!(cache.bytes(), 8);
        cache.put("huge", 1, Bytes::from_static(b"01234567890"));
        assert!(cache.get("huge", 1).is_none());
        cache.put("a", 1, Bytes::from_static(b"a"));
        assert_eq!(cache.bytes(), 5);
    }

    #[test]
    fn resize_scales_down_keeping_aspect_and_refuses_garbage() {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(200, 100, image::Rgb([200, 10, 10]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let small = image::load_from_memory(&resize(&png, 50).unwrap()).unwrap();
        assert_eq!((small.width(), small.height()), (50, 25));
        let same = image::load_from_memory(&resize(&png, 400).unwrap()).unwrap();
        assert_eq!((same.width(), same.height()), (200, 100));
        assert_eq!(resize(b"not an image", 50).unwrap_err().code(), 0);
    }
}
