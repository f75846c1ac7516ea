//! Transcoding on demand: `?format=mp3|opus|ogg|aac|flac|wav&bitrate=KBPS&max_bitrate=KBPS&
//! offset=SECONDS`.
//!
//! [`stream`] serves a track either from the transcode cache (then exactly like a file: ranges,
//! conditionals) or by running a [`Transcoder`] on a blocking thread whose output is streamed as
//! it is produced through a bounded channel. At most `max_concurrent` transcodes run; over the
//! limit the answer is 503 with `Retry-After`. A transcode from the start (`offset` 0) is also
//! written to the cache; a client that hangs up stops its transcode unless the cache is still
//! being written. WAV and MP3 outputs carry an exact `Content-Length`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use floe_media::transcode::{OutputFormat, TranscodeError, TranscodeRequest, Transcoder};
use floe_proto::query::Query;
use floe_proto::range::{parse_range, RangeLimits, RangeOutcome};
use tokio::sync::Semaphore;

use super::cache::{CacheKey, TranscodeCache};
use super::{serve_file, FileOptions, MediaError};

/// Default of [`TranscodeSettings::max_concurrent`].
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
/// Default of [`TranscodeSettings::cache_max_bytes`] (1 GiB).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;
/// Default of [`TranscodeSettings::default_bitrate_kbps`].
pub const DEFAULT_BITRATE_KBPS: u32 = 128;
/// Default of [`TranscodeSettings::max_bitrate_kbps`].
pub const DEFAULT_MAX_BITRATE_KBPS: u32 = 320;
/// Default of [`TranscodeSettings::retry_after_secs`].
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;
/// Output is handed to the socket in pieces of about this size.
const SEND_CHUNK: usize = 16 * 1024;
/// Pieces that may wait for a slow client before the transcoder waits too.
const CHANNEL_CHUNKS: usize = 4;

/// `[transcode]`.
#[derive(Debug, Clone)]
pub struct TranscodeSettings {
    /// Where transcodes are cached; `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// The cache's size bound in bytes.
    pub cache_max_bytes: u64,
    /// Transcodes running at once, at most.
    pub max_concurrent: usize,
    /// The bitrate when a request names a format without one.
    pub default_bitrate_kbps: u32,
    /// A cap on every requested bitrate (a request's `max_bitrate` can only lower it).
    pub max_bitrate_kbps: u32,
    /// `Retry-After` of the 503 sent over the limit.
    pub retry_after_secs: u64,
    /// The format used when only `max_bitrate` asks for a transcode.
    pub default_format: OutputFormat,
}

impl Default for TranscodeSettings {
    fn default() -> Self {
        TranscodeSettings {
            cache_dir: None,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            default_bitrate_kbps: DEFAULT_BITRATE_KBPS,
            max_bitrate_kbps: DEFAULT_MAX_BITRATE_KBPS,
            retry_after_secs: DEFAULT_RETRY_AFTER_SECS,
            default_format: OutputFormat::Mp3,
        }
    }
}

/// The transcode limit and the cache.
#[derive(Debug)]
pub struct TranscodeService {
    settings: TranscodeSettings,
    permits: Arc<Semaphore>,
    cache: Option<Arc<TranscodeCache>>,
}

impl TranscodeService {
    /// Opens the cache (if configured).
    pub fn new(settings: &TranscodeSettings) -> std::io::Result<TranscodeService> {
        let cache = match &settings.cache_dir {
            Some(dir) => Some(TranscodeCache::open(dir, settings.cache_max_bytes)?),
            None => None,
        };
        Ok(TranscodeService {
            settings: settings.clone(),
            permits: Arc::new(Semaphore::new(settings.max_concurrent)),
            cache,
        })
    }

