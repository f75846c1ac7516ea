//! The edge's settings: addresses, credentials, limits.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Credentials. User names default to Icecast's so encoders work unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Source user (`source`).
    pub source_user: String,
    /// Source password.
    pub source_password: String,
    /// Admin user (`admin`).
    pub admin_user: String,
    /// Admin password.
    pub admin_password: String,
}

/// SHOUTcast v1 source support on the port after the HTTP one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShoutcastSettings {
    /// The mount SHOUTcast sources feed (`/stream`).
    pub mount: String,
}

/// Everything the edge needs besides the engine.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Where to accept HTTP (and Icecast source) connections.
    pub listen: SocketAddr,
    /// SHOUTcast v1 sources on `listen` port + 1, when set.
    pub shoutcast: Option<ShoutcastSettings>,
    /// Credentials.
    pub credentials: Credentials,
    /// Host name used in status pages when a request carries no `Host`.
    pub hostname: String,
    /// `location` in status pages.
    pub location: String,
    /// `admin` (contact) in status pages.
    pub admin_contact: String,
    /// Largest request head accepted, in bytes.
    pub max_header_size: usize,
    /// Time allowed for a whole request head to arrive.
    pub header_timeout: Duration,
    /// A source that sends nothing for this long is disconnected.
    pub source_timeout: Duration,
    /// How often a listener's socket is written (audio is batched in between).
    pub write_interval: Duration,
    /// Addresses of proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Access log: a file path, `-` for standard output, or none.
    pub access_log: Option<PathBuf>,
    /// Time allowed for connections to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Limits of PCM delivery (WAV, L16, SSE and WebSocket audio).
    pub pcm: crate::pcm::PcmSettings,
    /// On-demand media: range limits, transcoding, proxy routes.
    pub media: crate::media::MediaSettings,
}

impl ServerSettings {
    /// Settings for tests and embedding: loopback on the given port, every limit at its default.
    pub fn local(listen: SocketAddr, credentials: Credentials) -> ServerSettings {
        ServerSettings {
            listen,
            shoutcast: None,
            credentials,
            hostname: "localhost".into(),
            location: "Earth".into(),
            admin_contact: "admin@localhost".into(),
            max_header_size: 8192,
            header_timeout: Duration::from_secs(10),
            source_timeout: Duration::from_secs(10),
            write_interval: Duration::from_millis(1000),
            trusted_proxies: Vec::new(),
            access_log: None,
            shutdown_grace: Duration::from_secs(2),
            pcm: crate::pcm::PcmSettings::default(),
            media: crate::media::MediaSettings::default(),
        }
    }
}
