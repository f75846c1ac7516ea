//! The PCM tap: a mount decoded once inside Floe and fanned out as interleaved 16-bit PCM to
//! every consumer that wants raw audio (endless WAV, `audio/L16`, Server-Sent Events,
//! WebSocket).
//!
//! Layout:
//! - [`frame`]: pure framing of chunks for each transport (WAV header, L16, WebSocket frames,
//!   SSE events), unit-tested byte for byte.
//! - [`tap`]: the decoding thread of one mount.
//! - [`sessions`]: the session store behind `POST /api/v1/sessions`.
//!
//! One [`Tap`] per mount exists while it has consumers: the first [`PcmTaps::consumer`] starts
//! it; `pcm.linger_seconds` after the last [`PcmConsumer`] left (and the last session holding
//! it closed), it stops. The tap
//! is an internal listener of the mount (user agent `Floe PCM tap`: not listed or counted by
//! status pages; each consumer's stream is counted instead) decoding on a thread of its
//! own, so the source and other listeners pay nothing for it. Its chunks (one per decoded
//! block, about 20–100 ms) go into a window of `pcm.window_seconds` shared by all consumers;
//! each consumer keeps only a cursor into it, so a slow consumer costs no copies and cannot
//! stall the tap or its neighbours: one that falls `pcm.max_lag_seconds` behind the newest
//! chunk, or out of the window, is dropped ([`PcmError::TooSlow`]).

pub mod frame;
pub mod sessions;
mod tap;

pub use frame::{ChunkStamp, PcmFormat};
pub use sessions::Sessions;

use bytes::Bytes;
use floe_engine::Engine;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;

/// The limits of PCM delivery (config section `[pcm]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PcmSettings {
    /// Decoded audio each tap keeps for bursts and `Last-Event-ID` resumes.
    pub window: Duration,
    /// Audio a new consumer receives at once when it connects (capped at `window`).
    pub burst: Duration,
    /// A consumer further behind the newest chunk than this is dropped.
    pub max_lag: Duration,
    /// How long a new consumer waits for the first decoded audio before giving up.
    pub start_timeout: Duration,
    /// Most mounts decoded at once.
    pub max_taps: usize,
    /// Most SSE/WebSocket sessions at once.
    pub max_sessions: usize,
    /// A session with no stream connected for this long is closed.
    pub session_idle: Duration,
    /// A tap keeps decoding this long after a consumer leaves, so a client that reconnects
    /// (an `EventSource` after its `retry`) resumes from the same window.
    pub linger: Duration,
    /// Bitrate of the Opus packets SSE/WebSocket clients may ask for instead of PCM.
    pub opus_kbps: u32,
}

impl Default for PcmSettings {
    fn default() -> Self {
        PcmSettings {
            window: Duration::from_secs(10),
            burst: Duration::from_secs(2),
            max_lag: Duration::from_secs(5),
            start_timeout: Duration::from_secs(10),
            max_taps: 16,
            max_sessions: 256,
            session_idle: Duration::from_secs(30),
            linger: Duration::from_secs(10),
            opus_kbps: 96,
        }
    }
}

/// What PCM delivery fails with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PcmError {
    /// No such mount.
    #[error("no mount {0}")]
    NoMount(String),
    /// `pcm.max_decoders` mounts are already being decoded.
    #[error("too many mounts decoded at once (pcm.max_decoders = {0})")]
    TooManyTaps(usize),
    /// Nothing was decoded within `pcm.start_timeout_seconds`.
    #[error("no audio from {mount} within {secs} s{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    NoAudio {
        /// The mount.
        mount: String,
        /// The timeout.
        secs: u64,
        /// Why the tap could not decode, when it knows.
        reason: Option<String>,
    },
    /// The consumer fell too far behind and was dropped.
    #[error("the consumer fell more than {0} ms behind")]
    TooSlow(u64),
    /// `pcm.max_sessions` sessions are open.
    #[error("too many sessions (pcm.max_sessions = {0})")]
    TooManySessions(usize),
    /// No session with that id (never made, deleted, or expired).
    #[error("no session {0}")]
    NoSession(String),
    /// A codec the session API does not offer.
    #[error("codec {0:?} is not offered; use \"pcm\" or \"opus\"")]
    UnsupportedCodec(String),
    /// The request body is not what the endpoint takes.
    #[error("bad request body: {0}")]
    BadBody(String),
}

/// What a consumer receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Interleaved little-endian 16-bit samples at the mount's rate.
    Pcm,
    /// Opus packets (20 ms, 48 kHz), encoded once per tap while anyone asked for them.
    Opus,
}

