//! A mount: one producer's stream, held as a ring of frame-aligned chunks that every listener
//! reads with its own cursor.
//!
//! Positions are byte offsets into the mount's stream since the mount was created; they only
//! grow, across source reconnections. Metadata marks and the codec header set carry the position
//! from which they apply, so every listener switches title at the same byte.

use crate::listener::ListenerHandle;
use crate::settings::{Burst, MountPolicy};
use bytes::Bytes;
use floe_proto::frame::{AudioInfo, StreamFormat};
use floe_proto::icy;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// What a source told us about its stream when it connected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceInfo {
    /// The `Content-Type` it sent.
    pub content_type: String,
    /// `ice-name` / `icy-name`.
    pub name: Option<String>,
    /// `ice-description`.
    pub description: Option<String>,
    /// `ice-genre`.
    pub genre: Option<String>,
    /// `ice-url`.
    pub url: Option<String>,
    /// `ice-public`.
    pub public: Option<bool>,
    /// `ice-bitrate`, or `bitrate=` of `ice-audio-info`, in kbit/s.
    pub bitrate: Option<u32>,
    /// `ice-audio-info` as sent.
    pub audio_info: Option<String>,
    /// The encoder's `User-Agent`.
    pub user_agent: Option<String>,
    /// The encoder's address.
    pub ip: String,
}

/// One metadata value, with its ICY block encoded once for every listener.
#[derive(Debug, PartialEq)]
pub struct Meta {
    /// Increases with every update on the mount.
    pub version: u64,
    /// The whole "Artist - Title" string.
    pub song: String,
    /// Artist, when it came separately.
    pub artist: Option<String>,
    /// Title, when it came separately.
    pub title: Option<String>,
    /// `StreamUrl`, if any.
    pub url: Option<String>,
    /// The ICY block (length byte and padded payload).
    pub block: Bytes,
}

/// A run of the stream that starts at `pos`.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub pos: u64,
    pub data: Bytes,
    /// A listener may start here.
    pub sync: bool,
    /// Media time at the chunk's start, in microseconds since the mount was created.
    pub time_us: u64,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.pos + self.data.len() as u64
    }
}

/// The retained tail of the stream.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    pub chunks: VecDeque<Chunk>,
    held: usize,
    pub head: u64,
    pub time_us: u64,
    capacity: usize,
    /// Codec header units (Ogg header pages, WebM prefix) that new listeners get first.
    pub headers: Vec<Bytes>,
    /// Position from which `headers` apply: no listener may join before it.
    pub header_pos: u64,
    /// Metadata marks: (position from which it applies, value), in order.
    pub marks: VecDeque<(u64, Arc<Meta>)>,
}

impl Ring {
    fn push(&mut self, data: Bytes, sync: bool, duration_us: u64) {
        if data.is_empty() {
            return;
        }
        let len = data.len();
        self.chunks.push_back(Chunk {
            pos: self.head,
            data,
            sync,
            time_us: self.time_us,
        });
        self.head += len as u64;
        self.time_us += duration_us;
        self.held += len;
        while self.held > self.capacity && self.chunks.len() > 1 {
            if let Some(old) = self.chunks.pop_front() {
                self.held -= old.data.len();
            }
        }
        let oldest = self.oldest();
        // Keep the last mark at or before the oldest chunk: it still applies to it.
        while self.marks.len() > 1 && self.marks[1].0 <= oldest {
            self.marks.pop_front();
        }
    }

    pub fn oldest(&self) -> u64 {
        self.chunks.front().map_or(self.head, |c| c.pos)
    }

    /// Index of the chunk holding `pos`, if retained.
    pub fn index_of(&self, pos: u64) -> Option<usize> {
        if pos < self.oldest() || pos >= self.head {
            return None;
        }
        let i = self.chunks.partition_point(|c| c.end() <= pos);
        (i < self.chunks.len()).then_some(i)
    }

    /// The metadata in force at `pos`.
    pub fn meta_at(&self, pos: u64) -> Option<&Arc<Meta>> {
        let i = self.marks.partition_point(|(p, _)| *p <= pos);
        i.checked_sub(1).map(|i| &self.marks[i].1)
    }

