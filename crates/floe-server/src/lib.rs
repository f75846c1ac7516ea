//! Floe's network edge.
//!
//! Layout:
//! - [`settings`]: addresses, credentials and the edge's limits.
//! - [`edge`]: the accept loop. It reads each request head itself, hands sources to [`ingest`]
//!   and live listeners to [`listen`], and everything else to hyper (axum) with the bytes it read.
//! - [`ingest`]: source clients: PUT (plain, `Expect: 100-continue`, chunked), SOURCE, libshout's
//!   probe-then-authenticate handshake, SHOUTcast v1 on port + 1.
//! - [`listen`]: the listener hot path: response head, burst, vectored writes of shared buffers.
//! - [`hls`]: HLS, LL-HLS and DASH over HTTP, from the segments `floe-hls` cuts.
//! - [`http`]: admin, status pages, the JSON API, playlists, Server-Sent Events, the web page.
//! - [`access`]: the access log (Icecast's format) and client addresses behind trusted proxies.
//! - [`auth`]: credential checks.
//! - [`media`]: on-demand files with ranges, transcodes and their cache, the upstream proxy.
//! - [`subsonic`]: the Subsonic / OpenSubsonic API under `/rest/`.
//! - [`pcm`]: the PCM tap (a mount decoded once, fanned out as 16-bit PCM) and its sessions.

pub mod access;
pub mod auth;
pub mod edge;
pub mod hls;
pub mod http;
pub mod ingest;
pub mod listen;
pub mod media;
pub mod pcm;
pub mod settings;
pub mod subsonic;

pub use edge::run;
pub use settings::ServerSettings;

use floe_engine::Engine;

/// The `Server` header Floe sends.
pub const SERVER_NAME: &str = concat!("Floe/", env!("CARGO_PKG_VERSION"));
use std::sync::Arc;

/// What every connection handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Mounts, sources, listeners.
    pub engine: Arc<Engine>,
    /// The edge's settings.
    pub settings: Arc<ServerSettings>,
    /// Where access-log lines go.
    pub access_log: access::AccessLog,
    /// Set once the server is shutting down.
    pub shutdown: Shutdown,
    /// The HLS/DASH segmenters (disabled unless the binary sets a running one).
    pub hls: Arc<floe_hls::HlsService>,
    /// PCM taps and SSE/WebSocket sessions.
    pub pcm: Arc<pcm::PcmService>,
    /// The Subsonic API (none unless the binary sets one: it needs a library).
    pub subsonic: Option<Arc<subsonic::Subsonic>>,
    /// On-demand media: transcode limit and cache, proxy routes.
    pub media: Arc<media::MediaService>,
    /// The music library (none unless the binary opens one: the library API answers 503).
    pub library: Option<floe_library::Library>,
    /// Limits of the library API (page sizes, body size); behind an `Arc` because every
    /// listener task holds an `AppState` (see `edge::task_size`).
    pub library_limits: Arc<http::library::LibraryLimits>,
}

impl AppState {
    /// State for a server (or a test) that has not started shutting down.
    pub fn new(
        engine: Arc<Engine>,
        settings: ServerSettings,
        access_log: access::AccessLog,
    ) -> AppState {
        AppState {
            hls: floe_hls::HlsService::disabled(engine.clone()),
            engine,
            pcm: Arc::new(pcm::PcmService::new(settings.pcm.clone())),
            subsonic: None,
            library: None,
            library_limits: Arc::new(http::library::LibraryLimits::default()),
            media: Arc::new(
                media::MediaService::new(settings.media.clone()).unwrap_or_else(|e| {
                    tracing::error!("transcode cache unusable, running without it: {e}");
                    let mut s = settings.media.clone();
                    s.transcode.cache_dir = None;
                    media::MediaService::without_cache(s)
                }),
            ),
            settings: Arc::new(settings),
            access_log,
            shutdown: Shutdown::default(),
        }
    }
}

/// A shutdown signal every connection can poll cheaply or await.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    flag: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl Shutdown {
    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.inner
            .flag
            .store(true, std::sync::atomic::Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    /// True once [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.flag.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Resolves once the shutdown has started.
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}