    /// The service without a cache, whatever the settings say.
    pub fn uncached(settings: &TranscodeSettings) -> TranscodeService {
        TranscodeService {
            settings: settings.clone(),
            permits: Arc::new(Semaphore::new(settings.max_concurrent)),
            cache: None,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &TranscodeSettings {
        &self.settings
    }

    /// The cache, when configured.
    pub fn cache(&self) -> Option<&Arc<TranscodeCache>> {
        self.cache.as_ref()
    }

    /// Transcodes running now.
    pub fn running(&self) -> usize {
        self.settings.max_concurrent - self.permits.available_permits()
    }
}

/// What a request asks for, after caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TranscodeParams {
    /// Output format.
    pub format: OutputFormat,
    /// Effective bitrate (0 for lossless).
    pub bitrate_kbps: u32,
    /// Start position in seconds.
    pub offset_secs: f64,
}

/// The source of a transcode.
#[derive(Debug, Clone)]
pub struct SourceTrack {
    /// The track id (cache key).
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// Its bitrate, when known (a `max_bitrate` above it needs no transcode).
    pub bitrate_kbps: Option<u32>,
    /// Its format's name (`mp3`, `flac`…), when known.
    pub suffix: Option<String>,
}

impl TranscodeParams {
    /// Reads `format`, `bitrate`, `max_bitrate` and `offset` from a query.
    ///
    /// Returns `Ok(None)` when the original file is to be served: no parameter asks for a
    /// change (none at all, `format=raw`, or only a `max_bitrate` at or above the source's
    /// bitrate). A `max_bitrate` below the source's bitrate, or a lone `offset`, transcodes to
    /// the default format. The config's `max_bitrate_kbps` caps every transcode.
    pub fn from_query(
        query: &Query,
        settings: &TranscodeSettings,
        source: &SourceTrack,
    ) -> Result<Option<TranscodeParams>, MediaError> {
        let number = |name: &'static str| -> Result<Option<u32>, MediaError> {
            match query.get(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| MediaError::InvalidParameter {
                        name,
                        value: v.to_string(),
                        expected: "a whole number of kbit/s",
                    }),
            }
        };
        let bitrate = number("bitrate")?;
        // 0 means "no limit" in Subsonic's maxBitRate.
        let max_bitrate = number("max_bitrate")?.filter(|&m| m > 0);
        let offset = match query.get("offset").filter(|v| !v.is_empty()) {
            None => 0.0,
            Some(v) => match v.parse::<f64>() {
                Ok(o) if o.is_finite() && o >= 0.0 => o,
                _ => {
                    return Err(MediaError::InvalidParameter {
                        name: "offset",
                        value: v.to_string(),
                        expected: "seconds, zero or more",
                    })
                }
            },
        };
        let format =
            match query.get("format").filter(|v| !v.is_empty()) {
                Some(v) if v.eq_ignore_ascii_case("raw") => return Ok(None),
                Some(v) => Some(OutputFormat::from_name(&v).ok_or_else(|| {
                    MediaError::InvalidParameter {
                        name: "format",
                        value: v.to_string(),
                        expected: "mp3, opus, ogg, aac, flac, wav or raw",
                    }
                })?),
                None => None,
            };
        let cap = max_bitrate.map_or(settings.max_bitrate_kbps, |m| {
            m.min(settings.max_bitrate_kbps)
        });
        let format = match format {
            Some(f) => f,
            None => {
                // Only a device's own cap turns a plain request into a transcode.
                let over_cap =
                    max_bitrate.is_some() && source.bitrate_kbps.is_some_and(|b| b > cap);
                if !over_cap && offset == 0.0 {
                    return Ok(None);
                }
                settings.default_format
            }
        };
        if !format.available() {
            return Err(MediaError::FormatUnavailable(format.name()));
        }
        let wanted = bitrate.unwrap_or(settings.default_bitrate_kbps).min(cap);
        Ok(Some(TranscodeParams {
            format,
            bitrate_kbps: format.effective_bitrate(wanted),
            offset_secs: offset,
        }))
    }
}