    /// Where a listener joining now starts: the latest sync chunk that leaves at least
    /// `burst` behind the head, never before the current header set.
    pub fn join_pos(&self, burst: Burst) -> Option<u64> {
        let mut best = None;
        for c in self.chunks.iter().rev() {
            if c.pos < self.header_pos {
                break;
            }
            if c.sync {
                best = Some(c.pos);
                let enough = match burst {
                    Burst::Bytes(b) => self.head - c.pos >= b as u64,
                    Burst::Seconds(s) => {
                        self.time_us.saturating_sub(c.time_us) as f64 >= s * 1_000_000.0
                    }
                };
                if enough {
                    break;
                }
            }
        }
        best
    }
}

/// The mutable part of a mount, behind one short lock.
#[derive(Debug)]
pub(crate) struct MountState {
    pub ring: Ring,
    pub source: Option<Arc<SourceInfo>>,
    pub format: StreamFormat,
    pub audio: AudioInfo,
    pub stream_start: Option<SystemTime>,
    pub meta_version: u64,
}

/// Counters an operator reads.
#[derive(Debug, Default)]
pub struct MountCounters {
    /// Listeners now.
    pub listeners: AtomicUsize,
    /// Most listeners at once.
    pub peak: AtomicUsize,
    /// Listener connections ever.
    pub connections: AtomicU64,
    /// Listeners dropped for falling too far behind.
    pub slow_listeners: AtomicU64,
    /// Source connections ever.
    pub source_connections: AtomicU64,
    /// Bytes received from sources.
    pub bytes_in: AtomicU64,
    /// Bytes sent to listeners.
    pub bytes_out: AtomicU64,
    /// Sessions of Floe's own in-process readers (the HLS segmenter) among `listeners`: left
    /// out of the figures status pages show.
    pub internal_listeners: AtomicUsize,
    /// HLS/DASH sessions (derived from segment requests), added to the figures status pages
    /// show.
    pub segment_listeners: AtomicUsize,
    /// Clients of the mount's decoded PCM (endless WAV, `audio/L16`, SSE and WebSocket audio),
    /// added to the figures status pages show.
    pub pcm_listeners: AtomicUsize,
}

impl MountCounters {
    /// Listeners as status pages count them: connected listeners other than Floe's own readers,
    /// plus HLS/DASH sessions.
    pub fn audience(&self) -> usize {
        self.listeners
            .load(Ordering::Relaxed)
            .saturating_sub(self.internal_listeners.load(Ordering::Relaxed))
            + self.segment_listeners.load(Ordering::Relaxed)
            + self.pcm_listeners.load(Ordering::Relaxed)
    }
}

/// Counts one of Floe's own in-process readers of a mount (the HLS segmenter, the PCM tap) in
/// its `internal_listeners` for as long as it lives, so status pages leave that reader out.
#[derive(Debug)]
pub struct InternalReader(Arc<Mount>);

impl InternalReader {
    /// Counts a reader of `mount` until the guard is dropped.
    pub fn new(mount: Arc<Mount>) -> InternalReader {
        mount
            .counters
            .internal_listeners
            .fetch_add(1, Ordering::Relaxed);
        InternalReader(mount)
    }
}

