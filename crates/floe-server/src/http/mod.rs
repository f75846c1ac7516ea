//! Everything HTTP that is not a source or a live listener on the edge's fast path: admin,
//! status pages, the JSON API, playlists, Server-Sent Events and the web page, served by axum.

use crate::AppState;
use std::net::{IpAddr, SocketAddr};

/// Inserted into every request's extensions by the edge.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address (after trusted-proxy resolution).
    pub client: IpAddr,
    /// The socket's remote address.
    pub remote: SocketAddr,
}

/// The complete router.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new().with_state(state)
}
