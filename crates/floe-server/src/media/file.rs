//! Serving a file with complete range and conditional-request semantics.
//!
//! [`serve_file`] answers GET and HEAD: 200, 206 (one range, or several as
//! `multipart/byteranges`), 304, 412 and 416, with `Accept-Ranges`, `Content-Length`, `ETag`
//! (strong: inode, size, modification time), `Last-Modified` and `Cache-Control`. The decisions
//! come from [`floe_proto::range`]; this module does the I/O.
//!
//! The file is never read whole: a body of at most [`INLINE_BODY_MAX`] bytes is read with one
//! positioned read on a blocking thread (together with `open` and `fstat`, one hop to the
//! blocking pool per request); a larger one is read by a blocking task in
//! [`READ_CHUNK`]-byte pieces into a channel of [`CHANNEL_CHUNKS`] pieces, so at most a few
//! hundred KiB are held per response and a client that stops reading stops the reads.
//!
//! [`decide`] is the one place status and headers are decided: the edge uses it too when it
//! sends a large body of a plain GET with `sendfile(2)` ([`super::sendfile`]).

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use floe_proto::range::{
    evaluate, file_etag, format_http_date, parse_range, unsatisfied_content_range, ByteRange,
    Decision, Multipart, Preconditions, RangeLimits, RangeOutcome, Validators,
};

use super::MediaError;

/// Bodies up to this size are read in one piece.
pub const INLINE_BODY_MAX: u64 = 64 * 1024;
/// The size of one read of a streamed body.
pub const READ_CHUNK: usize = 256 * 1024;
/// How many read pieces may wait for the socket.
pub const CHANNEL_CHUNKS: usize = 2;

/// How a file is offered.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// Limits on `Range` headers.
    pub limits: RangeLimits,
    /// The `Cache-Control` value.
    pub cache_control: &'static str,
    /// When set, `Content-Disposition: attachment` with this file name (a download).
    pub attachment: Option<String>,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            limits: RangeLimits::default(),
            cache_control: DEFAULT_CACHE_CONTROL,
            attachment: None,
        }
    }
}

/// Library files change rarely but may: caches keep them and revalidate with the `ETag`.
pub const DEFAULT_CACHE_CONTROL: &str = "public, no-cache";

/// The conditional and range headers of a request, copied so they can cross to a blocking
/// thread.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestHeaders {
    range: Option<String>,
    if_match: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    if_unmodified_since: Option<String>,
    if_range: Option<String>,
}