impl Codec {
    /// `pcm` or `opus`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcm => "pcm",
            Codec::Opus => "opus",
        }
    }

    /// The codec named `name`.
    pub fn from_name(name: &str) -> Result<Codec, PcmError> {
        match name {
            "pcm" => Ok(Codec::Pcm),
            "opus" => Ok(Codec::Opus),
            other => Err(PcmError::UnsupportedCodec(other.to_string())),
        }
    }
}

/// One decoded block (or one Opus packet), shared by every consumer of the tap.
#[derive(Debug)]
pub struct PcmChunk {
    /// Sequence number, media time and server time.
    pub stamp: ChunkStamp,
    /// Frames in `samples` (at 48 kHz for Opus).
    pub frames: u64,
    /// Interleaved little-endian 16-bit samples in the tap's format, or one Opus packet.
    pub samples: Bytes,
    /// The mount's title while this chunk plays.
    pub title: Option<Arc<str>>,
}

impl PcmChunk {
    /// Media time just after the chunk, in milliseconds, its frames counting at `rate`.
    fn end_ms(&self, rate: u32) -> u64 {
        self.stamp.ts_ms + self.frames * 1000 / u64::from(rate.max(1))
    }
}

/// Each tap numbers its chunks from its own base, so a sequence number names one chunk of one
/// tap for the whole process (a `Last-Event-ID` from before a tap restarted matches nothing).
static NEXT_SEQ_BASE: AtomicU64 = AtomicU64::new(1);
const SEQ_SPACE: u64 = 1 << 32;

/// The state of a tap that its thread and its consumers share.
#[derive(Debug)]
struct TapShared {
    mount: String,
    settings: PcmSettings,
    stop: AtomicBool,
    /// Set by the first Opus consumer: from then on the tap also encodes Opus.
    opus_wanted: AtomicBool,
    state: Mutex<TapState>,
    /// Bumped after every change of `state`.
    changed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct TapState {
    format: Option<PcmFormat>,
    pcm: Window,
    opus: Window,
    /// Why the last attempt to decode failed, while no audio has come since.
    failure: Option<String>,
}

/// The chunks of one codec.
#[derive(Debug, Default)]
struct Window {
    chunks: VecDeque<Arc<PcmChunk>>,
    /// Media time of the first chunk of the newest publication: a consumer's lag is counted up
    /// to there, so a batch published at once (a burst after a source returns) makes no
    /// consumer late.
    last_batch_ms: u64,
}

impl Window {
    /// Appends `new` and drops what is older than `window_ms` before the newest chunk's end.
    fn push(&mut self, rate: u32, new: Vec<PcmChunk>, window_ms: u64) {
        let Some(first) = new.first() else {
            return;
        };
        self.last_batch_ms = first.stamp.ts_ms;
        self.chunks.extend(new.into_iter().map(Arc::new));
        let end = self.chunks.back().map_or(0, |c| c.end_ms(rate));
        while self.chunks.len() > 1
            && self
                .chunks
                .front()
                .is_some_and(|c| end.saturating_sub(c.stamp.ts_ms) > window_ms)
        {
            self.chunks.pop_front();
        }
    }
}

impl TapState {
    fn window(&self, codec: Codec) -> &Window {
        match codec {
            Codec::Pcm => &self.pcm,
            Codec::Opus => &self.opus,
        }
    }

    /// The rate a codec's frames count at.
    fn rate(&self, codec: Codec) -> Option<u32> {
        match codec {
            Codec::Pcm => self.format.map(|f| f.rate),
            Codec::Opus => self.format.map(|_| OPUS_RATE),
        }
    }
}

/// Opus always runs at 48 kHz.
pub const OPUS_RATE: u32 = 48_000;

impl TapShared {
    fn lock(&self) -> MutexGuard<'_, TapState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Appends decoded chunks (and Opus packets) and trims the windows to `settings.window`.
    fn publish(&self, format: PcmFormat, pcm: Vec<PcmChunk>, opus: Vec<PcmChunk>) {
        if pcm.is_empty() && opus.is_empty() {
            return;
        }
        {
            let mut state = self.lock();
            state.format.get_or_insert(format);
            state.failure = None;
            let window_ms = self.settings.window.as_millis() as u64;
            state.pcm.push(format.rate, pcm, window_ms);
            state.opus.push(OPUS_RATE, opus, window_ms);
        }
        self.bump();
    }

    fn fail(&self, reason: String) {
        self.lock().failure = Some(reason);
        self.bump();
    }
}

/// A running tap. Consumers and sessions hold it; dropping the last holder stops the decoder.
#[derive(Debug)]
pub struct Tap {
    shared: Arc<TapShared>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        tracing::debug!(mount = %self.shared.mount, "PCM tap stopping: no consumers left");
    }
}

impl Tap {
    /// The mount this tap decodes.
    pub fn mount(&self) -> &str {
        &self.shared.mount
    }
}

