//! On-demand media: library files with complete HTTP range support, transcodes with an on-disk
//! cache, and a pass-through proxy to upstream HTTP servers.
//!
//! Layout:
//! - [`file`]: [`serve_file`]: GET/HEAD of a file with ranges, multipart, conditionals.
//! - [`transcode`]: [`transcode::stream`]: `?format=…&bitrate=…&max_bitrate=…&offset=…`, a
//!   limit on concurrent transcodes, cached results served like files.
//! - [`cache`]: the transcode cache (atomic writes, size-bounded LRU).
//! - [`proxy`]: `[proxy."/prefix"]` routes forwarded to an upstream with the client's range.
//! - [`sendfile`]: the edge's answer to a plain GET of a track's file with a large body:
//!   the same head as [`serve_file`], then the body with `sendfile(2)`.
//! - [`tracks`]: the routes `/api/v1/tracks/{id}/stream` and `/download` over the library.
//!
//! Public entry points for other front ends (the Subsonic API): [`serve_file`],
//! [`transcode::stream`], [`transcode::TranscodeParams`], [`MediaService`].

pub mod cache;
pub mod file;
pub mod proxy;
pub mod sendfile;
pub mod tracks;
pub mod transcode;

pub use file::{content_type_for, serve_file, FileOptions};
pub use floe_media::transcode::OutputFormat;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use floe_proto::range::{RangeLimits, DEFAULT_MAX_RANGES};

