//! Floe's network edge.
//!
//! Layout:
//! - [`settings`]: addresses, credentials and the edge's limits.
//! - [`edge`]: the accept loop. It reads each request head itself, hands sources to [`ingest`]
//!   and live listeners to [`listen`], and everything else to hyper (axum) with the bytes it read.
//! - [`ingest`]: source clients: PUT (plain, `Expect: 100-continue`, chunked), SOURCE, libshout's
//!   probe-then-authenticate handshake, SHOUTcast v1 on port + 1.
//! - [`listen`]: the listener hot path: response head, burst, vectored writes of shared buffers.
//! - [`http`]: admin, status pages, the JSON API, playlists, Server-Sent Events, the web page.
//! - [`access`]: the access log (Icecast's format) and client addresses behind trusted proxies.
//! - [`auth`]: credential checks.

pub mod access;
pub mod auth;
pub mod edge;
pub mod http;
pub mod ingest;
pub mod listen;
pub mod settings;

pub use edge::run;
pub use settings::ServerSettings;

use floe_engine::Engine;
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
}