impl Drop for PcmConsumer {
    /// Holds the tap for `pcm.linger` more (inside a runtime), so a reconnecting client finds
    /// the same window.
    fn drop(&mut self) {
        let linger = self.tap.shared.settings.linger;
        if linger.is_zero() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let tap = self.tap.clone();
            runtime.spawn(async move {
                tokio::time::sleep(linger).await;
                drop(tap);
            });
        }
    }
}

/// Where a new consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// This much audio before the newest chunk (capped at the window).
    Burst(Duration),
    /// Just after the chunk with this sequence number, if it is still in the window; else as
    /// [`Start::Burst`] with the configured burst.
    After(u64),
}

/// Every running tap, by mount.
#[derive(Debug)]
pub struct PcmTaps {
    settings: PcmSettings,
    taps: Mutex<HashMap<String, Weak<Tap>>>,
}

impl PcmTaps {
    /// No taps yet.
    pub fn new(settings: PcmSettings) -> PcmTaps {
        PcmTaps {
            settings,
            taps: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> &PcmSettings {
        &self.settings
    }

    /// Mounts being decoded now.
    pub fn running(&self) -> usize {
        let taps = self.taps.lock().unwrap_or_else(|e| e.into_inner());
        taps.values().filter(|t| t.strong_count() > 0).count()
    }

    /// The tap of `mount`, started if it is not running.
    pub fn tap(&self, engine: &Arc<Engine>, mount: &str) -> Result<Arc<Tap>, PcmError> {
        if engine.mount(mount).is_none() {
            return Err(PcmError::NoMount(mount.to_string()));
        }
        let mut taps = self.taps.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tap) = taps.get(mount).and_then(Weak::upgrade) {
            return Ok(tap);
        }
        taps.retain(|_, t| t.strong_count() > 0);
        if taps.len() >= self.settings.max_taps {
            return Err(PcmError::TooManyTaps(self.settings.max_taps));
        }
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(TapShared {
            mount: mount.to_string(),
            settings: self.settings.clone(),
            stop: AtomicBool::new(false),
            opus_wanted: AtomicBool::new(false),
            state: Mutex::new(TapState::default()),
            changed,
        });
        let seq_base = NEXT_SEQ_BASE.fetch_add(SEQ_SPACE, Ordering::Relaxed);
        tap::spawn(engine.clone(), shared.clone(), seq_base).map_err(|e| PcmError::NoAudio {
            mount: mount.to_string(),
            secs: 0,
            reason: Some(format!("cannot start the decoding thread: {e}")),
        })?;
        let tap = Arc::new(Tap { shared });
        taps.insert(mount.to_string(), Arc::downgrade(&tap));
        tracing::info!(mount, "PCM tap started");
        Ok(tap)
    }

    /// A consumer of `mount`'s audio in `codec`, starting at `start`.
    pub fn consumer(
        &self,
        engine: &Arc<Engine>,
        mount: &str,
        start: Start,
        codec: Codec,
    ) -> Result<PcmConsumer, PcmError> {
        let tap = self.tap(engine, mount)?;
        Ok(PcmConsumer::new(tap, start, codec).counted(engine))
    }
}

/// One reader of a tap: a cursor into its window.
#[derive(Debug)]
pub struct PcmConsumer {
    tap: Arc<Tap>,
    rx: watch::Receiver<u64>,
    codec: Codec,
    start: Start,
    /// The sequence number of the next chunk to hand out, once the start is resolved.
    next: Option<u64>,
    /// A batch was handed out.
    delivered: bool,
    /// Counts this consumer in its mount's audience, once it is a client's stream.
    audience: Option<floe_engine::PcmListener>,
}

impl PcmConsumer {
    /// A consumer of `tap` in `codec` starting at `start`. The first Opus consumer makes the
    /// tap encode Opus from then on.
    pub fn new(tap: Arc<Tap>, start: Start, codec: Codec) -> PcmConsumer {
        if codec == Codec::Opus {
            tap.shared.opus_wanted.store(true, Ordering::Release);
        }
        let rx = tap.shared.changed.subscribe();
        PcmConsumer {
            tap,
            rx,
            codec,
            start,
            next: None,
            delivered: false,
            audience: None,
        }
    }

    /// Counts this consumer as a listener of its mount (status pages, `/api/v1/mounts`) until
    /// it is dropped: for a client's stream, not for internal probes.
    pub fn counted(mut self, engine: &Engine) -> PcmConsumer {
        self.audience = engine
            .mount(self.tap.mount())
            .map(floe_engine::PcmListener::new);
        self
    }

    /// The tap this consumer reads.
    pub fn tap(&self) -> &Arc<Tap> {
        &self.tap
    }

