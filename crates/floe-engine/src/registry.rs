//! The engine: every mount by path, global limits, and the operations admins and the edge call.

use crate::events::Event;
use crate::listener::{new_handle, ListenerInfo, ListenerSession};
use crate::mount::{Mount, SourceInfo};
use crate::settings::{EngineSettings, MountPolicy};
use crate::source::SourceSession;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use thiserror::Error;
use tokio::sync::broadcast;

/// Why a source was refused. The messages are Icecast's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Another source feeds this mount.
    #[error("Mountpoint in use")]
    MountInUse,
    /// `max_sources` reached.
    #[error("too many sources connected")]
    TooManySources,
    /// The mount is not declared and automatic mounts are off.
    #[error("Mountpoint not allowed")]
    NotAllowed,
    /// The path is not a usable mount name.
    #[error("Invalid mountpoint")]
    BadMountName,
}

/// Why a listener was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ListenError {
    /// No such mount, or nothing streaming on it or its fallbacks.
    #[error("The source you requested could not be found.")]
    NotFound,
    /// The server-wide listener limit is reached.
    #[error("Too many clients connected")]
    TooManyListeners,
    /// The mount's listener limit is reached.
    #[error("Mountpoint is full")]
    MountFull,
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct EngineCounters {
    /// Listener connections accepted, ever.
    pub listener_connections: AtomicU64,
    /// Source connections accepted, ever.
    pub source_connections: AtomicU64,
}

/// Every mount and the limits over them all. Shared as `Arc<Engine>`.
#[derive(Debug)]
pub struct Engine {
    settings: EngineSettings,
    mounts: RwLock<BTreeMap<String, Arc<Mount>>>,
    next_listener: AtomicU64,
    listeners: AtomicUsize,
    pub(crate) sources: AtomicUsize,
    events: broadcast::Sender<Event>,
    /// When the engine started.
    pub started: SystemTime,
    /// Server-wide counters.
    pub counters: EngineCounters,
}

const MAX_FALLBACK_DEPTH: usize = 8;

/// True for a path a mount may have: `/` then printable characters, no `..`, no query.
pub fn valid_mount_path(path: &str) -> bool {
    path.len() > 1
        && path.len() <= 256
        && path.starts_with('/')
        && !path.contains("..")
        && !path.contains("//")
        && path
            .chars()
            .all(|c| !c.is_control() && c != '?' && c != '#' && c != ' ')
}

impl Engine {
    /// An engine with the declared mounts created (without sources).
    pub fn new(settings: EngineSettings) -> Arc<Engine> {
        let (events, _) = broadcast::channel(1024);
        let engine = Arc::new(Engine {
            settings,
            mounts: RwLock::new(BTreeMap::new()),
            next_listener: AtomicU64::new(1),
            listeners: AtomicUsize::new(0),
            sources: AtomicUsize::new(0),
            events,
            started: SystemTime::now(),
            counters: EngineCounters::default(),
        });
        let declared: Vec<String> = engine.settings.mounts.keys().cloned().collect();
        {
            let mut mounts = engine.write_mounts();
            for path in declared {
                let mount = engine.make_mount(&path, true);
                mounts.insert(path, mount);
            }
        }
        engine
    }

    fn make_mount(&self, path: &str, declared: bool) -> Arc<Mount> {
        let policy = self.settings.policy(path);
        let intro = load_intro(&policy);
        Arc::new(Mount::new(path.to_string(), policy, declared, intro))
    }