/// Serves a transcode of `source` for a GET or HEAD.
///
/// From the cache when there (full range support); otherwise a new transcode, streamed as it is
/// produced. A `Range: bytes=0-` on an output of known length is answered 206 for the whole
/// output (browsers need that to allow seeking); other ranges on a running transcode are
/// ignored (200) until the result is cached.
pub async fn stream(
    service: &TranscodeService,
    method: &Method,
    headers: &HeaderMap,
    source: &SourceTrack,
    params: TranscodeParams,
    options: &FileOptions,
) -> Result<Response, MediaError> {
    let path = source.path.clone();
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| MediaError::file(&path, e))?;
    let key = CacheKey {
        track: source.id.clone(),
        size: meta.len(),
        mtime_nanos: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos()),
        format: params.format,
        bitrate_kbps: params.bitrate_kbps,
    };
    let from_start = params.offset_secs == 0.0;
    if let (true, Some(cache)) = (from_start, &service.cache) {
        if let Some(cached) = cache.lookup(&key) {
            match serve_file(
                method,
                headers,
                &cached,
                params.format.content_type(),
                options,
            )
            .await
            {
                Err(MediaError::FileNotFound(_)) => {} // evicted just now: transcode again
                other => return other,
            }
        }
    }
    let permit = Arc::clone(&service.permits)
        .try_acquire_owned()
        .map_err(|_| MediaError::TooManyTranscodes {
            limit: service.settings.max_concurrent,
            retry_after_secs: service.settings.retry_after_secs,
        })?;
    let request = TranscodeRequest {
        format: params.format,
        bitrate_kbps: params.bitrate_kbps,
        offset_secs: params.offset_secs,
    };
    let head_only = *method == Method::HEAD;
    let writer = match (&service.cache, from_start && !head_only) {
        (Some(cache), true) => match cache.begin(&key) {
            Ok(w) => w,
            Err(e) => {
                let dir = cache.dir().display();
                tracing::warn!("transcode cache: cannot write in {dir}: {e}");
                None
            }
        },
        _ => None,
    };
    // The transcoder is not `Send` (codec libraries): it lives on one blocking thread from
    // open to end, and sends its output's type and length back before the bytes.
    let (head_tx, head_rx) = tokio::sync::oneshot::channel();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
    let id = source.id.clone();
    let task_path = path.clone();
    tokio::task::spawn_blocking(move || {
        let transcoder = match Transcoder::open(&task_path, request) {
            Ok(t) => t,
            Err(e) => {
                let _ = head_tx.send(Err(e));
                return;
            }
        };
        let head = (transcoder.content_type(), transcoder.content_length());
        if head_tx.send(Ok(head)).is_ok() && !head_only {
            run(transcoder, writer, tx, &id, &task_path);
        }
        drop(permit);
    });
    let (content_type, length) = head_rx
        .await
        .map_err(|_| MediaError::Internal("transcode task panicked"))?
        .map_err(|e| transcode_error(&path, e))?;
    let whole_range = length.filter(|&len| len > 0 && asks_for_everything(headers, len));
    let mut response = Response::builder()
        .status(if whole_range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::ACCEPT_RANGES, "none");
    if let Some(len) = length {
        response = response.header(header::CONTENT_LENGTH, len);
    }
    if let Some(len) = whole_range {
        response = response.header(header::CONTENT_RANGE, format!("bytes 0-{}/{len}", len - 1));
    }
    let body = if head_only {
        Body::empty()
    } else {
        Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    };
    response
        .body(body)
        .map_err(|_| MediaError::Internal("response head"))
}

/// Whether the request's `Range` covers the whole output (`bytes=0-` and the like).
fn asks_for_everything(headers: &HeaderMap, len: u64) -> bool {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(specs) = parse_range(range, RangeLimits::default()) else {
        return false;
    };
    matches!(
        floe_proto::range::evaluate(&specs, len),
        RangeOutcome::Partial(r) if r.len() == 1 && r[0].start == 0 && r[0].end == len - 1
    )
}

fn transcode_error(path: &Path, e: TranscodeError) -> MediaError {
    match e {
        TranscodeError::OffsetPastEnd { .. } => MediaError::OffsetPastEnd,
        TranscodeError::Unavailable(name) => MediaError::FormatUnavailable(name),
        TranscodeError::Decode(floe_media::DecodeError::Io(io)) => MediaError::file(path, io),
        other => MediaError::Transcode(other.to_string()),
    }
}