/// Everything that can go wrong serving media. Mapped to HTTP in [`crate::http::error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The file does not exist.
    #[error("file not found: {0}")]
    FileNotFound(PathBuf),
    /// The path is not a regular file.
    #[error("not a regular file: {0}")]
    NotAFile(PathBuf),
    /// Reading the file failed.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
    /// No track with this id in the library.
    #[error("no track with id {0}")]
    TrackNotFound(String),
    /// The server has no library configured.
    #[error("no music library is configured")]
    NoLibrary,
    /// The library failed.
    #[error("library: {0}")]
    Library(String),
    /// A query parameter has a value that cannot be used.
    #[error("invalid {name}: {value:?} ({expected})")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What it held.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// The output format is not built into this binary.
    #[error("{0} output is not available in this build")]
    FormatUnavailable(&'static str),
    /// `offset` is at or past the end of the track.
    #[error("offset is past the end of the track")]
    OffsetPastEnd,
    /// As many transcodes as `[transcode] max_concurrent` allows are running.
    #[error("too many transcodes running (limit {limit}); retry in {retry_after_secs} s")]
    TooManyTranscodes {
        /// The configured limit.
        limit: usize,
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// The source could not be transcoded.
    #[error("cannot transcode: {0}")]
    Transcode(String),
    /// The upstream could not be reached or broke the exchange.
    #[error("upstream {upstream}: {message}")]
    Upstream {
        /// The upstream URL asked.
        upstream: String,
        /// What went wrong.
        message: String,
    },
    /// The upstream did not connect or answer in time.
    #[error("upstream {upstream} did not {what} within {after_ms} ms")]
    UpstreamTimeout {
        /// The upstream URL asked.
        upstream: String,
        /// `connect` or `answer`.
        what: &'static str,
        /// The configured timeout.
        after_ms: u64,
    },
    /// A bug on our side.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl MediaError {
    pub(crate) fn file(path: &Path, e: std::io::Error) -> MediaError {
        match e.kind() {
            std::io::ErrorKind::NotFound => MediaError::FileNotFound(path.to_path_buf()),
            _ => MediaError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            },
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            MediaError::FileNotFound(_)
            | MediaError::NotAFile(_)
            | MediaError::TrackNotFound(_) => StatusCode::NOT_FOUND,
            MediaError::InvalidParameter { .. }
            | MediaError::FormatUnavailable(_)
            | MediaError::OffsetPastEnd => StatusCode::BAD_REQUEST,
            MediaError::NoLibrary | MediaError::TooManyTranscodes { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            MediaError::Transcode(_) => StatusCode::UNPROCESSABLE_ENTITY,
            MediaError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            MediaError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            MediaError::Io { .. } | MediaError::Library(_) | MediaError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The `Retry-After` value, for errors that have one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            MediaError::TooManyTranscodes {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Settings of on-demand media (from `[limits] max_ranges`, `sendfile_min_bytes`, `[transcode]`
/// and `[proxy.*]`).
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// Limits on `Range` headers.
    pub limits: RangeLimitsSetting,
    /// Transcoding.
    pub transcode: transcode::TranscodeSettings,
    /// Proxy routes.
    pub proxies: Vec<proxy::ProxySettings>,
    /// Recently looked-up library tracks.
    pub track_cache: tracks::TrackCacheSettings,
    /// A library file's body (200 or a single range) of at least this many bytes is sent by
    /// the edge with `sendfile(2)`; 0 never. Default [`sendfile::DEFAULT_SENDFILE_MIN_BYTES`].
    pub sendfile_min_bytes: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            limits: RangeLimitsSetting::default(),
            transcode: transcode::TranscodeSettings::default(),
            proxies: Vec::new(),
            track_cache: tracks::TrackCacheSettings::default(),
            sendfile_min_bytes: sendfile::DEFAULT_SENDFILE_MIN_BYTES,
        }
    }
}

/// [`RangeLimits`] with its documented default.
#[derive(Debug, Clone, Copy)]
pub struct RangeLimitsSetting {
    /// More ranges than this in one `Range` header: the header is ignored (200 with the whole
    /// file). Default [`DEFAULT_MAX_RANGES`].
    pub max_ranges: usize,
}

impl Default for RangeLimitsSetting {
    fn default() -> Self {
        RangeLimitsSetting {
            max_ranges: DEFAULT_MAX_RANGES,
        }
    }
}

impl RangeLimitsSetting {
    /// As the protocol layer takes it.
    pub fn limits(&self) -> RangeLimits {
        RangeLimits {
            max_ranges: self.max_ranges,
        }
    }
}

/// Shared state of on-demand media: the transcode limit and cache, the proxy client.
#[derive(Debug)]
pub struct MediaService {
    /// The settings.
    pub settings: MediaSettings,
    /// Transcodes.
    pub transcodes: transcode::TranscodeService,
    /// Proxy routes.
    pub proxy: proxy::Proxy,
    /// Recently looked-up library tracks.
    pub tracks: tracks::TrackCache,
    /// Responses whose body went out with `sendfile(2)`, and their bytes.
    pub sendfile: sendfile::SendfileCounters,
}

impl MediaService {
    /// Builds the service; the transcode cache directory is created and indexed now.
    pub fn new(settings: MediaSettings) -> std::io::Result<MediaService> {
        Ok(MediaService {
            transcodes: transcode::TranscodeService::new(&settings.transcode)?,
            proxy: proxy::Proxy::new(settings.proxies.clone()),
            tracks: tracks::TrackCache::new(settings.track_cache),
            sendfile: sendfile::SendfileCounters::default(),
            settings,
        })
    }

    /// The same without a transcode cache (when its directory is unusable).
    pub fn without_cache(mut settings: MediaSettings) -> MediaService {
        settings.transcode.cache_dir = None;
        MediaService {
            transcodes: transcode::TranscodeService::uncached(&settings.transcode),
            proxy: proxy::Proxy::new(settings.proxies.clone()),
            tracks: tracks::TrackCache::new(settings.track_cache),
            sendfile: sendfile::SendfileCounters::default(),
            settings,
        }
    }

    /// Options for serving a library file.
    pub fn file_options(&self) -> FileOptions {
        FileOptions {
            limits: self.settings.limits.limits(),
            ..FileOptions::default()
        }
    }
}

/// A time limit as milliseconds for messages.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Shared handle.
pub type SharedMedia = Arc<MediaService>;
