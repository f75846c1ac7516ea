//! What an ingest connection holds while it feeds a mount.

use crate::events::Event;
use crate::mount::Mount;
use crate::registry::Engine;
use bytes::{Bytes, BytesMut};
use floe_proto::frame::{AudioInfo, StreamFormat, Unit, UnitKind};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Chunks are cut at the first join point past this size.
const CHUNK_TARGET: usize = 8 * 1024;

/// A source's hold on a mount. Dropping it releases the mount: listeners drain what is left,
/// then move to the fallback or end.
#[derive(Debug)]
pub struct SourceSession {
    engine: Arc<Engine>,
    mount: Arc<Mount>,
    format: StreamFormat,
    chunk: BytesMut,
    chunk_sync: bool,
    chunk_is_header: bool,
    chunk_us: u64,
}

impl SourceSession {
    pub(crate) fn new(engine: Arc<Engine>, mount: Arc<Mount>, format: StreamFormat) -> Self {
        mount.reset_kill();
        SourceSession {
            engine,
            mount,
            format,
            chunk: BytesMut::new(),
            chunk_sync: false,
            chunk_is_header: false,
            chunk_us: 0,
        }
    }

    /// The mount being fed.
    pub fn mount(&self) -> &Arc<Mount> {
        &self.mount
    }

    /// The stream format, from the source's content type.
    pub fn format(&self) -> StreamFormat {
        self.format
    }

    /// Records what the framer learnt of the stream.
    pub fn set_audio_info(&self, info: AudioInfo) {
        self.mount.state().audio = info;
    }

    /// Appends framed units to the mount and makes them visible to listeners.
    pub fn push_units(&mut self, units: impl IntoIterator<Item = Unit>) {
        for unit in units {
            match unit.kind {
                UnitKind::Header { first } => {
                    if !self.chunk_is_header {
                        self.flush();
                    }
                    let mut st = self.mount.state();
                    if first {
                        st.ring.headers.clear();
                        st.ring.header_pos = st.ring.head + self.chunk.len() as u64;
                    }
                    st.ring.headers.push(unit.data.clone());
                    drop(st);
                    self.chunk_is_header = true;
                    self.chunk.extend_from_slice(&unit.data);
                }
                UnitKind::Sync => {
                    if self.chunk_is_header || self.chunk.len() >= CHUNK_TARGET {
                        self.flush();
                    }
                    if self.chunk.is_empty() {
                        self.chunk_sync = true;
                    }
                    self.chunk.extend_from_slice(&unit.data);
                    self.chunk_us += unit.duration_us;
                }
                UnitKind::Continuation => {
                    if self.chunk_is_header {
                        self.flush();
                    }
                    self.chunk.extend_from_slice(&unit.data);
                    self.chunk_us += unit.duration_us;
                }
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        if self.chunk.is_empty() {
            return;
        }
        let data: Bytes = self.chunk.split().freeze();
        let sync = std::mem::take(&mut self.chunk_sync);
        let us = std::mem::take(&mut self.chunk_us);
        self.chunk_is_header = false;
        self.mount.push(data, sync, us);
        if sync && !self.mount.is_ready() {
            self.mount.set_ready(true);
        }
    }

    /// Resolves when an admin kills this source.
    pub async fn killed(&self) {
        self.mount.source_killed().await
    }
}

impl Drop for SourceSession {
    fn drop(&mut self) {
        self.flush();
        self.mount.set_ready(false);
        self.mount.state().source = None;
        self.engine.sources.fetch_sub(1, Ordering::AcqRel);
        self.engine.emit(Event::SourceDown {
            mount: self.mount.path.clone(),
        });
        self.engine.forget_if_idle(&self.mount);
    }
}
