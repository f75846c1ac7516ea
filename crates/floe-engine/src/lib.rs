//! Floe's engine: mounts and their fan-out, sources, listeners, metadata, stats and events.
//!
//! Layout:
//! - [`settings`]: the engine's limits and the per-mount settings (a template plus declared mounts).
//! - [`mount`]: a [`Mount`]: one producer's ring of frame-aligned chunks, metadata marks at stream
//!   positions, the codec header set, its listeners and counters.
//! - [`source`]: a [`SourceSession`]: what an ingest connection holds while it feeds a mount.
//! - [`listener`]: a [`ListenerSession`]: one listener's cursor into a mount, with ICY metadata
//!   interleaved and no copy of the audio (it hands out `Bytes` slices of the ring).
//! - [`registry`]: the [`Engine`]: every mount by path, global limits, admin operations.
//! - [`events`]: the event bus behind Server-Sent Events.
//! - [`reader`]: a [`MountReader`]: a mount as a blocking reader for Floe's own decoders.
//!
//! Nothing here touches a socket: the server crate reads and writes, the engine decides what.

pub mod events;
pub mod listener;
pub mod mount;
pub mod reader;
pub mod registry;
pub mod settings;
pub mod source;

pub use events::Event;
pub use listener::{Fill, ListenerInfo, ListenerSession};
pub use mount::{InternalReader, Mount, MountSnapshot, PcmListener, SourceInfo};
pub use reader::MountReader;
pub use registry::{Engine, ListenError, SourceError};
pub use settings::{EngineSettings, MountPolicy, MountSettings};
pub use source::SourceSession;

#[cfg(test)]
mod tests;
