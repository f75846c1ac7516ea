//! A listener's view of a mount: a cursor, ICY interleaving, moves between mounts.
//!
//! The server's listener task calls [`ListenerSession::fill`] when it is ready to write; fill
//! appends `Bytes` that share the ring's buffers (no audio is copied per listener) and metadata
//! blocks that are encoded once per title for every listener.

use crate::mount::{Meta, Mount, Ring};
use crate::registry::Engine;
use crate::settings::Burst;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Who a listener is, as the edge saw it.
#[derive(Debug, Clone, Default)]
pub struct ListenerInfo {
    /// Client address (after trusted-proxy resolution).
    pub ip: String,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// The client asked for ICY metadata (`Icy-MetaData: 1`).
    pub icy: bool,
}

/// The part of a listener that admin operations reach: identity, counters, and commands.
#[derive(Debug)]
pub struct ListenerHandle {
    /// Unique over the server's life.
    pub id: u64,
    /// Client address.
    pub ip: String,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// Wall-clock time of connection.
    pub connected_at: SystemTime,
    /// Monotonic time of connection.
    pub started: Instant,
    /// Body bytes written so far.
    pub bytes_sent: AtomicU64,
    kill: AtomicBool,
    /// One of Floe's own readers (the HLS segmenter): left out of listener lists and counts.
    internal: AtomicBool,
    move_pending: AtomicBool,
    move_to: Mutex<Option<Arc<Mount>>>,
}

impl ListenerHandle {
    /// Asks the listener to disconnect; it does so at its next write.
    pub fn kill(&self) {
        self.kill.store(true, Ordering::Release);
    }

    /// Asks the listener to continue on another mount, without disconnecting.
    pub fn move_to(&self, mount: Arc<Mount>) {
        *self.move_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(mount);
        self.move_pending.store(true, Ordering::Release);
    }

    /// Marks the listener as one of Floe's own readers (see [`ListenerHandle::is_internal`]).
    pub fn set_internal(&self) {
        self.internal.store(true, Ordering::Release);
    }

    /// True for Floe's own readers, which listener lists and counts leave out.
    pub fn is_internal(&self) -> bool {
        self.internal.load(Ordering::Acquire)
    }

    /// Seconds since connection.
    pub fn connected_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// Why a listener's stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// An admin killed it (or its source was killed with no fallback).
    Killed,
    /// The source left and no fallback has a stream.
    SourceGone,
    /// It fell further behind than the mount's queue size.
    TooSlow,
}

impl EndReason {
    /// A phrase for logs.
    pub fn describe(self) -> &'static str {
        match self {
            EndReason::Killed => "killed by admin",
            EndReason::SourceGone => "source left",
            EndReason::TooSlow => "fallen too far behind",
        }
    }
}

/// What [`ListenerSession::fill`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Appended this many bytes (audio and metadata).
    Data(usize),
    /// Nothing new yet.
    Idle,
    /// The stream is over for this listener.
    End(EndReason),
}

#[derive(Debug)]
struct Icy {
    metaint: usize,
    until_meta: usize,
    last_version: u64,
    /// The title in force when the listener joined the mount: its burst predates the update,
    /// but a player should show what is playing now from its first block (as Icecast does).
    floor: Option<Arc<Meta>>,
}

/// One connected listener. Dropping it unregisters it.
#[derive(Debug)]
pub struct ListenerSession {
    engine: Arc<Engine>,
    handle: Arc<ListenerHandle>,
    mount: Arc<Mount>,
    /// The mount the listener asked for (or was moved to by an admin); it returns there from a
    /// fallback when that mount's source comes back.
    origin: String,
    joined: bool,
    first_join: bool,
    pos: u64,
    icy: Option<Icy>,
}

const EMPTY_META: Bytes = Bytes::from_static(floe_proto::icy::EMPTY_BLOCK);
const MAX_FALLBACK_HOPS: usize = 8;
/// `Icy::last_version` after a move: whatever the new mount's title is, send it.
const MOVED: u64 = u64::MAX;

impl ListenerSession {
    pub(crate) fn new(
        engine: Arc<Engine>,
        handle: Arc<ListenerHandle>,
        mount: Arc<Mount>,
        origin: String,
        icy: bool,
    ) -> ListenerSession {
        let metaint = mount.policy.metaint;
        mount.attach(handle.clone());
        mount.counters.connections.fetch_add(1, Ordering::Relaxed);
        ListenerSession {
            engine,
            handle,
            mount,
            origin,
            joined: false,
            first_join: true,
            pos: 0,
            icy: icy.then_some(Icy {
                metaint,
                until_meta: metaint,
                last_version: 0,
                floor: None,
            }),
        }
    }

    /// The admin-facing handle.
    pub fn handle(&self) -> &Arc<ListenerHandle> {
        &self.handle
    }

    /// The mount now being streamed (the origin, or a fallback).
    pub fn mount(&self) -> &Arc<Mount> {
        &self.mount
    }

    /// The `icy-metaint` this listener gets, if it asked for metadata.
    pub fn metaint(&self) -> Option<usize> {
        self.icy.as_ref().map(|i| i.metaint)
    }