/// The transcode loop on its blocking thread: pull chunks, write the cache, feed the client.
fn run(
    mut transcoder: Transcoder,
    mut writer: Option<super::cache::CacheWriter>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    id: &str,
    path: &Path,
) {
    let mut client = Some(tx);
    let mut buf = BytesMut::with_capacity(SEND_CHUNK * 2);
    loop {
        let chunk = match transcoder.next_chunk() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("transcode of track {id} ({}) failed: {e}", path.display());
                if let Some(tx) = &client {
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                }
                return; // the cache writer is dropped: its file is deleted
            }
        };
        let end = chunk.is_none();
        if let Some(c) = &chunk {
            if let Some(w) = &mut writer {
                if let Err(e) = w.write(c) {
                    tracing::warn!("transcode cache: write failed: {e}");
                    writer = None;
                }
            }
            if client.is_some() {
                buf.extend_from_slice(c);
            }
        }
        if let Some(tx) = &client {
            if (buf.len() >= SEND_CHUNK || end) && !buf.is_empty() {
                let piece = buf.split().freeze();
                if tx.blocking_send(Ok(piece)).is_err() {
                    // The client hung up.
                    client = None;
                }
            }
        }
        if client.is_none() && writer.is_none() {
            return;
        }
        if end {
            break;
        }
    }
    if let Some(w) = writer {
        if let Err(e) = w.commit() {
            tracing::warn!("transcode cache: not kept: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_track(dir: &Path, seconds: usize) -> PathBuf {
        let rate = 8000;
        let samples: Vec<f32> = (0..rate * seconds)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect();
        let path = dir.join("t.wav");
        std::fs::write(
            &path,
            floe_media::mux::wav::wav_file(rate as u32, 1, &samples),
        )
        .expect("write wav");
        path
    }

    fn key(format: OutputFormat) -> CacheKey {
        CacheKey {
            track: "7".into(),
            size: 1,
            mtime_nanos: 1,
            format,
            bitrate_kbps: 0,
        }
    }

    #[test]
    fn a_hangup_does_not_stop_a_transcode_that_fills_the_cache() {
        let dir = std::env::temp_dir().join(format!("floe-tc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = wav_track(&dir, 3);
        let cache = TranscodeCache::open(&dir.join("cache"), 1 << 30).expect("cache");
        let request = TranscodeRequest {
            format: OutputFormat::Wav,
            bitrate_kbps: 0,
            offset_secs: 0.0,
        };
        let transcoder = Transcoder::open(&path, request).expect("opens");
        let expected = transcoder.content_length().expect("wav length");
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        drop(rx); // the client is gone before the first byte
        let writer = cache
            .begin(&key(OutputFormat::Wav))
            .expect("io")
            .expect("new");
        run(transcoder, Some(writer), tx, "7", &path);
        let cached = cache
            .lookup(&key(OutputFormat::Wav))
            .expect("cached anyway");
        assert_eq!(std::fs::metadata(cached).expect("file").len(), expected);

        let _ = std::fs::remove_dir_all(&dir);
    }

    fn source(bitrate: Option<u32>) -> SourceTrack {
        SourceTrack {
            id: "1".into(),
            path: "x.flac".into(),
            bitrate_kbps: bitrate,
            suffix: Some("flac".into()),
        }
    }

    fn params(q: &str, bitrate: Option<u32>) -> Result<Option<TranscodeParams>, MediaError> {
        TranscodeParams::from_query(
            &Query::parse(q),
            &TranscodeSettings::default(),
            &source(bitrate),
        )
    }

    #[test]
    fn query_parameters_and_caps() {
        assert_eq!(params("", Some(900)), Ok(None));
        assert_eq!(params("format=raw&bitrate=64", Some(900)), Ok(None));
        let p = params("format=opus&bitrate=96", None)
            .expect("valid")
            .expect("transcode");
        assert_eq!((p.format, p.bitrate_kbps), (OutputFormat::Opus, 96));
        // The device cap lowers the bitrate; MP3 snaps to a standard one.
        let p = params("format=mp3&bitrate=256&max_bitrate=100", None)
            .expect("valid")
            .expect("transcode");
        assert_eq!((p.format, p.bitrate_kbps), (OutputFormat::Mp3, 96));
        // Only a cap, below the source: the default format at the cap.
        let p = params("max_bitrate=64", Some(900))
            .expect("valid")
            .expect("transcode");
        assert_eq!((p.format, p.bitrate_kbps), (OutputFormat::Mp3, 64));
        // A cap above the source: the original.
        assert_eq!(params("max_bitrate=320", Some(128)), Ok(None));
        // The config's cap holds over a request.
        let p = params("format=ogg&bitrate=999", None)
            .expect("valid")
            .expect("transcode");
        assert_eq!(p.bitrate_kbps, 320);
        let p = params("offset=12.5", None)
            .expect("valid")
            .expect("transcode");
        assert_eq!(p.offset_secs, 12.5);
        assert!(matches!(
            params("format=mp4", None),
            Err(MediaError::InvalidParameter { name: "format", .. })
        ));
        assert!(matches!(
            params("offset=-1", None),
            Err(MediaError::InvalidParameter { name: "offset", .. })
        ));
        assert!(matches!(
            params("bitrate=fast&format=mp3", None),
            Err(MediaError::InvalidParameter {
                name: "bitrate",
                ..
            })
        ));
    }
}
