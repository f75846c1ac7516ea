//! Raw PCM over plain HTTP, for the simplest players and small devices:
//!
//! - `GET /api/v1/pcm/<mount>.wav`: an endless WAV (RIFF and data sizes 0xFFFFFFFF, which
//!   browsers, ffmpeg and mpv play until the connection ends), 16-bit PCM at the mount's own
//!   rate and channel count;
//! - `GET /api/v1/pcm/<mount>.l16`: the same samples big-endian as `audio/L16;rate=…;channels=…`
//!   (RFC 2586), no header.
//!
//! Both start with `pcm.burst_ms` of audio at once (or `?burst_ms=`, capped at the window), so a
//! browser starts playing in a fraction of a second, then follow the mount in real time. The
//! URLs live under `/api/` so no mount name can collide with them; `/api/v1/mounts` lists them
//! as `wav_url` and `pcm_url`.

use super::error::HttpError;
use super::request::RequestContext;
use crate::pcm::{frame, Codec, PcmChunk, PcmConsumer, Start};
use crate::{AppState, Shutdown};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Where the WAV and L16 URLs start.
pub const PREFIX: &str = "/api/v1/pcm";

/// The two shapes of raw PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Endless WAV, little-endian samples after a 44-byte header.
    Wav,
    /// `audio/L16`: big-endian samples, no header.
    L16,
}

impl Shape {
    /// The URL suffix.
    pub fn extension(self) -> &'static str {
        match self {
            Shape::Wav => "wav",
            Shape::L16 => "l16",
        }
    }
}

/// The mount and shape a PCM URL path names (`/api/v1/pcm/live.mp3.wav`).
pub fn parse_path(path: &str) -> Option<(&str, Shape)> {
    let rest = path.strip_prefix(PREFIX)?;
    let (mount, shape) = if let Some(m) = rest.strip_suffix(".wav") {
        (m, Shape::Wav)
    } else {
        (rest.strip_suffix(".l16")?, Shape::L16)
    };
    (mount.len() > 1 && mount.starts_with('/')).then_some((mount, shape))
}

/// The PCM URL of `mount` on `base_url`.
pub fn url(base_url: &str, mount: &str, shape: Shape) -> String {
    format!("{base_url}{PREFIX}{mount}.{}", shape.extension())
}

/// The start a client asked for with `?burst_ms=`, else the configured burst.
pub fn start_from_query(state: &AppState, ctx: &RequestContext) -> Result<Start, HttpError> {
    match ctx.param("burst_ms") {
        None => Ok(Start::Burst(state.pcm.taps.settings().burst)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(|ms| Start::Burst(Duration::from_millis(ms)))
            .map_err(|_| HttpError::InvalidParameter("burst_ms")),
    }
}

/// `GET /api/v1/pcm/{*path}`.
pub async fn stream(
    State(state): State<AppState>,
    uri: Uri,
    ctx: RequestContext,
) -> Result<Response, HttpError> {
    let (mount, shape) = parse_path(uri.path()).ok_or(HttpError::NotFound)?;
    let start = start_from_query(&state, &ctx)?;
    let mut consumer = state
        .pcm
        .taps
        .consumer(&state.engine, mount, start, Codec::Pcm)
        .map_err(HttpError::Pcm)?;
    let format = consumer.ready().await.map_err(HttpError::Pcm)?;
    let (content_type, head) = match shape {
        Shape::Wav => (
            "audio/wav".to_string(),
            Bytes::copy_from_slice(&frame::wav_stream_header(format)),
        ),
        Shape::L16 => (frame::l16_content_type(format), Bytes::new()),
    };
    let pump = Pump {
        consumer,
        shape,
        head: Some(head),
        shutdown: state.shutdown.clone(),
    };
    let body = futures_util::stream::unfold(pump, |mut pump| async move {
        let bytes = pump.next().await?;
        Some((Ok::<Bytes, Infallible>(bytes), pump))
    });
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache, no-store".to_string()),
            (
                header::HeaderName::from_static("x-accel-buffering"),
                "no".to_string(),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// One client's body: the header, then every batch of chunks as one piece.
struct Pump {
    consumer: PcmConsumer,
    shape: Shape,
    head: Option<Bytes>,
    shutdown: Shutdown,
}

impl Pump {
    async fn next(&mut self) -> Option<Bytes> {
        let batch = tokio::select! {
            batch = self.consumer.next() => batch,
            _ = self.shutdown.wait() => return None,
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::info!(mount = %self.consumer.tap().mount(), error = %e, "PCM client dropped");
                return None;
            }
        };
        let head = self.head.take();
        Some(self.encode(head, &batch))
    }

    fn encode(&self, head: Option<Bytes>, batch: &[Arc<PcmChunk>]) -> Bytes {
        let len: usize = batch.iter().map(|c| c.samples.len()).sum();
        let mut out = Vec::with_capacity(len + head.as_ref().map_or(0, Bytes::len));
        if let Some(head) = head {
            out.extend_from_slice(&head);
        }
        for c in batch {
            match self.shape {
                Shape::Wav => out.extend_from_slice(&c.samples),
                Shape::L16 => out.extend_from_slice(&frame::s16le_to_be(&c.samples)),
            }
        }
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_paths_name_a_mount_and_a_shape() {
        assert_eq!(
            parse_path("/api/v1/pcm/live.mp3.wav"),
            Some(("/live.mp3", Shape::Wav))
        );
        assert_eq!(
            parse_path("/api/v1/pcm/radio/hi.ogg.l16"),
            Some(("/radio/hi.ogg", Shape::L16))
        );
        assert_eq!(parse_path("/api/v1/pcm/.wav"), None);
        assert_eq!(parse_path("/api/v1/pcm/live.mp3"), None);
        assert_eq!(parse_path("/api/v1/pcmx/live.wav"), None);
        assert_eq!(
            url("http://h:8000", "/live.mp3", Shape::Wav),
            "http://h:8000/api/v1/pcm/live.mp3.wav"
        );
    }
}