    /// What this consumer receives.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Waits until the tap has decoded audio (at most `pcm.start_timeout`) and returns its
    /// format (for Opus: 48 kHz and the tap's channels). Cancel safe.
    pub async fn ready(&mut self) -> Result<PcmFormat, PcmError> {
        let shared = self.tap.shared.clone();
        let timeout = shared.settings.start_timeout;
        let wait = async {
            loop {
                self.rx.borrow_and_update();
                {
                    let state = shared.lock();
                    if let (Some(format), false) =
                        (state.format, state.window(self.codec).chunks.is_empty())
                    {
                        return match self.codec {
                            Codec::Pcm => format,
                            Codec::Opus => PcmFormat {
                                rate: OPUS_RATE,
                                ..format
                            },
                        };
                    }
                }
                if self.rx.changed().await.is_err() {
                    // The sender lives in `shared`, which we hold: this does not happen.
                    tokio::task::yield_now().await;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(format) => Ok(format),
            Err(_) => Err(PcmError::NoAudio {
                mount: shared.mount.clone(),
                secs: timeout.as_secs(),
                reason: shared.lock().failure.clone(),
            }),
        }
    }

    /// The chunks from the cursor to the newest one, waiting until there is at least one.
    /// Fails with [`PcmError::TooSlow`] when the cursor fell out of the window or further than
    /// `pcm.max_lag` behind. Cancel safe (the cursor moves only when chunks are returned).
    pub async fn next(&mut self) -> Result<Vec<Arc<PcmChunk>>, PcmError> {
        loop {
            self.rx.borrow_and_update();
            let batch = self.take()?;
            if !batch.is_empty() {
                return Ok(batch);
            }
            if self.rx.changed().await.is_err() {
                tokio::task::yield_now().await;
            }
        }
    }

    /// Whatever is due now, without waiting.
    pub fn take(&mut self) -> Result<Vec<Arc<PcmChunk>>, PcmError> {
        let shared = self.tap.shared.clone();
        let state = shared.lock();
        let window = state.window(self.codec);
        let (Some(rate), Some(front), Some(back)) = (
            state.rate(self.codec),
            window.chunks.front(),
            window.chunks.back(),
        ) else {
            return Ok(Vec::new());
        };
        let front_seq = front.stamp.seq;
        let next = match self.next {
            Some(n) => n,
            None => {
                let n = start_seq(&window.chunks, rate, self.start, &shared.settings);
                self.next = Some(n);
                n
            }
        };
        if next < front_seq {
            return Err(PcmError::TooSlow(shared.settings.max_lag.as_millis() as u64));
        }
        let index = (next - front_seq) as usize;
        if index >= window.chunks.len() {
            return Ok(Vec::new());
        }
        // The first batch spans the burst (or the resumed part of the window) by design;
        // after it, a consumer is behind only by what it did not take in time.
        let max_lag = shared.settings.max_lag.as_millis() as u64;
        let behind = window
            .last_batch_ms
            .saturating_sub(window.chunks[index].stamp.ts_ms);
        if self.delivered && behind > max_lag {
            return Err(PcmError::TooSlow(max_lag));
        }
        let batch: Vec<Arc<PcmChunk>> = window.chunks.range(index..).cloned().collect();
        self.next = Some(back.stamp.seq + 1);
        self.delivered = true;
        Ok(batch)
    }
}

/// The sequence number a consumer starting at `start` reads first.
fn start_seq(
    chunks: &VecDeque<Arc<PcmChunk>>,
    rate: u32,
    start: Start,
    settings: &PcmSettings,
) -> u64 {
    let (Some(front), Some(back)) = (chunks.front(), chunks.back()) else {
        return 0;
    };
    let burst = match start {
        Start::After(seq) if seq >= front.stamp.seq && seq <= back.stamp.seq => return seq + 1,
        Start::After(_) => settings.burst,
        Start::Burst(d) => d,
    };
    let burst_ms = burst.min(settings.window).as_millis() as u64;
    if burst_ms == 0 {
        return back.stamp.seq;
    }
    let head_end = back.end_ms(rate);
    chunks
        .iter()
        .find(|c| head_end.saturating_sub(c.stamp.ts_ms) <= burst_ms)
        .map_or(back.stamp.seq, |c| c.stamp.seq)
}

/// Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The PCM tap registry and the session store, as the HTTP handlers use them.
#[derive(Debug)]
pub struct PcmService {
    /// The taps.
    pub taps: PcmTaps,
    /// The sessions.
    pub sessions: Sessions,
    /// The task closing idle sessions runs.
    pub sweeper_started: AtomicBool,
}

impl PcmService {
    /// Nothing running yet.
    pub fn new(settings: PcmSettings) -> PcmService {
        PcmService {
            sessions: Sessions::new(settings.max_sessions, settings.session_idle),
            taps: PcmTaps::new(settings),
            sweeper_started: AtomicBool::new(false),
        }
    }
}

#[cfg(test)]
mod tests;
