//! The running side: one segmenter per mount offered over HLS, fed in process, and the
//! registry the HTTP handlers read.
//!
//! Each [`LiveStream`] is fed by an ordinary listener session of its mount (user agent
//! `Floe segmenter`), read on a task of its own every [`HlsSettings::poll_interval`]: it has its
//! own cursor, so it costs the source nothing. The session is counted in the mount's
//! `internal_listeners`, so status pages leave it out; HLS/DASH sessions (derived from
//! requests) are counted in `segment_listeners` instead.
//!
//! When the mount's source leaves for a fallback, the session follows it and the stream goes on
//! after a discontinuity (a new init segment if the codec differs). When it leaves with no
//! fallback, the open segment is published and the next run starts after a discontinuity.
//! Playlists never end (no `EXT-X-ENDLIST`): players wait for the next segment.

use crate::access::{FrameSplitter, Unpacked, Unpacker};
use crate::segmenter::{Availability, Segmenter, SegmenterSettings};
use floe_engine::{Engine, Fill, InternalReader, ListenerInfo, Mount};
use floe_proto::frame::{Framer, StreamFormat, Unit, UnitKind};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Library tracks kept cut into segments (most recently used first).
pub const VOD_CACHE_TRACKS: usize = 8;
/// Most bytes taken from the mount per poll.
const READ_BUDGET: usize = 256 * 1024;
/// Most bytes the framer holds while looking for a boundary.
const FRAMER_BUFFER: usize = 256 * 1024;
/// How often the registry looks for mounts to start segmenting and recounts sessions.
const SUPERVISE_EVERY: Duration = Duration::from_millis(250);

/// The `[hls]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct HlsSettings {
    /// Offer mounts over HLS and DASH at all (each mount also has its own `hls` setting).
    pub enabled: bool,
    /// Segment and part durations, window and its byte limit.
    pub segmenter: SegmenterSettings,
    /// How often a segmenter reads its mount.
    pub poll_interval: Duration,
    /// An HLS/DASH session (client address and user agent, or a `sid` query parameter) counts
    /// as a listener until this many segment durations pass without a request.
    pub session_timeout_segments: u32,
    /// Segment duration of on-demand HLS for library tracks, seconds.
    pub vod_segment_duration: f64,
    /// Largest library file offered as on-demand HLS, bytes.
    pub vod_max_file_bytes: u64,
}

impl Default for HlsSettings {
    fn default() -> Self {
        HlsSettings {
            enabled: true,
            segmenter: SegmenterSettings::default(),
            poll_interval: Duration::from_millis(20),
            session_timeout_segments: 5,
            vod_segment_duration: 6.0,
            vod_max_file_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Now as Unix milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One mount's segments as they are cut, and who asks for them.
#[derive(Debug)]
pub struct LiveStream {
    /// The mount's path.
    pub path: String,
    /// Distinct per stream over the server's life (strong ETags of its segments).
    pub tag: String,
    segmenter: Mutex<Segmenter>,
    published: watch::Sender<u64>,
    running: AtomicBool,
    sessions: Mutex<HashMap<String, Instant>>,
    /// When a part was last published.
    last_published: Mutex<Instant>,
}

impl LiveStream {
    fn new(path: String, tag: String, settings: SegmenterSettings) -> LiveStream {
        LiveStream {
            path,
            tag,
            segmenter: Mutex::new(Segmenter::new(settings)),
            published: watch::channel(0).0,
            running: AtomicBool::new(false),
            sessions: Mutex::new(HashMap::new()),
            last_published: Mutex::new(Instant::now()),
        }
    }

    /// The segmenter, locked (briefly: never across an await).
    pub fn segmenter(&self) -> MutexGuard<'_, Segmenter> {
        self.segmenter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while a task feeds it.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Waits until segment `msn` (part `part`) exists, cannot exist, or `timeout` passes
    /// (then `Soon` is returned). Cancel safe.
    pub async fn wait_for(&self, msn: u64, part: Option<u32>, timeout: Duration) -> Availability {
        let mut rx = self.published.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let now = self.segmenter().availability(msn, part);
            if now != Availability::Soon {
                return now;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Availability::Soon,
            }
        }
    }

    /// Records a request of the session `key` (for listener figures).
    pub fn touch(&self, key: String) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.insert(key, Instant::now());
    }

    /// Sessions seen within `expiry`; older ones are forgotten.
    pub fn active_sessions(&self, expiry: Duration) -> usize {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, seen| seen.elapsed() < expiry);
        sessions.len()
    }

    fn publish(&self) {
        *self
            .last_published
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.published.send_modify(|v| *v += 1);
    }

    /// Time since a part was last published.
    fn idle(&self) -> Duration {
        self.last_published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }
}