    /// Appends what is due to this listener to `out`, at most about `budget` audio bytes.
    /// `pending` is how many bytes the caller still holds unwritten: with them the listener's lag
    /// is measured against the mount's queue size.
    pub fn fill(&mut self, pending: usize, out: &mut VecDeque<Bytes>, budget: usize) -> Fill {
        if self.handle.kill.load(Ordering::Acquire) {
            return Fill::End(EndReason::Killed);
        }
        if self.handle.move_pending.swap(false, Ordering::AcqRel) {
            let dest = self
                .handle
                .move_to
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(dest) = dest {
                self.origin = dest.path.clone();
                self.switch(dest);
            }
        }
        if self.mount.path != self.origin {
            if let Some(origin) = self.engine.mount(&self.origin) {
                if origin.is_ready() && origin.policy.fallback_override {
                    self.switch(origin);
                }
            }
        }
        for _ in 0..MAX_FALLBACK_HOPS {
            match self.fill_from_mount(pending, out, budget) {
                Some(fill) => return fill,
                None => match self.engine.live_fallback(&self.mount) {
                    Some(next) => self.switch(next),
                    None => return Fill::End(EndReason::SourceGone),
                },
            }
        }
        Fill::End(EndReason::SourceGone)
    }

    /// `None` when the mount's stream is over for good and a fallback is needed.
    fn fill_from_mount(
        &mut self,
        pending: usize,
        out: &mut VecDeque<Bytes>,
        budget: usize,
    ) -> Option<Fill> {
        let mount = self.mount.clone();
        let st = mount.state();
        let ring = &st.ring;
        let mut added = 0;
        if !self.joined {
            st.source.as_ref()?;
            let burst = if self.first_join {
                mount.policy.burst
            } else {
                Burst::Bytes(0)
            };
            let Some(pos) = ring.join_pos(burst) else {
                return Some(Fill::Idle);
            };
            self.pos = pos;
            self.joined = true;
            if let Some(icy) = self.icy.as_mut() {
                icy.floor = ring.marks.back().map(|(_, m)| m.clone());
            }
            if std::mem::take(&mut self.first_join) {
                if let Some(intro) = mount.intro.clone() {
                    added += self.emit(ring, intro, false, out);
                }
            }
            for h in ring.headers.clone() {
                added += self.emit(ring, h, false, out);
            }
        }
        let head = ring.head;
        if self.pos < ring.oldest()
            || (head - self.pos) as usize + pending > mount.policy.queue_size
        {
            mount
                .counters
                .slow_listeners
                .fetch_add(1, Ordering::Relaxed);
            return Some(Fill::End(EndReason::TooSlow));
        }
        while added < budget && self.pos < head {
            let Some(i) = ring.index_of(self.pos) else {
                break;
            };
            let chunk = &ring.chunks[i];
            let off = (self.pos - chunk.pos) as usize;
            let take = (chunk.data.len() - off).min(budget - added).max(1);
            let piece = chunk.data.slice(off..off + take);
            added += self.emit(ring, piece, true, out);
        }
        if added > 0 {
            return Some(Fill::Data(added));
        }
        st.source.as_ref()?;
        Some(Fill::Idle)
    }

    /// Appends `piece` with ICY blocks interleaved. `from_ring` says it is the stream at
    /// `self.pos` (which then advances); otherwise it is an intro or a header replay.
    /// Returns the bytes appended.
    fn emit(
        &mut self,
        ring: &Ring,
        mut piece: Bytes,
        from_ring: bool,
        out: &mut VecDeque<Bytes>,
    ) -> usize {
        let mut added = 0;
        let Some(icy) = self.icy.as_mut() else {
            added += piece.len();
            if from_ring {
                self.pos += piece.len() as u64;
            }
            out.push_back(piece);
            return added;
        };
        while !piece.is_empty() {
            let n = piece.len().min(icy.until_meta);
            let part = piece.split_to(n);
            if from_ring {
                self.pos += n as u64;
            }
            added += n;
            out.push_back(part);
            icy.until_meta -= n;
            if icy.until_meta == 0 {
                icy.until_meta = icy.metaint;
                let at = ring.meta_at(self.pos);
                let meta = match (at, icy.floor.as_ref()) {
                    (Some(m), Some(f)) if m.version < f.version => Some(f),
                    (None, f) => f,
                    (m, _) => m,
                };
                let block = match meta {
                    Some(m) if m.version != icy.last_version => {
                        icy.last_version = m.version;
                        m.block.clone()
                    }
                    // Moved to a mount that has no title: clear the old one.
                    None if icy.last_version == MOVED => {
                        icy.last_version = 0;
                        floe_proto::icy::encode_block("", None)
                    }
                    _ => EMPTY_META,
                };
                added += block.len();
                out.push_back(block);
            }
        }
        added
    }

    fn switch(&mut self, dest: Arc<Mount>) {
        if Arc::ptr_eq(&dest, &self.mount) {
            return;
        }
        self.mount.detach(self.handle.id);
        dest.attach(self.handle.clone());
        self.engine.forget_if_idle(&self.mount);
        self.mount = dest;
        self.joined = false;
        // Titles are per mount: the next block carries the new mount's title.
        if let Some(icy) = self.icy.as_mut() {
            icy.last_version = MOVED;
        }
    }

    /// Records bytes written to the socket.
    pub fn sent(&self, n: usize) {
        self.handle
            .bytes_sent
            .fetch_add(n as u64, Ordering::Relaxed);
        self.mount
            .counters
            .bytes_out
            .fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl Drop for ListenerSession {
    fn drop(&mut self) {
        self.mount.detach(self.handle.id);
        if self.handle.is_internal() {
            // Not in the engine's listener count (see `Engine::add_internal_listener`).
            self.engine.forget_if_idle(&self.mount);
        } else {
            self.engine.listener_left(&self.mount);
        }
    }
}

pub(crate) fn new_handle(id: u64, info: &ListenerInfo) -> ListenerHandle {
    ListenerHandle {
        id,
        ip: info.ip.clone(),
        user_agent: info.user_agent.clone(),
        connected_at: SystemTime::now(),
        started: Instant::now(),
        bytes_sent: AtomicU64::new(0),
        kill: AtomicBool::new(false),
        internal: AtomicBool::new(false),
        move_pending: AtomicBool::new(false),
        move_to: Mutex::new(None),
    }
}