impl Drop for InternalReader {
    fn drop(&mut self) {
        self.0
            .counters
            .internal_listeners
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts one client of a mount's decoded PCM in its `pcm_listeners` (and so in the audience
/// status pages show) for as long as it lives.
#[derive(Debug)]
pub struct PcmListener(Arc<Mount>);

impl PcmListener {
    /// Counts a PCM client of `mount` until the guard is dropped.
    pub fn new(mount: Arc<Mount>) -> PcmListener {
        mount.counters.pcm_listeners.fetch_add(1, Ordering::Relaxed);
        mount.note_peak();
        PcmListener(mount)
    }
}

impl Drop for PcmListener {
    fn drop(&mut self) {
        self.0
            .counters
            .pcm_listeners
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// A mount point: what a listener asks for.
#[derive(Debug)]
pub struct Mount {
    /// Its path (`/live.mp3`).
    pub path: String,
    /// Its settings.
    pub policy: MountPolicy,
    /// Declared in the config (kept without a source) or created by a source.
    pub declared: bool,
    /// Counters.
    pub counters: MountCounters,
    /// The intro file, loaded once.
    pub intro: Option<Bytes>,
    /// True while a source is connected and its stream has a join point.
    ready: AtomicBool,
    source_kill: AtomicBool,
    source_kill_notify: tokio::sync::Notify,
    /// The version of the last metadata set, readable without the lock (the source's task
    /// polls it to write titles into Ogg streams).
    meta_published: AtomicU64,
    state: Mutex<MountState>,
    listeners: Mutex<BTreeMap<u64, Arc<ListenerHandle>>>,
}

/// A consistent view of a mount for status pages.
#[derive(Debug, Clone)]
pub struct MountSnapshot {
    pub path: String,
    pub source: Option<Arc<SourceInfo>>,
    pub content_type: Option<String>,
    pub audio: AudioInfo,
    pub stream_start: Option<SystemTime>,
    pub meta: Option<Arc<Meta>>,
    pub listeners: usize,
    pub peak: usize,
    pub connections: u64,
    pub slow_listeners: u64,
    pub source_connections: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub hidden: bool,
    pub fallback: Option<String>,
}

impl Mount {
    /// A mount with no source yet.
    pub fn new(path: String, policy: MountPolicy, declared: bool, intro: Option<Bytes>) -> Mount {
        let burst_room = match policy.burst {
            Burst::Bytes(b) => b,
            // Enough for the burst at up to 384 kbit/s.
            Burst::Seconds(s) => (s * 48_000.0) as usize,
        };
        let capacity = policy.queue_size + burst_room + 64 * 1024;
        Mount {
            path,
            policy,
            declared,
            counters: MountCounters::default(),
            intro,
            ready: AtomicBool::new(false),
            source_kill: AtomicBool::new(false),
            source_kill_notify: tokio::sync::Notify::new(),
            meta_published: AtomicU64::new(0),
            state: Mutex::new(MountState {
                ring: Ring {
                    capacity,
                    ..Ring::default()
                },
                source: None,
                format: StreamFormat::Opaque,
                audio: AudioInfo::default(),
                stream_start: None,
                meta_version: 0,
            }),
            listeners: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, MountState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn listener_map(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ListenerHandle>>> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while a source is connected and listeners can join.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Asks the connected source to disconnect.
    pub fn kill_source(&self) {
        self.source_kill.store(true, Ordering::Release);
        self.source_kill_notify.notify_waiters();
    }

    pub(crate) fn reset_kill(&self) {
        self.source_kill.store(false, Ordering::Release);
    }

    /// Resolves once [`Mount::kill_source`] has been called for the current source.
    pub(crate) async fn source_killed(&self) {
        loop {
            let notified = self.source_kill_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.source_kill.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// True while a source is connected (even before its first frame).
    pub fn has_source(&self) -> bool {
        self.state().source.is_some()
    }

    /// The connected source's description.
    pub fn source(&self) -> Option<Arc<SourceInfo>> {
        self.state().source.clone()
    }

    /// The content type listeners get: the source's, or the last one seen.
    pub fn content_type(&self) -> Option<String> {
        self.state().source.as_ref().map(|s| s.content_type.clone())
    }

    /// The metadata in force at the head of the stream.
    pub fn current_meta(&self) -> Option<Arc<Meta>> {
        self.state().ring.marks.back().map(|(_, m)| m.clone())
    }

    /// Sets the title from the next byte of the stream on.
    pub fn set_meta(
        &self,
        song: String,
        artist: Option<String>,
        title: Option<String>,
        url: Option<String>,
    ) -> Arc<Meta> {
        let mut st = self.state();
        st.meta_version += 1;
        let meta = Arc::new(Meta {
            version: st.meta_version,
            block: icy::encode_block(&song, url.as_deref()),
            song,
            artist,
            title,
            url,
        });
        let head = st.ring.head;
        // Marks at the same position replace each other: only the last one is ever seen.
        while st.ring.marks.back().is_some_and(|(p, _)| *p == head) {
            st.ring.marks.pop_back();
        }
        st.ring.marks.push_back((head, meta.clone()));
        self.meta_published.store(meta.version, Ordering::Release);
        meta
    }

    /// The version of the last metadata set (0: none yet).
    pub(crate) fn meta_version(&self) -> u64 {
        self.meta_published.load(Ordering::Acquire)
    }

    /// Appends stream data. `sync` marks a join point.
    pub(crate) fn push(&self, data: Bytes, sync: bool, duration_us: u64) {
        self.counters
            .bytes_in
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.state().ring.push(data, sync, duration_us);
    }

    /// A snapshot for status pages.
    pub fn snapshot(&self) -> MountSnapshot {
        let st = self.state();
        let c = &self.counters;
        MountSnapshot {
            path: self.path.clone(),
            source: st.source.clone(),
            content_type: st.source.as_ref().map(|s| s.content_type.clone()),
            audio: st.audio,
            stream_start: st.stream_start,
            meta: st.ring.marks.back().map(|(_, m)| m.clone()),
            listeners: c.audience(),
            peak: c.peak.load(Ordering::Relaxed).max(c.audience()),
            connections: c.connections.load(Ordering::Relaxed),
            slow_listeners: c.slow_listeners.load(Ordering::Relaxed),
            source_connections: c.source_connections.load(Ordering::Relaxed),
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            hidden: self.policy.hidden,
            fallback: self.policy.fallback.clone(),
        }
    }

    /// The listeners now on this mount, by id (Floe's own readers left out).
    pub fn listeners(&self) -> Vec<Arc<ListenerHandle>> {
        self.listener_map()
            .values()
            .filter(|h| !h.is_internal())
            .cloned()
            .collect()
    }

    /// The listener with this id, if on this mount.
    pub fn listener(&self, id: u64) -> Option<Arc<ListenerHandle>> {
        self.listener_map().get(&id).cloned()
    }

    pub(crate) fn attach(&self, handle: Arc<ListenerHandle>) -> usize {
        let mut map = self.listener_map();
        map.insert(handle.id, handle);
        let n = map.len();
        drop(map);
        self.counters.listeners.store(n, Ordering::Relaxed);
        self.note_peak();
        n
    }

    /// Raises the peak to the current audience.
    fn note_peak(&self) {
        self.counters
            .peak
            .fetch_max(self.counters.audience(), Ordering::Relaxed);
    }

    pub(crate) fn detach(&self, id: u64) -> usize {
        let mut map = self.listener_map();
        map.remove(&id);
        let n = map.len();
        drop(map);
        self.counters.listeners.store(n, Ordering::Relaxed);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::MountSettings;

    fn ring(capacity: usize) -> Ring {
        Ring {
            capacity,
            ..Ring::default()
        }
    }

    #[test]
    fn ring_drops_old_chunks_past_capacity() {
        let mut r = ring(100);
        for i in 0..10u8 {
            r.push(Bytes::from(vec![i; 30]), true, 1000);
        }
        assert_eq!(r.head, 300);
        assert_eq!(r.oldest(), 210);
        assert_eq!(r.index_of(209), None);
        assert_eq!(r.index_of(215), Some(0));
        assert_eq!(r.index_of(299), Some(2));
        assert_eq!(r.index_of(300), None);
    }

    #[test]
    fn join_pos_respects_burst_sync_and_headers() {
        let mut r = ring(10_000);
        r.push(Bytes::from_static(&[0; 100]), true, 10_000);
        r.push(Bytes::from_static(&[0; 100]), false, 10_000);
        r.push(Bytes::from_static(&[0; 100]), true, 10_000);
        r.push(Bytes::from_static(&[0; 100]), true, 10_000);
        assert_eq!(r.join_pos(Burst::Bytes(0)), Some(300));
        assert_eq!(r.join_pos(Burst::Bytes(150)), Some(200));
        // 250 bytes back lands inside the non-sync chunk: go back to the sync before it.
        assert_eq!(r.join_pos(Burst::Bytes(250)), Some(0));
        assert_eq!(r.join_pos(Burst::Bytes(10_000)), Some(0));
        assert_eq!(r.join_pos(Burst::Seconds(0.015)), Some(200));
        r.header_pos = 200;
        assert_eq!(r.join_pos(Burst::Bytes(10_000)), Some(200));
    }

    #[test]
    fn marks_apply_from_their_position_and_survive_trimming() {
        let m = Mount::new("/a".into(), MountSettings::default().resolve(), true, None);
        m.set_meta("one".into(), None, None, None);
        m.push(Bytes::from_static(&[0; 10]), true, 0);
        m.set_meta("two".into(), None, None, None);
        m.set_meta("three".into(), None, None, None);
        let st = m.state();
        assert_eq!(st.ring.marks.len(), 2);
        assert_eq!(st.ring.meta_at(5).map(|m| m.song.as_str()), Some("one"));
        assert_eq!(st.ring.meta_at(10).map(|m| m.song.as_str()), Some("three"));
    }
}