/// Every mount's stream, the stations' renditions, and the task that keeps them fed.
#[derive(Debug)]
pub struct HlsService {
    engine: Arc<Engine>,
    settings: HlsSettings,
    stations: BTreeMap<String, Vec<String>>,
    streams: Mutex<HashMap<String, Arc<LiveStream>>>,
    started_ms: u64,
    next_tag: std::sync::atomic::AtomicU64,
    /// (track id, file mtime, the cut track), most recently used first.
    vod: Mutex<VecDeque<(i64, i64, Arc<crate::vod::VodTrack>)>>,
}

impl HlsService {
    /// A registry; nothing runs until [`HlsService::spawn`]. `stations` maps a station's name
    /// to its renditions' mounts (for master playlists and rendition reports).
    pub fn new(
        engine: Arc<Engine>,
        settings: HlsSettings,
        stations: BTreeMap<String, Vec<String>>,
    ) -> Arc<HlsService> {
        Arc::new(HlsService {
            engine,
            settings,
            stations,
            streams: Mutex::new(HashMap::new()),
            started_ms: unix_ms(),
            next_tag: std::sync::atomic::AtomicU64::new(0),
            vod: Mutex::new(VecDeque::new()),
        })
    }

    /// A registry that offers nothing (HLS disabled).
    pub fn disabled(engine: Arc<Engine>) -> Arc<HlsService> {
        HlsService::new(
            engine,
            HlsSettings {
                enabled: false,
                ..HlsSettings::default()
            },
            BTreeMap::new(),
        )
    }

    /// Its settings.
    pub fn settings(&self) -> &HlsSettings {
        &self.settings
    }

    /// Stations by name, with their renditions' mounts.
    pub fn stations(&self) -> &BTreeMap<String, Vec<String>> {
        &self.stations
    }

    /// The station `mount` is a rendition of, with all its renditions.
    pub fn station_of(&self, mount: &str) -> Option<(&str, &[String])> {
        self.stations
            .iter()
            .find(|(_, mounts)| mounts.iter().any(|m| m == mount))
            .map(|(n, m)| (n.as_str(), m.as_slice()))
    }

    /// True when the mount at `path` is offered over HLS/DASH.
    pub fn offered(&self, path: &str) -> bool {
        self.settings.enabled && self.engine.mount(path).is_some_and(|m| m.policy.hls)
    }

    /// The library track `id` (whose file changed at `mtime`) cut into segments, from the
    /// cache or by `prepare` (called without the cache's lock held).
    pub fn vod_track<E>(
        &self,
        id: i64,
        mtime: i64,
        prepare: impl FnOnce() -> Result<crate::vod::VodTrack, E>,
    ) -> Result<Arc<crate::vod::VodTrack>, E> {
        {
            let mut cache = self.vod.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = cache.iter().position(|(t, m, _)| *t == id && *m == mtime) {
                if let Some(hit) = cache.remove(i) {
                    let track = hit.2.clone();
                    cache.push_front(hit);
                    return Ok(track);
                }
            }
        }
        let track = Arc::new(prepare()?);
        let mut cache = self.vod.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(t, _, _)| *t != id);
        cache.push_front((id, mtime, track.clone()));
        cache.truncate(VOD_CACHE_TRACKS);
        Ok(track)
    }

    /// The stream of the mount at `path`, once its segmenter has started.
    pub fn stream(&self, path: &str) -> Option<Arc<LiveStream>> {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .cloned()
    }

    /// Starts the task that starts a segmenter for every offered mount with a source, and
    /// keeps the mounts' HLS session counts. Must be called inside a Tokio runtime.
    pub fn spawn(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if !self.settings.enabled {
            return None;
        }
        let service = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(SUPERVISE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                service.supervise();
            }
        }))
    }

    fn supervise(self: &Arc<Self>) {
        let expiry = Duration::from_secs_f64(
            self.settings.segmenter.segment_duration
                * f64::from(self.settings.session_timeout_segments.max(1)),
        );
        for mount in self.engine.mounts() {
            if !mount.policy.hls {
                continue;
            }
            let stream = self.stream(&mount.path);
            if let Some(s) = &stream {
                mount
                    .counters
                    .segment_listeners
                    .store(s.active_sessions(expiry), Ordering::Relaxed);
            }
            if !mount.is_ready() || stream.as_ref().is_some_and(|s| s.is_running()) {
                continue;
            }
            let stream = stream.unwrap_or_else(|| {
                let tag = format!(
                    "{:x}-{}",
                    self.started_ms,
                    self.next_tag.fetch_add(1, Ordering::Relaxed)
                );
                let s = Arc::new(LiveStream::new(
                    mount.path.clone(),
                    tag,
                    self.settings.segmenter.clone(),
                ));
                self.streams
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(mount.path.clone(), s.clone());
                s
            });
            stream.running.store(true, Ordering::Release);
            let engine = self.engine.clone();
            let poll = self.settings.poll_interval;
            tokio::spawn(async move {
                run(&engine, &stream, mount, poll).await;
                stream.running.store(false, Ordering::Release);
            });
        }
        // Streams of mounts that no longer exist, once their window has passed: a source that
        // comes back within it continues the same playlist after a discontinuity.
        let window = Duration::from_secs_f64(self.settings.segmenter.window);
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|path, s| {
                s.is_running() || self.engine.mount(path).is_some() || s.idle() < window
            });
    }
}

