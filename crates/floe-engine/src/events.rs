//! The event bus: what changed, for push clients (Server-Sent Events) and logs.

use serde::Serialize;

/// Something a push client wants to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A mount's title changed.
    NowPlaying { mount: String, title: String },
    /// A source connected to a mount.
    SourceUp { mount: String },
    /// A mount's source left.
    SourceDown { mount: String },
    /// A mount's listener count changed (coalesced; at most one per mount per tick).
    Listeners { mount: String, count: usize },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::NowPlaying { .. } => "now_playing",
            Event::SourceUp { .. } => "source_up",
            Event::SourceDown { .. } => "source_down",
            Event::Listeners { .. } => "listeners",
        }
    }
}