    fn read_mounts(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Mount>>> {
        self.mounts.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_mounts(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Mount>>> {
        self.mounts.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings the engine runs with.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The policy a mount at `path` has or would have.
    pub fn policy(&self, path: &str) -> MountPolicy {
        self.settings.policy(path)
    }

    /// The mount at `path`, if it exists.
    pub fn mount(&self, path: &str) -> Option<Arc<Mount>> {
        self.read_mounts().get(path).cloned()
    }

    /// Every mount, sorted by path.
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        self.read_mounts().values().cloned().collect()
    }

    /// Listeners connected now, over all mounts.
    pub fn listener_count(&self) -> usize {
        self.listeners.load(Ordering::Relaxed)
    }

    /// Sources connected now.
    pub fn source_count(&self) -> usize {
        self.sources.load(Ordering::Relaxed)
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Publishes an event (dropped when nobody listens).
    pub fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Takes a mount for a source. Credentials are the edge's business; this checks the limits.
    pub fn open_source(
        self: &Arc<Self>,
        path: &str,
        info: SourceInfo,
    ) -> Result<SourceSession, SourceError> {
        if !valid_mount_path(path) {
            return Err(SourceError::BadMountName);
        }
        let (mount, format) = {
            let mut mounts = self.write_mounts();
            let mount = match mounts.get(path) {
                Some(m) => m.clone(),
                None if self.settings.auto_mounts => {
                    let m = self.make_mount(path, false);
                    mounts.insert(path.to_string(), m.clone());
                    m
                }
                None => return Err(SourceError::NotAllowed),
            };
            let mut st = mount.state();
            if st.source.is_some() {
                return Err(SourceError::MountInUse);
            }
            let taken = self.sources.fetch_add(1, Ordering::AcqRel);
            if taken >= self.settings.max_sources {
                self.sources.fetch_sub(1, Ordering::AcqRel);
                return Err(SourceError::TooManySources);
            }
            st.format = floe_proto::frame::StreamFormat::from_content_type(&info.content_type);
            st.audio = Default::default();
            st.source = Some(Arc::new(info));
            st.stream_start = Some(SystemTime::now());
            // Nobody joins in a previous source's data.
            st.ring.header_pos = st.ring.head;
            st.ring.headers.clear();
            let format = st.format;
            drop(st);
            mount
                .counters
                .source_connections
                .fetch_add(1, Ordering::Relaxed);
            (mount, format)
        };
        self.counters
            .source_connections
            .fetch_add(1, Ordering::Relaxed);
        self.emit(Event::SourceUp {
            mount: path.to_string(),
        });
        Ok(SourceSession::new(self.clone(), mount, format))
    }

    /// Connects a listener to `path`, or to the first fallback with a stream when `path` has
    /// none.
    pub fn add_listener(
        self: &Arc<Self>,
        path: &str,
        info: ListenerInfo,
    ) -> Result<ListenerSession, ListenError> {
        let requested = self.mount(path).ok_or(ListenError::NotFound)?;
        let serving = if requested.is_ready() {
            requested.clone()
        } else {
            self.live_fallback(&requested)
                .ok_or(ListenError::NotFound)?
        };
        if let Some(max) = requested.policy.max_listeners {
            let c = &requested.counters;
            let clients = c
                .listeners
                .load(Ordering::Relaxed)
                .saturating_sub(c.internal_listeners.load(Ordering::Relaxed));
            if clients >= max {
                return Err(ListenError::MountFull);
            }
        }
        let taken = self.listeners.fetch_add(1, Ordering::AcqRel);
        if taken >= self.settings.max_listeners {
            self.listeners.fetch_sub(1, Ordering::AcqRel);
            return Err(ListenError::TooManyListeners);
        }
        self.counters
            .listener_connections
            .fetch_add(1, Ordering::Relaxed);
        let id = self.next_listener.fetch_add(1, Ordering::Relaxed);
        let handle = Arc::new(new_handle(id, &info));
        Ok(ListenerSession::new(
            self.clone(),
            handle,
            serving,
            path.to_string(),
            info.icy,
        ))
    }

    /// A listener session for one of Floe's own readers (the HLS segmenter): marked internal
    /// before it attaches, outside the listener limits and the engine's listener count (it is
    /// not a client). The caller counts it in the mount's `internal_listeners`.
    pub fn add_internal_listener(
        self: &Arc<Self>,
        path: &str,
        info: ListenerInfo,
    ) -> Result<ListenerSession, ListenError> {
        let requested = self.mount(path).ok_or(ListenError::NotFound)?;
        let serving = if requested.is_ready() {
            requested
        } else {
            self.live_fallback(&requested)
                .ok_or(ListenError::NotFound)?
        };
        let id = self.next_listener.fetch_add(1, Ordering::Relaxed);
        let handle = Arc::new(new_handle(id, &info));
        handle.set_internal();
        Ok(ListenerSession::new(
            self.clone(),
            handle,
            serving,
            path.to_string(),
            info.icy,
        ))
    }

    /// The first mount down `mount`'s fallback chain that has a stream to join.
    pub fn live_fallback(&self, mount: &Mount) -> Option<Arc<Mount>> {
        let mut next = mount.policy.fallback.clone();
        for _ in 0..MAX_FALLBACK_DEPTH {
            let path = next?;
            if path == mount.path {
                return None;
            }
            let m = self.mount(&path)?;
            if m.is_ready() {
                return Some(m);
            }
            next = m.policy.fallback.clone();
        }
        None
    }

    /// Sets a mount's title from the next byte of its stream on. `song` wins over
    /// artist/title; `artist - title` otherwise.
    pub fn set_metadata(
        &self,
        path: &str,
        song: Option<String>,
        artist: Option<String>,
        title: Option<String>,
        url: Option<String>,
    ) -> Result<String, ListenError> {
        let mount = self.mount(path).ok_or(ListenError::NotFound)?;
        let song = song.unwrap_or_else(|| {
            floe_proto::icy::song_from_parts(artist.as_deref(), title.as_deref())
        });
        mount.set_meta(song.clone(), artist, title, url);
        self.emit(Event::NowPlaying {
            mount: path.to_string(),
            title: song.clone(),
        });
        Ok(song)
    }

    /// Disconnects a mount's source. False if it has none.
    pub fn kill_source(&self, path: &str) -> bool {
        match self.mount(path) {
            Some(m) if m.has_source() => {
                m.kill_source();
                true
            }
            _ => false,
        }
    }

    /// Disconnects one listener of a mount. False if no such listener is there.
    pub fn kill_listener(&self, path: &str, id: u64) -> bool {
        match self.mount(path).and_then(|m| m.listener(id)) {
            Some(l) => {
                l.kill();
                true
            }
            None => false,
        }
    }

    /// Moves every listener of `from` to `to` without disconnecting them. Returns how many.
    pub fn move_listeners(&self, from: &str, to: &str) -> Result<usize, ListenError> {
        let src = self.mount(from).ok_or(ListenError::NotFound)?;
        let dest = self.mount(to).ok_or(ListenError::NotFound)?;
        if !dest.is_ready() {
            return Err(ListenError::NotFound);
        }
        let listeners = src.listeners();
        for l in &listeners {
            l.move_to(dest.clone());
        }
        Ok(listeners.len())
    }

    /// Removes an automatic mount once it has neither source nor listeners.
    pub(crate) fn forget_if_idle(&self, mount: &Arc<Mount>) {
        if mount.declared {
            return;
        }
        let mut mounts = self.write_mounts();
        let idle = !mount.has_source() && mount.counters.listeners.load(Ordering::Relaxed) == 0;
        if idle
            && mounts
                .get(&mount.path)
                .is_some_and(|m| Arc::ptr_eq(m, mount))
        {
            mounts.remove(&mount.path);
        }
    }

    pub(crate) fn listener_left(&self, mount: &Arc<Mount>) {
        self.listeners.fetch_sub(1, Ordering::AcqRel);
        self.forget_if_idle(mount);
    }
}

fn load_intro(policy: &MountPolicy) -> Option<Bytes> {
    let path = policy.intro.as_ref()?;
    match std::fs::read(path) {
        Ok(data) => Some(Bytes::from(data)),
        Err(e) => {
            tracing::warn!(intro = %path.display(), error = %e, "cannot read intro file; listeners get none");
            None
        }
    }
}
