//! The session store behind `POST /api/v1/sessions`: a session names a mount and a codec and
//! holds the mount's tap, so its PCM window (and with it `Last-Event-ID` resume) survives
//! between a client's reconnections. A session with no stream connected for
//! `pcm.session_idle_seconds` is closed; `DELETE` closes it at once.
//!
//! Time is passed in (`now`), so expiry is tested without a clock.

use super::{Codec, PcmError, Tap};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a session streams.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its id (32 hex digits).
    pub id: String,
    /// The mount.
    pub mount: String,
    /// The tap it keeps running.
    pub tap: Arc<Tap>,
    /// What it streams.
    pub codec: Codec,
}

#[derive(Debug)]
struct Entry {
    session: Session,
    /// Streams connected now.
    streams: usize,
    /// When the last stream left (or the session was made).
    idle_since: Instant,
}

/// Every open session.
#[derive(Debug)]
pub struct Sessions {
    max: usize,
    idle: Duration,
    map: Mutex<HashMap<String, Entry>>,
}

/// Marks a stream of a session as connected; dropping it starts the session's idle time.
#[derive(Debug)]
pub struct StreamGuard {
    sessions: Arc<super::PcmService>,
    id: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.sessions
            .sessions
            .stream_ended(&self.id, Instant::now());
    }
}

impl Sessions {
    /// An empty store.
    pub fn new(max: usize, idle: Duration) -> Sessions {
        Sessions {
            max,
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Open sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Opens a session on `tap` with the given id, after closing expired ones.
    pub fn create(
        &self,
        id: String,
        tap: Arc<Tap>,
        codec: Codec,
        now: Instant,
    ) -> Result<Session, PcmError> {
        let mut map = self.lock();
        Self::sweep_locked(&mut map, self.idle, now);
        if map.len() >= self.max {
            return Err(PcmError::TooManySessions(self.max));
        }
        let session = Session {
            mount: tap.mount().to_string(),
            id: id.clone(),
            tap,
            codec,
        };
        map.insert(
            id,
            Entry {
                session: session.clone(),
                streams: 0,
                idle_since: now,
            },
        );
        Ok(session)
    }

    /// The session `id`, with one more stream connected.
    pub fn attach(&self, id: &str, now: Instant) -> Result<Session, PcmError> {
        let mut map = self.lock();
        Self::sweep_locked(&mut map, self.idle, now);
        let entry = map
            .get_mut(id)
            .ok_or_else(|| PcmError::NoSession(id.to_string()))?;
        entry.streams += 1;
        Ok(entry.session.clone())
    }

    /// A stream of `id` ended at `now`.
    pub fn stream_ended(&self, id: &str, now: Instant) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.streams = entry.streams.saturating_sub(1);
            if entry.streams == 0 {
                entry.idle_since = now;
            }
        }
    }

    /// Closes `id`; false if there was no such session.
    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Closes every session idle for longer than the idle limit; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        Self::sweep_locked(&mut self.lock(), self.idle, now)
    }

    fn sweep_locked(map: &mut HashMap<String, Entry>, idle: Duration, now: Instant) -> usize {
        let before = map.len();
        map.retain(|_, e| e.streams > 0 || now.saturating_duration_since(e.idle_since) <= idle);
        before - map.len()
    }
}

impl super::PcmService {
    /// Attaches a stream to session `id` and returns the session with a guard that detaches it.
    pub fn attach_stream(self: &Arc<Self>, id: &str) -> Result<(Session, StreamGuard), PcmError> {
        let session = self.sessions.attach(id, Instant::now())?;
        Ok((
            session,
            StreamGuard {
                sessions: self.clone(),
                id: id.to_string(),
            },
        ))
    }
}