/// What the segmenter reads the serving mount as: MP3 and ADTS split by header lengths (the
/// ring is frame-aligned already), Ogg pages through the framer (a page is out once complete).
struct Reader {
    splitter: Option<FrameSplitter>,
    framer: Framer,
    unpacker: Unpacker,
    content_type: String,
}

impl Reader {
    fn new(content_type: String) -> Reader {
        let format = StreamFormat::from_content_type(&content_type);
        Reader {
            splitter: FrameSplitter::new(format),
            framer: Framer::new(format, FRAMER_BUFFER),
            unpacker: Unpacker::new(format, &content_type),
            content_type,
        }
    }

    fn push(&mut self, data: &[u8]) {
        match &mut self.splitter {
            Some(s) => s.push(data),
            None => self.framer.push(data),
        }
    }

    fn unpack(&mut self, out: &mut Vec<Unpacked>) {
        match &mut self.splitter {
            Some(s) => {
                while let Some(frame) = s.next_frame() {
                    let unit = Unit {
                        data: frame,
                        kind: UnitKind::Sync,
                        duration_us: 0,
                    };
                    self.unpacker.push(&unit, out);
                }
            }
            None => {
                while let Some(unit) = self.framer.next_unit() {
                    self.unpacker.push(&unit, out);
                }
            }
        }
    }
}

/// Feeds `stream` from a listener session of `mount` until the session's stream ends.
async fn run(engine: &Arc<Engine>, stream: &LiveStream, mount: Arc<Mount>, poll: Duration) {
    let mut internal = InternalReader::new(mount.clone());
    let info = ListenerInfo {
        ip: "127.0.0.1".into(),
        user_agent: Some("Floe segmenter".into()),
        icy: false,
    };
    let mut session = match engine.add_internal_listener(&mount.path, info) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(mount = %mount.path, error = %e, "segmenter cannot listen");
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
    };
    tracing::debug!(mount = %mount.path, "segmenter started");
    let mut serving = session.mount().clone();
    if !Arc::ptr_eq(&serving, &mount) {
        internal = InternalReader::new(serving.clone());
    }
    let mut reader = Reader::new(serving.content_type().unwrap_or_default());
    let mut meta_version = 0;
    let mut queue = VecDeque::new();
    let mut units = Vec::new();
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let fill = session.fill(0, &mut queue, READ_BUDGET);
        if !Arc::ptr_eq(session.mount(), &serving) {
            // Moved to a fallback (or back): a new run after a discontinuity.
            serving = session.mount().clone();
            internal = InternalReader::new(serving.clone());
            reader = Reader::new(serving.content_type().unwrap_or_default());
            stream.segmenter().discontinuity();
            meta_version = 0;
        }
        if let Some(ct) = serving
            .content_type()
            .filter(|ct| *ct != reader.content_type)
        {
            reader = Reader::new(ct);
            stream.segmenter().discontinuity();
        }
        let mut bytes = 0;
        for piece in queue.drain(..) {
            bytes += piece.len();
            reader.push(&piece);
        }
        session.sent(bytes);
        units.clear();
        reader.unpack(&mut units);
        let title = serving.current_meta().filter(|m| m.version != meta_version);
        let published = {
            let mut seg = stream.segmenter();
            if let Some(meta) = title {
                meta_version = meta.version;
                seg.set_title(meta.song.clone());
            }
            push_units(&mut seg, &mut units, unix_ms())
        };
        if published {
            stream.publish();
        }
        if let Fill::End(reason) = fill {
            tracing::debug!(mount = %mount.path, reason = reason.describe(), "segmenter stopped");
            break;
        }
    }
    let mut seg = stream.segmenter();
    seg.flush();
    seg.discontinuity();
    drop(seg);
    stream.publish();
    drop(internal);
}

/// Pushes a poll's units, back-dating each from `now_ms` by the media that follows it in the
/// batch (the last unit arrived now). Returns true when a part was published.
fn push_units(seg: &mut Segmenter, units: &mut Vec<Unpacked>, now_ms: u64) -> bool {
    let timescale = |seg: &Segmenter| {
        seg.init()
            .map_or(48_000, |i| u64::from(i.track.config.timescale))
    };
    let mut ahead: u64 = units
        .iter()
        .map(|u| match u {
            Unpacked::Unit(a) => u64::from(a.duration),
            Unpacked::Track(_) => 0,
        })
        .sum();
    let mut published = false;
    for u in units.drain(..) {
        match u {
            Unpacked::Track(track) => {
                if let Err(e) = seg.set_track(track) {
                    tracing::warn!(error = %e, "track cannot be segmented");
                }
            }
            Unpacked::Unit(a) => {
                ahead = ahead.saturating_sub(u64::from(a.duration));
                let at = now_ms.saturating_sub(ahead * 1000 / timescale(seg));
                published |= seg.push(a, at);
            }
        }
    }
    published
}
