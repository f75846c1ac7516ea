//! What an ingest connection holds while it feeds a mount.

use crate::events::Event;
use crate::mount::Mount;
use crate::registry::Engine;
use bytes::{Bytes, BytesMut};
use floe_proto::frame::{AudioInfo, OggChainer, StreamFormat, Unit, UnitKind};
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
    /// Writes title updates into an Ogg Opus/Vorbis stream as new chains (live sources).
    chainer: Option<OggChainer>,
    /// The mount's metadata version the chainer has been given.
    chained_meta: u64,
    staged: Vec<Unit>,
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
            chainer: None,
            chained_meta: 0,
            staged: Vec::new(),
        }
    }

    /// For an Ogg source: from now on, a title set on the mount is also written into the
    /// stream: at the next page boundary the stream continues as a new chained logical stream
    /// whose comment header carries `TITLE` (and `ARTIST`), for Ogg Opus and Ogg Vorbis (other
    /// Ogg codecs stay ICY-only). The rewriting happens here, once per page, on the source's
    /// task. Does nothing for other formats.
    pub fn write_titles_into_ogg(&mut self) {
        if self.format == StreamFormat::Ogg && self.chainer.is_none() {
            self.chainer = Some(OggChainer::new());
            self.chained_meta = self.mount.meta_version();
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
        if let Some(chainer) = self.chainer.as_mut() {
            let version = self.mount.meta_version();
            if version != self.chained_meta {
                self.chained_meta = version;
                if let Some(meta) = self.mount.current_meta() {
                    let title = meta.title.as_deref().unwrap_or(&meta.song);
                    chainer.set_tags(Some(title), meta.artist.as_deref());
                }
            }
            let mut staged = std::mem::take(&mut self.staged);
            for unit in units {
                chainer.push(unit, &mut staged);
            }
            self.push_framed(staged.drain(..));
            self.staged = staged;
        } else {
            self.push_framed(units);
        }
    }

    fn push_framed(&mut self, units: impl IntoIterator<Item = Unit>) {
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