impl RequestHeaders {
    fn of(headers: &HeaderMap) -> RequestHeaders {
        let get = |name: header::HeaderName| {
            // Repeated list headers are one comma-separated list.
            let values: Vec<&str> = headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        RequestHeaders {
            range: headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            if_match: get(header::IF_MATCH),
            if_none_match: get(header::IF_NONE_MATCH),
            if_modified_since: headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            if_unmodified_since: headers
                .get(header::IF_UNMODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            if_range: headers
                .get(header::IF_RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }

    /// The same from a head the edge read ([`floe_proto::head`]).
    pub(crate) fn of_head(head: &floe_proto::head::RequestHead) -> RequestHeaders {
        let all = |name: &str| {
            let values: Vec<&str> = head
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        let one = |name: &str| head.header(name).map(str::to_string);
        RequestHeaders {
            range: one("range"),
            if_match: all("if-match"),
            if_none_match: all("if-none-match"),
            if_modified_since: one("if-modified-since"),
            if_unmodified_since: one("if-unmodified-since"),
            if_range: one("if-range"),
        }
    }

    fn preconditions(&self) -> Preconditions<'_> {
        Preconditions {
            if_match: self.if_match.as_deref(),
            if_none_match: self.if_none_match.as_deref(),
            if_modified_since: self.if_modified_since.as_deref(),
            if_unmodified_since: self.if_unmodified_since.as_deref(),
            if_range: self.if_range.as_deref(),
        }
    }
}

/// A piece of a response body.
#[derive(Debug, Clone)]
enum Piece {
    /// Bytes made here (multipart framing).
    Text(Bytes),
    /// A byte range of the file.
    File(ByteRange),
}

/// What was decided on the blocking thread.
struct Prepared {
    status: StatusCode,
    headers: Vec<(header::HeaderName, String)>,
    body: PreparedBody,
}

enum PreparedBody {
    Empty,
    Inline(Bytes),
    Stream(File, Vec<Piece>),
}

/// Serves `path` for a GET or HEAD request with these headers.
///
/// Errors (no such file, a directory, unreadable) come back as [`MediaError`] for the caller to
/// map; everything an HTTP client can cause is a response (304, 412, 416). Cancel safety: the
/// returned response's body reads the file lazily; dropping it stops the reads.
pub async fn serve_file(
    method: &Method,
    headers: &HeaderMap,
    path: &Path,
    content_type: &str,
    options: &FileOptions,
) -> Result<Response, MediaError> {
    let request = RequestHeaders::of(headers);
    let head = *method == Method::HEAD;
    let path = path.to_path_buf();
    let content_type = content_type.to_string();
    let options = options.clone();
    let prepared =
        quick_blocking(move || prepare(&path, &request, head, &content_type, &options)).await??;
    let mut builder = Response::builder().status(prepared.status);
    for (name, value) in prepared.headers {
        let value =
            HeaderValue::from_str(&value).map_err(|_| MediaError::Internal("header value"))?;
        builder = builder.header(name, value);
    }
    let body = match prepared.body {
        PreparedBody::Empty => Body::empty(),
        PreparedBody::Inline(bytes) => Body::from(bytes),
        PreparedBody::Stream(file, pieces) => stream_pieces(file, pieces),
    };
    builder
        .body(body)
        .map_err(|_| MediaError::Internal("response head"))
}

/// Runs a short blocking call (open, fstat, a read of at most [`INLINE_BODY_MAX`] bytes; a
/// catalog lookup by id) directly on the worker, as nginx does: on a local file system these
/// take microseconds, less than the futex hand-over of `spawn_blocking` or `block_in_place`
/// (measured: those hand-overs took a third of the CPU of a 4 KiB range request). The price is
/// that a cold read from a slow disk holds one worker for that read. Large bodies are read on
/// the blocking pool ([`stream_pieces`]).
pub(crate) async fn quick_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, MediaError> {
    Ok(f())
}

/// What a request for a file gets, before any body byte is read: the status, the headers
/// (without `Server`, `Date` and CORS, which every response gets) and the body's pieces.
///
/// The one place both paths decide: hyper's ([`serve_file`]) and the edge's `sendfile(2)` path
/// ([`super::sendfile`]), so they answer the same request with the same head.
pub(crate) struct Decided {
    /// The status.
    pub status: StatusCode,
    /// The headers, `Content-Length` included.
    pub headers: Vec<(header::HeaderName, String)>,
    /// The body: multipart framing and file ranges, in order (empty for 304/412/416).
    pieces: Vec<Piece>,
    /// The body's length.
    pub length: u64,
}

impl Decided {
    /// The file range of a body that is exactly one range of the file (200, or a 206 that is not
    /// multipart), else `None`.
    pub fn single_range(&self) -> Option<ByteRange> {
        match self.pieces.as_slice() {
            [Piece::File(r)] => Some(*r),
            _ => None,
        }
    }
}

/// Opens `path` as a regular file.
pub(crate) fn open_file(path: &Path) -> Result<(File, std::fs::Metadata), MediaError> {
    let file = File::open(path).map_err(|e| MediaError::file(path, e))?;
    let meta = file.metadata().map_err(|e| MediaError::file(path, e))?;
    if !meta.is_file() {
        return Err(MediaError::NotAFile(path.to_path_buf()));
    }
    Ok((file, meta))
}

/// Evaluates a request against an open file's metadata ([`floe_proto::range`] decides).
pub(crate) fn decide(
    meta: &std::fs::Metadata,
    request: &RequestHeaders,
    content_type: &str,
    options: &FileOptions,
) -> Decided {
    let total = meta.len();
    let mtime_nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let last_modified = (mtime_nanos / 1_000_000_000) as u64;
    let etag = file_etag(total, mtime_nanos, Some(meta.ino()));
    let validators = Validators {
        etag: &etag,
        last_modified,
    };
    let mut headers = vec![
        (header::ETAG, etag.clone()),
        (header::LAST_MODIFIED, format_http_date(last_modified)),
        (header::CACHE_CONTROL, options.cache_control.to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
    ];
    if let Some(name) = &options.attachment {
        headers.push((header::CONTENT_DISPOSITION, content_disposition(name)));
    }
    let empty = |status, headers| Decided {
        status,
        headers,
        pieces: Vec::new(),
        length: 0,
    };
    let use_range = match request.preconditions().evaluate(validators) {
        Decision::PreconditionFailed => {
            headers.push((header::CONTENT_LENGTH, "0".into()));
            return empty(StatusCode::PRECONDITION_FAILED, headers);
        }
        Decision::NotModified => return empty(StatusCode::NOT_MODIFIED, headers),
        Decision::Proceed { use_range } => use_range,
    };
    let specs = request
        .range
        .as_deref()
        .filter(|_| use_range)
        .and_then(|r| parse_range(r, options.limits));
    let (status, pieces) = match specs.map(|s| evaluate(&s, total)) {
        None => {
            headers.push((header::CONTENT_TYPE, content_type.to_string()));
            let whole = (total > 0).then_some(Piece::File(ByteRange {
                start: 0,
                end: total.saturating_sub(1),
            }));
            (StatusCode::OK, whole.into_iter().collect())
        }
        Some(RangeOutcome::NotSatisfiable) => {
            headers.push((header::CONTENT_RANGE, unsatisfied_content_range(total)));
            headers.push((header::CONTENT_LENGTH, "0".into()));
            return empty(StatusCode::RANGE_NOT_SATISFIABLE, headers);
        }
        Some(RangeOutcome::Partial(ranges)) if ranges.len() == 1 => {
            let r = ranges[0];
            headers.push((header::CONTENT_TYPE, content_type.to_string()));
            headers.push((header::CONTENT_RANGE, r.content_range(total)));
            (StatusCode::PARTIAL_CONTENT, vec![Piece::File(r)])
        }
        Some(RangeOutcome::Partial(ranges)) => {
            let multipart = Multipart::new(seed_of(&etag), content_type, total);
            headers.push((header::CONTENT_TYPE, multipart.content_type()));
            let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
            for (i, r) in ranges.iter().enumerate() {
                pieces.push(Piece::Text(Bytes::from(multipart.part_head(i, *r))));
                pieces.push(Piece::File(*r));
            }
            pieces.push(Piece::Text(Bytes::from(multipart.tail())));
            (StatusCode::PARTIAL_CONTENT, pieces)
        }
    };
    let length: u64 = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(b) => b.len() as u64,
            Piece::File(r) => r.len(),
        })
        .sum();
    headers.push((header::CONTENT_LENGTH, length.to_string()));
    Decided {
        status,
        headers,
        pieces,
        length,
    }
}

/// Opens the file, evaluates the request, and reads a small body.
fn prepare(
    path: &Path,
    request: &RequestHeaders,
    head: bool,
    content_type: &str,
    options: &FileOptions,
) -> Result<Prepared, MediaError> {
    let (file, meta) = open_file(path)?;
    let Decided {
        status,
        headers,
        pieces,
        length,
    } = decide(&meta, request, content_type, options);
    let body = if head || length == 0 {
        PreparedBody::Empty
    } else if length <= INLINE_BODY_MAX {
        let mut buf = BytesMut::with_capacity(length as usize);
        for piece in &pieces {
            match piece {
                Piece::Text(b) => buf.extend_from_slice(b),
                Piece::File(r) => {
                    let at = buf.len();
                    buf.resize(at + r.len() as usize, 0);
                    file.read_exact_at(&mut buf[at..], r.start)
                        .map_err(|e| MediaError::file(path, e))?;
                }
            }
        }
        PreparedBody::Inline(buf.freeze())
    } else {
        PreparedBody::Stream(file, pieces)
    };
    Ok(Prepared {
        status,
        headers,
        body,
    })
}

/// A multipart boundary seed from the entity tag (FNV-1a), so the same request gets the same
/// bytes.
fn seed_of(etag: &str) -> u64 {
    etag.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `attachment; filename="…"` with a plain-ASCII fallback and the UTF-8 name (RFC 6266).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = floe_proto::query::percent_encode(name);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A body that reads the pieces on a blocking thread, a bounded number of chunks ahead.
fn stream_pieces(file: File, pieces: Vec<Piece>) -> Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        for piece in pieces {
            match piece {
                Piece::Text(b) => {
                    if tx.blocking_send(Ok(b)).is_err() {
                        return;
                    }
                }
                Piece::File(r) => {
                    let mut at = r.start;
                    let end = r.end + 1;
                    while at < end {
                        let n = (end - at).min(READ_CHUNK as u64) as usize;
                        let mut buf = BytesMut::zeroed(n);
                        let result = file.read_exact_at(&mut buf, at).map(|()| buf.freeze());
                        let failed = result.is_err();
                        if tx.blocking_send(result).is_err() || failed {
                            return;
                        }
                        at += n as u64;
                    }
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The `Content-Type` of an audio file from its extension (`application/octet-stream` when
/// unknown).
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("mp3") => "audio/mpeg",
        Some("ogg" | "oga") => "audio/ogg",
        Some("opus") => "audio/ogg; codecs=opus",
        Some("flac") => "audio/flac",
        Some("m4a" | "mp4" | "m4b") => "audio/mp4",
        Some("aac") => "audio/aac",
        Some("wav") => "audio/wav",
        Some("webm") => "audio/webm",
        Some("aif" | "aiff") => "audio/aiff",
        Some("wma") => "audio/x-ms-wma",
        Some("mka") => "audio/x-matroska",
        _ => "application/octet-stream",
    }
}

/// Maps a serving error to a response (JSON for the API).
pub fn error_response(e: MediaError) -> Response {
    crate::http::HttpError::Media(e).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(path: &Path, headers: &[(&str, &str)], head: bool) -> (u16, HeaderMap, Vec<u8>) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        let method = if head { Method::HEAD } else { Method::GET };
        let r = serve_file(&method, &map, path, "audio/mpeg", &FileOptions::default())
            .await
            .expect("served");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, body.to_vec())
    }

    #[tokio::test]
    async fn ranges_small_and_streamed_match_the_file() {
        let dir = std::env::temp_dir().join(format!("floe-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("a.mp3");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 253) as u8).collect();
        std::fs::write(&path, &data).expect("write");

        let (status, h, body) = get(&path, &[], false).await;
        assert_eq!((status, body.len()), (200, data.len()));
        assert_eq!(body, data);
        assert_eq!(h[header::ACCEPT_RANGES], "bytes");
        let (status, h, body) = get(&path, &[("range", "bytes=0-")], false).await;
        assert_eq!(status, 206);
        assert_eq!(h[header::CONTENT_RANGE], "bytes 0-299999/300000");
        assert_eq!(body, data);
        let (status, _, body) = get(&path, &[("range", "bytes=-100")], false).await;
        assert_eq!((status, &body[..]), (206, &data[299_900..]));
        let (_, h, body) = get(&path, &[("range", "bytes=1-2,100000-")], false).await;
        let ct = h[header::CONTENT_TYPE].to_str().expect("ascii").to_string();
        let boundary = ct.split("boundary=").nth(1).expect("boundary");
        let mut expected = format!(
            "--{boundary}\r\nContent-Type: audio/mpeg\r\nContent-Range: bytes 1-2/300000\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(&data[1..3]);
        expected.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Type: audio/mpeg\r\nContent-Range: bytes 100000-299999/300000\r\n\r\n").as_bytes(),
        );
        expected.extend_from_slice(&data[100_000..]);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert!(body == expected, "multipart body differs");
        assert_eq!(h[header::CONTENT_LENGTH], expected.len().to_string());
        let (status, h, body) = get(&path, &[("range", "bytes=300000-")], false).await;
        assert_eq!((status, body.len()), (416, 0));
        assert_eq!(h[header::CONTENT_RANGE], "bytes */300000");
        let (_, h, _) = get(&path, &[], true).await;
        let etag = h[header::ETAG].to_str().expect("ascii").to_string();
        let (status, _, body) = get(&path, &[("if-none-match", &etag)], false).await;
        assert_eq!((status, body.len()), (304, 0));
        let (status, _, _) = get(&path, &[("if-match", "\"nope\"")], false).await;
        assert_eq!(status, 412);
        let (status, h, body) = get(&path, &[("range", "bytes=5-9")], true).await;
        assert_eq!((status, body.len()), (206, 0));
        assert_eq!(h[header::CONTENT_LENGTH], "5");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn missing_files_and_directories_are_errors() {
        let e = serve_file(
            &Method::GET,
            &HeaderMap::new(),
            Path::new("/nonexistent/x.mp3"),
            "audio/mpeg",
            &FileOptions::default(),
        )
        .await
        .expect_err("missing");
        assert!(matches!(e, MediaError::FileNotFound(_)));
        let e = serve_file(
            &Method::GET,
            &HeaderMap::new(),
            &std::env::temp_dir(),
            "audio/mpeg",
            &FileOptions::default(),
        )
        .await
        .expect_err("a directory");
        assert!(matches!(e, MediaError::NotAFile(_)));
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type_for(Path::new("a/b.MP3")), "audio/mpeg");
        assert_eq!(
            content_type_for(Path::new("x.opus")),
            "audio/ogg; codecs=opus"
        );
        assert_eq!(
            content_type_for(Path::new("noext")),
            "application/octet-stream"
        );
    }

    #[test]
    fn disposition_escapes_the_name() {
        assert_eq!(
            content_disposition("Été \"live\".mp3"),
            "attachment; filename=\"_t_ _live_.mp3\"; filename*=UTF-8''%C3%89t%C3%A9%20%22live%22.mp3"
        );
    }
}
